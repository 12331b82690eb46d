/**
 * Vertex AI as the upstream: the client's request bytes go to
 * `{base}/{v1|v1beta1}/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}` over a
 * keep-alive undici pool, with an OAuth2 access token. Streams are always requested as SSE (`alt=sse`). Nothing is
 * parsed or re-serialized here: see docs/decisions/0002-undici-passthrough-hot-path.md for why not the SDK.
 */
import { header, releaseWhenClosed, translateNetworkError, upstreamAgent } from "./http.js";
import { createConnectionSlots } from "./connection-slots.js";
import type { UpstreamProtocol } from "../config/env.js";
import type { TokenSource } from "./credentials.js";
import type { Provider, UpstreamRequest, UpstreamResponse } from "./provider.js";

export interface VertexOptions {
  /** "vertex", or "emulator" when the base URL is the Gemini emulator: names the upstream in logs and headers. */
  name: "vertex" | "emulator";
  /** Metric and log id; default `<name>/<location>` (give another when two upstreams share a region). */
  id?: string;
  project: string;
  location: string;
  /** Override for Private Service Connect or an emulator; default is Google's regional (or global) endpoint. */
  baseUrl?: string | undefined;
  tokens: TokenSource;
  timeoutMs: number;
  /** Upstream calls in flight at most (connection slots); with http2 they share connections. */
  connections: number;
  /** Default http1 (upstream/http.ts). */
  protocol?: UpstreamProtocol | undefined;
  /** With http2: told when the https upstream chose HTTP/1.1 in ALPN (its calls then get a connection each). */
  onHttp1?: (origin: string) => void;
  userAgent: string;
  /** Told when a call found every connection busy until its wait deadline (a metric). */
  onSaturated?: () => void;
}

export function vertexBaseUrl(location: string): string {
  return location === "global" ? "https://aiplatform.googleapis.com" : `https://${location}-aiplatform.googleapis.com`;
}

export function createVertexProvider(options: VertexOptions): Provider {
  const origin = new URL(options.baseUrl ?? vertexBaseUrl(options.location));
  const pathPrefix = origin.pathname.replace(/\/+$/, "");
  const location = `projects/${options.project}/locations/${options.location}/`;
  const resource = `${location}publishers/google/models/`;
  const agent = upstreamAgent(options, origin.origin);
  const id = options.id ?? `${options.name}/${options.location}`;

  return {
    id,
    name: options.name,
    region: options.location,
    slots: createConnectionSlots({ max: options.connections, upstream: id, onSaturated: options.onSaturated }),
    async send(req: UpstreamRequest): Promise<UpstreamResponse> {
      const query = req.method === "streamGenerateContent" ? "?alt=sse" : "";
      let authorization: string;
      try {
        authorization = await options.tokens.authorization();
      } catch (err) {
        req.release();
        throw err;
      }
      const headers: Record<string, string> = {
        "content-type": "application/json",
        authorization,
        "user-agent": options.userAgent,
      };
      if (req.serverTimeout) headers["x-server-timeout"] = req.serverTimeout;
      if (req.traceparent) headers.traceparent = req.traceparent;
      try {
        const r = req.resource;
        const res = await agent.request({
          origin: origin.origin,
          // Resources live under the project and location (caches, interactions, batch jobs); models under publishers.
          path: r
            ? `${pathPrefix}/${req.apiVersion}/${location}${r.path}${r.query ? `?${r.query}` : ""}`
            : `${pathPrefix}/${req.apiVersion}/${resource}${req.model}:${req.method}${query}`,
          method: r ? r.verb : "POST",
          headers,
          body:
            r && (r.verb === "GET" || r.verb === "DELETE")
              ? undefined
              : req.bodyFor
                ? req.bodyFor(location.slice(0, -1))
                : req.body,
          signal: req.signal,
        });
        releaseWhenClosed(res.body, req.release);
        return {
          status: res.statusCode,
          contentType: header(res.headers["content-type"]),
          retryAfter: header(res.headers["retry-after"]),
          body: res.body,
        };
      } catch (err) {
        req.release();
        throw translateNetworkError(err);
      }
    },
    close: () => agent.close(),
  };
}
