/**
 * Many concurrent SSE streams against one target: opens `streams` streamGenerateContent?alt=sse calls spread over
 * `rampMs`, each on its own connection of an undici Agent (HTTP/1.1, one request per connection), reads every event,
 * and reports time to first chunk, time to last byte and how many streams ended well. A stream is OK when it got a
 * 200, ended normally, carried no error event and its last event has a finishReason.
 */
import { Agent } from "undici";
import type { HttpTarget } from "./load.js";
import { Samples, type Percentiles } from "./stats.js";

export interface StreamsResult {
  streams: number;
  ok: number;
  failed: number;
  /** Failure reason → count (e.g. "status 429", "no finishReason", "UND_ERR_SOCKET"). */
  failures: Record<string, number>;
  /** From dispatch to the first body bytes, ms (OK streams). */
  ttftMs: Percentiles;
  /** From dispatch to the end of the stream, ms (OK streams). */
  totalMs: Percentiles;
  /** Per OK stream, the longest wait between two body reads, ms: the emulator's perChunkMs plus any stall. */
  maxGapMs: Percentiles;
  /** SSE events per OK stream: min and max. */
  events: { min: number; max: number };
  /** Most streams the client had open at the same moment. */
  clientPeakOpen: number;
  /** First dispatch to last stream end, ms. */
  wallMs: number;
}

export async function manyStreams(
  target: HttpTarget,
  o: { streams: number; rampMs: number; timeoutMs: number },
): Promise<StreamsResult> {
  const agent = new Agent({
    connections: o.streams + 500,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connect: { timeout: o.timeoutMs },
  });
  const body = Buffer.from(target.body);
  const ttft = new Samples();
  const total = new Samples();
  const gaps = new Samples();
  const failures: Record<string, number> = {};
  let ok = 0;
  let open = 0;
  let peakOpen = 0;
  let minEvents = Infinity;
  let maxEvents = 0;
  const fail = (why: string) => (failures[why] = (failures[why] ?? 0) + 1);

  const one = async (): Promise<void> => {
    const t0 = performance.now();
    if (++open > peakOpen) peakOpen = open;
    try {
      const res = await agent.request({
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers: target.headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        return void fail(`status ${res.statusCode}`);
      }
      let first: number | undefined;
      let prev = 0;
      let maxGap = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        const now = performance.now();
        if (first === undefined) first = now - t0;
        else maxGap = Math.max(maxGap, now - prev);
        prev = now;
        chunks.push(chunk);
      }
      const end = performance.now() - t0;
      const frames = Buffer.concat(chunks)
        .toString("utf8")
        .split(/\r\n\r\n|\n\n/)
        .filter((f) => f.startsWith("data:"));
      const last = frames[frames.length - 1];
      if (frames.some((f) => f.startsWith('data: {"error"'))) return void fail("error event");
      if (!last || !last.includes('"finishReason"')) return void fail("no finishReason");
      ok++;
      ttft.add(first ?? end);
      total.add(end);
      gaps.add(maxGap);
      minEvents = Math.min(minEvents, frames.length);
      maxEvents = Math.max(maxEvents, frames.length);
    } catch (err) {
      fail((err as { code?: string }).code ?? (err as Error).name ?? "error");
    } finally {
      open--;
    }
  };

  const started = performance.now();
  const running: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const gapMs = o.streams > 1 ? o.rampMs / (o.streams - 1) : 0;
    const tick = () => {
      const due = gapMs === 0 ? o.streams : Math.min(o.streams, Math.floor((performance.now() - started) / gapMs) + 1);
      while (running.length < due) running.push(one());
      if (running.length >= o.streams) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(running);
  const wallMs = performance.now() - started;
  await agent.close();
  return {
    streams: o.streams,
    ok,
    failed: o.streams - ok,
    failures,
    ttftMs: ttft.percentiles(),
    totalMs: total.percentiles(),
    maxGapMs: gaps.percentiles(),
    events: { min: ok ? minEvents : 0, max: maxEvents },
    clientPeakOpen: peakOpen,
    wallMs,
  };
}
