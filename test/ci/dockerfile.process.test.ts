/**
 * service/Dockerfile, as far as it can be checked without a Docker engine: its base is Node 24 LTS, its `npm ci`s can
 * run in its build context, the build stage compiles from exactly what it copies, and the runtime stage's CMD serves
 * with production dependencies only — on the Node running this suite (.ci/run runs it on Node 20 and on Node 24).
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dockerfile = readFileSync("service/Dockerfile", "utf8");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .filter((l) => l.trim() && !l.trim().startsWith("#"));
const dockerignore = readFileSync(".dockerignore", "utf8").split("\n").filter(Boolean);
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe("service/Dockerfile", () => {
  it("builds and runs on Node 24 LTS", () => {
    const bases = instructions.filter((l) => l.startsWith("FROM ")).map((l) => l.split(/\s+/)[1]);
    expect(bases).toHaveLength(2);
    for (const base of bases) expect(base).toMatch(/^node:24(\.\d+)*-[a-z]+-slim$/);
  });

  it("installs without lifecycle scripts: the root `prepare` builds the policy pack, which is not in the context", () => {
    expect(pkg.scripts.prepare).toContain("build:policies");
    expect(dockerignore).toContain("policies");
    const installs = instructions.filter((l) => /\bnpm ci\b/.test(l));
    expect(installs).toHaveLength(2);
    for (const l of installs) expect(l).toContain("--ignore-scripts");
  });

  describe("the build stage's context compiles, and the runtime stage's CMD serves", () => {
    let context: string;
    beforeAll(() => {
      // What the build stage copies: package.json, package-lock.json, tsconfig.json, service/ (npm ci → node_modules).
      context = mkdtempSync(join(tmpdir(), "ggw-image-"));
      for (const f of ["package.json", "package-lock.json", "tsconfig.json"]) cpSync(f, join(context, f));
      cpSync("service", join(context, "service"), { recursive: true });
      cpSync("prompts", join(context, "prompts"), { recursive: true }); // the runtime stage's COPY prompts
      symlinkSync(resolve("node_modules"), join(context, "node_modules"), "dir");
    });
    afterAll(() => rmSync(context, { recursive: true, force: true }));

    it("`npm run build` compiles from what the stage copies, and the output imports production dependencies only", () => {
      expect(pkg.scripts.build).toBe("tsc -p service/tsconfig.build.json");
      const tsc = spawnSync(
        process.execPath,
        ["node_modules/typescript/bin/tsc", "-p", "service/tsconfig.build.json"],
        {
          cwd: context,
          encoding: "utf8",
        },
      );
      expect(tsc.stdout + tsc.stderr).toBe("");
      expect(tsc.status).toBe(0);

      const imported = new Set<string>();
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir)) {
          const path = join(dir, entry);
          if (statSync(path).isDirectory()) walk(path);
          else if (path.endsWith(".js")) {
            const source = readFileSync(path, "utf8");
            const specs = [
              ...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"\n]+)"/gm),
              ...source.matchAll(/^\s*import\s+"([^"\n]+)"/gm),
              ...source.matchAll(/\bimport\(\s*"([^"\n]+)"\s*\)/g),
            ].map((m) => m[1]!);
            for (const spec of specs) {
              if (spec.startsWith("node:") || spec.startsWith(".")) continue;
              imported.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
            }
          }
        }
      };
      walk(join(context, "dist/service"));
      expect(imported.size).toBeGreaterThan(5);
      for (const name of imported) expect(Object.keys(pkg.dependencies), name).toContain(name);
    }, 120_000);

    it('CMD ["node", "dist/service/main.js"] starts the gateway, which answers /healthz and serves the console', async () => {
      expect(dockerfile).toMatch(/^CMD \["node", "dist\/service\/main.js"\]$/m);
      expect(instructions).toContain("COPY prompts ./prompts"); // templates ship with each deploy
      expect(instructions).toContain("COPY service/console ./service/console"); // the console's pages and modules
      const child = spawn(process.execPath, ["dist/service/main.js"], {
        cwd: context,
        env: {
          ...process.env,
          NODE_ENV: "production",
          PORT: "0",
          GATEWAY_HOST: "127.0.0.1",
          LOG_LEVEL: "info",
          GATEWAY_ADMIN_KEY_SHA256: "0".repeat(64),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        const url = await new Promise<string>((resolveUrl, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 30_000);
          createInterface({ input: child.stdout }).on("line", (line) => {
            // The start-up log line (service/src/main.ts): where it listens, and the URL to reach it.
            if (!/"message":"gateway listening on /.test(line)) return;
            expect(line).toContain('"prompts":"prompts"'); // the image's prompts folder, loaded and checked
            const url = /"url":"(http:\/\/[^"]+)"/.exec(line) ?? /listening on (http:\/\/[^"]+)"/.exec(line);
            if (url) {
              clearTimeout(timer);
              resolveUrl(url[1]!);
            }
          });
          child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
        });
        const res = await fetch(`${url}/healthz`);
        expect(res.status).toBe(200);
        // The compiled tree finds the console's files beside it (service/console), as the image lays them out.
        const login = await fetch(`${url}/console/login`);
        expect(login.status).toBe(200);
        expect(await login.text()).toContain('action="/console/login"');
      } finally {
        child.kill("SIGTERM");
        if (child.exitCode === null) await once(child, "exit");
      }
    });
  });
});
