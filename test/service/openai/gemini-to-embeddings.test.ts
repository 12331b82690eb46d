// Answer direction of POST /v1beta/openai/embeddings (surfaces/openai/gemini-to-embeddings.ts): batchEmbedContents'
// answer and the usage read from Vertex as OpenAI's list, vectors as numbers or base64 float32.
import { describe, expect, it } from "vitest";
import { float32Base64, toEmbeddingsResponse } from "../../../service/src/surfaces/openai/gemini-to-embeddings.js";
import { GatewayError } from "../../../service/src/wire/errors.js";

const answer = JSON.stringify({ embeddings: [{ values: [0.5, -0.25] }, { values: [1, 0] }] });

describe("batchEmbedContents answer → OpenAI list", () => {
  it("lists the vectors in order with the usage", () => {
    expect(
      toEmbeddingsResponse(
        answer,
        { promptTokenCount: 7, totalTokenCount: 7 },
        { model: "gemini-embedding-001", base64: false },
      ),
    ).toEqual({
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.5, -0.25] },
        { object: "embedding", index: 1, embedding: [1, 0] },
      ],
      model: "gemini-embedding-001",
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });

  it("encodes base64 as little-endian float32, as OpenAI does and its SDK decodes", () => {
    const out = toEmbeddingsResponse(answer, undefined, { model: "m", base64: true });
    expect(out.data[0]!.embedding).toBe(float32Base64([0.5, -0.25]));
    const bytes = Buffer.from(out.data[0]!.embedding as string, "base64");
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, 2)]).toEqual([0.5, -0.25]);
    expect(out.usage).toEqual({ prompt_tokens: 0, total_tokens: 0 });
  });

  it("is a 502 when the answer is not one", () => {
    expect(() => toEmbeddingsResponse("nope", undefined, { model: "m", base64: false })).toThrow(GatewayError);
    expect(() =>
      toEmbeddingsResponse(JSON.stringify({ embeddings: [{}] }), undefined, { model: "m", base64: false }),
    ).toThrow(/no vector/);
  });
});
