/**
 * The baseline: express 5 with one POST route on the gateway's path that reads the request body and answers a fixed
 * Gemini JSON response about the size of the emulator's (709 vs 708 bytes). ETag and x-powered-by are off and the
 * response is written to the node response directly, as the gateway does: this is what the framework alone
 * costs on this machine, the ceiling for anything built on it. Run as its own process by the bench
 * (`BARE_PORT=0 node --import tsx bench/bare-express.ts`); prints "bare express listening on <url>".
 */
import type { AddressInfo } from "node:net";
import express, { type Request, type Response } from "express";
import { FIXED_ANSWER, FIXED_ANSWER_TYPE } from "./fixed-answer.js";

const RESPONSE = FIXED_ANSWER;

const app = express();
app.disable("x-powered-by");
app.set("etag", false);
app.post("/:version/models/:modelAndMethod", (req: Request, res: Response) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(200, { "content-type": FIXED_ANSWER_TYPE, "content-length": RESPONSE.length });
    res.end(RESPONSE);
  });
});

const port = Number(process.env.BARE_PORT ?? "0");
const server = app.listen(port, "127.0.0.1", () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`bare express listening on http://127.0.0.1:${actual} (${RESPONSE.length}-byte response)`);
});
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
