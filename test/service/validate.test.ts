import { describe, expect, it } from "vitest";
import { validateBody } from "../../service/src/pipeline/validate.js";

const labels = { "gateway-tenant": "acme", "gateway-key": "0123456789ab" };

describe("request validation and attribution labels", () => {
  it("splices labels into the original bytes, whatever the whitespace", () => {
    for (const raw of [
      '{"contents":[{"parts":[{"text":"x"}]}]}',
      '{ "contents" : [ {"parts":[{"text":"x"}]} ] }\n\n',
    ]) {
      const out = validateBody("generateContent", Buffer.from(raw), labels).toString();
      const at = raw.lastIndexOf("}");
      expect(out).toBe(`${raw.slice(0, at)},"labels":${JSON.stringify(labels)}${raw.slice(at)}`);
      expect(JSON.parse(out).labels).toEqual(labels);
    }
  });

  it("never adds labels to countTokens (Vertex refuses them there) and unwraps the Developer API form", () => {
    const raw = Buffer.from('{"contents":[{"parts":[{"text":"x"}]}]}');
    expect(validateBody("countTokens", raw, labels)).toBe(raw);
    const wrapped = {
      generateContentRequest: {
        model: "models/m",
        contents: [{ parts: [{ text: "y" }] }],
        generationConfig: { seed: 1 },
      },
    };
    const out = JSON.parse(validateBody("countTokens", Buffer.from(JSON.stringify(wrapped)), labels).toString());
    expect(out).toEqual({ contents: wrapped.generateContentRequest.contents, generationConfig: { seed: 1 } });
  });
});
