/** Start-up as `npm start` does it: embedded emulator and dev key by default; refusals with readable reasons. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { spawnGateway } from "../support/process.js";

const runToExit = (env: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", "service/src/main.ts"], {
    env: { ...process.env, PORT: "0", GATEWAY_HOST: "127.0.0.1", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });

describe("start-up", () => {
  it("with no configuration: embeds the emulator, says so, listens on loopback only, prints a working development key", async () => {
    const g = await spawnGateway({ GATEWAY_HOST: "" }); // "" = unset
    try {
      // The development key can use every model: never on every interface unless asked (or on Cloud Run).
      const listening = g.lines.find((l) => l.includes('"message":"gateway listening on '))!;
      expect(JSON.parse(listening)).toMatchObject({ listening: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      const key = g.lines.join("\n").match(/Development key \(tenant "dev", all models\): (ggw_\S+)/)?.[1];
      expect(key).toBeDefined();
      expect(g.lines.some((l) => l.includes("UPSTREAM IS THE GEMINI EMULATOR"))).toBe(true);
      // The console comes first in what it prints, with a development admin key that logs in.
      const printed = g.lines.filter((l) => l.trim() && !l.startsWith("{"));
      const consoleLine =
        /^ {2}Console: (http:\/\/\S+\/console\/) +\(log in with the development admin key: (ggw_\S+)\)$/.exec(
          printed[0] ?? "",
        );
      expect(consoleLine?.[1]).toBe(`${g.url}/console/`);
      const login = await fetch(`${g.url}/console/login`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `key=${encodeURIComponent(consoleLine![2]!)}`,
        redirect: "manual",
      });
      expect(login.status).toBe(303);
      expect(login.headers.get("set-cookie")).toMatch(/^ggw_console=[A-Za-z0-9_-]{43}; /);
      const res = await fetch(`${g.url}/v1beta/models/gemini-2.5-pro:generateContent`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-goog-api-key": key! },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { candidates: unknown[] }).candidates).toHaveLength(1);
    } finally {
      g.child.kill("SIGTERM");
      expect(await g.exited).toBe(0);
    }
  });

  it("refuses the Vertex upstream without a tenants file", () => {
    const out = runToExit({ GOOGLE_CLOUD_PROJECT: "my-project-123", GATEWAY_TENANTS_FILE: "" });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/GATEWAY_TENANTS_FILE is required with the Vertex AI upstream/);
  });

  it("fails fast with every bad variable named", () => {
    const out = runToExit({ PORT: "http", GATEWAY_MAX_BODY_BYTES: "-1" });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/Invalid configuration/);
    expect(out.stderr).toMatch(/PORT="http"/);
    expect(out.stderr).toMatch(/GATEWAY_MAX_BODY_BYTES="-1"/);
  });

  it("refuses an invalid tenants file, naming the file and field", () => {
    const out = runToExit({ GATEWAY_TENANTS_FILE: "/nonexistent/tenants.json" });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/Cannot read GATEWAY_TENANTS_FILE "\/nonexistent\/tenants.json"/);
  });
});
