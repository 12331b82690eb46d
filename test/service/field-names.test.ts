/**
 * Field names normalised at the edge (service/src/wire/field-names.ts): proto (snake_case) names become JSON
 * (lowerCamelCase) names at every depth of the request messages, data (maps, Struct, Value) is never touched, unknown
 * keys are left as sent, and a field under both names is a 400. validateBody applies it once and forwards the
 * original bytes unless something was renamed.
 */
import { describe, expect, it } from "vitest";
import { requestBody, validateBody } from "../../service/src/pipeline/validate.js";
import { normaliseFieldNames } from "../../service/src/wire/field-names.js";
import { protoName, REQUEST_MESSAGES } from "../../service/src/wire/request-messages.js";
import { GatewayError } from "../../service/src/wire/errors.js";

const generate = (doc: Record<string, unknown>) => normaliseFieldNames(doc, "GenerateContentRequest");

describe("normaliseFieldNames", () => {
  it("renames proto names at every depth of the request messages", () => {
    const { doc, renamed } = generate({
      contents: [
        {
          role: "user",
          parts: [
            { text: "hi" },
            { inline_data: { mime_type: "image/png", data: "AAAA" } },
            { file_data: { mime_type: "video/mp4", file_uri: "gs://b/v.mp4" }, video_metadata: { start_offset: "1s" } },
            { function_call: { name: "f", args: { a: 1 } }, thought_signature: "c2ln" },
            {
              function_response: {
                name: "f",
                response: { ok: true },
                parts: [{ inline_data: { mime_type: "image/png", data: "AA" } }],
              },
            },
          ],
        },
      ],
      system_instruction: { parts: [{ text: "Be brief." }] },
      generation_config: {
        max_output_tokens: 5,
        top_p: 0.5,
        response_mime_type: "application/json",
        thinking_config: { thinking_budget: 0, include_thoughts: false },
        speech_config: { voice_config: { prebuilt_voice_config: { voice_name: "Kore" } } },
        image_config: { aspect_ratio: "1:1", image_output_options: { mime_type: "image/jpeg" } },
        routing_config: { auto_mode: { model_routing_preference: "BALANCED" } },
      },
      safety_settings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      tool_config: { function_calling_config: { mode: "ANY", allowed_function_names: ["f"] } },
      tools: [
        { google_search: { exclude_domains: ["a.com"] }, code_execution: {} },
        { retrieval: { vertex_rag_store: { rag_resources: [{ rag_corpus: "c" }], similarity_top_k: 3 } } },
      ],
      cached_content: "projects/p/locations/l/cachedContents/1",
      model_armor_config: { prompt_template_name: "t" },
    });
    expect(renamed).toBe(true);
    expect(doc).toEqual({
      contents: [
        {
          role: "user",
          parts: [
            { text: "hi" },
            { inlineData: { mimeType: "image/png", data: "AAAA" } },
            { fileData: { mimeType: "video/mp4", fileUri: "gs://b/v.mp4" }, videoMetadata: { startOffset: "1s" } },
            { functionCall: { name: "f", args: { a: 1 } }, thoughtSignature: "c2ln" },
            {
              functionResponse: {
                name: "f",
                response: { ok: true },
                parts: [{ inlineData: { mimeType: "image/png", data: "AA" } }],
              },
            },
          ],
        },
      ],
      systemInstruction: { parts: [{ text: "Be brief." }] },
      generationConfig: {
        maxOutputTokens: 5,
        topP: 0.5,
        responseMimeType: "application/json",
        thinkingConfig: { thinkingBudget: 0, includeThoughts: false },
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } } },
        imageConfig: { aspectRatio: "1:1", imageOutputOptions: { mimeType: "image/jpeg" } },
        routingConfig: { autoMode: { modelRoutingPreference: "BALANCED" } },
      },
      safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } },
      tools: [
        { googleSearch: { excludeDomains: ["a.com"] }, codeExecution: {} },
        { retrieval: { vertexRagStore: { ragResources: [{ ragCorpus: "c" }], similarityTopK: 3 } } },
      ],
      cachedContent: "projects/p/locations/l/cachedContents/1",
      modelArmorConfig: { promptTemplateName: "t" },
    });
    // Key order is kept where keys were renamed.
    expect(Object.keys(doc)).toEqual([
      "contents",
      "systemInstruction",
      "generationConfig",
      "safetySettings",
      "toolConfig",
      "tools",
      "cachedContent",
      "modelArmorConfig",
    ]);
  });

  it("never renames data: map keys, Struct and Value contents, Schema property names", () => {
    const data = {
      labels: { cost_center: "a_b" },
      contents: [
        {
          parts: [
            { function_call: { name: "f", args: { user_id: 1, nested_obj: { max_output_tokens: 2 } } } },
            { functionResponse: { name: "f", response: { system_instruction: "data", rows: [{ file_uri: 1 }] } } },
            { text: "x", part_metadata: { mime_type: "data" } },
          ],
        },
      ],
      generation_config: {
        response_json_schema: {
          type: "object",
          properties: { max_items: { type: "string" } },
          additional_properties: 1,
        },
        response_schema: {
          type: "OBJECT",
          properties: {
            user_name: { type: "STRING", max_length: "10", example: { some_key: 1 }, default: { a_b: 1 } },
            tags: { type: "ARRAY", items: { type: "STRING", min_length: "1" } },
          },
          property_ordering: ["user_name", "tags"],
          any_of: [{ type: "STRING", additional_properties: { x_y: true } }],
          defs: { my_def: { type: "STRING", max_length: "3" } },
        },
      },
      tools: [
        {
          function_declarations: [
            {
              name: "get_user",
              parameters: { type: "OBJECT", properties: { user_id: { type: "INTEGER" } }, required: ["user_id"] },
              parameters_json_schema: { properties: { user_id: { min_length: 1 } } },
              response_json_schema: { properties: { out_value: {} } },
            },
          ],
        },
      ],
    };
    const { doc } = generate(structuredClone(data));
    expect(doc.labels).toEqual({ cost_center: "a_b" });
    const parts = (doc.contents as { parts: Record<string, unknown>[] }[])[0]!.parts;
    expect(parts[0]).toEqual({
      functionCall: { name: "f", args: { user_id: 1, nested_obj: { max_output_tokens: 2 } } },
    });
    expect(parts[1]).toEqual(data.contents[0]!.parts[1]);
    expect(parts[2]).toEqual({ text: "x", partMetadata: { mime_type: "data" } });
    expect(doc.generationConfig).toEqual({
      responseJsonSchema: data.generation_config.response_json_schema,
      responseSchema: {
        type: "OBJECT",
        properties: {
          user_name: { type: "STRING", maxLength: "10", example: { some_key: 1 }, default: { a_b: 1 } },
          tags: { type: "ARRAY", items: { type: "STRING", minLength: "1" } },
        },
        propertyOrdering: ["user_name", "tags"],
        anyOf: [{ type: "STRING", additionalProperties: { x_y: true } }],
        defs: { my_def: { type: "STRING", maxLength: "3" } },
      },
    });
    expect(doc.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_user",
            parameters: { type: "OBJECT", properties: { user_id: { type: "INTEGER" } }, required: ["user_id"] },
            parametersJsonSchema: { properties: { user_id: { min_length: 1 } } },
            responseJsonSchema: { properties: { out_value: {} } },
          },
        ],
      },
    ]);
  });

  it("leaves keys it does not know exactly as sent (upstream judges them)", () => {
    const { doc, renamed } = generate({
      contents: [],
      some_future_field: { inner_key: 1 },
      generationConfig: { x_y: 1 },
    });
    expect(renamed).toBe(false);
    expect(doc).toEqual({ contents: [], some_future_field: { inner_key: 1 }, generationConfig: { x_y: 1 } });
  });

  it("returns the same objects when nothing is renamed", () => {
    const input = { contents: [{ parts: [{ text: "snake_case in text is data" }] }], generationConfig: { topK: 3 } };
    const contents = input.contents;
    const { doc, renamed } = generate(input);
    expect(renamed).toBe(false);
    expect(doc).toBe(input);
    expect(doc.contents).toBe(contents);
  });

  it("refuses a field sent under both names with a 400 naming where", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ contents: [], systemInstruction: { parts: [] }, system_instruction: { parts: [] } }, /"\(request\)" has both/],
      [
        { contents: [], generationConfig: { maxOutputTokens: 1, max_output_tokens: 2 } },
        /"generationConfig" has both "maxOutputTokens" and "max_output_tokens"/,
      ],
      [
        { contents: [{ parts: [{ inlineData: { mimeType: "a", mime_type: "b", data: "" } }] }] },
        /"contents\.0\.parts\.0\.inlineData" has both/,
      ],
    ];
    for (const [doc, message] of cases) {
      let err: unknown;
      try {
        generate(doc);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect(err).toMatchObject({ httpCode: 400, status: "INVALID_ARGUMENT" });
      expect((err as Error).message).toMatch(message);
    }
  });

  it("keeps a __proto__ key as data and pollutes nothing", () => {
    const { doc } = generate(JSON.parse('{"__proto__":{"polluted":true},"system_instruction":{"parts":[]}}'));
    expect(Object.hasOwn(doc, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("reads countTokens in both forms", () => {
    const { doc } = normaliseFieldNames(
      { generate_content_request: { contents: [], generation_config: { max_output_tokens: 1 } } },
      "CountTokensRequest",
    );
    expect(doc).toEqual({ generateContentRequest: { contents: [], generationConfig: { maxOutputTokens: 1 } } });
  });

  it("has a table of lowerCamelCase JSON names whose proto names are snake_case", () => {
    for (const [message, fields] of Object.entries(REQUEST_MESSAGES)) {
      for (const name of Object.keys(fields)) {
        expect(name, `${message}.${name}`).toMatch(/^[a-z][a-zA-Z0-9]*$/);
        expect(protoName(name), `${message}.${name}`).toMatch(/^[a-z][a-z0-9_]*$/);
      }
    }
  });
});

describe("validateBody normalises once, and forwards the original bytes unless it renamed", () => {
  const labels = { "gateway-tenant": "acme", "gateway-key": "0123456789ab" };
  const forward = (raw: string) =>
    requestBody(validateBody("generateContent", Buffer.from(raw)), { labels, modelArmorConfig: undefined });

  it("splices into the original bytes when no field name needs it, even with _ in the text", () => {
    const raw = '{"contents":[{"parts":[{"text":"snake_case and \\u005f in text"}]}]}';
    expect(forward(raw).toString()).toBe(`${raw.slice(0, -1)},"labels":${JSON.stringify(labels)}}`);
  });

  it("re-serialises the canonical request when something was renamed, and validates it", () => {
    const raw = '{"contents":[{"parts":[{"text":"x"}]}],"generation_config":{"temperature":0,"max_output_tokens":7}}';
    const body = validateBody("generateContent", Buffer.from(raw));
    expect(body.doc.generationConfig).toEqual({ temperature: 0, maxOutputTokens: 7 });
    expect(JSON.parse(forward(raw).toString())).toEqual({
      contents: [{ parts: [{ text: "x" }] }],
      generationConfig: { temperature: 0, maxOutputTokens: 7 },
      labels,
    });
    // An escaped underscore in a key is still the same key.
    const escaped = '{"contents":[{"parts":[{"text":"x"}]}],"system\\u005finstruction":{"parts":[{"text":"y"}]}}';
    expect(validateBody("generateContent", Buffer.from(escaped)).doc.systemInstruction).toEqual({
      parts: [{ text: "y" }],
    });
  });

  it("validates snake_case fields like camelCase ones", () => {
    expect(() =>
      validateBody(
        "generateContent",
        Buffer.from('{"contents":[{"parts":[{"text":"x"}]}],"generation_config":{"temperature":7}}'),
      ),
    ).toThrow(/generationConfig\.temperature/);
  });

  it("unwraps countTokens' snake_case Developer API form", () => {
    const raw =
      '{"generate_content_request":{"contents":[{"parts":[{"text":"y"}]}],"system_instruction":{"parts":[]}}}';
    const out = requestBody(validateBody("countTokens", Buffer.from(raw)), { labels, modelArmorConfig: undefined });
    expect(JSON.parse(out.toString())).toEqual({
      contents: [{ parts: [{ text: "y" }] }],
      systemInstruction: { parts: [] },
    });
  });
});
