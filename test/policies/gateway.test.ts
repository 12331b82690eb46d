import { describe, expect, it } from "vitest";
import { GATEWAY_ENV, parseCapacityEnvelope } from "../../policies/lib/gateway.js";
import { parseCapacity } from "../../service/src/config/capacity.js";
import { ENV } from "../../service/src/config/env.js";
import { gatewayCases } from "./cases/gateway.js";
import { CAPACITY, expectCompliant, expectViolating } from "./fixtures.js";

for (const c of gatewayCases) {
  describe(c.rule, () => {
    for (const v of c.compliant) it(`accepts: ${v.title}`, () => expectCompliant(c.rule, v));
    for (const v of c.violating) it(`reports: ${v.title}`, () => expectViolating(c.rule, v));
  });
}

describe("what the pack knows about the gateway", () => {
  it("its copy of the env var names equals service/src/config/env.ts ENV", () => {
    expect(GATEWAY_ENV).toEqual(ENV);
  });

  it("reads GATEWAY_CAPACITY's numbers as the service does", () => {
    const example = JSON.stringify({
      reservedInteractiveShare: 0.2,
      models: [
        { model: "gemini-2.5-flash", requestsPerMinute: 3000, tokensPerMinute: 4000000 },
        { model: "gemini-2.5-pro", region: "us-central1", requestsPerMinute: 120 },
      ],
    });
    for (const json of [CAPACITY, example]) {
      const ours = parseCapacityEnvelope(json);
      const theirs = parseCapacity(json, "GATEWAY_CAPACITY");
      expect(ours).toEqual({ models: theirs.models.map((m) => ({ ...m })) });
    }
    expect(parseCapacityEnvelope("[]")).toEqual({ error: "is not a JSON object" });
    expect(parseCapacityEnvelope('{"models":[{"model":"m","requestsPerMinute":"5"}]}')).toEqual({
      error: "models[0].requestsPerMinute is not a number",
    });
  });
});
