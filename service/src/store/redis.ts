/**
 * The Redis store (ioredis): what makes quotas hold across every gateway instance. Each admission decision and each
 * reconcile is one round trip running a Lua script (EVALSHA, falling back to EVAL once after a restart empties the
 * script cache), atomic on the server and timed by the server's clock (`TIME`), so instances with skewed clocks agree.
 * The arithmetic is memory.ts's, line for line. Keys live under a prefix (default `ggw:`).
 *
 * Redis Cluster (`cluster: true`, e.g. Memorystore for Redis Cluster): every key carries a hash tag, and every script
 * touches keys of one tag, so each runs on one shard. A window's tag is its own key (`{w:t:acme:rpm}`), so the windows
 * spread over the shards; a hold's record shares its window's tag. Leased admission (quota/leased-windows.ts, the
 * default with Redis) only ever admits one window at a time; an admission over several windows (per-call admission)
 * is, on a cluster, one script per window and a refund of the others when one refuses (admitAcrossShards). Counters
 * are read with one GET each (pipelined), not MGET, which needs one slot.
 *
 * When Redis is down or slow every operation rejects within `commandTimeoutMs` with StoreUnavailableError: no offline
 * queue, no replay of in-flight scripts after a reconnect (they may have run).
 */
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import {
  admissionItems,
  burstOf,
  checkAdd,
  checkBeat,
  checkCounter,
  checkReconcile,
  checkResource,
  checkTally,
  checkTtl,
  DEFAULT_COUNTER_MARGIN_MS,
  periodOf,
} from "./checks.js";
import {
  StoreUnavailableError,
  type Admission,
  type Charge,
  type CounterRef,
  type Hold,
  type OwnedResource,
  type Reservation,
  type Store,
} from "./store.js";

export interface RedisStoreOptions {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), or a unix socket path (`/run/redis.sock`); with
   * `cluster`, the address of any node (Memorystore for Redis Cluster: its discovery endpoint).
   */
  url: string;
  /** Redis Cluster: discover the shards from `url` and route each key to its shard. */
  cluster?: boolean;
  /** PEM file of the server CA (Memorystore in-transit encryption); needs a `rediss://` URL. */
  tlsCaFile?: string;
  /** AUTH string, when not in the URL (e.g. from Secret Manager). */
  password?: string;
  /** Prefix of every key; no braces (the hash tags follow it). Default `ggw:`. */
  prefix?: string;
  /** Bound on every operation, health probe included. Default 250 ms. */
  commandTimeoutMs?: number;
  /** Bound on one connection attempt. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Cap of the exponential reconnect backoff (with jitter). Default 2000 ms. */
  reconnectMaxMs?: number;
  counterMarginMs?: number;
}

/** ioredis options from ours (exported for tests: the TLS and URL rules are checked without a TLS server). */
export function connectionOptions(o: RedisStoreOptions): RedisOptions {
  const commandTimeout = o.commandTimeoutMs ?? 250;
  const reconnectMax = o.reconnectMaxMs ?? 2000;
  const isTls = /^rediss:\/\//i.test(o.url);
  if (o.tlsCaFile && !isTls) throw new RangeError("tlsCaFile needs a rediss:// URL");
  if (!/^(rediss?:\/\/|\/)/i.test(o.url)) throw new RangeError("the Redis URL must be redis://, rediss:// or a path");
  return {
    ...(o.tlsCaFile ? { tls: { ca: readFileSync(o.tlsCaFile, "utf8") } } : {}),
    ...(o.password ? { password: o.password } : {}),
    enableOfflineQueue: false,
    // Commands issued in the same tick (a call's usage counters, concurrent admissions) share one round trip.
    enableAutoPipelining: true,
    commandTimeout,
    // A connection that stops answering (partition, frozen server) is dropped and re-dialled, not waited on forever.
    socketTimeout: Math.max(1000, 4 * commandTimeout),
    connectTimeout: o.connectTimeoutMs ?? 3000,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (times) => Math.min(reconnectMax, 50 * 2 ** Math.min(times, 10)) + Math.floor(Math.random() * 50),
    connectionName: "gemini-gateway",
  };
}

// Shared by the window scripts: Redis time in ms, and a key's TTL — drained plus one period, so a lowered limit still
// finds its state (capped, and formatted: Lua would print a large number in exponent form).
const PRELUDE = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local function px(d, lim, per) return string.format('%.0f', math.min(math.ceil(d / lim) + per, 1e13)) end`;

// KEYS: the windows (charges, then hold windows), then the reservation record when ARGV[1] (ttl) > 0.
// ARGV: ttl, amount held, then limit, periodMs, cost, burst per window. Reply: admitted, refused index, wait (-1:
// never), now, then remaining (within the burst) and resetMs per window. State is "d:t": units outstanding × periodMs,
// at time t (integers; formatted with %.0f because Lua's tostring keeps only 14 digits).
const ADMIT = `${PRELUDE}
local ttl = tonumber(ARGV[1])
local n = #KEYS
if ttl > 0 then n = n - 1 end
local d, t, refused, wait = {}, {}, 0, 0
local function arg(i)
  return tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1]), tonumber(ARGV[4 * i + 2])
end
for i = 1, n do
  local lim, per, cost, burst = arg(i)
  local s = redis.call('GET', KEYS[i])
  d[i], t[i] = 0, now
  if s then
    local sd, st = string.match(s, '^(%d+):(%d+)$')
    d[i] = math.max(0, tonumber(sd) - math.max(0, now - tonumber(st)) * lim)
    t[i] = math.max(now, tonumber(st))
  end
  local over = d[i] + cost * per - burst * per
  if over > 0 then
    local w = -1
    if cost <= burst then w = math.ceil(over / lim) end
    if refused == 0 or (wait ~= -1 and (w == -1 or w > wait)) then refused, wait = i, w end
  end
end
local out = {refused == 0 and 1 or 0, refused, wait, now}
for i = 1, n do
  local lim, per, cost, burst = arg(i)
  if refused == 0 and cost > 0 then
    d[i] = d[i] + cost * per
    redis.call('SET', KEYS[i], string.format('%.0f:%.0f', d[i], t[i]), 'PX', px(d[i], lim, per))
  end
  out[#out + 1] = math.max(0, math.floor((burst * per - d[i]) / per))
  out[#out + 1] = math.ceil(d[i] / lim)
end
if refused == 0 and ttl > 0 then redis.call('SET', KEYS[n + 1], ARGV[2], 'PX', ttl) end
return out`;

// KEYS: the reservation's windows, then its record. ARGV: actual, then limit, periodMs per window. Reply: 1 or 0.
const RECONCILE = `${PRELUDE}
local rec = KEYS[#KEYS]
local held = redis.call('GET', rec)
if not held then return 0 end
redis.call('DEL', rec)
local delta = tonumber(ARGV[1]) - tonumber(held)
if delta == 0 then return 1 end
for i = 1, #KEYS - 1 do
  local lim, per = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local s = redis.call('GET', KEYS[i])
  local d, t = 0, now
  if s then
    local sd, st = string.match(s, '^(%d+):(%d+)$')
    d = math.max(0, tonumber(sd) - math.max(0, now - tonumber(st)) * lim)
    t = math.max(now, tonumber(st))
  end
  d = math.max(0, d + delta * per)
  if d > 0 then
    redis.call('SET', KEYS[i], string.format('%.0f:%.0f', d, t), 'PX', px(d, lim, per))
  else
    redis.call('DEL', KEYS[i])
  end
end
return 1`;

// KEYS: the presence set (member: instance id, score: when its beat runs out). ARGV: instance id, ttl. Reply: how
// many are alive. The key lives as long as its longest beat, so a short TTL never drops the others.
const BEAT = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', tonumber(last[2])))
return redis.call('ZCARD', KEYS[1])`;

const COUNTER_ADD = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return v`;

// KEYS: one window. ARGV: units, limit, periodMs. Takes back units an admission charged (a cluster admission over
// several windows, each on its own shard, that another window refused). Reply: 1.
const REFUND = `${PRELUDE}
local units, lim, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('GET', KEYS[1])
if not s then return 1 end
local sd, st = string.match(s, '^(%d+):(%d+)$')
local d = math.max(0, tonumber(sd) - math.max(0, now - tonumber(st)) * lim - units * per)
if d > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', d, math.max(now, tonumber(st))), 'PX', px(d, lim, per))
else
  redis.call('DEL', KEYS[1])
end
return 1`;

// KEYS: a kv key. ARGV: the value its holder set. Deletes it only if it still holds that value (lease release).
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// The ownership registry. KEYS: the record, its tenant's index (a sorted set: id by expiresAt). ARGV: the record's
// JSON, expiresAt, id. A record already expired is not stored; the index lives as long as its last record.
const RESOURCE_PUT = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
if tonumber(ARGV[2]) <= now then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], last[2])
return 1`;

// KEYS: a tenant's index. Drops what has expired; replies with the live ids, oldest expiry first.
const RESOURCE_LIST = `
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

// KEYS: the record, its tenant's index. ARGV: id. Reply: 1 when the record was there.
const RESOURCE_DELETE = `
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])`;

interface Script {
  lua: string;
  sha: string;
}
const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") });
const SCRIPTS = {
  admit: script(ADMIT),
  reconcile: script(RECONCILE),
  beat: script(BEAT),
  counterAdd: script(COUNTER_ADD),
  release: script(RELEASE),
  refund: script(REFUND),
  resourcePut: script(RESOURCE_PUT),
  resourceList: script(RESOURCE_LIST),
  resourceDelete: script(RESOURCE_DELETE),
};

/** A Redis Cluster client from the address of one node (the discovery endpoint), with our connection options. */
function clusterClient(o: RedisStoreOptions): Cluster {
  const nodeOptions = connectionOptions(o);
  const url = new URL(o.url);
  const auth = url.password ? decodeURIComponent(url.password) : undefined;
  return new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
    redisOptions: {
      ...nodeOptions,
      ...(auth ? { password: auth } : {}),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(/^rediss:/i.test(o.url) && !nodeOptions.tls ? { tls: {} } : {}),
    },
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    // Memorystore answers CLUSTER SLOTS with IP addresses; with TLS the certificate names the discovery endpoint.
    ...(/^rediss:/i.test(o.url)
      ? { dnsLookup: (address: string, done: (e: null, a: string) => void) => done(null, address) }
      : {}),
    clusterRetryStrategy: (times: number) => Math.min(o.reconnectMaxMs ?? 2000, 50 * 2 ** Math.min(times, 10)),
    slotsRefreshTimeout: o.connectTimeoutMs ?? 3000,
  });
}

/** Server replies that mean "not available now" rather than a bug in a script or a call. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|OOM|NOAUTH|WRONGPASS)\b/;

function asUnavailable(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || !(err instanceof Error)) return err;
  if (err.name === "ReplyError" && !UNAVAILABLE_REPLY.test(err.message)) return err;
  return new StoreUnavailableError(`redis unavailable: ${err.message}`, { cause: err });
}

const toNumbers = (reply: unknown): number[] => {
  if (!Array.isArray(reply)) throw new Error(`unexpected script reply: ${String(reply)}`);
  return reply.map((v) => Number(v));
};

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const prefix = options.prefix ?? "ggw:";
  if (/[{}]/.test(prefix)) throw new RangeError("the key prefix must not contain braces (hash tags follow it)");
  const margin = options.counterMarginMs ?? DEFAULT_COUNTER_MARGIN_MS;
  const client = options.cluster ? clusterClient(options) : new Redis(options.url, connectionOptions(options));
  let lastError = "";
  client.on("error", (err: Error) => (lastError = err.message));
  client.on("ready", () => (lastError = ""));

  // Hash tags: a window is its own tag; a hold's record goes with its first window; the rest are single keys.
  const windowTag = (key: string) => `{w:${key}}`;
  const windowKey = (key: string) => `${prefix}${windowTag(key)}`;
  const reservationKey = (firstWindow: string, id: string) => `${prefix}${windowTag(firstWindow)}:r:${id}`;
  const counterKey = (ref: CounterRef) => {
    const p = periodOf(ref.period, ref.at ?? Date.now());
    return { key: `${prefix}{c:${ref.name}:${p.id}}`, expiresAt: p.endsAt + margin };
  };
  const kvKey = (key: string) => `${prefix}{kv:${key}}`;
  const tallyKey = (key: string) => `${prefix}{tally:${key}}`;
  const presenceKey = `${prefix}{p}:presence`;
  const resourceKey = (kind: string, id: string) => `${prefix}{r}:res:${kind}:${id}`;
  const resourceIndex = (kind: string, tenant: string) => `${prefix}{r}:idx:${kind}:${tenant}`;
  const parseResource = (json: string | null): OwnedResource | null =>
    json === null ? null : (JSON.parse(json) as OwnedResource);

  /** Every command goes through here: fail fast while disconnected, map outages to StoreUnavailableError. */
  async function call<T>(op: () => Promise<T>): Promise<T> {
    if (client.status !== "ready") {
      throw new StoreUnavailableError(
        `redis unavailable: connection is ${client.status}${lastError && ` (${lastError})`}`,
      );
    }
    try {
      return await op();
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  async function run(s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    return call(async () => {
      try {
        return await client.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
        return await client.eval(s.lua, keys.length, ...keys, ...args);
      }
    });
  }

  /**
   * On a cluster, an admission over several windows (per-call admission; leased admission never does it) cannot be
   * one script: each window is admitted on its own shard, in parallel, and if any refuses, the others' charges are
   * taken back. All or none, as on one server — except that for a moment a concurrent call may see the charges that
   * were taken back (it may be refused, never over-admitted). A hold is recorded once per window.
   */
  async function admitAcrossShards(items: Charge[], hold: Hold | undefined): Promise<Admission> {
    const id = hold ? randomUUID() : "";
    const held = new Set(hold?.windows.map((w) => w.key));
    const answers = await Promise.all(
      items.map(async (c) => {
        const keys = [windowKey(c.key)];
        if (held.has(c.key)) keys.push(reservationKey(c.key, id));
        const args = [held.has(c.key) ? hold!.ttlMs : 0, held.has(c.key) ? hold!.amount : 0];
        return toNumbers(await run(SCRIPTS.admit, keys, [...args, c.limit, c.periodMs, c.cost, burstOf(c)]));
      }),
    );
    const windows = items.map((c, i) => ({
      key: c.key,
      limit: c.limit,
      remaining: answers[i]![4]!,
      resetMs: answers[i]![5]!,
    }));
    const refusals = answers.map((r, i) => ({ i, admitted: r[0] === 1, wait: r[2]! })).filter((r) => !r.admitted);
    if (refusals.length === 0) {
      const now = Math.max(...answers.map((r) => r[3]!));
      const reservation: Reservation | null = hold
        ? { id, windows: hold.windows, amount: hold.amount, expiresAt: now + hold.ttlMs }
        : null;
      return { admitted: true, reservation, windows };
    }
    await Promise.all(
      answers.map((r, i) => {
        if (r[0] !== 1) return undefined;
        const c = items[i]!;
        const undo = [run(SCRIPTS.refund, [windowKey(c.key)], [c.cost, c.limit, c.periodMs])];
        if (held.has(c.key)) undo.push(call(() => client.del(reservationKey(c.key, id))));
        return Promise.all(undo);
      }),
    );
    // The longest wait names the refusal, as one script would (a window that can never fit wins); the windows are
    // reported as they were before the charges taken back.
    const worst = refusals.reduce((a, b) => (a.wait < 0 ? a : b.wait < 0 || b.wait > a.wait ? b : a));
    return {
      admitted: false,
      refusedBy: items[worst.i]!.key,
      retryAfterMs: worst.wait < 0 ? null : worst.wait,
      windows: windows.map((w, i) => {
        const c = items[i]!;
        if (answers[i]![0] !== 1) return w;
        return {
          ...w,
          remaining: w.remaining + c.cost,
          resetMs: Math.max(0, w.resetMs - Math.ceil((c.cost * c.periodMs) / c.limit)),
        };
      }),
    };
  }

  // Resolve once connected, or once the first attempt failed: an outage at start-up is for health() to report.
  await new Promise<void>((resolve) => {
    const done = () => {
      client.off("ready", done).off("error", done).off("close", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, options.connectTimeoutMs ?? 3000);
    client.once("ready", done).once("error", done).once("close", done);
  });

  return {
    kind: "redis",
    windows: {
      async admit(charges, hold): Promise<Admission> {
        const items = admissionItems(charges, hold);
        if (options.cluster && items.length > 1) return admitAcrossShards(items, hold);
        const id = hold ? randomUUID() : "";
        const keys = items.map((c) => windowKey(c.key));
        if (hold) keys.push(reservationKey(hold.windows[0]!.key, id));
        const args: (string | number)[] = [hold?.ttlMs ?? 0, hold?.amount ?? 0];
        for (const c of items) args.push(c.limit, c.periodMs, c.cost, burstOf(c));
        const r = toNumbers(await run(SCRIPTS.admit, keys, args));
        const [admitted, refused, wait, now] = [r[0], r[1]!, r[2]!, r[3]!];
        const windows = items.map((c, i) => ({
          key: c.key,
          limit: c.limit,
          remaining: r[4 + 2 * i]!,
          resetMs: r[5 + 2 * i]!,
        }));
        if (admitted !== 1) {
          const retryAfterMs = wait < 0 ? null : wait;
          return { admitted: false, refusedBy: items[refused - 1]!.key, retryAfterMs, windows };
        }
        const reservation: Reservation | null = hold
          ? { id, windows: hold.windows, amount: hold.amount, expiresAt: now + hold.ttlMs }
          : null;
        return { admitted: true, reservation, windows };
      },

      async reconcile(reservation, actual) {
        checkReconcile(reservation, actual);
        if (options.cluster && reservation.windows.length > 1) {
          // One record per window, each on its window's shard (admitAcrossShards).
          const answers = await Promise.all(
            reservation.windows.map((w) =>
              run(
                SCRIPTS.reconcile,
                [windowKey(w.key), reservationKey(w.key, reservation.id)],
                [actual, w.limit, w.periodMs],
              ),
            ),
          );
          return answers.some((r) => Number(r) === 1) ? "reconciled" : "expired";
        }
        const first = reservation.windows[0]?.key ?? "";
        const keys = [...reservation.windows.map((w) => windowKey(w.key)), reservationKey(first, reservation.id)];
        const args: (string | number)[] = [actual];
        for (const w of reservation.windows) args.push(w.limit, w.periodMs);
        const r = await run(SCRIPTS.reconcile, keys, args);
        return Number(r) === 1 ? "reconciled" : "expired";
      },
    },

    counters: {
      async add(ref, amount) {
        checkCounter(ref);
        checkAdd(amount);
        const { key, expiresAt } = counterKey(ref);
        return Number(await run(SCRIPTS.counterAdd, [key], [amount, expiresAt]));
      },
      async read(ref) {
        checkCounter(ref);
        const v = await call(() => client.get(counterKey(ref).key));
        return v === null ? 0 : Number(v);
      },
      async readMany(refs) {
        refs.forEach(checkCounter);
        if (refs.length === 0) return [];
        // One GET each, sent together (auto-pipelining): on a cluster the keys are on several shards, which MGET refuses.
        const values = await call(() => Promise.all(refs.map((ref) => client.get(counterKey(ref).key))));
        return values.map((v) => (v === null ? 0 : Number(v)));
      },
    },

    kv: {
      async get(key) {
        return call(() => client.get(kvKey(key)));
      },
      async set(key, value, ttlMs) {
        checkTtl(ttlMs);
        await call(() => client.set(kvKey(key), value, "PX", ttlMs));
      },
      async claim(key, value, ttlMs) {
        checkTtl(ttlMs);
        return (await call(() => client.set(kvKey(key), value, "PX", ttlMs, "NX"))) === "OK";
      },
      async release(key, value) {
        await run(SCRIPTS.release, [kvKey(key)], [value]);
      },
    },

    tallies: {
      async add(key, amounts, ttlMs) {
        checkTally(amounts, ttlMs);
        const fields = Object.entries(amounts);
        if (fields.length === 0) return;
        const k = tallyKey(key);
        await call(async () => {
          const tx = client.multi();
          for (const [field, amount] of fields) tx.hincrbyfloat(k, field, amount);
          tx.pexpire(k, ttlMs);
          const replies = await tx.exec();
          const failed = replies?.find(([err]) => err);
          if (!replies || failed) throw failed?.[0] ?? new Error("tally transaction discarded");
        });
      },
      async read(key) {
        const raw = await call(() => client.hgetall(tallyKey(key)));
        return Object.fromEntries(Object.entries(raw).map(([field, v]) => [field, Number(v)]));
      },
    },

    presence: {
      async beat(instanceId, ttlMs) {
        checkBeat(instanceId, ttlMs);
        return Number(await run(SCRIPTS.beat, [presenceKey], [instanceId, ttlMs]));
      },
    },

    resources: {
      async put(r) {
        checkResource(r);
        await run(
          SCRIPTS.resourcePut,
          [resourceKey(r.kind, r.id), resourceIndex(r.kind, r.tenant)],
          [JSON.stringify(r), r.expiresAt, r.id],
        );
      },
      async get(kind, id) {
        const r = parseResource(await call(() => client.get(resourceKey(kind, id))));
        // The key expires at expiresAt on Redis's clock; this one may run a little ahead.
        return r && r.expiresAt > Date.now() ? r : null;
      },
      async list(kind, tenant) {
        const ids = (await run(SCRIPTS.resourceList, [resourceIndex(kind, tenant)], [])) as string[];
        if (!ids.length) return [];
        const values = await call(() => client.mget(ids.map((id) => resourceKey(kind, id))));
        return values
          .map(parseResource)
          .filter((r): r is OwnedResource => r !== null && r.tenant === tenant && r.expiresAt > Date.now())
          .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
      },
      async delete(kind, id) {
        const r = parseResource(await call(() => client.get(resourceKey(kind, id))));
        if (!r) return false;
        const n = await run(SCRIPTS.resourceDelete, [resourceKey(kind, id), resourceIndex(kind, r.tenant)], [id]);
        return Number(n) === 1 && r.expiresAt > Date.now();
      },
    },

    async health() {
      const started = performance.now();
      try {
        await call(() => client.ping());
        return { kind: "redis", ok: true, latencyMs: performance.now() - started };
      } catch (err) {
        return { kind: "redis", ok: false, latencyMs: null, detail: err instanceof Error ? err.message : String(err) };
      }
    },

    async close() {
      if (client.status === "ready") await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}
