// Request direction of POST /v1beta/openai/embeddings (surfaces/openai/embeddings-to-gemini.ts): OpenAI's embeddings
// request as the native batchEmbedContents request, one Gemini request per input.
import { describe, expect, it } from "vitest";
import {
  embeddingsToGemini,
  parseEmbeddingsRequest,
} from "../../../service/src/surfaces/openai/embeddings-to-gemini.js";
import { toOpenAIError } from "../../../service/src/surfaces/openai/error-shape.js";
import { GatewayError } from "../../../service/src/wire/errors.js";

const decode = (body: unknown) => embeddingsToGemini(parseEmbeddingsRequest(Buffer.from(JSON.stringify(body))));

function refused(body: unknown) {
  try {
    decode(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return toOpenAIError((err as GatewayError).toEnvelope()).error;
  }
  throw new Error("expected a 400");
}

describe("embeddings → batchEmbedContents", () => {
  it("makes one request per input, in order, with dimensions as outputDimensionality", () => {
    expect(decode({ model: "models/gemini-embedding-001", input: ["a", "b"], dimensions: 256, user: "u" })).toEqual({
      model: "gemini-embedding-001",
      base64: true,
      request: {
        requests: [
          { content: { role: "user", parts: [{ text: "a" }] }, outputDimensionality: 256 },
          { content: { role: "user", parts: [{ text: "b" }] }, outputDimensionality: 256 },
        ],
      },
    });
    expect(decode({ model: "m", input: "one", encoding_format: "float" })).toMatchObject({
      base64: false,
      request: { requests: [{ content: { parts: [{ text: "one" }] } }] },
    });
  });

  it("refuses token ids, empty inputs and unknown arguments, naming them", () => {
    expect(refused({ model: "m", input: [1, 2, 3] }).param).toBe("input");
    expect(refused({ model: "m", input: [[1], [2]] }).param).toBe("input");
    expect(refused({ model: "m", input: [] }).param).toBe("input");
    expect(refused({ model: "m", input: ["x", " "] }).param).toBe("input[1]");
    expect(refused({ model: "m", input: "x", task_type: "RETRIEVAL_QUERY" })).toMatchObject({
      param: "task_type",
      message: "Unrecognized request argument supplied: task_type",
    });
    expect(refused({ model: "m", input: "x", encoding_format: "int8" }).param).toBe("encoding_format");
  });
});
