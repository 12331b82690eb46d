/**
 * Requests spelled the proto way (`system_instruction`, `generation_config.max_output_tokens`), as Google's REST API
 * accepts them, through the gateway and its emulator: answered as if spelled in camelCase, never sharing a cached
 * answer with a request that differs, and refused (400) when one field is sent under both names.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postJson, startStack, type Stack } from "../support/stack.js";

const GEN = "/v1beta/models/gemini-2.5-flash:generateContent";
const VERTEX_GEN =
  "/v1beta1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";

interface Answer {
  responseId?: string;
  candidates?: { content?: { parts?: { text?: string }[] }; finishReason?: string }[];
  usageMetadata?: { candidatesTokenCount?: number };
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());
beforeEach(() => stack.emulator.reset());

const ask = (body: unknown, extra: Record<string, string> = {}) =>
  postJson(stack.gateway.url + GEN, body, { "x-goog-api-key": stack.keys.acme, ...extra });
const textOf = (a: unknown) => (a as Answer).candidates?.[0]?.content?.parts?.[0]?.text;

describe("snake_case field names through the gateway", () => {
  it("never lets two temperature-0 calls differing only in system_instruction share an answer", async () => {
    const call = (instruction: string) =>
      ask({
        contents: [{ role: "user", parts: [{ text: "Name a colour." }] }],
        system_instruction: { parts: [{ text: instruction }] },
        generation_config: { temperature: 0 },
      });
    const first = await call("Answer in English.");
    const second = await call("Answer in French.");
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.headers.get("x-gateway-cache")).toBe("miss");
    expect(second.headers.get("x-gateway-cache")).toBe("miss");
    expect((second.json as Answer).responseId).not.toBe((first.json as Answer).responseId);
    expect(textOf(second.json)).not.toBe(textOf(first.json)); // the emulator's answer depends on the instruction
    expect(stack.emulator.stats().requests.total).toBe(2);

    // The same request spelled in camelCase is the same request: a hit on the first answer.
    const camel = await ask({
      contents: [{ role: "user", parts: [{ text: "Name a colour." }] }],
      systemInstruction: { parts: [{ text: "Answer in English." }] },
      generationConfig: { temperature: 0 },
    });
    expect(camel.headers.get("x-gateway-cache")).toBe("hit");
    expect((camel.json as Answer).responseId).toBe((first.json as Answer).responseId);
  });

  it("is answered as if spelled in camelCase: generation_config.max_output_tokens is honoured", async () => {
    const contents = [{ role: "user", parts: [{ text: "Tell me a long story." }] }];
    const snake = await ask({ contents, generation_config: { max_output_tokens: 3 } }, { "x-gateway-cache": "bypass" });
    const camel = await ask({ contents, generationConfig: { maxOutputTokens: 3 } }, { "x-gateway-cache": "bypass" });
    expect(snake.status).toBe(200);
    expect((snake.json as Answer).candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    expect((snake.json as Answer).usageMetadata?.candidatesTokenCount).toBe(3);
    expect(textOf(snake.json)).toBe(textOf(camel.json));
    // What went upstream is the canonical request (re-serialised because a name was renamed), with the labels.
    const sent = JSON.parse(stack.emulator.requests()[0]!.body) as Record<string, unknown>;
    expect(sent.generationConfig).toEqual({ maxOutputTokens: 3 });
    expect(sent).not.toHaveProperty("generation_config");
    expect(sent.labels).toMatchObject({ "gateway-tenant": "acme" });
  });

  it("validates snake_case fields (a bad temperature is a 400 before any upstream call)", async () => {
    const res = await ask({ contents: [{ parts: [{ text: "x" }] }], generation_config: { temperature: 9 } });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/generationConfig\.temperature/);
    expect(stack.emulator.stats().requests.total).toBe(0);
  });

  it("refuses one field under both names with a 400, as Google does", async () => {
    const res = await ask({
      contents: [{ parts: [{ text: "x" }] }],
      generationConfig: { maxOutputTokens: 3 },
      generation_config: { max_output_tokens: 4 },
    });
    expect(res.status).toBe(400);
    expect((res.json as { error: { message: string } }).error.message).toMatch(/Duplicate field/);
    expect(stack.emulator.stats().requests.total).toBe(0);
  });
});

describe("snake_case field names at the emulator", () => {
  const direct = (body: unknown) =>
    postJson(stack.emulator.url + VERTEX_GEN, body, { authorization: "Bearer emulator-token" });

  it("honours generation_config and system_instruction like their camelCase names", async () => {
    const contents = [{ role: "user", parts: [{ text: "Hello" }] }];
    const snake = await direct({
      contents,
      system_instruction: { parts: [{ text: "Be terse." }] },
      generation_config: { max_output_tokens: 2, candidate_count: 2 },
    });
    const camel = await direct({
      contents,
      systemInstruction: { parts: [{ text: "Be terse." }] },
      generationConfig: { maxOutputTokens: 2, candidateCount: 2 },
    });
    expect(snake.status).toBe(200);
    const answer = snake.json as Answer;
    expect(answer.candidates).toHaveLength(2);
    expect(answer.usageMetadata?.candidatesTokenCount).toBe(4);
    expect(answer.candidates!.map((c) => c.content?.parts?.[0]?.text)).toEqual(
      (camel.json as Answer).candidates!.map((c) => c.content?.parts?.[0]?.text),
    );
  });

  it("refuses a duplicate field with a 400", async () => {
    const res = await direct({ contents: [{ parts: [{ text: "x" }] }], cachedContent: "a", cached_content: "a" });
    expect(res.status).toBe(400);
  });
});
