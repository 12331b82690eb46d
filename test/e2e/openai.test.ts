// The OpenAI-compatible surface through the official openai SDK: real HTTP to a gateway server, the emulator upstream.
// What a client of Google's OpenAI endpoint would notice when it only changes the host: answers, streams, tools with
// Gemini 3 thought signatures, structured output, images, errors — and that each call is admitted, billed and
// recorded exactly as a native one.
import { randomBytes } from "node:crypto";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../service/src/config/tenants.js";
import { startStack, type Stack } from "../support/stack.js";

const ADMIN_KEY = `admin_${randomBytes(16).toString("hex")}`;
const FLASH = "gemini-2.5-flash";
const GEMINI_3 = "gemini-3-pro-preview";
/** A 1×1 PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

type Chat = OpenAI.Chat.Completions.ChatCompletion;
type Usage = {
  tenants: Record<
    string,
    {
      total: { requests: number; usd: number };
      models: Record<string, { requests: number; usd: number; tokens: { input: number; output: number } }>;
    }
  >;
};

const client = (stack: Stack, key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${stack.gateway.url}/v1beta/openai/`, maxRetries: 0 });

async function apiError(p: Promise<unknown>): Promise<APIError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(APIError);
  return err as APIError;
}

const audits = (stack: Stack) =>
  stack.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => (l["logging.googleapis.com/labels"] as { log?: string } | undefined)?.log === "gateway-audit");

async function usage(stack: Stack): Promise<Usage> {
  const res = await fetch(`${stack.gateway.url}/admin/usage?period=day`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  return (await res.json()) as Usage;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
    tenants: [
      { id: "billing", models: ["*"] },
      { id: "embed", models: ["*"] },
      // 60,000 tokens a minute drain at one token a millisecond: x-ratelimit-reset-tokens is the reservation, exactly.
      { id: "img", models: ["*"], limits: { tokensPerMinute: 60_000 } },
      { id: "txt", models: ["*"], limits: { tokensPerMinute: 60_000 } },
    ],
  });
});
afterAll(() => stack?.close());
beforeEach(() => stack.emulator.reset());

describe("chat completions", () => {
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Tell me about rivers." },
  ];

  it("answers unary and streamed with the same text; the stream ends with the usage it was asked for", async () => {
    const oai = client(stack, stack.keys.acme);
    const unary = await oai.chat.completions.create({ model: FLASH, messages });
    expect(unary.object).toBe("chat.completion");
    expect(unary.model).toBe(FLASH);
    expect(unary.choices[0]!.finish_reason).toBe("stop");
    expect(unary.choices[0]!.message.role).toBe("assistant");
    expect(unary.usage).toMatchObject({ completion_tokens: 48, completion_tokens_details: { reasoning_tokens: 0 } });

    const stream = await oai.chat.completions.create({
      model: FLASH,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(unary.choices[0]!.message.content);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toEqual(unary.usage);
  });

  it("stops at max_completion_tokens with finish_reason length, unary and streamed", async () => {
    const oai = client(stack, stack.keys.acme);
    const unary = await oai.chat.completions.create({ model: FLASH, messages, max_completion_tokens: 5 });
    expect(unary.choices[0]!.finish_reason).toBe("length");
    expect(unary.usage!.completion_tokens).toBe(5);
    const stream = oai.chat.completions.stream({ model: FLASH, messages, max_tokens: 5 });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("length");
    expect(final.choices[0]!.message.content).toBe(unary.choices[0]!.message.content);
  });

  it("answers n choices and honours stop sequences", async () => {
    const oai = client(stack, stack.keys.acme);
    const two = await oai.chat.completions.create({ model: FLASH, messages, n: 2, seed: 3 });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(two.choices[0]!.message.content).not.toBe(two.choices[1]!.message.content);
    const word = two.choices[0]!.message.content!.split(" ")[3]!;
    const stopped = await oai.chat.completions.create({ model: FLASH, messages, n: 1, seed: 3, stop: [word] });
    expect(stopped.choices[0]!.message.content!.includes(word)).toBe(false);
  });

  it("serves a deterministic call from the cache, streamed or not, at no cost", async () => {
    const oai = client(stack, stack.keys.acme);
    const ask = { model: FLASH, messages, temperature: 0 };
    const first = await oai.chat.completions.create(ask).withResponse();
    expect(first.response.headers.get("x-gateway-cache")).toBe("miss");
    const again = await oai.chat.completions.create({ ...ask, stream: true }).withResponse();
    expect(again.response.headers.get("x-gateway-cache")).toBe("hit");
    let text = "";
    for await (const chunk of again.data) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(first.data.choices[0]!.message.content);
    expect(stack.emulator.stats().requests.total).toBe(1);
  });
});

describe("tools on Gemini 3, with thought signatures", () => {
  const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather",
        strict: true,
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, unit: { type: ["string", "null"], enum: ["c", "f", null] } },
          required: ["city", "unit"],
          additionalProperties: false,
        },
      },
    },
    { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
  ];
  const question: OpenAI.Chat.Completions.ChatCompletionMessageParam = {
    role: "user",
    content: "Use get_weather and get_time for Oslo.",
  };

  /** The tool results for an assistant message's calls. */
  const results = (message: OpenAI.Chat.Completions.ChatCompletionMessage) =>
    message.tool_calls!.map((c): OpenAI.Chat.Completions.ChatCompletionToolMessageParam => ({
      role: "tool",
      tool_call_id: c.id,
      content: JSON.stringify({ ok: c.type === "function" && c.function.name }),
    }));

  const signatureOf = (call: unknown) =>
    (call as { extra_content?: { google?: { thought_signature?: string } } }).extra_content?.google?.thought_signature;

  it("round-trips: the assistant message sent back as received carries the signature to Gemini", async () => {
    const oai = client(stack, stack.keys.acme);
    const first: Chat = await oai.chat.completions.create({ model: GEMINI_3, messages: [question], tools });
    const message = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(message.tool_calls!.map((c) => c.type === "function" && c.function.name)).toEqual([
      "get_weather",
      "get_time",
    ]);
    const args = JSON.parse((message.tool_calls![0] as { function: { arguments: string } }).function.arguments) as {
      city: string;
      unit: string | null;
    };
    expect(typeof args.city).toBe("string");
    // Gemini signs the first of parallel calls only; the signature travels on that call.
    const signature = signatureOf(message.tool_calls![0]);
    expect(signature).toBeTruthy();
    expect(signatureOf(message.tool_calls![1])).toBeUndefined();
    const declared = JSON.parse(stack.emulator.requests().at(-1)!.body) as {
      tools: { functionDeclarations: { parametersJsonSchema?: unknown }[] }[];
    };
    expect(declared.tools[0]!.functionDeclarations[0]!.parametersJsonSchema).toMatchObject({
      additionalProperties: false,
      properties: { unit: { anyOf: [{ type: "string", enum: ["c", "f"] }, { type: "null" }] } },
    });

    const second = await oai.chat.completions.create({
      model: GEMINI_3,
      messages: [question, message, ...results(message)],
      tools,
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content?.length).toBeGreaterThan(0);
    const sent = JSON.parse(stack.emulator.requests().at(-1)!.body) as {
      contents: { role: string; parts: { thoughtSignature?: string; functionCall?: unknown }[] }[];
    };
    expect(sent.contents[1]!.parts[0]).toMatchObject({ thoughtSignature: signature });
  });

  it("round-trips a streamed call too (the SDK's own accumulator keeps extra_content)", async () => {
    const oai = client(stack, stack.keys.acme);
    const stream = oai.chat.completions.stream({ model: GEMINI_3, messages: [question], tools });
    const message = await stream.finalMessage();
    expect(signatureOf(message.tool_calls![0])).toBeTruthy();
    const second = await oai.chat.completions.create({
      model: GEMINI_3,
      messages: [question, message, ...results(message)],
      tools,
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
  });

  it("shows the failure mode when a client drops the signature: Gemini's 400, in OpenAI's shape", async () => {
    const oai = client(stack, stack.keys.acme);
    const first = await oai.chat.completions.create({ model: GEMINI_3, messages: [question], tools });
    const message = first.choices[0]!.message;
    // What a client that keeps only OpenAI's own fields sends back (Portkey #1442, opencode #4832).
    const stripped: OpenAI.Chat.Completions.ChatCompletionMessage = {
      ...message,
      tool_calls: message.tool_calls!.map((call) => {
        const { extra_content: _e, ...rest } = call as typeof call & { extra_content?: unknown };
        return rest;
      }),
    };
    const err = await apiError(
      oai.chat.completions.create({ model: GEMINI_3, messages: [question, stripped, ...results(message)], tools }),
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.type).toBe("invalid_request_error");
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toContain("Function call is missing a thought_signature");
  });

  it("follows tool_choice: none answers in text, a named function is the one called", async () => {
    const oai = client(stack, stack.keys.acme);
    const none = await oai.chat.completions.create({ model: FLASH, messages: [question], tools, tool_choice: "none" });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
    const named = await oai.chat.completions.create({
      model: FLASH,
      messages: [{ role: "user", content: "hello" }],
      tools,
      tool_choice: { type: "function", function: { name: "get_time" } },
    });
    expect(named.choices[0]!.message.tool_calls!.map((c) => c.type === "function" && c.function.name)).toEqual([
      "get_time",
    ]);
  });
});

describe("structured output and reasoning", () => {
  it("answers json_schema output that parses and matches, the schema rewritten for Gemini", async () => {
    const oai = client(stack, stack.keys.acme);
    const res = await oai.chat.completions
      .create({
        model: FLASH,
        messages: [{ role: "user", content: "A person, please." }],
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "person",
            strict: true,
            schema: {
              $schema: "http://json-schema.org/draft-07/schema#",
              type: "object",
              definitions: {
                Address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
              },
              properties: {
                name: { type: "string", minLength: 1 },
                nickname: { type: ["string", "null"] },
                address: { $ref: "#/definitions/Address" },
              },
              required: ["name", "nickname", "address"],
              additionalProperties: false,
            },
          },
        },
      })
      .withResponse();
    const person = JSON.parse(res.data.choices[0]!.message.content!) as Record<string, unknown>;
    expect(typeof person.name).toBe("string");
    expect(person.address).toEqual({ city: expect.any(String) });
    expect(res.response.headers.get("x-gateway-schema-dropped")).toBe("minLength");
    const sent = JSON.parse(stack.emulator.requests().at(-1)!.body) as { generationConfig: Record<string, unknown> };
    expect(sent.generationConfig.responseMimeType).toBe("application/json");
    expect(JSON.stringify(sent.generationConfig.responseJsonSchema)).not.toMatch(/\$ref|\$schema|definitions/);
  });

  it("maps reasoning_effort to the model's thinking setting and reports reasoning tokens", async () => {
    const oai = client(stack, stack.keys.acme);
    const res = await oai.chat.completions.create({
      model: "gemini-3-flash-preview",
      messages: [{ role: "user", content: "Think briefly." }],
      reasoning_effort: "low",
    });
    const sent = JSON.parse(stack.emulator.requests().at(-1)!.body) as { generationConfig: Record<string, unknown> };
    expect(sent.generationConfig.thinkingConfig).toEqual({ thinkingLevel: "LOW" });
    expect(res.usage!.completion_tokens_details!.reasoning_tokens).toBe(8);
    expect(res.usage!.completion_tokens).toBe(48 + 8);
  });
});

describe("images", () => {
  it("bills a data-URL image as an image: 258 tokens in the admission estimate and in the usage", async () => {
    const ask = (key: string, withImage: boolean) =>
      client(stack, key)
        .chat.completions.create({
          model: FLASH,
          max_completion_tokens: 16,
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is in this image?" },
                ...(withImage
                  ? [{ type: "image_url" as const, image_url: { url: `data:image/png;base64,${PNG}` } }]
                  : []),
              ],
            },
          ],
        })
        .withResponse();
    const image = await ask(stack.keys.img!, true);
    const text = await ask(stack.keys.txt!, false);
    // The admission estimate (reserved before the call): text / 4 + 258 per image + max_completion_tokens.
    const reserved = (r: typeof image) =>
      Math.round(parseFloat(r.response.headers.get("x-ratelimit-reset-tokens")!) * 1000);
    expect(reserved(text)).toBe(Math.ceil("What is in this image?".length / 4) + 16);
    expect(reserved(image) - reserved(text)).toBe(258);
    expect(image.data.usage!.prompt_tokens - text.data.usage!.prompt_tokens).toBe(258);
    const sent = JSON.parse(stack.emulator.requests().at(-2)!.body) as { contents: { parts: unknown[] }[] };
    expect(sent.contents[0]!.parts[1]).toEqual({ inlineData: { mimeType: "image/png", data: PNG } });
    const day = await usage(stack);
    expect(day.tenants.img!.models[FLASH]!.tokens.input).toBe(image.data.usage!.prompt_tokens);
  });
});

describe("errors in OpenAI's shape", () => {
  it("401 for an unknown key", async () => {
    const err = await apiError(
      client(stack, "ggw_nope").chat.completions.create({ model: FLASH, messages: [{ role: "user", content: "x" }] }),
    );
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key", param: null });
  });

  it("404 for a model the gateway does not serve; 403 for one the tenant may not use", async () => {
    const missing = await apiError(
      client(stack, stack.keys.acme).chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "x" }],
      }),
    );
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.error).toMatchObject({ param: "model", code: "model_not_found" });
    const denied = await apiError(
      client(stack, stack.keys.flashOnly).chat.completions.create({
        model: GEMINI_3,
        messages: [{ role: "user", content: "x" }],
      }),
    );
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(denied.error).toMatchObject({ param: "model", code: "model_not_allowed" });
  });

  it("400 naming the parameter, before anything is sent upstream", async () => {
    const oai = client(stack, stack.keys.acme);
    const unknown = await apiError(
      oai.chat.completions.create({ model: FLASH, messages: [{ role: "user", content: "x" }], top_k: 3 } as never),
    );
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unknown.error).toMatchObject({ param: "top_k", type: "invalid_request_error" });
    const schema = await apiError(
      oai.chat.completions.create({
        model: FLASH,
        messages: [{ role: "user", content: "x" }],
        tools: [
          {
            type: "function",
            function: {
              name: "f",
              parameters: { type: "object", properties: { a: { $ref: "https://x.example/a.json" } } },
            },
          },
        ],
      }),
    );
    expect(schema.error).toMatchObject({ param: "tools[0].function.parameters.properties.a.$ref" });
    expect(stack.emulator.stats().requests.total).toBe(0);
  });

  it("404 and 405 in OpenAI's shape on other paths and verbs under the prefix", async () => {
    const other = await fetch(`${stack.gateway.url}/v1beta/openai/completions`, { method: "POST" });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    const get = await fetch(`${stack.gateway.url}/v1beta/openai/chat/completions`);
    expect(get.status).toBe(405);
  });
});

describe("models", () => {
  it("lists the models the key's tenant may use, and retrieves one", async () => {
    const all = await client(stack, stack.keys.acme).models.list();
    expect(all.data.map((m) => m.id)).toContain(GEMINI_3);
    const flashOnly = client(stack, stack.keys.flashOnly);
    expect((await flashOnly.models.list()).data).toEqual([
      { id: FLASH, object: "model", created: expect.any(Number), owned_by: "google" },
    ]);
    expect((await flashOnly.models.retrieve(FLASH)).id).toBe(FLASH);
    expect(await apiError(flashOnly.models.retrieve(GEMINI_3))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await apiError(client(stack, "ggw_nope").models.list())).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("accounting", () => {
  it("records each call with its model, and costs a streamed call (no usage asked for) like a unary one", async () => {
    const oai = client(stack, stack.keys.billing!);
    await oai.chat.completions.create({ model: FLASH, messages: [{ role: "user", content: "one" }] });
    const stream = await oai.chat.completions.create({
      model: "gemini-3-flash-preview",
      messages: [{ role: "user", content: "two" }],
      stream: true,
    });
    for await (const _ of stream) void _;
    await new Promise((r) => setTimeout(r, 50)); // the record is written after the last byte
    const day = (await usage(stack)).tenants.billing!;
    expect(day.total.requests).toBe(2);
    expect(day.models[FLASH]).toMatchObject({ requests: 1, tokens: { output: 48 } });
    expect(day.models["gemini-3-flash-preview"]).toMatchObject({ requests: 1, tokens: { output: 48 } });
    expect(day.models["gemini-3-flash-preview"]!.usd).toBeGreaterThan(0);
    expect(day.models[FLASH]!.usd).toBeGreaterThan(0);
    const records = audits(stack).filter((a) => a.tenant === "billing");
    expect(records.map((a) => [a.surface, a.method, a.model])).toEqual([
      ["openai", "generateContent", FLASH],
      ["openai", "streamGenerateContent", "gemini-3-flash-preview"],
    ]);
  });
});

describe("embeddings", () => {
  const EMBED = "gemini-embedding-001";

  it("answers one vector per input, in order, through the SDK's default base64 encoding and as floats", async () => {
    const oai = client(stack, stack.keys.embed!);
    const inputs = ["The quick brown fox", "jumps over", "the lazy dog"];
    const res = await oai.embeddings.create({ model: EMBED, input: inputs, dimensions: 64 });
    expect(res.object).toBe("list");
    expect(res.model).toBe(EMBED);
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(res.data.every((d) => d.embedding.length === 64)).toBe(true);
    // gemini-embedding-001 takes one input per Vertex call: three inputs, three upstream calls.
    expect(stack.emulator.requests().filter((r) => r.path.endsWith(`${EMBED}:predict`))).toHaveLength(3);
    const single = await oai.embeddings.create({
      model: EMBED,
      input: inputs[1]!,
      dimensions: 64,
      encoding_format: "float",
    });
    // The same input embeds to the same vector, alone or in a batch (base64 carries float32 precision).
    single.data[0]!.embedding.forEach((v, i) => expect(res.data[1]!.embedding[i]).toBeCloseTo(v, 6));
    expect(res.usage.prompt_tokens).toBeGreaterThan(single.usage.prompt_tokens);
    expect(res.usage.total_tokens).toBe(res.usage.prompt_tokens);

    const day = (await usage(stack)).tenants.embed!;
    expect(day.models[EMBED]).toMatchObject({
      requests: 2,
      tokens: { input: res.usage.prompt_tokens + single.usage.prompt_tokens, output: 0 },
    });
    expect(day.models[EMBED]!.usd).toBeGreaterThan(0);
    expect(
      audits(stack)
        .filter((a) => a.tenant === "embed")
        .map((a) => [a.surface, a.method, a.model]),
    ).toEqual([
      ["openai", "batchEmbedContents", EMBED],
      ["openai", "batchEmbedContents", EMBED],
    ]);
  });

  it("refuses token ids and models of the other kind, in OpenAI's shape", async () => {
    const oai = client(stack, stack.keys.acme);
    const ids = await apiError(oai.embeddings.create({ model: EMBED, input: [1, 2, 3] }));
    expect(ids).toBeInstanceOf(OpenAI.BadRequestError);
    expect(ids.error).toMatchObject({ param: "input" });
    expect(await apiError(oai.embeddings.create({ model: FLASH, input: "x" }))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(
      await apiError(oai.chat.completions.create({ model: EMBED, messages: [{ role: "user", content: "x" }] })),
    ).toBeInstanceOf(OpenAI.NotFoundError);
    const tooMany = await apiError(
      oai.embeddings.create({ model: EMBED, input: Array.from({ length: 101 }, () => "x") }),
    );
    expect(tooMany).toBeInstanceOf(OpenAI.BadRequestError);
    expect(tooMany.message).toContain("at most 100");
    expect(stack.emulator.stats().requests.total).toBe(0);
  });
});

describe("a stream the client leaves", () => {
  let slow: Stack;
  beforeAll(async () => {
    slow = await startStack({
      env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) },
      emulator: { latency: { perChunkMs: 150 }, chunkTokens: 8, responseTokens: 48 },
      tenants: [{ id: "cut", models: ["*"] }],
    });
  });
  afterAll(() => slow?.close());

  it("is charged what was produced: the prompt as estimated (an image at 258) and the chunks relayed", async () => {
    const stream = await client(slow, slow.keys.cut!).chat.completions.create({
      model: FLASH,
      stream: true,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Describe it." },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received++;
      if (received === 2) break; // leaves: the SDK aborts the request
    }
    await new Promise((r) => setTimeout(r, 400));
    const produced = slow.emulator.stats().tokens.output;
    expect(produced).toBeGreaterThanOrEqual(16);
    expect(produced).toBeLessThan(48);
    const day = (await usage(slow)).tenants.cut!;
    // Vertex sends usage only on the last chunk: the prompt is the gateway's estimate, the output what was relayed.
    expect(day.models[FLASH]!.tokens).toMatchObject({
      input: Math.ceil("Describe it.".length / 4) + 258,
      output: produced,
    });
    expect(day.models[FLASH]!.usd).toBeGreaterThan(0);
    const record = audits(slow).find((a) => a.tenant === "cut")!;
    expect(record).toMatchObject({ surface: "openai", usageEstimated: true, httpRequest: { status: 499 } });
  });
});
