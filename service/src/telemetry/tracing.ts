/**
 * OpenTelemetry tracing for the gateway: one SERVER span per call that continues the caller's trace, an INTERNAL span
 * per pipeline stage and a CLIENT span for the upstream call. Two implementations behind one interface:
 *
 * - exporter "none" (the default) without a test processor: no SDK objects at all; a call only gets trace and span
 *   ids (from the incoming headers, or fresh ones) so that its logs can be grouped by trace.
 * - otherwise: a private BasicTracerProvider. Nothing is registered globally and there is no context manager: parents
 *   are passed explicitly, so two gateways in one process share no state and no async-hooks cost is paid.
 *
 * Spans never carry prompt or response content, nor exception messages (JSON.parse quotes its input in them).
 * docs/tracing.md says how to turn it on and what each span carries.
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  defaultTextMapGetter,
  trace,
  type Attributes,
  type Context,
  type Exception,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
  ERROR_TYPE_VALUE_OTHER,
} from "@opentelemetry/semantic-conventions";
import { cloudTraceExporter, exportErrorReporter } from "./cloud-trace-exporter.js";
import { newSpanId, newTraceId, traceFromHeaders } from "./trace.js";

// Named once, in the configuration schema (telemetry depends on config, never the reverse).
import { TRACE_EXPORTERS, type TraceExporterName } from "../config/env.js";
export { TRACE_EXPORTERS, type TraceExporterName };

export interface TracingOptions {
  exporter: TraceExporterName;
  /** Google Cloud project for Cloud Trace and the log trace field. */
  project: string;
  /** 0..1, for root spans; a caller's sampled flag is honoured (parent-based). */
  sampleRatio: number;
  serviceName: string;
  serviceVersion: string;
  /** Tests: a span processor to add; when set, spans are recorded even if exporter is "none". */
  spanProcessor?: SpanProcessor;
  /** Called when an export to Cloud Trace fails (e.g. no roles/cloudtrace.agent). Default: one process warning. */
  onExportError?: (error: Error) => void;
}

export interface Tracing {
  /** False when nothing is ever recorded (exporter "none"): callers can skip building span attributes. */
  readonly recording: boolean;
  /** Starts the SERVER span for one request, continuing the caller's trace: W3C `traceparent` wins when both it and
   *  Cloud Run's `X-Cloud-Trace-Context` are present; with neither, a new root. */
  startCall(name: string, headers: IncomingHttpHeaders, attributes?: Attributes): CallTrace;
  /** Flushes and stops exporting (graceful shutdown). */
  shutdown(): Promise<void>;
}

export interface CallTrace {
  /** Always set (from the incoming headers, or generated), also when nothing is recorded: logs carry it. */
  readonly traceId: string;
  /** The server span's id; when nothing is recorded at all (exporter "none"), the caller's span id if it sent one. */
  readonly spanId: string;
  readonly sampled: boolean;
  /** Runs one pipeline stage as a child INTERNAL span named `gateway.<name>`; ends it when fn returns or its promise
   *  settles; an exception or rejection is recorded (type and stack frames only), sets ERROR, and is rethrown. */
  stage<T>(name: string, fn: () => T): T;
  /** A child CLIENT span (the upstream call); the caller ends it when the response or stream is over. */
  startChild(name: string, attributes?: Attributes): SpanHandle;
  setAttributes(attributes: Attributes): void;
  /** Ends the server span: HTTP status attribute, ERROR status for 5xx (and for 4xx only as an attribute). `error` is
   *  the gateway's own short error text (it is recorded), never a message that could quote the request. */
  end(httpStatus: number, error?: string): void;
}

export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** The W3C traceparent of this span, to send upstream so the trace continues at the provider (undefined when off). */
  traceparent(): string | undefined;
  /** Ends the span; ERROR when `error` is given (the gateway's own text, as for CallTrace.end) or when an
   *  `http.response.status_code` of 400 or more was set on it. */
  end(error?: string): void;
}

export function createTracing(options: TracingOptions): Tracing {
  if (!TRACE_EXPORTERS.includes(options.exporter)) {
    throw new Error(
      `Unknown trace exporter "${String(options.exporter)}"; expected one of ${TRACE_EXPORTERS.join(", ")}.`,
    );
  }
  if (options.exporter === "none" && !options.spanProcessor) return idsOnlyTracing;
  return new RecordingTracing(options);
}

// Incubating semantic conventions are copied rather than imported, as OpenTelemetry advises: they can change in a
// minor release, and the incubating entry point is a large module to load.
const ATTR_CLOUD_PROVIDER = "cloud.provider";
const ATTR_GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
const ATTR_GEN_AI_SYSTEM = "gen_ai.system"; // deprecated for gen_ai.provider.name; older backends still read it
const ATTR_GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
const ATTR_GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
const GEN_AI_PROVIDER_VERTEX_AI = "gcp.vertex_ai";
/** The gateway's own error text for a failed call or upstream span (error.type only holds the status code). */
const ATTR_GATEWAY_ERROR = "gateway.error";

/** Server span attributes of a request: method and path; never the query string, which can carry an API key. */
export function httpServerAttributes(method: string | undefined, url: string | undefined): Attributes {
  return { [ATTR_HTTP_REQUEST_METHOD]: method ?? "_OTHER", [ATTR_URL_PATH]: pathOf(url ?? "") };
}

/** Upstream span attributes of a model call (GenAI conventions): which model and operation, never any content. */
export function genAiClientAttributes(call: { model: string; method: string; serverAddress?: string }): Attributes {
  const attributes: Attributes = {
    [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER_VERTEX_AI,
    [ATTR_GEN_AI_SYSTEM]: GEN_AI_PROVIDER_VERTEX_AI,
    [ATTR_GEN_AI_OPERATION_NAME]: operationOf(call.method),
    [ATTR_GEN_AI_REQUEST_MODEL]: call.model,
  };
  if (call.serverAddress) attributes[ATTR_SERVER_ADDRESS] = call.serverAddress;
  return attributes;
}

function operationOf(method: string): string {
  if (method === "generateContent" || method === "streamGenerateContent") return "generate_content";
  return method === "countTokens" ? "count_tokens" : method;
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

// ---- exporter "none": ids for logs, nothing else ----

const noopSpan: SpanHandle = { setAttributes() {}, traceparent: () => undefined, end() {} };

class IdsOnlyCallTrace implements CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;

  constructor(headers: IncomingHttpHeaders) {
    const incoming = traceFromHeaders(headers);
    this.traceId = incoming?.traceId ?? newTraceId();
    // No span of ours is exported, so logs point at the caller's span (Cloud Run's request span), which may exist.
    this.spanId = incoming?.spanId ?? newSpanId();
    this.sampled = incoming?.sampled ?? false;
  }

  stage<T>(_name: string, fn: () => T): T {
    return fn();
  }
  startChild(): SpanHandle {
    return noopSpan;
  }
  setAttributes(): void {}
  end(): void {}
}

const idsOnlyTracing: Tracing = {
  recording: false,
  startCall: (_name, headers) => new IdsOnlyCallTrace(headers),
  shutdown: () => Promise.resolve(),
};

// ---- recording ----

const w3cPropagator = new W3CTraceContextPropagator();

/**
 * The caller's context: W3C `traceparent` (with `tracestate`) through the OpenTelemetry propagator, else Cloud Run's
 * `X-Cloud-Trace-Context` through trace.ts's parser. Google's Cloud Trace propagator package is deprecated (archived
 * October 2026, in favour of W3C); Cloud Run sends `traceparent` too, so the fallback only serves older front ends.
 */
function parentContext(headers: IncomingHttpHeaders): Context {
  const w3c = w3cPropagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  if (trace.getSpanContext(w3c)) return w3c;
  const cloud = traceFromHeaders(headers);
  if (!cloud?.spanId) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: cloud.traceId,
    spanId: cloud.spanId,
    traceFlags: cloud.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

class RecordingTracing implements Tracing {
  readonly recording = true;
  readonly #provider: BasicTracerProvider;
  readonly #tracer: Tracer;
  #shutdown: Promise<void> | undefined;

  constructor(options: TracingOptions) {
    const processors: SpanProcessor[] = [];
    if (options.exporter === "cloud-trace") {
      if (!options.project) throw new Error('Trace exporter "cloud-trace" needs a Google Cloud project.');
      processors.push(
        new BatchSpanProcessor(cloudTraceExporter(options.project, exportErrorReporter(options.onExportError))),
      );
    }
    if (options.spanProcessor) processors.push(options.spanProcessor);
    this.#provider = new BasicTracerProvider({
      resource: defaultResource().merge(
        resourceFromAttributes({
          [ATTR_SERVICE_NAME]: options.serviceName,
          [ATTR_SERVICE_VERSION]: options.serviceVersion,
          [ATTR_CLOUD_PROVIDER]: "gcp",
        }),
      ),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
      spanProcessors: processors,
    });
    this.#tracer = this.#provider.getTracer(options.serviceName, options.serviceVersion);
  }

  startCall(name: string, headers: IncomingHttpHeaders, attributes?: Attributes): CallTrace {
    const parent = parentContext(headers);
    const span = this.#tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: withoutQuery(attributes) }, parent);
    return new RecordingCallTrace(this.#tracer, span);
  }

  shutdown(): Promise<void> {
    return (this.#shutdown ??= this.#provider.shutdown());
  }
}

/** A url.path given with its query loses it: the query can carry an API key. */
function withoutQuery(attributes: Attributes | undefined): Attributes | undefined {
  const path = attributes?.[ATTR_URL_PATH];
  return typeof path === "string" && path.includes("?") ? { ...attributes, [ATTR_URL_PATH]: pathOf(path) } : attributes;
}

class RecordingCallTrace implements CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly #tracer: Tracer;
  readonly #span: Span;
  #context: Context | undefined;

  constructor(tracer: Tracer, span: Span) {
    const context = span.spanContext();
    this.traceId = context.traceId;
    this.spanId = context.spanId;
    this.sampled = (context.traceFlags & TraceFlags.SAMPLED) !== 0;
    this.#tracer = tracer;
    this.#span = span;
  }

  #child(name: string, kind: SpanKind, attributes?: Attributes): Span {
    this.#context ??= trace.setSpan(ROOT_CONTEXT, this.#span);
    return this.#tracer.startSpan(name, { kind, attributes }, this.#context);
  }

  stage<T>(name: string, fn: () => T): T {
    // The parent-based sampler never records a child of an unrecorded span: skip the span entirely.
    if (!this.#span.isRecording()) return fn();
    const span = this.#child(`gateway.${name}`, SpanKind.INTERNAL);
    let result: T;
    try {
      result = fn();
    } catch (err) {
      fail(span, err);
      throw err;
    }
    if (isPromiseLike(result)) {
      // The caller awaits `result` itself; this branch only ends the span (and handles the rejection it observes).
      result.then(
        () => span.end(),
        (err: unknown) => fail(span, err),
      );
    } else {
      span.end();
    }
    return result;
  }

  startChild(name: string, attributes?: Attributes): SpanHandle {
    if (!this.#span.isRecording()) {
      // Only the "not sampled" decision travels upstream; an SDK span for that costs ~0.8 µs for nothing.
      const header = traceparentOf(this.#span.spanContext());
      return { setAttributes() {}, traceparent: () => header, end() {} };
    }
    return new RecordingSpanHandle(this.#child(name, SpanKind.CLIENT, attributes));
  }

  setAttributes(attributes: Attributes): void {
    this.#span.setAttributes(attributes);
  }

  end(httpStatus: number, error?: string): void {
    const span = this.#span;
    if (httpStatus > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, httpStatus);
    // OTel's HTTP server conventions: a 4xx is the client's mistake, so it leaves the span status unset.
    endWithOutcome(span, httpStatus, error, httpStatus >= 500);
  }
}

class RecordingSpanHandle implements SpanHandle {
  readonly #span: Span;
  #httpStatus = 0;
  constructor(span: Span) {
    this.#span = span;
  }
  setAttributes(attributes: Attributes): void {
    const status = attributes[ATTR_HTTP_RESPONSE_STATUS_CODE];
    if (typeof status === "number") this.#httpStatus = status;
    this.#span.setAttributes(attributes);
  }
  traceparent(): string | undefined {
    return traceparentOf(this.#span.spanContext());
  }
  end(error?: string): void {
    // HTTP client conventions: any 4xx or 5xx the upstream answered is an error of this span.
    endWithOutcome(this.#span, this.#httpStatus, error, this.#httpStatus >= 400);
  }
}

/**
 * error.type is the status code (low cardinality, as the HTTP conventions ask) or "_OTHER" without one; the error text
 * goes to gateway.error and, for errors, the status description. An error without an HTTP error status (a stream
 * that broke after its 200) is an error too.
 */
function endWithOutcome(span: Span, httpStatus: number, error: string | undefined, httpError: boolean): void {
  if (error) span.setAttribute(ATTR_GATEWAY_ERROR, error);
  if (httpStatus >= 400) span.setAttribute(ATTR_ERROR_TYPE, String(httpStatus));
  else if (error) span.setAttribute(ATTR_ERROR_TYPE, ERROR_TYPE_VALUE_OTHER);
  if (httpError || (error && httpStatus < 400)) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

function traceparentOf(context: SpanContext): string {
  const flags = context.traceFlags & TraceFlags.SAMPLED ? "01" : "00";
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/** Records a failure on a span and ends it. Only the type and the stack frames: the message may quote the request. */
function fail(span: Span, err: unknown): void {
  const type = errorTypeOf(err);
  const exception: Exclude<Exception, string> = { name: type };
  if (err instanceof Error && err.stack) {
    const frames = err.stack.split("\n").filter((line) => /^\s+at /.test(line));
    if (frames.length) exception.stack = `${type}\n${frames.join("\n")}`;
  }
  span.recordException(exception);
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  span.end();
}

/** A low-cardinality name for what was thrown: a Google status where the error carries one (GatewayError). */
function errorTypeOf(err: unknown): string {
  if (typeof err !== "object" || err === null) return typeof err;
  const status = (err as { status?: unknown }).status;
  if (typeof status === "string" && status) return status;
  return err instanceof Error ? err.name : "object";
}
