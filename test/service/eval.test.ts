// The evaluation tool's parts (tools/eval/): suite loading, the checks, and a run that stays within a tenant's limits.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isRefusal, textCheck, validateJson } from "../../tools/eval/checks.js";
import { toJUnit } from "../../tools/eval/report.js";
import { exitCodeOf, runEval } from "../../tools/eval/run.js";
import { loadSuites, thresholdFor } from "../../tools/eval/suite.js";
import { startStack } from "../support/stack.js";

const answer = (text: string, finishReason = "STOP") => ({ text, finishReason, blockReason: undefined });

describe("checks", () => {
  it("validate JSON against the schema keywords structured output uses", () => {
    const schema = {
      type: "object",
      properties: {
        category: { type: "string", enum: ["returns", "shipping"] },
        tags: { type: "array", items: { type: "string" }, maxItems: 2 },
        score: { anyOf: [{ type: "integer", minimum: 0 }, { type: "null" }] },
        nested: { $ref: "#/$defs/n" },
      },
      required: ["category"],
      additionalProperties: false,
      $defs: { n: { type: "object", properties: { ok: { const: true } } } },
    };
    expect(validateJson({ category: "returns", tags: ["a"], score: 3, nested: { ok: true } }, schema)).toEqual([]);
    expect(
      validateJson({ category: "refund", tags: ["a", "b", "c"], score: -1, extra: 1, nested: { ok: 1 } }, schema),
    ).toEqual([
      '$.category: not one of ["returns","shipping"]',
      "$.tags: more than 2 items",
      "$.score: matches none of anyOf",
      "$.extra: not allowed",
      "$.nested.ok: not true",
    ]);
    expect(validateJson({}, schema)).toEqual(["$.category: required"]);
    expect(textCheck({ type: "jsonSchema", schema }, answer("not json")).detail).toBe("the answer is not JSON");
  });

  it("recognise refusals by finish reason, block reason or wording", () => {
    expect(isRefusal(answer("I'm sorry, but I can't help with that."))).toBe(true);
    expect(isRefusal(answer("I cannot assist with this request."))).toBe(true);
    expect(isRefusal(answer("", "SAFETY"))).toBe(true);
    expect(isRefusal({ text: "", finishReason: undefined, blockReason: "PROHIBITED_CONTENT" })).toBe(true);
    expect(isRefusal(answer("You can return items within 30 days."))).toBe(false);
  });

  it("take a profile's threshold, else the default", () => {
    expect(thresholdFor(0.7, "emulator")).toBe(0.7);
    expect(thresholdFor({ default: 0.8, emulator: 0.6 }, "emulator")).toBe(0.6);
    expect(thresholdFor({ default: 0.8, emulator: 0.6 }, "gemini")).toBe(0.8);
  });
});

describe("suites", () => {
  it("load from files and folders, and are refused with the file and field named", () => {
    expect(loadSuites(["evals/suites"]).map((s) => s.name)).toEqual(["support-answer", "ticket-triage"]);
    const dir = mkdtempSync(join(tmpdir(), "ggw-suite-"));
    writeFileSync(
      join(dir, "bad.json"),
      JSON.stringify({ name: "bad", cases: [{ id: "x", prompt: "p", model: "m", checks: [] }] }),
    );
    expect(() => loadSuites([join(dir, "bad.json")])).toThrow(/bad\.json: cases\.0\.checks/);
  });
});

describe("a run", () => {
  it("stays within the tenant's limits: refusals (429) are waited out, and every case still passes", async () => {
    // 240 requests a minute, refused at once when over (no queue): the run makes ~34 calls in bursts of 4.
    const stack = await startStack({
      env: { GATEWAY_PROMPTS_DIR: "prompts", GATEWAY_QUEUE_MAX: "0", LOG_LEVEL: "warn" },
      tenants: [{ id: "eval", models: ["*"], limits: { requestsPerMinute: 240 } }],
    });
    try {
      const report = await runEval({
        baseUrl: stack.gateway.url,
        key: stack.keys.eval!,
        suites: loadSuites(["evals/suites/support-answer.json"]),
        concurrency: 4,
        profile: "emulator",
        timeoutMs: 30_000,
        baseline: undefined,
        tolerance: 0.05,
      });
      expect(report.summary).toMatchObject({ cases: 20, passed: 20, errors: 0 });
      expect(report.summary.rateLimited).toBeGreaterThan(0);
      expect(exitCodeOf(report)).toBe(0);
      expect(toJUnit(report)).toContain('<testsuite name="support-answer" tests="20" failures="0" errors="0"');
    } finally {
      await stack.close();
    }
  }, 60_000);
});
