/**
 * The neutral upstream of `npm run bench:peers`: a node:http server that answers every `…:generateContent` POST (the
 * Vertex path the gateway calls, the Developer path Portkey calls) with the same fixed Gemini answer the bare express
 * route sends, after reading the request body. No router, no parsing, no token counting: whatever it costs is the
 * same for every proxy in front of it, and it costs as little as node can, so the proxies' own costs dominate the
 * comparison (the emulator's knobs and bookkeeping would tax every proxy equally but blur the ratios). Anything else
 * gets a Gemini 404. Run as its own process (`NEUTRAL_PORT=0 node --import tsx bench/neutral-upstream.ts`); prints
 * "neutral upstream listening on <url>".
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { FIXED_ANSWER, FIXED_ANSWER_TYPE } from "./fixed-answer.js";

const NOT_FOUND = Buffer.from(
  JSON.stringify({
    error: { code: 404, message: "The neutral upstream serves generateContent only.", status: "NOT_FOUND" },
  }),
);

const server = createServer((req, res) => {
  const path = req.url ?? "";
  const q = path.indexOf("?");
  const answers = req.method === "POST" && (q < 0 ? path : path.slice(0, q)).endsWith(":generateContent");
  req.resume();
  req.on("end", () => {
    const body = answers ? FIXED_ANSWER : NOT_FOUND;
    res.writeHead(answers ? 200 : 404, { "content-type": FIXED_ANSWER_TYPE, "content-length": body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;

server.listen(Number(process.env.NEUTRAL_PORT ?? "0"), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(`neutral upstream listening on http://127.0.0.1:${port} (${FIXED_ANSWER.length}-byte answer)`);
});
const stop = () => server.close(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
