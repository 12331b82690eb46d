/**
 * The ADC token source against google-auth-library's real Compute client (what Cloud Run uses) talking to a local
 * fake of the metadata server, found through GCE_METADATA_HOST as on any GCE-like host.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Compute } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adcTokenSource } from "../../service/src/upstream/credentials.js";

let server: Server;
let issued = 0;
let failing = false;
const seen: { path: string; flavor: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? "", flavor: req.headers["metadata-flavor"] as string | undefined });
    if (failing) {
      res.writeHead(500).end("metadata server down");
      return;
    }
    issued++;
    res.writeHead(200, { "content-type": "application/json", "metadata-flavor": "Google" });
    // 200 s lifetime: inside the 5-minute refresh-ahead window, so every read asks for a refresh.
    res.end(JSON.stringify({ access_token: `token-${issued}`, expires_in: 200, token_type: "Bearer" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.env.GCE_METADATA_HOST = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  delete process.env.GCE_METADATA_HOST;
  server.close();
});

describe("ADC token source", () => {
  it("fetches once, serves the cached token synchronously, refreshes ahead of expiry in the background", async () => {
    let now = Date.now();
    const source = adcTokenSource({ client: new Compute(), now: () => now });
    expect(source.healthy()).toBe(false);
    expect(await source.authorization()).toBe("Bearer token-1");
    expect(seen.at(-1)).toEqual({
      path: "/computeMetadata/v1/instance/service-accounts/default/token",
      flavor: "Google",
    });
    expect(source.healthy()).toBe(true);

    // Within the refresh-ahead window: the old token is returned at once and a refresh starts.
    expect(source.authorization()).toBe("Bearer token-1");
    await new Promise((r) => setTimeout(r, 200));
    expect(source.authorization()).toBe("Bearer token-2");

    // The metadata server fails and the token lapses: callers get the error, readiness goes false.
    failing = true;
    now += 60 * 60_000;
    expect(source.healthy()).toBe(false);
    await expect(Promise.resolve(source.authorization())).rejects.toThrow();
    failing = false;
    expect(await source.authorization()).toMatch(/^Bearer token-\d$/);
  });
});
