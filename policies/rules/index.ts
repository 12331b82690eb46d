/**
 * Every guardrail of the pack, in documentation order. Importing this module has no side effects: it builds plain
 * policy objects; only ../index.ts hands them to `new PolicyPack` (which starts the analyzer).
 */
import type { Guardrail } from "../lib/types.js";
import { cloudRunRules } from "./cloud-run.js";
import { dataRules } from "./data.js";
import { gatewayRules } from "./gateway.js";
import { identityRules } from "./identity.js";
import { projectRules } from "./project.js";
import { stackRules } from "./stack.js";

export const allPolicies: readonly Guardrail[] = [
  ...identityRules,
  ...cloudRunRules,
  ...dataRules,
  ...projectRules,
  ...stackRules,
  ...gatewayRules,
];

export { cloudRunRules, dataRules, gatewayRules, identityRules, projectRules, stackRules };
