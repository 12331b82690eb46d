import { describe, it } from "vitest";
import { expectCompliant, expectViolating } from "./fixtures.js";
import { dataCases } from "./cases/data.js";

for (const c of dataCases) {
  describe(c.rule, () => {
    for (const v of c.compliant) it(`accepts: ${v.title}`, () => expectCompliant(c.rule, v));
    for (const v of c.violating) it(`reports: ${v.title}`, () => expectViolating(c.rule, v));
  });
}
