// Request direction of the OpenAI surface (surfaces/openai/chat-to-gemini.ts, reasoning.ts): chat-completions bodies
// as Gemini requests, and the 400s (OpenAI's shape, with `param`) for what cannot be translated.
import { describe, expect, it } from "vitest";
import { chatToGemini, parseChatRequest } from "../../../service/src/surfaces/openai/chat-to-gemini.js";
import { toOpenAIError } from "../../../service/src/surfaces/openai/error-shape.js";
import { thinkingForEffort } from "../../../service/src/surfaces/openai/reasoning.js";
import { GatewayError } from "../../../service/src/wire/errors.js";

const decode = (body: unknown) => chatToGemini(parseChatRequest(Buffer.from(JSON.stringify(body))));
const user = (content: unknown) => ({ role: "user", content });

/** The OpenAI error body a refused request gets. */
function refused(body: unknown) {
  try {
    decode(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).httpCode).toBe(400);
    return toOpenAIError((err as GatewayError).toEnvelope()).error;
  }
  throw new Error("expected a 400");
}

describe("messages", () => {
  it("maps system/developer, user, assistant and tool messages onto contents and systemInstruction", () => {
    const out = decode({
      model: "models/gemini-2.5-flash",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in English." }] },
        user("What is the weather in Paris and Rome?"),
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            { id: "call_b", type: "function", function: { name: "weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_a", content: '{"temp":21}' },
        { role: "tool", tool_call_id: "call_b", content: "sunny" },
        { role: "assistant", content: "Warm in both." },
        user([{ type: "text", text: "Thanks" }]),
      ],
    });
    expect(out.model).toBe("gemini-2.5-flash");
    expect(out.stream).toBe(false);
    expect(out.request).toEqual({
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Answer in English." }] },
      contents: [
        { role: "user", parts: [{ text: "What is the weather in Paris and Rome?" }] },
        {
          role: "model",
          parts: [
            { functionCall: { name: "weather", args: { city: "Paris" } } },
            { functionCall: { name: "weather", args: { city: "Rome" } } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "weather", response: { temp: 21 } } },
            { functionResponse: { name: "weather", response: { output: "sunny" } } },
          ],
        },
        { role: "model", parts: [{ text: "Warm in both." }] },
        { role: "user", parts: [{ text: "Thanks" }] },
      ],
    });
  });

  it("restores Gemini 3 thought signatures from extra_content.google.thought_signature, exactly as given", () => {
    const out = decode({
      model: "gemini-3-pro-preview",
      messages: [
        user("Check flights"),
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "check_flight", arguments: '{"flight":"AA100"}' },
              extra_content: { google: { thought_signature: "Q2lnbmF0dXJlIEE=" } },
            },
            { id: "call_2", type: "function", function: { name: "check_flight", arguments: "" } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "on time" },
        { role: "tool", tool_call_id: "call_2", content: "delayed" },
        { role: "assistant", content: "One is late.", extra_content: { google: { thought_signature: "U2ln" } } },
      ],
    });
    expect(out.request.contents[1]).toEqual({
      role: "model",
      parts: [
        { text: "Checking." },
        { functionCall: { name: "check_flight", args: { flight: "AA100" } }, thoughtSignature: "Q2lnbmF0dXJlIEE=" },
        { functionCall: { name: "check_flight", args: {} } },
      ],
    });
    expect(out.request.contents[3]).toEqual({
      role: "model",
      parts: [{ text: "One is late.", thoughtSignature: "U2ln" }],
    });
  });

  it("takes images, audio and files as base64 data URLs (inlineData), never fetching a URL", () => {
    const out = decode({
      model: "gemini-2.5-flash",
      messages: [
        user([
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "high" } },
          { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
          { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
        ]),
      ],
    });
    expect(out.request.contents[0]!.parts).toEqual([
      { text: "What is this?" },
      { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
      { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
    ]);
    expect(
      refused({
        model: "m",
        messages: [user([{ type: "image_url", image_url: { url: "http://169.254.169.254/x.png" } }])],
      }),
    ).toMatchObject({ param: "messages[0].content[0].image_url.url", type: "invalid_request_error" });
  });

  it("refuses a tool message that answers no earlier tool call, and arguments that are not a JSON object", () => {
    expect(
      refused({ model: "m", messages: [user("x"), { role: "tool", tool_call_id: "nope", content: "1" }] }).param,
    ).toBe("messages[1].tool_call_id");
    const call = (args: string) => ({
      model: "m",
      messages: [
        user("x"),
        { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: args } }] },
      ],
    });
    expect(refused(call("{oops")).param).toBe("messages[1].tool_calls[0].function.arguments");
    expect(refused(call("[1]")).param).toBe("messages[1].tool_calls[0].function.arguments");
  });

  it("refuses a conversation of system messages only, and the deprecated function role", () => {
    expect(refused({ model: "m", messages: [{ role: "system", content: "x" }] }).param).toBe("messages");
    expect(refused({ model: "m", messages: [{ role: "function", name: "f", content: "x" }] }).param).toBe(
      "messages[0].role",
    );
  });
});

describe("parameters", () => {
  it("maps sampling, length, stop, n, seed and the stream flags onto generationConfig", () => {
    const out = decode({
      model: "gemini-2.5-flash",
      messages: [user("hi")],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 64,
      stop: "END",
      n: 2,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      stream: true,
      stream_options: { include_usage: true },
      user: "u-1",
      metadata: { a: "b" },
      store: false,
      parallel_tool_calls: true,
    });
    expect(out.stream).toBe(true);
    expect(out.includeUsage).toBe(true);
    expect(out.request.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 64,
      stopSequences: ["END"],
      candidateCount: 2,
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
    });
  });

  it("refuses arguments OpenAI does not have, and ones Gemini cannot honour, naming them", () => {
    expect(refused({ model: "m", messages: [user("x")], top_k: 3 })).toMatchObject({
      param: "top_k",
      message: "Unrecognized request argument supplied: top_k",
    });
    expect(refused({ model: "m", messages: [user("x")], logprobs: true }).param).toBe("logprobs");
    expect(refused({ model: "m", messages: [user("x")], logit_bias: { "1": 2 } }).param).toBe("logit_bias");
    expect(refused({ model: "m", messages: [user("x")], n: 9 }).param).toBe("n");
    expect(refused({ model: "m", messages: [user("x")], stop: ["a", "b", "c", "d", "e", "f"] }).param).toBe("stop");
    expect(refused({ model: "m", messages: [user("x")], stream_options: { include_usage: true } }).param).toBe(
      "stream_options",
    );
    expect(refused({ model: "m", messages: [user("x")], functions: [{ name: "f" }] }).param).toBe("functions");
    expect(refused({ model: "m", messages: [user("x")], temperature: 3 }).param).toBe("temperature");
    expect(refused({ model: "m", messages: [{ role: "robot", content: "x" }] }).param).toBe("messages[0].role");
  });

  it("sends response_format json_schema as responseJsonSchema, rewritten, and reports what it dropped", () => {
    const out = decode({
      model: "gemini-2.5-flash",
      messages: [user("x")],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "person",
          strict: true,
          schema: {
            type: "object",
            properties: { name: { type: "string", minLength: 1 }, age: { type: ["integer", "null"] } },
            required: ["name", "age"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(out.request.generationConfig).toEqual({
      responseMimeType: "application/json",
      responseJsonSchema: {
        type: "object",
        properties: { name: { type: "string" }, age: { anyOf: [{ type: "integer" }, { type: "null" }] } },
        required: ["name", "age"],
        additionalProperties: false,
      },
    });
    expect(out.dropped).toEqual(["minLength"]);
    expect(
      decode({ model: "m", messages: [user("x")], response_format: { type: "json_object" } }).request.generationConfig,
    ).toEqual({
      responseMimeType: "application/json",
    });
  });
});

describe("tools", () => {
  const tools = [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "Weather for a city",
        strict: true,
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, unit: { type: ["string", "null"], enum: ["c", "f", null] } },
          required: ["city", "unit"],
          additionalProperties: false,
        },
      },
    },
    { type: "function", function: { name: "now" } },
  ];

  it("declares functions with parametersJsonSchema (JSON Schema, never the OpenAPI Schema proto)", () => {
    const out = decode({ model: "m", messages: [user("x")], tools });
    expect(out.request.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parametersJsonSchema: {
              type: "object",
              properties: {
                city: { type: "string" },
                unit: { anyOf: [{ type: "string", enum: ["c", "f"] }, { type: "null" }] },
              },
              required: ["city", "unit"],
              additionalProperties: false,
            },
          },
          { name: "now" },
        ],
      },
    ]);
    expect(out.request.toolConfig).toBeUndefined();
  });

  it.each([
    ["none", { mode: "NONE" }],
    ["auto", { mode: "AUTO" }],
    ["required", { mode: "ANY" }],
    [
      { type: "function", function: { name: "now" } },
      { mode: "ANY", allowedFunctionNames: ["now"] },
    ],
    [
      {
        type: "allowed_tools",
        allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "now" } }] },
      },
      { mode: "VALIDATED", allowedFunctionNames: ["now"] },
    ],
    [
      {
        type: "allowed_tools",
        allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "now" } }] },
      },
      { mode: "ANY", allowedFunctionNames: ["now"] },
    ],
  ])("tool_choice %j → functionCallingConfig %j", (choice, config) => {
    expect(decode({ model: "m", messages: [user("x")], tools, tool_choice: choice }).request.toolConfig).toEqual({
      functionCallingConfig: config,
    });
  });

  it("refuses names Gemini would refuse, duplicates, custom tools and choices of tools that do not exist", () => {
    const fn = (name: string) => ({ type: "function", function: { name } });
    expect(refused({ model: "m", messages: [user("x")], tools: [fn("9lives")] }).param).toBe("tools[0].function.name");
    expect(refused({ model: "m", messages: [user("x")], tools: [fn("a"), fn("a")] }).param).toBe(
      "tools[1].function.name",
    );
    expect(
      refused({ model: "m", messages: [user("x")], tools: [{ type: "custom", custom: { name: "x" } }] }).param,
    ).toBe("tools[0].type");
    expect(
      refused({ model: "m", messages: [user("x")], tools, tool_choice: { type: "function", function: { name: "z" } } })
        .param,
    ).toBe("tool_choice.function.name");
    expect(refused({ model: "m", messages: [user("x")], tool_choice: "required" }).param).toBe("tool_choice");
    expect(
      refused({
        model: "m",
        messages: [user("x")],
        tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }],
      }).param,
    ).toBe("tools[0].function.parameters");
  });
});

describe("reasoning_effort → thinking, per model family", () => {
  it.each([
    ["gemini-2.5-flash", "none", { thinkingBudget: 0 }],
    ["gemini-2.5-flash", "low", { thinkingBudget: 1024 }],
    ["gemini-2.5-flash", "medium", { thinkingBudget: 8192 }],
    ["gemini-2.5-flash", "high", { thinkingBudget: 24576 }],
    ["gemini-2.5-flash-lite", "minimal", { thinkingBudget: 1024 }],
    ["gemini-2.5-pro", "none", { thinkingBudget: 128 }],
    ["gemini-2.5-pro", "xhigh", { thinkingBudget: 32768 }],
    ["gemini-3-flash-preview", "none", { thinkingLevel: "MINIMAL" }],
    ["gemini-3-flash-preview", "medium", { thinkingLevel: "MEDIUM" }],
    ["gemini-3.1-flash-lite", "minimal", { thinkingLevel: "MINIMAL" }],
    ["gemini-3-pro-preview", "minimal", { thinkingLevel: "LOW" }],
    ["gemini-3-pro-preview", "medium", { thinkingLevel: "HIGH" }],
    ["gemini-3.1-pro-preview", "medium", { thinkingLevel: "MEDIUM" }],
    ["gemini-3.1-pro-preview", "max", { thinkingLevel: "HIGH" }],
  ] as const)("%s, %s → %j", (model, effort, config) => {
    expect(thinkingForEffort(model, effort)).toEqual(config);
  });

  it("refuses reasoning_effort for a model that does not think, and together with Google's own thinking_config", () => {
    expect(refused({ model: "gemini-2.0-flash-001", messages: [user("x")], reasoning_effort: "low" }).param).toBe(
      "reasoning_effort",
    );
    const both = {
      model: "gemini-2.5-flash",
      messages: [user("x")],
      reasoning_effort: "low",
      extra_body: { google: { thinking_config: { thinking_budget: 100 } } },
    };
    expect(refused(both).param).toBe("reasoning_effort");
  });

  it("takes extra_body.google.thinking_config as Google's endpoint does, and include_thoughts with an effort", () => {
    const google = (thinking_config: unknown, extra: object = {}) =>
      decode({
        model: "gemini-2.5-flash",
        messages: [user("x")],
        extra_body: { google: { thinking_config } },
        ...extra,
      }).request.generationConfig;
    expect(google({ thinking_budget: 800, include_thoughts: true })).toEqual({
      thinkingConfig: { thinkingBudget: 800, includeThoughts: true },
    });
    expect(google({ include_thoughts: true }, { reasoning_effort: "high" })).toEqual({
      thinkingConfig: { thinkingBudget: 24576, includeThoughts: true },
    });
  });
});
