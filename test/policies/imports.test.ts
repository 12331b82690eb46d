/** Importing the rules (what tests and the offline check do) starts nothing: no analyzer server, no output. */
import { describe, expect, it, vi } from "vitest";

describe("importing policies/rules and policies/lib", () => {
  it("has no side effects beyond defining the rules", async () => {
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
    const before = servers();
    const write = vi.spyOn(process.stdout, "write");
    const rules = await import("../../policies/rules/index.js");
    const evaluate = await import("../../policies/lib/evaluate.js");
    await import("../../policies/lib/catalog.js");
    expect(rules.allPolicies.length).toBeGreaterThan(20);
    expect(typeof evaluate.evaluate).toBe("function");
    expect(servers()).toBe(before);
    expect(write).not.toHaveBeenCalled();
    write.mockRestore();
  });
});
