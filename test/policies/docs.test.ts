/** docs/guardrails.md matches the code: the generated rule reference is current and names every rule. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ruleCatalog } from "../../policies/lib/catalog.js";
import { renderGuardrailsDoc } from "../../policies/scripts/docs-file.js";

const docPath = fileURLToPath(new URL("../../docs/guardrails.md", import.meta.url));
const doc = readFileSync(docPath, "utf8");

describe("docs/guardrails.md", () => {
  it("is what policies/scripts/generate-docs.ts produces (run it after changing a rule)", async () => {
    expect(await renderGuardrailsDoc(doc, docPath)).toBe(doc);
  });

  it("documents every rule: name, enforcement, severity, remediation and each setting with its default", () => {
    for (const r of ruleCatalog()) {
      expect(doc).toContain(`#### ${r.name}`);
      expect(doc).toContain(`${r.enforcementLevel}, ${r.severity} severity`);
      expect(doc).toContain(r.remediation);
      for (const c of r.config) expect(doc).toContain(`\`${c.name}\``);
    }
  });

  it("explains running the pack with the CLI and offline", () => {
    expect(doc).toContain("--policy-pack policies --policy-pack-config policies/config/prod.json");
    expect(doc).toContain("evaluate(resources");
  });
});
