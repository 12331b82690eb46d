/**
 * The second baseline: the smallest pass-through proxy built like the gateway — express 5 (ETag and x-powered-by
 * off), the body read as bytes, forwarded with an undici Agent to the emulator's Vertex path, the answer collected
 * and written back. No auth, validation, logging or accounting: the gateway minus its pipeline. Comparing the two
 * separates what the extra HTTP hop costs from what the gateway's own stages cost. Run as its own process by the
 * bench (`BARE_PORT=0 BARE_UPSTREAM=<emulator url> node --import tsx bench/bare-proxy.ts`).
 */
import type { AddressInfo } from "node:net";
import express, { type Request, type Response } from "express";
import { Agent } from "undici";

const upstream = process.env.BARE_UPSTREAM;
if (!upstream) throw new Error("BARE_UPSTREAM (the emulator's URL) is required");
const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
const RESOURCE = "/v1beta1/projects/bench/locations/us-central1/publishers/google/models/";

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/:version/models/:modelAndMethod", async (req: Request, res: Response) => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const up = await agent.request({
      origin: upstream,
      path: RESOURCE + String(req.params.modelAndMethod),
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer bench" },
      body: Buffer.concat(chunks),
    });
    const out: Buffer[] = [];
    for await (const c of up.body as AsyncIterable<Buffer>) out.push(c);
    const body = Buffer.concat(out);
    res.writeHead(up.statusCode, { "content-type": "application/json; charset=UTF-8", "content-length": body.length });
    res.end(body);
  } catch {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
});

const port = Number(process.env.BARE_PORT ?? "0");
const server = app.listen(port, "127.0.0.1", () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`bare proxy listening on http://127.0.0.1:${actual} → ${upstream}`);
});
const stop = () => server.close(() => void agent.close().then(() => process.exit(0)));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
