/**
 * Embedding requests decoded from each API and checked against the model's limits (embed-request.ts), turned into
 * the Vertex calls the model takes and back (embed-vertex.ts), and gathered from several upstream answers into one
 * (gather.ts) — with a scripted router, no HTTP. End to end with the SDK: test/e2e/embeddings.test.ts.
 */
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { estimateEmbed, validateEmbed, type EmbedMethod } from "../../service/src/pipeline/embed-request.js";
import { embedPlan } from "../../service/src/pipeline/embed-vertex.js";
import { gather, type GatherPlan } from "../../service/src/pipeline/gather.js";
import type { Call } from "../../service/src/pipeline/call.js";
import type { Routed, Router, RouteRequest } from "../../service/src/route/router.js";
import type { Provider } from "../../service/src/upstream/provider.js";
import { GatewayError } from "../../service/src/wire/errors.js";
import { geminiTarget } from "../../service/src/surfaces/gemini.js";

const E1 = "gemini-embedding-001";
const E2 = "gemini-embedding-2";
const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const validate = (method: EmbedMethod, body: unknown, model = E1) => validateEmbed(method, json(body), model);
const refusal = (method: EmbedMethod, body: unknown, model = E1): string => {
  try {
    validate(method, body, model);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).httpCode).toBe(400);
    return (e as GatewayError).message;
  }
  throw new Error("expected a 400");
};
const text = (t: string) => ({ parts: [{ text: t }] });

describe("validateEmbed: every API's request becomes one list of inputs", () => {
  it("Developer embedContent, with snake_case field names", () => {
    const body = validate("embedContent", {
      content: text("hi"),
      task_type: "RETRIEVAL_QUERY",
      output_dimensionality: 64,
    });
    expect(body.embed!.inputs).toEqual([
      { content: text("hi"), taskType: "RETRIEVAL_QUERY", title: undefined, outputDimensionality: 64 },
    ]);
    expect(body.doc).toEqual({ contents: [text("hi")] });
  });

  it("Vertex embedContent: embedContentConfig, or the deprecated top-level settings; both with two values is a 400", () => {
    const a = validate("embedContent", {
      content: text("x"),
      embedContentConfig: { taskType: "CLUSTERING", autoTruncate: false },
    });
    expect(a.embed!.inputs[0]!.taskType).toBe("CLUSTERING");
    expect(a.embed!.autoTruncate).toBe(false);
    expect(validate("embedContent", { content: text("x"), title: "T" }).embed!.inputs[0]!.title).toBe("T");
    expect(
      refusal("embedContent", { content: text("x"), taskType: "A", embedContentConfig: { taskType: "B" } }),
    ).toContain("both at the top level (deprecated) and in embedContentConfig");
  });

  it("batchEmbedContents: one input per request, each with its own settings; models must be the path's", () => {
    const body = validate("batchEmbedContents", {
      requests: [
        { model: `models/${E1}`, content: text("a"), outputDimensionality: 8 },
        { model: E1, content: text("b"), title: "B", taskType: "RETRIEVAL_DOCUMENT" },
      ],
    });
    expect(body.embed!.inputs.map((i) => [i.outputDimensionality, i.title, i.taskType])).toEqual([
      [8, undefined, undefined],
      [undefined, "B", "RETRIEVAL_DOCUMENT"],
    ]);
    expect(refusal("batchEmbedContents", { requests: [{ model: "models/other", content: text("a") }] })).toContain(
      'requests[0].model is "models/other"',
    );
  });

  it("Vertex predict: instances with task_type (or taskType), parameters for all", () => {
    const body = validate("predict", {
      instances: [
        { content: "one", task_type: "QUESTION_ANSWERING" },
        { content: "two", taskType: "FACT_VERIFICATION" },
      ],
      parameters: { outputDimensionality: 32, autoTruncate: true },
    });
    expect(body.embed!.inputs.map((i) => [i.content, i.taskType, i.outputDimensionality])).toEqual([
      [{ role: "user", parts: [{ text: "one" }] }, "QUESTION_ANSWERING", 32],
      [{ role: "user", parts: [{ text: "two" }] }, "FACT_VERIFICATION", 32],
    ]);
    expect(body.embed!.autoTruncate).toBe(true);
  });

  it("refuses what Google would refuse, naming the input and the limit", () => {
    const many = { requests: Array.from({ length: 101 }, () => ({ content: text("x") })) };
    expect(refusal("batchEmbedContents", many)).toMatch(/101 inputs; gemini-embedding-001 takes at most 100/);
    expect(refusal("predict", { instances: Array.from({ length: 101 }, () => ({ content: "x" })) })).toContain(
      "at most 100",
    );
    expect(refusal("embedContent", { content: text("  \n ") })).toContain("the content has nothing to embed");
    expect(refusal("predict", { instances: [{ content: "a" }, { content: "" }] })).toContain(
      "instances[1] has nothing",
    );
    expect(refusal("embedContent", { content: text("x"), outputDimensionality: 3073 })).toContain("1 to 3072");
    expect(refusal("embedContent", { content: text("x"), outputDimensionality: -5 })).toContain("out of range");
    expect(refusal("embedContent", { content: { parts: [{ fileData: { fileUri: "gs://b/o" } }] } })).toContain(
      'a "fileData" part; gemini-embedding-001 embeds text only',
    );
    expect(refusal("embedContent", { contents: [text("x")] })).toContain("Invalid embedContent request");
    expect(refusal("predict", { instances: [{ content: 42 }] })).toContain("Invalid predict request");
  });

  it("a long input: refused only when the client turned truncation off", () => {
    const long = "x".repeat(4 * 2048 + 4); // 2,049 estimated tokens
    expect(validate("predict", { instances: [{ content: long }] }).embed!.inputs).toHaveLength(1);
    expect(refusal("predict", { instances: [{ content: long }], parameters: { autoTruncate: false } })).toContain(
      "at most 2048 tokens per input, and autoTruncate is false",
    );
  });

  it("a multimodal model takes media parts", () => {
    const image = { parts: [{ text: "a cat" }, { inlineData: { mimeType: "image/png", data: "AAAA" } }] };
    expect(validate("embedContent", { content: image }, E2).embed!.inputs[0]!.content).toEqual(image);
  });

  it("estimates inputs only, each at most the model's input limit (longer ones are truncated)", () => {
    const doc = validate("batchEmbedContents", {
      requests: [{ content: text("x".repeat(400)) }, { content: text("y".repeat(40_000)) }],
    }).doc;
    expect(estimateEmbed(doc, 1024, E1)).toEqual({ prompt: 100 + 2048, output: 0, total: 2148 });
  });
});

const vector = (n: number, seed: number) => Array.from({ length: n }, (_, i) => seed + i / 1000);

describe("embedPlan: the Vertex calls a request becomes, and the one answer made from theirs", () => {
  it("gemini-embedding-001 from the Developer API: one predict call per input, answered as batchEmbedContents", () => {
    const body = validate("batchEmbedContents", {
      requests: [
        { content: { parts: [{ text: "first" }, { text: "line two" }] }, taskType: "RETRIEVAL_DOCUMENT", title: "T" },
        { content: text("second"), outputDimensionality: 3 },
      ],
    });
    const plan = embedPlan(body, E1, "gemini");
    expect(plan.calls.map((c) => [c.method, c.inputs, JSON.parse(c.body.toString()) as unknown])).toEqual([
      ["predict", 1, { instances: [{ content: "first\nline two", task_type: "RETRIEVAL_DOCUMENT", title: "T" }] }],
      ["predict", 1, { instances: [{ content: "second" }], parameters: { outputDimensionality: 3 } }],
    ]);
    const answers = [
      json({
        predictions: [{ embeddings: { values: vector(3, 1), statistics: { token_count: 4, truncated: false } } }],
      }),
      json({
        predictions: [{ embeddings: { values: vector(3, 2), statistics: { token_count: 2, truncated: true } } }],
      }),
    ];
    const { body: out, usage } = plan.answer(answers);
    expect(JSON.parse(out.toString())).toEqual({ embeddings: [{ values: vector(3, 1) }, { values: vector(3, 2) }] });
    expect(usage).toEqual({ promptTokenCount: 6, totalTokenCount: 6 });
  });

  it("Vertex predict for its own model: the client's request, split per instance, and Vertex's answer as it came", () => {
    const request = {
      instances: [{ content: "a", mimeType: "text/plain" }],
      parameters: { autoTruncate: false },
      x: 1,
    };
    const plan = embedPlan(validate("predict", request), E1, "vertex");
    expect(plan.calls).toHaveLength(1);
    expect(JSON.parse(plan.calls[0]!.body.toString())).toEqual(request);
    const answer = json({
      predictions: [{ embeddings: { values: [0.5], statistics: { token_count: 1 } } }],
      extra: true,
    });
    expect(plan.answer([answer]).body).toBe(answer);
  });

  it("Vertex predict with several instances: merged back in order, with summed statistics and metadata", () => {
    const plan = embedPlan(validate("predict", { instances: [{ content: "a" }, { content: "b" }] }), E1, "vertex");
    expect(plan.calls).toHaveLength(2);
    const answer = (v: number) =>
      json({
        predictions: [{ embeddings: { values: [v], statistics: { token_count: 1, truncated: false } } }],
        metadata: { billableCharacterCount: 1 },
      });
    expect(JSON.parse(plan.answer([answer(0.1), answer(0.2)]).body.toString())).toEqual({
      predictions: [
        { embeddings: { values: [0.1], statistics: { truncated: false, token_count: 1 } } },
        { embeddings: { values: [0.2], statistics: { truncated: false, token_count: 1 } } },
      ],
      metadata: { billableCharacterCount: 2 },
    });
  });

  it("gemini-embedding-2: one embedContent call per input, settings in embedContentConfig, usage by modality", () => {
    const body = validate(
      "batchEmbedContents",
      {
        requests: [
          { content: { parts: [{ text: "a" }, { inlineData: { mimeType: "image/png", data: "AA" } }] } },
          { content: text("b"), outputDimensionality: 2, taskType: "CLUSTERING" },
        ],
      },
      E2,
    );
    const plan = embedPlan(body, E2, "gemini");
    expect(plan.calls.map((c) => [c.method, JSON.parse(c.body.toString()) as unknown])).toEqual([
      ["embedContent", { content: body.embed!.inputs[0]!.content }],
      ["embedContent", { content: text("b"), embedContentConfig: { taskType: "CLUSTERING", outputDimensionality: 2 } }],
    ]);
    const answer = (v: number[], details: { modality: string; tokenCount: number }[]) =>
      json({
        embedding: { values: v },
        usageMetadata: {
          promptTokenCount: details.reduce((n, d) => n + d.tokenCount, 0),
          promptTokensDetails: details,
        },
      });
    const { usage } = plan.answer([
      answer(
        [0.1, 0.2],
        [
          { modality: "TEXT", tokenCount: 1 },
          { modality: "IMAGE", tokenCount: 258 },
        ],
      ),
      answer([0.3, 0.4], [{ modality: "TEXT", tokenCount: 1 }]),
    ]);
    expect(usage).toEqual({
      promptTokenCount: 260,
      totalTokenCount: 260,
      promptTokensDetails: [
        { modality: "TEXT", tokenCount: 2 },
        { modality: "IMAGE", tokenCount: 258 },
      ],
    });
  });

  it("Vertex embedContent for gemini-embedding-001 is answered in embedContent's shape, from predict's", () => {
    const plan = embedPlan(validate("embedContent", { content: text("hello") }), E1, "vertex");
    expect(plan.calls[0]!.method).toBe("predict");
    const out = plan.answer([
      json({ predictions: [{ embeddings: { values: [1, 0], statistics: { token_count: 2, truncated: true } } }] }),
    ]).body;
    expect(JSON.parse(out.toString())).toEqual({
      embedding: { values: [1, 0] },
      usageMetadata: { promptTokenCount: 2, totalTokenCount: 2 },
      truncated: true,
    });
  });

  it("an answer with another number of vectors than inputs is a malformed answer (502), never a short list", () => {
    const plan = embedPlan(validate("embedContent", { content: text("x") }), E1, "gemini");
    const broken = (answer: unknown) => {
      try {
        plan.answer([json(answer)]);
      } catch (e) {
        return (e as GatewayError).httpCode;
      }
      return 200;
    };
    expect(broken({ predictions: [] })).toBe(502);
    expect(broken({ predictions: [{ embeddings: { values: [1] } }, { embeddings: { values: [2] } }] })).toBe(502);
    expect(broken({ predictions: [{ embeddings: { values: [] } }] })).toBe(502);
    expect(broken("not an object")).toBe(502);
    expect(broken({ predictions: [{ embeddings: { values: [1] } }] })).toBe(200);
  });
});

describe("gather: several upstream calls, one answer", () => {
  const provider = { id: "fake/r", name: "fake", region: "r" } as Provider;

  /** A router whose answers are scripted per call body; it records the calls and how many ran at once. */
  function scriptedRouter(answer: (body: string) => { status: number; body: string } | Error) {
    const seen: RouteRequest[] = [];
    let running = 0;
    let peak = 0;
    const router = {
      async send(req: RouteRequest): Promise<Routed> {
        seen.push(req);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
        req.onAttempt?.(provider);
        const a = answer(req.body.toString());
        if (a instanceof Error) throw a;
        return {
          provider,
          upstream: "fake",
          model: req.model,
          attempts: 1,
          response: {
            status: a.status,
            contentType: "application/json",
            retryAfter: a.status === 429 ? "7" : undefined,
            body: Object.assign(
              (async function* () {
                yield Buffer.from(a.body);
              })(),
              { destroy: () => undefined },
            ),
          },
        };
      },
    } as unknown as Router;
    return { router, seen, peak: () => peak };
  }

  function fakeCall() {
    const written: { status?: number; headers: Record<string, unknown>; body?: Buffer } = { headers: {} };
    const res = {
      headersSent: false,
      setHeader: (k: string, v: unknown) => void (written.headers[k] = v),
      writeHead(status: number, headers: Record<string, unknown>) {
        written.status = status;
        Object.assign(written.headers, headers);
        return this;
      },
      end: (b: Buffer) => void (written.body = b),
    } as unknown as ServerResponse;
    const call = {
      started: performance.now(),
      res,
      target: geminiTarget("gemini", "v1beta", `${E1}:batchEmbedContents`, undefined),
      abort: new AbortController(),
      resolved: { model: E1, apiVersion: "v1beta1" },
      options: { deadline: Date.now() + 60_000, waitDeadline: Date.now() + 5_000, clientTimeoutMs: undefined },
      upstream: { started: performance.now(), waitMs: 0, provider: undefined, attempts: 0, status: undefined },
    } as unknown as Call;
    return { call, written };
  }

  const plan = (n: number): GatherPlan => ({
    calls: Array.from({ length: n }, (_, i) => ({
      method: "predict" as const,
      inputs: 1,
      body: Buffer.from(String(i)),
    })),
    answer: (bodies) => ({
      body: Buffer.from(`[${bodies.map((b) => b.toString()).join(",")}]`),
      usage: { promptTokenCount: bodies.length },
    }),
    spent: (bodies) => ({ promptTokenCount: bodies.filter((b) => b !== undefined).length }),
  });
  const announce = () => undefined;

  it("answers from every call in order, at most 8 at once, counting every attempt", async () => {
    const r = scriptedRouter((body) => ({ status: 200, body: `"v${body}"` }));
    const { call, written } = fakeCall();
    const relayed = await gather(call, plan(20), {
      router: r.router,
      cut: new AbortController().signal,
      traceparent: undefined,
      announce,
    });
    expect(written.status).toBe(200);
    expect(JSON.parse(written.body!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    expect(relayed.usage).toEqual({ promptTokenCount: 20 });
    expect(r.peak()).toBe(8);
    expect(call.upstream.attempts).toBe(20);
    // Never another model's vectors: no fallback models on any call.
    expect(r.seen.every((s) => s.fallbackModels === undefined)).toBe(true);
  });

  it("the first upstream error is the answer, as it came, and the calls not yet made are not made", async () => {
    const r = scriptedRouter((body) =>
      body === "3"
        ? { status: 429, body: JSON.stringify({ error: { code: 429, message: "busy", status: "RESOURCE_EXHAUSTED" } }) }
        : { status: 200, body: "1" },
    );
    const { call, written } = fakeCall();
    const relayed = await gather(call, plan(40), {
      router: r.router,
      cut: new AbortController().signal,
      traceparent: undefined,
      announce,
    });
    expect(relayed.status).toBe(429);
    expect(written.status).toBe(429);
    expect(written.headers["retry-after"]).toBe("7");
    expect(JSON.parse(written.body!.toString())).toMatchObject({ error: { message: "busy" } });
    expect(r.seen.length).toBeLessThan(40);
    // The calls that did answer are billed by Google: they are charged, not dropped with the error.
    expect(relayed.usage!.promptTokenCount).toBe(r.seen.length - 1);
  });

  it("a malformed answer is a 502, and the well-formed ones are still charged", async () => {
    const r = scriptedRouter(() => ({ status: 200, body: "1" }));
    const { call } = fakeCall();
    const broken: GatherPlan = {
      ...plan(2),
      answer: () => {
        throw new GatewayError(502, "UNAVAILABLE", "malformed");
      },
    };
    await expect(
      gather(call, broken, { router: r.router, cut: new AbortController().signal, traceparent: undefined, announce }),
    ).rejects.toMatchObject({ httpCode: 502 });
    expect(call.spent).toEqual({ promptTokenCount: 2 });
  });

  it("a thrown failure (network, deadline) ends the call with that error", async () => {
    const r = scriptedRouter((body) =>
      body === "1" ? new GatewayError(503, "UNAVAILABLE", "unreachable") : { status: 200, body: "1" },
    );
    const { call, written } = fakeCall();
    await expect(
      gather(call, plan(3), { router: r.router, cut: new AbortController().signal, traceparent: undefined, announce }),
    ).rejects.toMatchObject({ httpCode: 503 });
    expect(written.status).toBeUndefined();
    expect(call.spent).toEqual({ promptTokenCount: 2 }); // calls 0 and 2 answered
  });
});
