/**
 * The evaluation tool's HTTP client of the gateway: prompt calls, plain model calls, embeddings and prompt
 * descriptions, with the tenant's key. It stays within the tenant's limits: every request waits for one shared
 * pacer, which a 429 (its Retry-After or RetryInfo delay) or an exhausted `x-ratelimit-remaining-requests` window
 * (until `x-ratelimit-reset-requests`) pushes back for every worker at once; a 429 or 503 is retried, up to 6 times.
 */
import type { Answer } from "./checks.js";

export interface ClientOptions {
  baseUrl: string;
  key: string;
  timeoutMs: number;
  /** Tests: the clock and the sleep. */
  sleep?: (ms: number) => Promise<void>;
}

export interface CallOutcome {
  status: number;
  answer: Answer | undefined;
  headers: Headers;
  error: string | undefined;
}

export interface PromptDescription {
  name: string;
  labels: Record<string, number>;
  experiment?: { name: string; label: string; holdout: number; variants: string[] };
}

const RETRIES = 6;

export class GatewayClient {
  private notBefore = 0;
  private readonly sleep: (ms: number) => Promise<void>;
  /** 429s met, for the report: how often the tool had to wait for the tenant's limits. */
  rateLimited = 0;

  constructor(private readonly o: ClientOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async prompt(ref: string, variables: unknown, variant: string | undefined): Promise<CallOutcome> {
    const headers: Record<string, string> = {};
    if (variant) headers["x-gateway-prompt-variant"] = variant;
    return this.generate(`/v1beta/prompts/${encodeURIComponent(ref)}:generateContent`, { variables }, headers);
  }

  async model(model: string, body: Record<string, unknown>): Promise<CallOutcome> {
    return this.generate(`/v1beta/models/${encodeURIComponent(model)}:generateContent`, body, {});
  }

  async describe(name: string): Promise<PromptDescription> {
    const res = await this.send("GET", `/v1beta/prompts/${encodeURIComponent(name)}`, undefined, {});
    if (res.status !== 200) throw new Error(`GET /v1beta/prompts/${name}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as PromptDescription;
  }

  /** One vector per text, in order (the Developer API's batchEmbedContents). */
  async embed(model: string, texts: readonly string[]): Promise<number[][]> {
    const res = await this.send(
      "POST",
      `/v1beta/models/${encodeURIComponent(model)}:batchEmbedContents`,
      {
        requests: texts.map((text) => ({
          model: `models/${model}`,
          content: { parts: [{ text }] },
          taskType: "SEMANTIC_SIMILARITY",
        })),
      },
      {},
    );
    const body = await res.text();
    if (res.status !== 200) throw new Error(`embeddings: HTTP ${res.status} ${body.slice(0, 300)}`);
    return (JSON.parse(body) as { embeddings: { values: number[] }[] }).embeddings.map((e) => e.values);
  }

  private async generate(path: string, body: unknown, headers: Record<string, string>): Promise<CallOutcome> {
    const res = await this.send("POST", path, body, headers);
    const text = await res.text();
    if (res.status !== 200) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message;
      } catch {
        // not an error envelope: keep the text
      }
      return { status: res.status, answer: undefined, headers: res.headers, error: `HTTP ${res.status}: ${message}` };
    }
    const json = JSON.parse(text) as {
      candidates?: { content?: { parts?: { text?: string; thought?: boolean }[] }; finishReason?: string }[];
      promptFeedback?: { blockReason?: string };
    };
    const c = json.candidates?.[0];
    const answer: Answer = {
      text: (c?.content?.parts ?? [])
        .filter((p) => !p.thought)
        .map((p) => p.text ?? "")
        .join(""),
      finishReason: c?.finishReason,
      blockReason: json.promptFeedback?.blockReason,
    };
    return { status: 200, answer, headers: res.headers, error: undefined };
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const wait = this.notBefore - Date.now();
      if (wait > 0) await this.sleep(wait);
      const res = await fetch(this.o.baseUrl.replace(/\/+$/, "") + path, {
        method,
        headers: {
          "x-goog-api-key": this.o.key,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      this.pace(res.headers);
      if ((res.status !== 429 && res.status !== 503) || attempt >= RETRIES) return res;
      if (res.status === 429) this.rateLimited++;
      const text = await res.text();
      const delay = retryDelayMs(res.headers, text) ?? Math.min(30_000, 500 * 2 ** attempt);
      this.notBefore = Math.max(this.notBefore, Date.now() + delay);
    }
  }

  /** The tenant's request window is empty: every worker waits until it has refilled a request. */
  private pace(headers: Headers): void {
    const remaining = headers.get("x-ratelimit-remaining-requests");
    const reset = headers.get("x-ratelimit-reset-requests");
    if (remaining === "0" && reset) {
      const ms = seconds(reset);
      if (ms !== undefined) this.notBefore = Math.max(this.notBefore, Date.now() + Math.min(ms, 60_000));
    }
  }
}

/** Retry-After (seconds), else a google.rpc.RetryInfo `retryDelay` in the body. */
function retryDelayMs(headers: Headers, body: string): number | undefined {
  const after = headers.get("retry-after");
  if (after && /^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
  const m = /"retryDelay"\s*:\s*"([\d.]+)s"/.exec(body);
  return m ? Number(m[1]) * 1000 : undefined;
}

function seconds(v: string): number | undefined {
  const m = /^([\d.]+)s?$/.exec(v.trim());
  return m ? Number(m[1]) * 1000 : undefined;
}
