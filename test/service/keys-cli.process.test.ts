import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseTenants, sha256Hex } from "../../service/src/config/tenants.js";

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
