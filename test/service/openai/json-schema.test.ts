// The JSON Schema rewriter of the OpenAI surface (surfaces/openai/json-schema.ts): what OpenAI clients send as tool
// parameters and response schemas, turned into the subset Gemini's parametersJsonSchema/responseJsonSchema document —
// or refused with a 400 that names the keyword. Cases from peers' trackers: additionalProperties (LiteLLM #18442),
// $ref/$defs (Portkey #1203), type arrays (Envoy AI Gateway PR 1400), pydantic and zod output.
import { describe, expect, it } from "vitest";
import { toGeminiJsonSchema } from "../../../service/src/surfaces/openai/json-schema.js";
import { toOpenAIError } from "../../../service/src/surfaces/openai/error-shape.js";
import { GatewayError } from "../../../service/src/wire/errors.js";

const tool = (schema: unknown) => toGeminiJsonSchema(schema, "tools[0].function.parameters", { objectRoot: true });
const response = (schema: unknown) =>
  toGeminiJsonSchema(schema, "response_format.json_schema.schema", { objectRoot: false });

/** The OpenAI error a refusal renders as. */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).httpCode).toBe(400);
    return toOpenAIError((err as GatewayError).toEnvelope()).error;
  }
  throw new Error("expected a 400");
}

describe("kept as Gemini documents them", () => {
  it("keeps additionalProperties (boolean and schema), required, enum, bounds and descriptions", () => {
    const schema = {
      type: "object",
      description: "Book a table",
      properties: {
        city: { type: "string", enum: ["Paris", "Rome"], description: "where" },
        guests: { type: "integer", minimum: 1, maximum: 12 },
        tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 3 },
        extra: { type: "object", additionalProperties: { type: "number" } },
      },
      required: ["city", "guests"],
      additionalProperties: false,
    };
    expect(tool(schema)).toEqual({ schema, dropped: [] });
  });

  it("lower-cases OpenAPI-style type names", () => {
    expect(response({ type: "OBJECT", properties: { a: { type: "STRING" } } }).schema).toEqual({
      type: "object",
      properties: { a: { type: "string" } },
    });
  });

  it("adds type object to a tool root that only lists properties", () => {
    expect(tool({ properties: { q: { type: "string" } } }).schema).toEqual({
      type: "object",
      properties: { q: { type: "string" } },
    });
  });
});

describe("rewritten", () => {
  it("turns a type list into anyOf branches, each with the keywords of its type", () => {
    const out = tool({
      type: "object",
      properties: {
        note: { type: ["string", "null"], description: "optional note", format: "email" },
        count: { type: ["integer", "string"], minimum: 0, enum: [1, 2, "many"] },
      },
    }).schema;
    expect(out.properties).toEqual({
      note: { description: "optional note", anyOf: [{ type: "string", format: "email" }, { type: "null" }] },
      count: {
        anyOf: [
          { type: "integer", minimum: 0, enum: [1, 2] },
          { type: "string", enum: ["many"] },
        ],
      },
    });
  });

  it("turns OpenAPI's nullable, const and a null enum value into what Gemini takes", () => {
    const out = response({
      type: "object",
      properties: {
        a: { type: "string", nullable: true },
        kind: { const: "circle" },
        size: { enum: ["s", "m", null] },
      },
    }).schema;
    expect(out.properties).toEqual({
      a: { anyOf: [{ type: "string" }, { type: "null" }] },
      kind: { enum: ["circle"] },
      size: { anyOf: [{ type: "string", enum: ["s", "m"] }, { type: "null" }] },
    });
  });

  it("inlines $ref into $defs and definitions (pydantic v1 and v2, zod), merging the ref's siblings", () => {
    const pydanticV2 = {
      $defs: { Address: { type: "object", properties: { street: { type: "string" } }, required: ["street"] } },
      type: "object",
      properties: { home: { $ref: "#/$defs/Address", description: "where they live" } },
      required: ["home"],
      title: "Person",
    };
    expect(tool(pydanticV2)).toEqual({
      schema: {
        type: "object",
        title: "Person",
        properties: {
          home: {
            type: "object",
            properties: { street: { type: "string" } },
            required: ["street"],
            description: "where they live",
          },
        },
        required: ["home"],
      },
      dropped: [],
    });
    const pydanticV1 = {
      definitions: { Color: { enum: ["red", "green"], type: "string" } },
      type: "object",
      properties: { color: { allOf: [{ $ref: "#/definitions/Color" }], description: "paint" } },
    };
    expect(tool(pydanticV1).schema.properties).toEqual({
      color: { type: "string", enum: ["red", "green"], description: "paint" },
    });
    const zodPointer = {
      type: "object",
      properties: { a: { type: "object", properties: { x: { type: "number" } } }, b: { $ref: "#/properties/a" } },
    };
    expect(tool(zodPointer).schema.properties).toEqual({
      a: { type: "object", properties: { x: { type: "number" } } },
      b: { type: "object", properties: { x: { type: "number" } } },
    });
  });

  it("keeps a recursive $ref as a $ref into $defs, with no siblings", () => {
    const tree = {
      type: "object",
      properties: { root: { $ref: "#/$defs/Node" } },
      $defs: {
        Node: {
          type: "object",
          properties: {
            name: { type: "string" },
            children: { type: "array", items: { $ref: "#/$defs/Node", description: "x" } },
          },
        },
      },
    };
    expect(tool(tree).schema).toEqual({
      type: "object",
      properties: {
        root: {
          type: "object",
          properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } },
        },
      },
      $defs: {
        Node: {
          type: "object",
          properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Node" } } },
        },
      },
    });
  });

  it("merges allOf: properties and required joined, types intersected", () => {
    const out = response({
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { type: "object", properties: { b: { type: "number" } }, required: ["b"] },
      ],
    }).schema;
    expect(out).toEqual({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "number" } },
      required: ["a", "b"],
    });
    expect(
      response({
        allOf: [
          { type: "number", minimum: 0 },
          { type: "integer", minimum: 5 },
        ],
      }).schema,
    ).toEqual({
      type: "integer",
      minimum: 5,
    });
  });

  it("turns draft-04 tuple items into prefixItems", () => {
    expect(response({ type: "array", items: [{ type: "string" }, { type: "number" }] }).schema).toEqual({
      type: "array",
      prefixItems: [{ type: "string" }, { type: "number" }],
    });
  });
});

describe("dropped", () => {
  it("drops annotations silently and reports constraints Gemini does not enforce", () => {
    const out = tool({
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      "x-vendor": 1,
      properties: {
        name: { type: "string", pattern: "^[a-z]+$", minLength: 1, default: "a", examples: ["b"] },
        ids: { type: "array", items: { type: "string" }, uniqueItems: true },
        any: { not: { type: "null" } },
      },
      propertyNames: { pattern: "^[a-z]+$" },
    });
    expect(out.schema).toEqual({
      type: "object",
      properties: { name: { type: "string" }, ids: { type: "array", items: { type: "string" } }, any: {} },
    });
    expect(out.dropped.sort()).toEqual(["minLength", "not", "pattern", "propertyNames", "uniqueItems"]);
  });
});

describe("refused with a 400 naming the keyword", () => {
  it("an external or unresolvable $ref", () => {
    expect(
      refusal(() => tool({ type: "object", properties: { a: { $ref: "https://example.com/a.json" } } })),
    ).toMatchObject({ type: "invalid_request_error", param: "tools[0].function.parameters.properties.a.$ref" });
    expect(refusal(() => tool({ type: "object", properties: { a: { $ref: "#/$defs/Missing" } } })).param).toBe(
      "tools[0].function.parameters.properties.a.$ref",
    );
  });

  it("allOf branches that contradict each other", () => {
    const e = refusal(() => response({ allOf: [{ type: "string" }, { type: "number" }] }));
    expect(e.message).toContain("different types");
    expect(e.param).toBe("response_format.json_schema.schema.allOf");
  });

  it("enum values other than strings, numbers and null; false schemas", () => {
    expect(refusal(() => response({ enum: [true, false] })).param).toBe("response_format.json_schema.schema.enum");
    expect(refusal(() => response({ type: "object", properties: { a: false } })).param).toBe(
      "response_format.json_schema.schema.properties.a",
    );
  });

  it("a tool whose parameters are not an object", () => {
    const e = refusal(() => tool({ type: "array", items: { type: "string" } }));
    expect(e.param).toBe("tools[0].function.parameters");
    expect(e.message).toContain('type "object"');
  });

  it("a schema that explodes when its $refs are inlined", () => {
    const defs: Record<string, unknown> = { L0: { type: "string" } };
    for (let i = 1; i <= 16; i++)
      defs[`L${i}`] = { type: "array", prefixItems: [{ $ref: `#/$defs/L${i - 1}` }, { $ref: `#/$defs/L${i - 1}` }] };
    expect(refusal(() => response({ $defs: defs, $ref: "#/$defs/L16" })).message).toContain("too large");
  });
});
