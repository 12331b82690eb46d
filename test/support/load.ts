/** Open-loop load for multi-instance tests: evenly spaced generate calls, round-robin over gateway processes. */
import { Pool } from "undici";

/** `during(i)` runs as request i is sent; status 0 counts calls that got no answer at all. */
export async function offerLoad(
  gateways: readonly { url: string }[],
  rate: number,
  seconds: number,
  as: { key: string; body: string },
  during?: (i: number) => void,
): Promise<{ statuses: Record<number, number>; elapsedS: number }> {
  const pools = gateways.map((g) => new Pool(g.url, { connections: 64 }));
  const statuses: Record<number, number> = {};
  const total = rate * seconds;
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    during?.(i);
    inflight.push(
      pools[i % pools.length]!.request({
        path: "/v1beta/models/gemini-2.5-flash:generateContent",
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": as.key },
        body: as.body,
      }).then(
        async (res) => {
          await res.body.text();
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        },
        () => {
          statuses[0] = (statuses[0] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const elapsedS = (performance.now() - started) / 1000;
  await Promise.all(pools.map((p) => p.close()));
  return { statuses, elapsedS };
}
