// Prompt templates as units (service/src/prompts/): exact rendering, variables, immutable versions (the lock), sticky
// weighted assignment, the statistics against a hand computation, and the stop rule on fake time.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MODELS } from "../../service/src/config/env.js";
import { expectedShares, pointOf, variantAt } from "../../service/src/prompts/assign.js";
import { createExperimentLedger } from "../../service/src/prompts/experiments.js";
import { canonicalJson, contentHash, updatedLock } from "../../service/src/prompts/lock.js";
import { loadPrompts, PromptsError, readLock, scanVersions } from "../../service/src/prompts/registry.js";
import { createPromptResolver } from "../../service/src/prompts/resolve.js";
import { createPromptState } from "../../service/src/prompts/state.js";
import { mixtureSprt, normalCdf, probabilityBetter, samplesFor, summarize } from "../../service/src/prompts/stats.js";
import { render, templateProblems } from "../../service/src/prompts/template.js";
import { createMemoryStore } from "../../service/src/store/memory.js";
import type { CallRecord } from "../../service/src/telemetry/call-record.js";

const registry = loadPrompts("prompts", DEFAULT_MODELS);
const copyOfPrompts = () => {
  const dir = mkdtempSync(join(tmpdir(), "ggw-prompts-"));
  cpSync("prompts", dir, { recursive: true });
  return dir;
};
const resolverOn = (reg = registry) =>
  createPromptResolver(reg, createPromptState({ kv: createMemoryStore().kv, cacheMs: 0 }));

describe("rendering", () => {
  it("renders a version exactly: system instruction, user turn, generation config, model", async () => {
    const call = await resolverOn().resolve(
      "support-answer@1",
      { question: "How long do I have to return my boots?", tone: "formal" },
      { tenant: "acme", headers: {} },
    );
    expect(call.model).toBe("gemini-2.5-flash");
    expect(call.request).toMatchInlineSnapshot(`
      {
        "contents": [
          {
            "parts": [
              {
                "text": "Customer question: How long do I have to return my boots?",
              },
            ],
            "role": "user",
          },
        ],
        "generationConfig": {
          "maxOutputTokens": 256,
          "temperature": 0,
        },
        "systemInstruction": {
          "parts": [
            {
              "text": "You are the customer support assistant of Acme Outdoor. Write in a formal tone. Answer in one or two sentences, using only the policy below. If the policy does not cover the question, say that you cannot help with it.

      Policy:
      - Unused items can be returned within 30 days of delivery for a full refund.
      - Standard shipping takes 3 to 5 business days and express shipping takes 1 to 2 business days.
      - Tents and backpacks carry a 2-year warranty against manufacturing defects.
      - We accept credit cards, PayPal and gift cards.",
            },
          ],
        },
      }
    `);
    expect(call.tag).toEqual({
      name: "support-answer",
      version: 1,
      variant: "v1",
      experiment: undefined,
      forced: false,
      pregenerated: false,
    });
    expect(call.headers).toEqual({
      "x-gateway-prompt": "support-answer",
      "x-gateway-prompt-version": "1",
      "x-gateway-prompt-variant": "v1",
    });
  });

  it("inserts values once: a value's own {{placeholders}} stay text", () => {
    expect(render("Q: {{q}} ({{t}})", { q: "{{t}} }} {{", t: "formal" })).toBe("Q: {{t}} }} {{ (formal)");
    expect(render("{{ n }} and {{b}}", { n: 3, b: false })).toBe("3 and false");
  });

  it("refuses templates that could leak a free-text value into the system instruction, or have typos", () => {
    const vars = { q: { type: "string" as const }, tone: { type: "string" as const, enum: ["a", "b"] } };
    expect(templateProblems("Tone {{tone}}", "system", vars, true)).toEqual([]);
    expect(templateProblems("Say {{q}}", "system", vars, true)[0]).toContain("not an enum variable");
    expect(templateProblems("{{q}} {{nope}}", "user", vars, false)[0]).toContain("{{nope}}, which is not a declared");
    expect(templateProblems("{{q}} {{ broken", "user", vars, false)[0]).toContain("not a placeholder");
  });

  it("picks the reviewed answer per variable case, else the default", async () => {
    const r = resolverOn();
    const formal = await r.resolve("support-answer@1", { question: "q", tone: "formal" }, { tenant: "t", headers: {} });
    const friendly = await r.resolve("support-answer@1", { question: "q" }, { tenant: "t", headers: {} });
    expect(JSON.parse(formal.pregenerated!.chunks[0]!).candidates[0].content.parts[0].text).toMatch(/^We are unable/);
    expect(JSON.parse(friendly.pregenerated!.chunks[0]!).candidates[0].content.parts[0].text).toMatch(/^We can't/);
    const triage = await r.resolve("ticket-triage", { ticket: "t" }, { tenant: "t", headers: {} });
    expect(triage.pregenerated).toBeUndefined();
  });
});

describe("versions are immutable", () => {
  it("the lock hashes content, not formatting", () => {
    const v1 = JSON.parse(readFileSync("prompts/support-answer/v1.json", "utf8")) as unknown;
    expect(contentHash(v1)).toBe(readLock("prompts").versions["support-answer@1"]);
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
  });

  it("a changed version stops the gateway, naming it; reformatting it does not", () => {
    const dir = copyOfPrompts();
    const path = join(dir, "support-answer", "v1.json");
    const v1 = JSON.parse(readFileSync(path, "utf8")) as { user: string };
    writeFileSync(path, JSON.stringify(v1)); // one line, same content
    expect(() => loadPrompts(dir, DEFAULT_MODELS)).not.toThrow();
    writeFileSync(path, JSON.stringify({ ...v1, user: "Question: {{question}}" }, null, 2));
    expect(() => loadPrompts(dir, DEFAULT_MODELS)).toThrow(
      /support-answer@1 differs from its locked content: a version is immutable/,
    );
    // …and the lock command refuses to take the change in.
    const found = new Map([...scanVersions(dir)].map(([k, v]) => [k, v.hash]));
    expect(() => updatedLock(found, readLock(dir))).toThrow(/support-answer@1.*immutable/);
  });

  it("a new version must be locked before it can be served", () => {
    const dir = copyOfPrompts();
    cpSync(join(dir, "support-answer", "v2.json"), join(dir, "support-answer", "v3.json"));
    expect(() => loadPrompts(dir, DEFAULT_MODELS)).toThrow(/not locked yet: support-answer@3/);
    const found = new Map([...scanVersions(dir)].map(([k, v]) => [k, v.hash]));
    writeFileSync(join(dir, "prompts.lock.json"), JSON.stringify(updatedLock(found, readLock(dir))));
    expect(loadPrompts(dir, DEFAULT_MODELS).prompts.get("support-answer")!.versions.has(3)).toBe(true);
  });

  it("checks labels, experiments and models as a whole, naming each problem", () => {
    const dir = copyOfPrompts();
    const path = join(dir, "support-answer", "prompt.json");
    const p = JSON.parse(readFileSync(path, "utf8")) as { labels: Record<string, number> };
    writeFileSync(path, JSON.stringify({ ...p, labels: { ...p.labels, staging: 9 } }));
    expect(() => loadPrompts(dir, DEFAULT_MODELS)).toThrow(/label staging points to v9/);
    expect(() => loadPrompts("prompts", ["gemini-2.5-flash"])).toThrow(/model gemini-2.5-flash-lite is not served/);
    expect(() => loadPrompts(join(dir, "missing"), DEFAULT_MODELS)).toThrow(PromptsError);
  });
});

describe("label moves across instances", () => {
  it("reach another instance sharing the store within its cache time, and the file's label while the store is down", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now });
    const a = createPromptState({ kv: store.kv, now: () => now });
    const b = createPromptState({ kv: store.kv, now: () => now });
    const prompt = registry.prompts.get("support-answer")!;
    const onB = createPromptResolver(registry, b);
    expect(await onB.labelVersion(prompt, "production")).toEqual({ version: 1, source: "file" });
    await a.moveLabel("support-answer", "production", 2, "admin");
    expect(await createPromptResolver(registry, a).labelVersion(prompt, "production")).toEqual({
      version: 2,
      source: "store",
    }); // the instance that moved it: at once
    expect((await onB.labelVersion(prompt, "production")).version).toBe(1); // another: its cached read, for ≤ 1 s
    now += 1001;
    expect((await onB.labelVersion(prompt, "production")).version).toBe(2);
    await a.clearLabel("support-answer", "production");
    now += 1001;
    expect(await onB.labelVersion(prompt, "production")).toEqual({ version: 1, source: "file" });
    await store.close(); // the store is gone: the repository's labels still answer
    const fresh = createPromptResolver(registry, createPromptState({ kv: store.kv, now: () => now }));
    expect(await fresh.labelVersion(prompt, "production")).toEqual({ version: 1, source: "file" });
  });
});

describe("assignment", () => {
  const x = {
    holdout: 0.1,
    variants: [
      { name: "a", version: 1, weight: 50 },
      { name: "b", version: 1, weight: 30 },
      { name: "c", version: 2, weight: 20 },
    ],
  };

  it("is sticky: a subject's variant depends on the experiment, tenant and subject only", () => {
    const at = (s: string) => variantAt(x, pointOf("exp", "acme", s));
    for (let i = 0; i < 100; i++) expect(at(`user-${i}`)).toBe(at(`user-${i}`));
    expect(pointOf("exp", "acme", "u")).not.toBe(pointOf("exp2", "acme", "u"));
  });

  it("lands within ±2% of the weights (and the holdout) over 10,000 subjects", () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const v = variantAt(x, pointOf("support-answer-lite", "acme", `subject-${i}`));
      counts[v] = (counts[v] ?? 0) + 1;
    }
    const expected = expectedShares(x);
    expect(expected).toEqual({ holdout: 0.1, a: 0.45, b: 0.27, c: 0.18 });
    for (const [name, share] of Object.entries(expected)) {
      expect(Math.abs(counts[name]! / 10_000 - share), name).toBeLessThanOrEqual(0.02);
    }
  });

  it("never picks a variant of weight 0", () => {
    const zero = { holdout: 0, variants: [...x.variants.slice(0, 2), { name: "off", version: 1, weight: 0 }] };
    for (let i = 0; i < 2000; i++) expect(variantAt(zero, pointOf("e", "t", `${i}`))).not.toBe("off");
    expect(variantAt(zero, 0.9999999999)).toBe("b");
  });
});

describe("statistics, against a hand computation", () => {
  // Fixed sample: control 100 successes in 400, treatment 140 in 400; τ = 0.05 (the boolean default mde), α = 0.05.
  // By hand (and scipy 1.17 for the integral):
  //   s²_c = (100 − 100²/400)/399 = 0.18796992481203006      s²_t = (140 − 140²/400)/399 = 0.22807017543859648
  //   V = s²_t/400 + s²_c/400 = 0.0010401002506265663         Δ = 0.35 − 0.25 = 0.1
  //   Λ = √(V/(V+τ²))·exp(τ²Δ²/(2V(V+τ²))) = 16.158085325439977, p = 1/Λ = 0.061888520815368976
  //   half-width = √(V(V+τ²)/τ² · (2 ln 20 + ln((V+τ²)/V))) → [−0.0030938459254448297, 0.20309384592544477]
  //   n for 80% power at Δ = τ: smallest n with τ ≥ b(V(n)) + 0.8416·√V(n), V(n) = (s²_c + s²_t)/n → 2532
  //   P(p_t > p_c) = ∫ Beta(x; 141, 261) · BetaCDF(x; 101, 301) dx = 0.9989842013921704
  const control = summarize(400, 100, 100);
  const treatment = summarize(400, 140, 140);

  it("summarises arms with the sample variance", () => {
    expect(control.variance).toBeCloseTo(0.18796992481203006, 15);
    expect(treatment.variance).toBeCloseTo(0.22807017543859648, 15);
  });

  it("mSPRT: likelihood ratio, always-valid p-value, confidence sequence and the sample still needed", () => {
    const t = mixtureSprt(control, treatment, 0.05, 0.05);
    expect(t.difference).toBeCloseTo(0.1, 12);
    expect(t.variance).toBeCloseTo(0.0010401002506265663, 15);
    expect(t.likelihoodRatio).toBeCloseTo(16.158085325439977, 9);
    expect(t.pValue).toBeCloseTo(0.061888520815368976, 12);
    expect(t.interval[0]).toBeCloseTo(-0.0030938459254448297, 12);
    expect(t.interval[1]).toBeCloseTo(0.20309384592544477, 12);
    expect(t.significant).toBe(false); // a t-test would say p ≈ 0.002: peeking-proof evidence needs more
    expect(t.samplesPerVariant).toBe(2532);
    expect(samplesFor(control.variance + treatment.variance, 0.05, 0.05)).toBe(2532);
  });

  it("Bayesian reading: P(treatment better) by the closed form", () => {
    expect(probabilityBetter({ successes: 100, n: 400 }, { successes: 140, n: 400 })).toBeCloseTo(
      0.9989842013921704,
      10,
    );
    expect(probabilityBetter({ successes: 5, n: 10 }, { successes: 5, n: 10 })).toBeCloseTo(0.5, 10);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
  });

  it("no evidence without two observations per arm", () => {
    const t = mixtureSprt(summarize(1, 1, 1), treatment, 0.05, 0.05);
    expect(t).toMatchObject({ pValue: 1, significant: false, samplesPerVariant: null });
  });
});

describe("the stop rule", () => {
  it("concludes once the treatment beats the control, promotes the winner's version, and logs it", async () => {
    const dir = copyOfPrompts();
    const path = join(dir, "support-answer", "prompt.json");
    const p = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    writeFileSync(
      path,
      JSON.stringify({
        ...p,
        experiment: {
          name: "v2-trial",
          label: "production",
          variants: [
            { name: "old", version: 1, weight: 1 },
            { name: "new", version: 2, weight: 1 },
          ],
          stop: { metric: "resolved", minSamplesPerVariant: 100, promote: "production" },
        },
      }),
    );
    const reg = loadPrompts(dir, DEFAULT_MODELS);
    let now = Date.parse("2026-12-01T00:00:00Z");
    const store = createMemoryStore({ now: () => now });
    const state = createPromptState({ kv: store.kv, cacheMs: 0, now: () => now });
    const concluded: string[] = [];
    const ledger = createExperimentLedger({
      registry: reg,
      tallies: store.tallies,
      kv: store.kv,
      state,
      feedbackWindowMs: 86_400_000,
      now: () => now,
      onConclusion: (x, c, moved) => concluded.push(`${x}: ${c.winner} (${moved?.label} → v${moved?.version})`),
    });
    const record = (id: string, variant: string): CallRecord =>
      ({
        requestId: id,
        tenant: "acme",
        status: 200,
        durationMs: 120,
        feature: undefined,
        tokens: undefined,
        cost: { totalUsd: 0.001 },
        error: undefined,
        prompt: {
          name: "support-answer",
          version: variant === "new" ? 2 : 1,
          variant,
          experiment: "v2-trial",
          forced: false,
          pregenerated: false,
        },
      }) as unknown as CallRecord;
    // 300 calls each; the new version resolves 70% of them, the old 40%.
    for (let i = 0; i < 300; i++) {
      ledger.observe(record(`old-${i}`, "old"));
      ledger.observe(record(`new-${i}`, "new"));
    }
    await ledger.settled();
    for (let i = 0; i < 300; i++) {
      await ledger.feedback("acme", { responseId: `old-${i}`, metric: "resolved", value: i % 10 < 4 });
      now += 6_000; // past the instance's check interval, so each feedback may evaluate the rule
      await ledger.feedback("acme", { responseId: `new-${i}`, metric: "resolved", value: i % 10 < 7 });
      await ledger.settled();
      if (concluded.length) break;
    }
    expect(concluded).toEqual(["v2-trial: new (production → v2)"]);
    const report = (await ledger.report("v2-trial"))!;
    expect(report.conclusion?.winner).toBe("new");
    expect(report.comparisons[0]!.decision).toBe("better");
    expect(report.comparisons[0]!.n.variant).toBeGreaterThanOrEqual(100);
    // Every subject now gets the winner, and production points at its version.
    const resolver = createPromptResolver(reg, state);
    for (const subject of ["a", "b", "c", "d"]) {
      const call = await resolver.resolve(
        "support-answer",
        { question: "q" },
        { tenant: "acme", headers: { "x-gateway-subject": subject } },
      );
      expect(call.tag.variant).toBe("new");
    }
    expect(await resolver.labelVersion(reg.prompts.get("support-answer")!, "production")).toEqual({
      version: 2,
      source: "store",
    });
    // Cost per successful outcome, per variant: the calls' cost over their successes.
    const newStats = report.variants.find((v) => v.name === "new")!;
    expect(newStats.outcomes.resolved!.costPerSuccessUsd).toBeCloseTo(
      newStats.costUsd / newStats.outcomes.resolved!.successes,
      12,
    );
    expect(newStats.byFeature.none!.costPerSuccessUsd.resolved).toBeCloseTo(
      newStats.outcomes.resolved!.costPerSuccessUsd!,
      12,
    );
  });
});
