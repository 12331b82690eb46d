// The emulator's function calling, thinking, Gemini 3 thought signatures and JSON answers (emulator/tools.ts,
// thinking.ts, schema-value.ts), driven with the official @google/genai client and plain fetch.
import { ApiError, GoogleGenAI, type Content, type GenerateContentResponse } from "@google/genai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
});
afterAll(() => emu.close());

const ai = () => new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: emu.url } });

const WEATHER = {
  name: "get_weather",
  parametersJsonSchema: {
    type: "object",
    properties: {
      city: { type: "string" },
      unit: { type: "string", enum: ["c", "f"] },
      days: { type: "integer", minimum: 1, maximum: 7 },
    },
    required: ["city"],
    additionalProperties: false,
  },
};
// Gemini's own OpenAPI-style schema, upper-case types (the SDK's Type enum values).
const TIME = {
  name: "get_time",
  parameters: { type: "OBJECT" as never, properties: { zone: { type: "STRING" as never } } },
};
const tools = [{ functionDeclarations: [WEATHER, TIME] }];
const user = (text: string): Content => ({ role: "user", parts: [{ text }] });

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

const partsOf = (r: GenerateContentResponse) => r.candidates?.[0]?.content?.parts ?? [];

describe("function calling", () => {
  it("AUTO calls the first function for a fresh user question, with arguments matching its schema", async () => {
    const r = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "Any plans?",
      config: { tools },
    });
    const calls = r.functionCalls ?? [];
    expect(calls.map((c) => c.name)).toEqual(["get_weather"]);
    const args = calls[0]!.args as Record<string, unknown>;
    expect(typeof args.city).toBe("string");
    expect(["c", "f"]).toContain(args.unit);
    expect(args.days).toBeGreaterThanOrEqual(1);
    expect(args.days).toBeLessThanOrEqual(7);
    expect(r.candidates?.[0]?.finishReason).toBe("STOP");
    // Call tokens are output: the JSON of the call / 4.
    expect(r.usageMetadata?.candidatesTokenCount).toBe(
      Math.ceil(JSON.stringify({ functionCall: { name: calls[0]!.name, args } }).length / 4),
    );
    // Gemini 2.5 does not sign calls.
    expect(partsOf(r)[0]!.thoughtSignature).toBeUndefined();
  });

  it("calls every function the prompt names, in parallel; answers in text once the results are in", async () => {
    const first = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "Use get_time and get_weather, please.",
      config: { tools },
    });
    expect(first.functionCalls?.map((c) => c.name)).toEqual(["get_weather", "get_time"]);
    const history: Content[] = [
      user("Use get_time and get_weather, please."),
      first.candidates![0]!.content!,
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { temp: 20 } } },
          { functionResponse: { name: "get_time", response: { time: "noon" } } },
        ],
      },
    ];
    const second = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: history,
      config: { tools },
    });
    expect(second.functionCalls).toBeUndefined();
    expect(second.text?.length).toBeGreaterThan(0);
  });

  it("follows the mode: NONE answers in text, ANY calls even after results, allowedFunctionNames narrows", async () => {
    const none = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "get_weather now",
      config: { tools, toolConfig: { functionCallingConfig: { mode: "NONE" as never } } },
    });
    expect(none.functionCalls).toBeUndefined();
    const any = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: [
        user("hi"),
        { role: "model", parts: [{ functionCall: { name: "get_time", args: {} } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_time", response: {} } }] },
      ],
      config: {
        tools,
        toolConfig: { functionCallingConfig: { mode: "ANY" as never, allowedFunctionNames: ["get_time"] } },
      },
    });
    expect(any.functionCalls?.map((c) => c.name)).toEqual(["get_time"]);
  });

  it("streams calls whole, in the last chunk with the usage", async () => {
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai().models.generateContentStream({
      model: "gemini-2.5-flash",
      contents: "weather?",
      config: { tools },
    })) {
      chunks.push(c);
    }
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.functionCalls?.[0]?.name).toBe("get_weather");
    expect(chunks[0]!.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
  });
});

describe("Gemini 3 thought signatures", () => {
  const model = "gemini-3-pro-preview";

  it("signs the first call of an answer only, and the same request gets the same signature", async () => {
    const ask = () => ai().models.generateContent({ model, contents: "get_weather and get_time", config: { tools } });
    const r = await ask();
    const parts = partsOf(r);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.thoughtSignature).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(parts[1]!.thoughtSignature).toBeUndefined();
    expect(partsOf(await ask())[0]!.thoughtSignature).toBe(parts[0]!.thoughtSignature);
  });

  it("accepts the answer sent back as received; refuses it without the signature with Google's 400", async () => {
    const r = await ai().models.generateContent({ model, contents: "weather in Oslo", config: { tools } });
    const callTurn = r.candidates![0]!.content!;
    const results: Content = {
      role: "user",
      parts: [{ functionResponse: { name: "get_weather", response: { temp: 3 } } }],
    };
    const ok = await ai().models.generateContent({
      model,
      contents: [user("weather in Oslo"), callTurn, results],
      config: { tools },
    });
    expect(ok.text?.length).toBeGreaterThan(0);

    const stripped: Content = { role: "model", parts: callTurn.parts!.map(({ thoughtSignature: _s, ...p }) => p) };
    const err = await apiError(
      ai().models.generateContent({ model, contents: [user("weather in Oslo"), stripped, results], config: { tools } }),
    );
    expect(err.status).toBe(400);
    expect(err.message).toContain("Function call is missing a thought_signature in functionCall parts");
    expect(err.message).toContain("`default_api:get_weather` , position 2");
    expect(err.message).toContain("INVALID_ARGUMENT");
  });

  it("checks only the current turn; takes Google's skip value; refuses a forged signature", async () => {
    const unsignedOldTurn: Content[] = [
      user("first question"),
      { role: "model", parts: [{ functionCall: { name: "get_time", args: {} } }] },
      { role: "user", parts: [{ functionResponse: { name: "get_time", response: {} } }] },
      { role: "model", parts: [{ text: "It is noon." }] },
      user("thanks, and now?"),
    ];
    expect((await ai().models.generateContent({ model, contents: unsignedOldTurn })).text).toBeTruthy();
    const withSignature = (thoughtSignature: string): Content[] => [
      user("q"),
      { role: "model", parts: [{ functionCall: { name: "get_time", args: {} }, thoughtSignature }] },
      { role: "user", parts: [{ functionResponse: { name: "get_time", response: {} } }] },
    ];
    expect(
      (await ai().models.generateContent({ model, contents: withSignature("skip_thought_signature_validator") })).text,
    ).toBeTruthy();
    const forged = await apiError(ai().models.generateContent({ model, contents: withSignature("bm90IG91cnM=") }));
    expect(forged.status).toBe(400);
    expect(forged.message).toContain("Corrupted thought signature.");
  });
});

describe("thinking", () => {
  it("reports thoughtsTokenCount apart from candidates, and a thought part with includeThoughts", async () => {
    const plain = await ai().models.generateContent({ model: "gemini-2.5-flash", contents: "think" });
    expect(plain.usageMetadata?.thoughtsTokenCount).toBeUndefined();
    const r = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "think",
      config: { thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } },
    });
    const u = r.usageMetadata!;
    expect(u.thoughtsTokenCount).toBe(32);
    expect(u.totalTokenCount).toBe(u.promptTokenCount! + u.candidatesTokenCount! + 32);
    const parts = partsOf(r);
    expect(parts[0]!.thought).toBe(true);
    expect(parts[0]!.text!.split(" ")).toHaveLength(32);
    expect(r.text).toBe(plain.text); // the answer itself is the same; thoughts come on top
  });

  it("takes levels per Gemini 3 model, with Google's 400s for the rest", async () => {
    const level = (model: string, thinkingLevel: string) =>
      ai().models.generateContent({
        model,
        contents: "x",
        config: { thinkingConfig: { thinkingLevel: thinkingLevel as never } },
      });
    expect((await level("gemini-3-flash-preview", "MINIMAL")).usageMetadata?.thoughtsTokenCount).toBe(4);
    expect((await level("gemini-3-pro-preview", "HIGH")).usageMetadata?.thoughtsTokenCount).toBe(32);
    const medium = await apiError(level("gemini-3-pro-preview", "MEDIUM"));
    expect(medium.message).toContain("Thinking level MEDIUM is not supported for this model");
    expect((await apiError(level("gemini-2.5-flash", "LOW"))).status).toBe(400);
    const both = await apiError(
      ai().models.generateContent({
        model: "gemini-3-flash-preview",
        contents: "x",
        config: { thinkingConfig: { thinkingLevel: "LOW" as never, thinkingBudget: 10 } },
      }),
    );
    expect(both.status).toBe(400);
    const off = await apiError(
      ai().models.generateContent({
        model: "gemini-2.5-pro",
        contents: "x",
        config: { thinkingConfig: { thinkingBudget: 0 } },
      }),
    );
    expect(off.message).toContain("only works in thinking mode");
  });

  it("signs a Gemini 3 text answer on its last part when it thinks", async () => {
    const r = await ai().models.generateContent({
      model: "gemini-3-flash-preview",
      contents: "x",
      config: { thinkingConfig: { thinkingLevel: "LOW" as never } },
    });
    expect(partsOf(r).at(-1)!.thoughtSignature).toBeTruthy();
  });
});

describe("JSON answers", () => {
  const schema = {
    type: "object",
    properties: {
      name: { type: "string" },
      age: { type: ["integer", "null"], minimum: 0, maximum: 120 },
      email: { type: "string", format: "email" },
      tags: { type: "array", items: { type: "string", enum: ["a", "b"] }, minItems: 1, maxItems: 3 },
      address: { $ref: "#/$defs/Address" },
      kind: { anyOf: [{ type: "null" }, { const: "person" }] },
    },
    required: ["name", "age", "tags", "address"],
    additionalProperties: false,
    $defs: { Address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  };

  it("answers JSON that matches responseJsonSchema, the same for the same request", async () => {
    const ask = () =>
      ai().models.generateContent({
        model: "gemini-2.5-flash",
        contents: "a person",
        config: { responseMimeType: "application/json", responseJsonSchema: schema },
      });
    const r = await ask();
    const value = JSON.parse(r.text!) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(["address", "age", "email", "kind", "name", "tags"]);
    expect(typeof value.name).toBe("string");
    expect(Number.isInteger(value.age)).toBe(true);
    expect(value.age as number).toBeLessThanOrEqual(120);
    expect(value.email).toMatch(/@example\.com$/);
    expect((value.tags as string[]).every((t) => t === "a" || t === "b")).toBe(true);
    expect(value.address).toEqual({ city: expect.any(String) });
    expect(value.kind).toBe("person");
    expect(r.usageMetadata?.candidatesTokenCount).toBe(Math.ceil(r.text!.length / 4));
    expect((await ask()).text).toBe(r.text);
  });

  it("reads Gemini's OpenAPI responseSchema too, and cuts JSON at maxOutputTokens with MAX_TOKENS", async () => {
    const r = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "items",
      config: {
        responseMimeType: "application/json",
        responseSchema: {
          type: "ARRAY" as never,
          items: { type: "OBJECT" as never, properties: { n: { type: "NUMBER" as never } } },
        },
      },
    });
    const value = JSON.parse(r.text!) as { n: number }[];
    expect(value.length).toBeGreaterThan(0);
    expect(value.every((v) => typeof v.n === "number")).toBe(true);
    const cut = await ai().models.generateContent({
      model: "gemini-2.5-flash",
      contents: "items",
      config: { responseMimeType: "application/json", responseJsonSchema: schema, maxOutputTokens: 3 },
    });
    expect(cut.candidates?.[0]?.finishReason).toBe("MAX_TOKENS");
    expect(cut.text).toHaveLength(12);
  });
});
