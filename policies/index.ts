// The policy pack's entry point, run by `pulumi preview --policy-pack policies`. Constructing a PolicyPack starts
// the analyzer's gRPC server and reads ./package.json's version from the working directory, so this file does
// that and nothing else; the rules live in ./rules (imported by tests and the offline check without a server).
// The CLI loads the CommonJS bundle of this file, dist/index.cjs (`npm run build:policies`; see PulumiPolicy.yaml).
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./rules/index.js";

new PolicyPack("gemini-gateway-guardrails", {
  policies: [...allPolicies],
  enforcementLevel: "advisory",
  description: "Security, quota and budget guardrails for the Gemini gateway on Google Cloud (docs/guardrails.md).",
  displayName: "gemini-gateway guardrails",
  provider: "gcp",
  tags: ["gcp", "cloud-run", "gemini"],
});
