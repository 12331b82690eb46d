import { execFile, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";
import { postJson, startStack, type Stack } from "../support/stack.js";

const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, ["--import", "tsx", "service/src/cli/keys.ts", ...args], { input, encoding: "utf8" });

describe("npm run keys", () => {
  it("new prints a key and a tenant entry holding only its hash, which the tenants schema accepts", () => {
    const out = run(["new", "acme", "--models", "gemini-2.5-flash", "--priority", "batch"]);
    expect(out.status).toBe(0);
    const key = /^\s+(ggw_[A-Za-z0-9_-]{43})$/m.exec(out.stdout)?.[1];
    expect(key).toBeDefined();
    const entry = JSON.parse(out.stdout.slice(out.stdout.indexOf("{")));
    expect(entry).toEqual({ id: "acme", keySha256: sha256Hex(key!), models: ["gemini-2.5-flash"], priority: "batch" });
    expect(out.stdout.slice(out.stdout.indexOf("{"))).not.toContain(key);
    expect(parseTenants({ tenants: [entry] }, ["gemini-2.5-flash"])).toHaveLength(1);
  });

  it("hash reads a key on stdin; bad usage exits 2 with help", () => {
    expect(run(["hash"], "my-key\n").stdout.trim()).toBe(sha256Hex("my-key"));
    const bad = run(["new", "Not Valid"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Usage/);
  });
});

describe("npm run keys against a running gateway's admin API", () => {
  const ADMIN_KEY = "cli-admin-key";
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { GATEWAY_ADMIN_KEY_SHA256: sha256Hex(ADMIN_KEY) } });
  });
  afterAll(() => stack.close());

  // Asynchronous: the gateway answering runs in this process.
  const cli = (args: string[], env: Record<string, string> = { GATEWAY_ADMIN_KEY: ADMIN_KEY }) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "service/src/cli/keys.ts", ...args, "--url", stack.gateway.url],
        { env: { ...process.env, GATEWAY_ADMIN_KEY: "", ...env } },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });

  it("create → list → rotate → revoke: the secret printed once works, the revoked one is refused", async () => {
    // Without GATEWAY_KEYS_SECRET the managed keys live in the store, and start-up says where.
    expect(stack.logs.join("\n")).toContain("managed keys live in the quota store (in memory, this process only)");
    const created = await cli(["create", "acme", "--label", "from the cli"]);
    expect(created.code).toBe(0);
    const secret = /^\s+(ggw_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)![1]!;
    const id = sha256Hex(secret).slice(0, 12);
    const call = (key: string) =>
      postJson(
        `${stack.gateway.url}/v1beta/models/gemini-2.5-flash:generateContent`,
        { contents: [{ role: "user", parts: [{ text: "Hi" }] }] },
        { "x-goog-api-key": key },
      );
    expect((await call(secret)).status).toBe(200);

    const listed = await cli(["list", "--tenant", "acme"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+acme\\s+active\\s+managed\\s+-\\s+\\S+\\s+from the cli$`, "m"));
    expect(listed.stdout).not.toContain(secret);

    const rotated = await cli(["rotate", id, "--overlap", "0"]);
    expect(rotated.code).toBe(0);
    const next = /^\s+(ggw_[A-Za-z0-9_-]{43})$/m.exec(rotated.stdout)![1]!;
    expect(rotated.stdout).toContain(`Previous key ${id} stays valid until`);
    expect((await call(secret)).status).toBe(401);
    expect((await call(next)).status).toBe(200);

    const revoked = await cli(["revoke", sha256Hex(next).slice(0, 12), "--json"]);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ state: "revoked", tenant: "acme" });
    expect((await call(next)).status).toBe(401);
  });

  it("says what is wrong: no admin key (2), an unknown tenant (1, the gateway's message), a wrong admin key (1)", async () => {
    const none = await cli(["list"], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("GATEWAY_ADMIN_KEY");
    const unknown = await cli(["create", "nobody", "--label", "x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404 NOT_FOUND: No tenant nobody/);
    const wrong = await cli(["list"], { GATEWAY_ADMIN_KEY: "not-the-admin-key" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^401/);
  });
});
