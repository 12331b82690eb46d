/**
 * Regenerates the rule reference in docs/guardrails.md (between the GENERATED markers) from the rules' own
 * metadata, formatted with the repository's prettier config. test/policies/docs.test.ts fails when it is stale.
 *
 *   npx tsx policies/scripts/generate-docs.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderGuardrailsDoc } from "./docs-file.js";

const docPath = fileURLToPath(new URL("../../docs/guardrails.md", import.meta.url));
const next = await renderGuardrailsDoc(readFileSync(docPath, "utf8"), docPath);
writeFileSync(docPath, next);
console.log(`wrote ${docPath}`);
