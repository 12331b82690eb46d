/**
 * Which environment a resource or stack belongs to, for the prod-only checks. In order:
 * 1. the rule's `environment` config (set by policies/config/<env>.json, or evaluate(resources, {environment}));
 * 2. the `env` label: the resource's own `labels.env`, else its provider's `defaultLabels.env`
 *    (for a stack rule: the project's `env` label, else the most common `env` label among resources);
 * 3. the stack name in the resource's URN (`urn:pulumi:<stack>::<project>::...`).
 */
import { entries, read, str, UNKNOWN } from "./values.js";

const PROD = new Set(["prod", "production"]);

export function isProd(env: string | undefined): boolean {
  return env !== undefined && PROD.has(env.toLowerCase());
}

/** The stack name in a URN, or undefined. */
export function stackOfUrn(urn: string | undefined): string | undefined {
  const m = /^urn:pulumi:([^:]+)::/.exec(urn ?? "");
  return m?.[1];
}

interface LabelledLike {
  type?: string;
  urn?: string;
  props: Record<string, unknown>;
  provider?: { props: Record<string, unknown> } | undefined;
}

/** The `env` label of a resource (its own labels first, then its provider's default labels). */
export function envLabelOf(r: LabelledLike): string | undefined {
  for (const source of [read(() => r.props["labels"]), read(() => r.provider?.props["defaultLabels"])]) {
    const e = entries(source);
    if (e === UNKNOWN) continue;
    const env = e.find(([k]) => k === "env")?.[1];
    const s = str(env);
    if (typeof s === "string" && s !== "") return s;
  }
  return undefined;
}

export function environmentOfResource(configured: string | undefined, r: LabelledLike): string | undefined {
  if (configured) return configured;
  return envLabelOf(r) ?? stackOfUrn(r.urn);
}

export function environmentOfStack(
  configured: string | undefined,
  resources: readonly LabelledLike[],
): string | undefined {
  if (configured) return configured;
  const project = resources.find((r) => r.type === "gcp:organizations/project:Project");
  const fromProject = project && envLabelOf(project);
  if (fromProject) return fromProject;
  const counts = new Map<string, number>();
  for (const r of resources) {
    const env = envLabelOf(r);
    if (env) counts.set(env, (counts.get(env) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  if (top) return top[0];
  for (const r of resources) {
    const s = stackOfUrn(r.urn);
    if (s) return s;
  }
  return undefined;
}
