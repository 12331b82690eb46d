/**
 * The upstreams of config/upstreams.ts as providers the router can call: Vertex AI regions and projects (each its
 * own keep-alive pool and endpoint), and OpenAI-compatible servers reached through translation.
 */
import type { UpstreamProtocol } from "../config/env.js";
import type { Upstreams } from "../config/upstreams.js";
import type { TokenSource } from "../upstream/credentials.js";
import { createOpenAIProvider } from "../upstream/openai.js";
import { createVertexProvider } from "../upstream/vertex.js";
import { ConfigError } from "../config/env.js";
import type { RoutedProvider } from "./router.js";

export interface ProviderDefaults {
  /** "vertex", or "emulator" when the gateway runs against the Gemini emulator. */
  kind: "vertex" | "emulator";
  project: string;
  tokens: TokenSource;
  timeoutMs: number;
  connections: number;
  /** http1 or http2 to every upstream (upstream/http.ts). */
  protocol: UpstreamProtocol;
  userAgent: string;
  /** Environment to read OpenAI-compatible API keys from (`apiKeyEnv`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Told when a call found every connection to an upstream busy until its wait deadline (by provider id). */
  onSaturated?: (providerId: string) => void;
  /** With http2: told when an https upstream chose HTTP/1.1 in ALPN (by provider id and origin). */
  onHttp1?: (providerId: string, origin: string) => void;
}

export function createProviders(u: Upstreams, d: ProviderDefaults): Map<string, RoutedProvider> {
  const out = new Map<string, RoutedProvider>();
  for (const up of u.upstreams) {
    if (up.provider === "vertex") {
      // Two upstreams in one region (another project) must not share metric labels.
      const id = up.project ? `${d.kind}/${up.project}/${up.region}` : `${d.kind}/${up.region}`;
      const provider = createVertexProvider({
        name: d.kind,
        id,
        onSaturated: () => d.onSaturated?.(id),
        project: up.project ?? d.project,
        location: up.region,
        baseUrl: up.baseUrl,
        tokens: d.tokens,
        timeoutMs: d.timeoutMs,
        connections: d.connections,
        protocol: d.protocol,
        onHttp1: (origin) => d.onHttp1?.(id, origin),
        userAgent: d.userAgent,
      });
      out.set(up.id, { provider, supports: () => true });
    } else {
      const apiKey = up.apiKeyEnv ? d.env[up.apiKeyEnv] : undefined;
      if (up.apiKeyEnv && !apiKey) {
        throw new ConfigError(`Upstream "${up.id}" reads its API key from ${up.apiKeyEnv}, which is not set.`);
      }
      const provider = createOpenAIProvider({
        id: up.id,
        baseUrl: up.baseUrl,
        apiKey,
        models: up.models,
        timeoutMs: d.timeoutMs,
        connections: d.connections,
        protocol: d.protocol,
        onHttp1: (origin) => d.onHttp1?.(`openai/${up.id}`, origin),
        userAgent: d.userAgent,
        onSaturated: () => d.onSaturated?.(`openai/${up.id}`),
      });
      out.set(up.id, { provider, supports: (model, method) => provider.supports(model, method) });
    }
  }
  return out;
}
