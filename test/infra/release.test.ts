/**
 * One source of truth for what runs: the image a CI deploy rolled out is what every later run keeps. The stack files
 * hold no image; the program reads its own `gatewayImage` output back (a StackReference to this very stack) unless
 * `image` asks for a change. Run under mocks as CI's `up` and then as an operator's plain `pulumi up` would run.
 */
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../../infra/config.js";
import { runProgram, type ProgramRun, type EnvStack as StackName } from "../../infra/offline/run.js";
import { TYPES } from "../../infra/offline/plan.js";
import { chooseImage, IMAGE_OUTPUT } from "../../infra/release.js";

const BUILT = `gateway@sha256:${"b".repeat(64)}`; // what CI just built and deployed
const BEFORE = `gateway@sha256:${"a".repeat(64)}`; // what ran before that deploy

const gatewayImages = (run: ProgramRun) =>
  run.resources
    .filter((r) => r.type === TYPES.run)
    .map((r) => (r.inputs.template as { containers: { image: string }[] }).containers[0]!.image);

describe.each(["dev", "prod"] as StackName[])(
  "%s: the image CI deployed is the image every later run keeps",
  (stack) => {
    it("a plain `pulumi up` after CI's deploy registers exactly what CI's run registered", async () => {
      // CI: `pulumi up --stack <stack>` with `image` set to the digest it built, over a stack that ran BEFORE.
      const ci = await runProgram(stack, { config: { image: BUILT }, deployed: { [IMAGE_OUTPUT]: BEFORE } });
      expect(ci.outputs[IMAGE_OUTPUT]).toBe(BUILT);
      expect(gatewayImages(ci).length).toBeGreaterThan(0);
      for (const image of gatewayImages(ci)) expect(image.endsWith(`/${BUILT}`), image).toBe(true);

      // Later, an operator's `pulumi up --stack <stack>` from a checkout: no image config, the stack's outputs as CI left them.
      const manual = await runProgram(stack, { deployed: ci.outputs });
      // The bootstrap's outputs (deployers, seed) and this stack's own (the image it runs).
      expect(manual.stackReferences).toEqual([
        "organization/gemini-gateway-bootstrap/bootstrap",
        `organization/gemini-gateway/${stack}`,
      ]);
      expect(manual.resources).toEqual(ci.resources);
      expect(manual.outputs).toEqual(ci.outputs);

      // …whereas going back to what ran before is a different plan (what a stale stack file used to do silently).
      const rolledBack = await runProgram(stack, { deployed: { [IMAGE_OUTPUT]: BEFORE } });
      expect(rolledBack.resources).not.toEqual(ci.resources);
    });

    it("the committed stack file pins no image", () => {
      const file = yaml.load(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, unknown> };
      expect(Object.keys(file.config)).not.toContain("gemini-gateway:image");
    });
  },
);

describe("chooseImage", () => {
  const on = { deployGateway: true } as const;

  it("keeps the deployed image when no change is asked for, silently", () => {
    expect(chooseImage({ ...on, image: undefined }, BEFORE)).toEqual({ image: BEFORE });
    expect(chooseImage({ ...on, image: BEFORE }, BEFORE)).toEqual({ image: BEFORE });
  });

  it("an `image` that differs from the deployed one is a change, named in the run's log with both digests", () => {
    expect(chooseImage({ ...on, image: BUILT }, BEFORE)).toEqual({
      image: BUILT,
      change: `gateway image: ${BEFORE} (deployed) → ${BUILT} (config 'image')`,
    });
  });

  it("the first deployment needs an image; the bootstrap stage (no gateway) does not", () => {
    expect(() => chooseImage({ ...on, image: undefined }, undefined)).toThrow(StackConfigError);
    expect(() => chooseImage({ ...on, image: undefined }, undefined)).toThrow(/gemini-gateway:image: is required/);
    expect(chooseImage({ deployGateway: false, image: undefined }, undefined)).toEqual({ image: undefined });
  });

  it("a stack never deployed, run without an image, stops before registering anything", async () => {
    const error = await runProgram("dev", { deployed: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackConfigError);
  });
});
