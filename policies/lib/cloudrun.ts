/** Reading Cloud Run v2 services: containers, env vars, scaling, and which services are the gateway. */
import type * as gcp from "@pulumi/gcp";
import type { Unwrap } from "@pulumi/pulumi";
import { GATEWAY_ENV } from "./gateway.js";
import { isKnown, knownItems, num, read, str, UNKNOWN, type Unknown } from "./values.js";

export type CloudRunServiceProps = Unwrap<gcp.cloudrunv2.ServiceArgs>;
export type CloudRunContainer = Unwrap<gcp.types.input.cloudrunv2.ServiceTemplateContainer>;

export interface EnvVar {
  container: string;
  name: string | Unknown;
  /** The literal `value`: a string, UNKNOWN (computed), or undefined when absent. */
  value: string | Unknown | undefined;
  /** True when the entry has a `value` key at all (even one not known yet). */
  hasLiteral: boolean;
  /** True when the value comes from Secret Manager (`valueSource.secretKeyRef`). */
  fromSecret: boolean;
}

export function containersOf(svc: CloudRunServiceProps): { values: CloudRunContainer[]; sawUnknown: boolean } {
  return knownItems(read(() => svc.template?.containers));
}

/** The serving container: the one declaring ports (Cloud Run's ingress container), else the only/first one. */
export function mainContainer(svc: CloudRunServiceProps): CloudRunContainer | undefined {
  const { values } = containersOf(svc);
  return values.find((c) => read(() => c.ports) !== undefined && read(() => c.ports) !== null) ?? values[0];
}

export function containerName(c: CloudRunContainer, index: number): string {
  const n = str(read(() => c.name));
  return typeof n === "string" && n !== "" ? n : `containers[${index}]`;
}

export function envVarsOf(svc: CloudRunServiceProps): { vars: EnvVar[]; sawUnknown: boolean } {
  const { values: containers, sawUnknown: unknownContainers } = containersOf(svc);
  let sawUnknown = unknownContainers;
  const vars: EnvVar[] = [];
  containers.forEach((c, i) => {
    const { values: envs, sawUnknown: unknownEnvs } = knownItems(read(() => c.envs));
    sawUnknown ||= unknownEnvs;
    for (const e of envs) {
      const rawValue = read(() => e.value);
      const value = rawValue === UNKNOWN ? UNKNOWN : str(rawValue);
      const secretRef = read(() => e.valueSource?.secretKeyRef);
      vars.push({
        container: containerName(c, i),
        name: str(read(() => e.name)) ?? "",
        value,
        hasLiteral: rawValue === UNKNOWN || (rawValue !== undefined && rawValue !== null),
        fromSecret: secretRef === UNKNOWN || (secretRef !== undefined && secretRef !== null),
      });
    }
  });
  return { vars, sawUnknown };
}

/** The first env var of that name in any container. */
export function envVar(svc: CloudRunServiceProps, name: string): EnvVar | undefined {
  return envVarsOf(svc).vars.find((v) => v.name === name);
}

/**
 * A service is "the gateway" when a container sets any of the gateway's own variables (GATEWAY_* names from
 * service/src/config/env.ts, mirrored in lib/gateway.ts).
 */
export function isGatewayService(svc: CloudRunServiceProps): boolean {
  const own = new Set<string>(Object.values(GATEWAY_ENV).filter((n) => n.startsWith("GATEWAY_")));
  return envVarsOf(svc).vars.some((v) => isKnown(v.name) && own.has(v.name));
}

/** maxInstanceCount from the revision template, else from service-level scaling. */
export function maxInstancesOf(svc: CloudRunServiceProps): number | Unknown | undefined {
  const t = num(read(() => svc.template?.scaling?.maxInstanceCount));
  if (t !== undefined) return t;
  return num(read(() => svc.scaling?.maxInstanceCount));
}

export function minInstancesOf(svc: CloudRunServiceProps): number | Unknown | undefined {
  const t = num(read(() => svc.template?.scaling?.minInstanceCount));
  if (t !== undefined) return t;
  return num(read(() => svc.scaling?.minInstanceCount));
}

export function concurrencyOf(svc: CloudRunServiceProps): number | Unknown | undefined {
  return num(read(() => svc.template?.maxInstanceRequestConcurrency));
}
