import type { IncomingHttpHeaders } from "node:http";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { traceLogFields } from "../../service/src/telemetry/trace.js";
import {
  createTracing,
  genAiClientAttributes,
  httpServerAttributes,
  type TracingOptions,
} from "../../service/src/telemetry/tracing.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";
const CLOUD_TRACE_ID = "105445aa7843bc8bf206b12000100000";
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

const base: TracingOptions = {
  exporter: "none",
  project: "proj",
  sampleRatio: 1,
  serviceName: "gemini-gateway",
  serviceVersion: "1.2.3",
};

/** A recording gateway tracer with an in-memory exporter; `spans()` waits for the processor's pending exports. */
function recording(overrides: Partial<TracingOptions> = {}) {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  const tracing = createTracing({ ...base, spanProcessor: processor, ...overrides });
  const spans = async () => {
    await processor.forceFlush();
    return exporter.getFinishedSpans();
  };
  return { tracing, spans };
}

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span named ${name} among ${spans.map((s) => s.name).join(", ")}`);
  return span;
}

const traceparent = (flags = "01", traceId = TRACE_ID, spanId = PARENT_ID) => `00-${traceId}-${spanId}-${flags}`;

describe("tracing: recording", () => {
  it("continues an incoming traceparent: same trace id, the caller's span as parent, a SERVER span", async () => {
    const { tracing, spans } = recording();
    const call = tracing.startCall("POST gemini", { traceparent: traceparent() }, httpServerAttributes("POST", "/x"));
    call.end(200);
    const [server] = await spans();
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(TRACE_ID);
    expect(server?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(call).toMatchObject({ traceId: TRACE_ID, spanId: server?.spanContext().spanId, sampled: true });
    expect(call.spanId).not.toBe(PARENT_ID);
    expect(server?.attributes).toMatchObject({ "http.request.method": "POST", "http.response.status_code": 200 });
    expect(server?.resource.attributes).toMatchObject({
      "service.name": "gemini-gateway",
      "service.version": "1.2.3",
      "cloud.provider": "gcp",
    });
  });

  it("makes stage spans and the upstream span children of the server span", async () => {
    const { tracing, spans } = recording();
    const call = tracing.startCall("POST gemini", { traceparent: traceparent() });
    expect(call.stage("authenticate", () => 42)).toBe(42);
    await call.stage("read_body", async () => "body");
    const upstream = call.startChild(
      "upstream",
      genAiClientAttributes({ model: "gemini-2.5-flash", method: "generateContent" }),
    );
    upstream.end();
    call.end(200);
    const all = await spans();
    const serverId = named(all, "POST gemini").spanContext().spanId;
    for (const [name, kind] of [
      ["gateway.authenticate", SpanKind.INTERNAL],
      ["gateway.read_body", SpanKind.INTERNAL],
      ["upstream", SpanKind.CLIENT],
    ] as const) {
      const span = named(all, name);
      expect(span.kind).toBe(kind);
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(serverId);
    }
    expect(named(all, "upstream").attributes).toEqual({
      "gen_ai.provider.name": "gcp.vertex_ai",
      "gen_ai.system": "gcp.vertex_ai",
      "gen_ai.operation.name": "generate_content",
      "gen_ai.request.model": "gemini-2.5-flash",
    });
  });

  it("marks a stage that throws as ERROR, rethrows, and keeps the message (which may quote the request) out", async () => {
    const { tracing, spans } = recording();
    const call = tracing.startCall("POST gemini", {});
    const secret = new SyntaxError(`Unexpected token 'h', "hello my secret prompt" is not valid JSON`);
    expect(() =>
      call.stage("validate", () => {
        throw secret;
      }),
    ).toThrow(secret);
    call.end(400, "Invalid JSON payload received. Syntax error at character 0.");
    const all = await spans();
    const stage = named(all, "gateway.validate");
    expect(stage.status.code).toBe(SpanStatusCode.ERROR);
    expect(stage.attributes["error.type"]).toBe("SyntaxError");
    expect(stage.events.map((e) => e.name)).toEqual(["exception"]);
    expect(stage.events[0]?.attributes?.["exception.type"]).toBe("SyntaxError");
    expect(String(stage.events[0]?.attributes?.["exception.stacktrace"])).toMatch(/\n\s+at /);
    expect(JSON.stringify(all.map((s) => [s.attributes, s.events, s.status]))).not.toContain("secret");
  });

  it("ends an async stage when its promise settles, and records a rejection", async () => {
    const { tracing, spans } = recording();
    const call = tracing.startCall("POST gemini", {});
    let resolve!: (v: string) => void;
    const pending = call.stage("read_body", () => new Promise<string>((r) => (resolve = r)));
    await new Promise((r) => setTimeout(r, 5));
    expect((await spans()).map((s) => s.name)).not.toContain("gateway.read_body");
    resolve("done");
    await expect(pending).resolves.toBe("done");
    const ok = named(await spans(), "gateway.read_body");
    expect(ok.status.code).toBe(SpanStatusCode.UNSET);
    expect(ok.duration[0] * 1e3 + ok.duration[1] / 1e6).toBeGreaterThanOrEqual(4);

    const failed = call.stage("guard", () => Promise.reject(Object.assign(new Error("x"), { status: "UNAVAILABLE" })));
    await expect(failed).rejects.toThrow("x");
    await new Promise((r) => setImmediate(r));
    const guard = named(await spans(), "gateway.guard");
    expect(guard.status.code).toBe(SpanStatusCode.ERROR);
    expect(guard.attributes["error.type"]).toBe("UNAVAILABLE");
  });

  it("honours X-Cloud-Trace-Context alone: its trace id, its decimal span id as parent, its o=1 flag", async () => {
    const { tracing, spans } = recording({ sampleRatio: 0 }); // o=1 must record although the ratio says never
    const call = tracing.startCall("POST gemini", { "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123;o=1` });
    call.end(200);
    const [server] = await spans();
    expect(server?.spanContext().traceId).toBe(CLOUD_TRACE_ID);
    expect(server?.parentSpanContext?.spanId).toBe("000000000000007b");
    expect(call.sampled).toBe(true);

    const off = recording({ sampleRatio: 1 }); // o=0 must not record although the ratio says always
    const unsampled = off.tracing.startCall("POST gemini", { "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123;o=0` });
    unsampled.end(200);
    expect(await off.spans()).toEqual([]);
    expect(unsampled).toMatchObject({ traceId: CLOUD_TRACE_ID, sampled: false });
  });

  it("prefers traceparent when both headers are present", async () => {
    const { tracing, spans } = recording();
    const headers = { traceparent: traceparent(), "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123;o=1` };
    tracing.startCall("POST gemini", headers).end(200);
    const [server] = await spans();
    expect(server?.spanContext().traceId).toBe(TRACE_ID);
    expect(server?.parentSpanContext?.spanId).toBe(PARENT_ID);
  });

  it("records nothing for sampled=0 in traceparent, but still has ids and propagates the decision upstream", async () => {
    const { tracing, spans } = recording({ sampleRatio: 1 });
    const call = tracing.startCall("POST gemini", { traceparent: traceparent("00") });
    call.stage("authenticate", () => undefined);
    const upstream = call.startChild("upstream");
    expect(upstream.traceparent()).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
    upstream.end();
    call.end(200);
    expect(await spans()).toEqual([]);
    expect(call.traceId).toBe(TRACE_ID);
    expect(call.spanId).toMatch(HEX16);
    expect(call.sampled).toBe(false);
  });

  it("records nothing for a root call with sampleRatio 0, but still has ids", async () => {
    const { tracing, spans } = recording({ sampleRatio: 0 });
    const call = tracing.startCall("POST gemini", {});
    call.stage("authenticate", () => undefined);
    call.end(200);
    expect(await spans()).toEqual([]);
    expect(call.traceId).toMatch(HEX32);
    expect(call.spanId).toMatch(HEX16);
    expect(call.sampled).toBe(false);
  });

  it("gives the upstream span's own id in its traceparent", async () => {
    const { tracing, spans } = recording();
    const call = tracing.startCall("POST gemini", { traceparent: traceparent() });
    const upstream = call.startChild("upstream");
    const header = upstream.traceparent();
    upstream.end();
    call.end(200);
    const span = named(await spans(), "upstream");
    expect(header).toBe(`00-${TRACE_ID}-${span.spanContext().spanId}-01`);
    expect(span.spanContext().spanId).not.toBe(call.spanId);
  });

  it("sets ERROR for 5xx and a failed upstream status, but only attributes for a 4xx", async () => {
    const { tracing, spans } = recording();
    const c404 = tracing.startCall("c404", {});
    c404.end(404, 'Model "m" is not served by this gateway.');
    const c503 = tracing.startCall("c503", {});
    const upstream = c503.startChild("upstream");
    upstream.setAttributes({ "http.response.status_code": 429 });
    upstream.end();
    c503.end(503, "The upstream model service is unreachable: ECONNREFUSED");
    const all = await spans();
    expect(named(all, "c404").status.code).toBe(SpanStatusCode.UNSET);
    expect(named(all, "c404").attributes).toMatchObject({
      "http.response.status_code": 404,
      "error.type": "404",
      "gateway.error": 'Model "m" is not served by this gateway.',
    });
    expect(named(all, "c503").status).toEqual({
      code: SpanStatusCode.ERROR,
      message: "The upstream model service is unreachable: ECONNREFUSED",
    });
    expect(named(all, "upstream").status.code).toBe(SpanStatusCode.ERROR);
    expect(named(all, "upstream").attributes["error.type"]).toBe("429");
  });

  it("never records a query string in url.path", async () => {
    const { tracing, spans } = recording();
    tracing.startCall("POST gemini", {}, { "url.path": "/v1beta/models/m:generateContent?key=AIza-secret" }).end(200);
    expect(httpServerAttributes("POST", "/a?key=s")).toEqual({ "http.request.method": "POST", "url.path": "/a" });
    const [server] = await spans();
    expect(server?.attributes["url.path"]).toBe("/v1beta/models/m:generateContent");
  });

  it("keeps two gateways apart and registers nothing globally", async () => {
    const a = recording();
    const b = recording();
    a.tracing.startCall("a", {}).end(200);
    b.tracing.startCall("b", {}).end(200);
    expect((await a.spans()).map((s) => s.name)).toEqual(["a"]);
    expect((await b.spans()).map((s) => s.name)).toEqual(["b"]);
    expect(trace.getTracer("someone-else").startSpan("x").isRecording()).toBe(false);
  });

  it("flushes pending spans on shutdown, once", async () => {
    const exported: ReadableSpan[] = [];
    let shutdowns = 0;
    // InMemorySpanExporter forgets its spans on shutdown, so this one keeps them.
    const exporter: SpanExporter = {
      export: (spans, done) => {
        exported.push(...spans);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => void shutdowns++,
    };
    const tracing = createTracing({
      ...base,
      spanProcessor: new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60_000 }),
    });
    tracing.startCall("POST gemini", {}).end(200);
    await new Promise((r) => setTimeout(r, 10));
    expect(exported).toEqual([]);
    await Promise.all([tracing.shutdown(), tracing.shutdown()]);
    expect(exported.map((s) => s.name)).toEqual(["POST gemini"]);
    expect(shutdowns).toBe(1);
  });

  it("builds the cloud-trace exporter lazily and shuts it down without exporting anything", async () => {
    // Nothing is sampled, so nothing is sent and no credentials are looked up.
    const tracing = createTracing({ ...base, exporter: "cloud-trace", sampleRatio: 0 });
    tracing.startCall("POST gemini", {}).end(200);
    await expect(tracing.shutdown()).resolves.toBeUndefined();
    expect(() => createTracing({ ...base, exporter: "cloud-trace", project: "" })).toThrow(/project/);
  });
});

describe('tracing: exporter "none"', () => {
  const none = createTracing(base);

  it("takes ids from traceparent or X-Cloud-Trace-Context, the caller's span id included", () => {
    expect(none.startCall("c", { traceparent: traceparent() })).toMatchObject({
      traceId: TRACE_ID,
      spanId: PARENT_ID,
      sampled: true,
    });
    expect(none.startCall("c", { "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123;o=1` })).toMatchObject({
      traceId: CLOUD_TRACE_ID,
      spanId: "000000000000007b",
      sampled: true,
    });
    expect(none.startCall("c", { "x-cloud-trace-context": CLOUD_TRACE_ID })).toMatchObject({
      traceId: CLOUD_TRACE_ID,
      sampled: false,
    });
  });

  it("generates 32/16 lowercase hex ids when there is no usable header, different for every call", () => {
    const seen = new Set<string>();
    for (const headers of [{}, { traceparent: "garbage" }, { traceparent: traceparent("01", "0".repeat(32)) }, {}]) {
      const call = none.startCall("c", headers);
      expect(call.traceId).toMatch(HEX32);
      expect(call.spanId).toMatch(HEX16);
      expect(call.sampled).toBe(false);
      seen.add(call.traceId);
    }
    expect(seen.size).toBe(4);
  });

  it("runs stages as plain calls and has nothing to propagate", async () => {
    const call = none.startCall("c", {});
    expect(call.stage("a", () => 7)).toBe(7);
    await expect(call.stage("b", async () => 8)).resolves.toBe(8);
    expect(() =>
      call.stage("c", () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    const upstream = call.startChild("upstream", { "gen_ai.request.model": "m" });
    expect(upstream.traceparent()).toBeUndefined();
    upstream.end("x");
    call.end(500, "x");
    await expect(none.shutdown()).resolves.toBeUndefined();
  });

  it("agrees with the recording mode on which headers are valid", async () => {
    const cases: IncomingHttpHeaders[] = [
      { traceparent: traceparent("01") },
      { traceparent: traceparent("00") },
      { traceparent: `01-${TRACE_ID}-${PARENT_ID}-01-future` }, // later versions may add fields
      { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01-extra` }, // version 00 may not
      { traceparent: `ff-${TRACE_ID}-${PARENT_ID}-01` },
      { traceparent: traceparent("01", TRACE_ID, "0".repeat(16)) },
      { traceparent: traceparent("01", TRACE_ID.toUpperCase()) },
      { "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123;o=1` },
      { "x-cloud-trace-context": `${CLOUD_TRACE_ID}/123` },
      { traceparent: "bad", "x-cloud-trace-context": `${CLOUD_TRACE_ID}/9;o=1` },
    ];
    const origin = (traceId: string) => ([TRACE_ID, CLOUD_TRACE_ID].includes(traceId) ? traceId : "generated");
    const { tracing } = recording({ sampleRatio: 0 });
    for (const headers of cases) {
      const a = none.startCall("c", headers);
      const b = tracing.startCall("c", headers);
      b.end(200);
      expect({ headers, trace: origin(a.traceId), sampled: a.sampled }).toEqual({
        headers,
        trace: origin(b.traceId),
        sampled: b.sampled,
      });
    }
  });

  it("rejects an exporter name it does not know", () => {
    expect(() => createTracing({ ...base, exporter: "zipkin" as never })).toThrow(/Unknown trace exporter "zipkin"/);
  });
});

describe("log correlation", () => {
  it("renders Cloud Logging's trace fields from a call", async () => {
    const { tracing } = recording();
    const call = tracing.startCall("c", { traceparent: traceparent() });
    expect(traceLogFields(call, "proj")).toEqual({
      "logging.googleapis.com/trace": `projects/proj/traces/${TRACE_ID}`,
      "logging.googleapis.com/spanId": call.spanId,
      "logging.googleapis.com/trace_sampled": true,
    });
    call.end(200);
    const none = createTracing(base).startCall("c", {});
    expect(traceLogFields(none, "proj")).toEqual({
      "logging.googleapis.com/trace": `projects/proj/traces/${none.traceId}`,
      "logging.googleapis.com/spanId": none.spanId,
      "logging.googleapis.com/trace_sampled": false,
    });
  });
});
