import { describe, expect, it } from "vitest";
import { requestBody, validateBody } from "../../service/src/pipeline/validate.js";

const labels = { "gateway-tenant": "acme", "gateway-key": "0123456789ab" };
const forward = (method: "generateContent" | "countTokens", raw: string | Buffer, modelArmorConfig?: object) =>
  requestBody(validateBody(method, Buffer.isBuffer(raw) ? raw : Buffer.from(raw)), { labels, modelArmorConfig });

describe("request validation and the fields the gateway adds", () => {
  it("splices labels into the original bytes, whatever the whitespace", () => {
    for (const raw of [
      '{"contents":[{"parts":[{"text":"x"}]}]}',
      '{ "contents" : [ {"parts":[{"text":"x"}]} ] }\n\n',
    ]) {
      const out = forward("generateContent", raw).toString();
      const at = raw.lastIndexOf("}");
      expect(out).toBe(`${raw.slice(0, at)},"labels":${JSON.stringify(labels)}${raw.slice(at)}`);
      expect(JSON.parse(out).labels).toEqual(labels);
    }
  });

  it("splices a tenant's modelArmorConfig after the labels, and merges with the client's labels", () => {
    const armor = { promptTemplateName: "projects/p/locations/us-central1/templates/t" };
    const raw = '{"contents":[{"parts":[{"text":"x"}]}]}';
    const out = forward("generateContent", raw, armor).toString();
    expect(out).toBe(
      `${raw.slice(0, -1)},"labels":${JSON.stringify(labels)},"modelArmorConfig":${JSON.stringify(armor)}}`,
    );
    const withLabels = JSON.parse(
      forward("generateContent", '{"contents":[{"parts":[{"text":"x"}]}],"labels":{"team":"a"}}', armor).toString(),
    );
    expect(withLabels.labels).toEqual({ team: "a", ...labels });
    expect(withLabels.modelArmorConfig).toEqual(armor);
  });

  it("never adds labels to countTokens (Vertex refuses them there) and unwraps the Developer API form", () => {
    const raw = Buffer.from('{"contents":[{"parts":[{"text":"x"}]}]}');
    expect(forward("countTokens", raw)).toBe(raw);
    const wrapped = {
      generateContentRequest: {
        model: "models/m",
        contents: [{ parts: [{ text: "y" }] }],
        generationConfig: { seed: 1 },
      },
    };
    const out = JSON.parse(forward("countTokens", JSON.stringify(wrapped)).toString());
    expect(out).toEqual({ contents: wrapped.generateContentRequest.contents, generationConfig: { seed: 1 } });
  });

  it("does not quote the body back in JSON syntax errors (they reach the audit log)", () => {
    for (const raw of ['{"contents": canary-secret', "canary-secret", '{"a":1,,"canary-secret":2}']) {
      let message = "";
      try {
        validateBody("generateContent", Buffer.from(raw));
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^Invalid JSON payload received\./);
      expect(message).not.toContain("canary");
    }
  });
});
