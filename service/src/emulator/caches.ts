/**
 * Context caches, as Vertex AI serves them (`cachedContents` of one project and location): create, get, list,
 * patch (ttl / expireTime) and delete, and their use by generateContent (`cachedContent`), which then reports the
 * cached part of the prompt as `cachedContentTokenCount`. Deterministic: the token count is tokens.ts's rule, and
 * time is the emulator's clock.
 *
 * Vertex refuses a cache smaller than 2,048 tokens (docs.cloud.google.com, "Context caching overview": "Caching
 * requests must contain a minimum of 2,048 tokens"); so does the emulator, with the Developer API's wording of the
 * error. A request using a cache may not set its own systemInstruction, tools or toolConfig, and must name the
 * cache's model.
 */
import { GatewayError, errors } from "../wire/errors.js";
import type { Content, Part } from "../wire/gemini.js";
import { KNOWN_MODELS } from "./routes.js";
import { countPrompt } from "./tokens.js";

export const MIN_CACHE_TOKENS = 2048;
const DEFAULT_TTL_MS = 3_600_000;

export interface CachedContentRecord {
  id: string;
  parent: string;
  model: string;
  displayName: string | undefined;
  contents: Content[];
  systemInstruction: { parts: Part[] } | undefined;
  tools: object[] | undefined;
  toolConfig: unknown;
  tokens: number;
  created: number;
  updated: number;
  expires: number;
}

export class CacheStore {
  private readonly caches = new Map<string, CachedContentRecord>();
  constructor(private readonly ids: () => string) {}

  clear(): void {
    this.caches.clear();
  }

  /** The live cache a name ends in (`cachedContents/{id}`, with or without a project prefix), or a 404. */
  resolve(name: string, now = Date.now()): CachedContentRecord {
    const id = /(?:^|\/)cachedContents\/([^/]+)$/.exec(name)?.[1] ?? name;
    const c = this.caches.get(id);
    if (!c || c.expires <= now) {
      this.caches.delete(id);
      throw new GatewayError(404, "NOT_FOUND", `CachedContent not found (or permission denied): ${name.slice(0, 200)}`);
    }
    return c;
  }

  create(parent: string, body: Record<string, unknown>, now = Date.now()): Record<string, unknown> {
    const model = modelOf(body.model);
    if (!model || !KNOWN_MODELS.has(model)) {
      throw errors.invalidArgument(`CachedContent.model must name a known model, got ${JSON.stringify(body.model)}.`);
    }
    const contents = Array.isArray(body.contents) ? (body.contents as Content[]) : [];
    const systemInstruction = body.systemInstruction as { parts: Part[] } | undefined;
    const tools = Array.isArray(body.tools) ? (body.tools as object[]) : undefined;
    const tokens = countPrompt(contents, systemInstruction, tools).total;
    if (tokens < MIN_CACHE_TOKENS) {
      throw errors.invalidArgument(
        `Cached content is too small. total_token_count=${tokens}, min_total_token_count=${MIN_CACHE_TOKENS}`,
      );
    }
    const c: CachedContentRecord = {
      id: this.ids(),
      parent,
      model,
      displayName: typeof body.displayName === "string" ? body.displayName : undefined,
      contents,
      systemInstruction,
      tools,
      toolConfig: body.toolConfig,
      tokens,
      created: now,
      updated: now,
      expires: expiryOf(body, now) ?? now + DEFAULT_TTL_MS,
    };
    this.caches.set(c.id, c);
    return this.view(c);
  }

  get(name: string): Record<string, unknown> {
    return this.view(this.resolve(name));
  }

  list(parent: string, now = Date.now()): Record<string, unknown> {
    const live = [...this.caches.values()].filter((c) => c.parent === parent && c.expires > now);
    return { cachedContents: live.map((c) => this.view(c)) };
  }

  patch(name: string, body: Record<string, unknown>, now = Date.now()): Record<string, unknown> {
    const c = this.resolve(name, now);
    const expires = expiryOf(body, now);
    if (expires === undefined) throw errors.invalidArgument("Only ttl or expireTime can be updated.");
    c.expires = expires;
    c.updated = now;
    return this.view(c);
  }

  delete(name: string): Record<string, unknown> {
    const c = this.resolve(name);
    this.caches.delete(c.id);
    return {};
  }

  private view(c: CachedContentRecord): Record<string, unknown> {
    return {
      name: `${c.parent}/cachedContents/${c.id}`,
      model: `${c.parent}/publishers/google/models/${c.model}`,
      ...(c.displayName === undefined ? {} : { displayName: c.displayName }),
      createTime: new Date(c.created).toISOString(),
      updateTime: new Date(c.updated).toISOString(),
      expireTime: new Date(c.expires).toISOString(),
      usageMetadata: { totalTokenCount: c.tokens },
    };
  }
}

/** `projects/p/locations/l/publishers/google/models/m`, `publishers/google/models/m` or `models/m` → `m`. */
function modelOf(v: unknown): string | undefined {
  return typeof v === "string" ? /(?:^|\/)models\/([^/]+)$/.exec(v)?.[1] : undefined;
}

/** `ttl` ("3600s") or `expireTime` (RFC 3339) as epoch ms; undefined when neither is given; 400 when malformed. */
function expiryOf(body: Record<string, unknown>, now: number): number | undefined {
  if (typeof body.ttl === "string") {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(body.ttl);
    if (!m) throw errors.invalidArgument(`ttl must be a duration in seconds such as "3600s", got "${body.ttl}".`);
    return now + Math.round(Number(m[1]) * 1000);
  }
  if (typeof body.expireTime === "string") {
    const t = Date.parse(body.expireTime);
    if (Number.isNaN(t)) throw errors.invalidArgument(`expireTime must be an RFC 3339 time.`);
    return t;
  }
  return undefined;
}
