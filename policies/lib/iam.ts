/**
 * IAM grants, read the same way from every IAM resource kind @pulumi/gcp has:
 * `*IamMember` / `iAMMember` (role + member), `*IamBinding` / `iAMBinding` (role + members[]) and
 * `*IamPolicy` / `iAMPolicy` (policyData: a JSON document of bindings).
 */
import { items, read, str, UNKNOWN, type Unknown } from "./values.js";

export interface Grant {
  role: string | Unknown;
  member: string | Unknown;
}

/** True for any IAM member/binding/policy resource type, of any service (type token's class name). */
export function isIamType(type: string): boolean {
  const cls = type.split(":")[2] ?? "";
  return /(Iam|IAM)(Member|Binding|Policy)$/.test(cls);
}

/** Every (role, member) pair a resource grants; unknown parts are `UNKNOWN`. */
export function grantsOf(type: string, props: Record<string, unknown>): Grant[] {
  const cls = type.split(":")[2] ?? "";
  if (cls.endsWith("Member")) {
    return [{ role: known(str(read(() => props["role"]))), member: known(str(read(() => props["member"]))) }];
  }
  if (cls.endsWith("Binding")) {
    const role = known(str(read(() => props["role"])));
    const members = items(read(() => props["members"] as unknown[]));
    if (members === UNKNOWN) return [{ role, member: UNKNOWN }];
    return members.map((m) => ({ role, member: known(str(m)) }));
  }
  if (cls.endsWith("Policy")) {
    const data = str(read(() => props["policyData"]));
    if (data === UNKNOWN) return [{ role: UNKNOWN, member: UNKNOWN }];
    if (data === undefined) return [];
    return grantsOfPolicyData(data);
  }
  return [];
}

/** Parses an IAM policy document (`{"bindings":[{"role","members":[...]}]}`); unparsable → no grants. */
export function grantsOfPolicyData(json: string): Grant[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return [];
  }
  const bindings = (doc as { bindings?: unknown })?.bindings;
  if (!Array.isArray(bindings)) return [];
  const out: Grant[] = [];
  for (const b of bindings as { role?: unknown; members?: unknown }[]) {
    const role = typeof b?.role === "string" ? b.role : UNKNOWN;
    const members = Array.isArray(b?.members) ? (b.members as unknown[]) : [];
    for (const m of members) out.push({ role, member: typeof m === "string" ? m : UNKNOWN });
  }
  return out;
}

function known(v: string | Unknown | undefined): string | Unknown {
  return v === undefined ? "" : v;
}

export const PUBLIC_PRINCIPALS: ReadonlySet<string> = new Set([
  "allUsers",
  "allAuthenticatedUsers",
  "principalSet://goog/public:all",
]);

export const PRIMITIVE_ROLES: ReadonlySet<string> = new Set(["roles/owner", "roles/editor", "roles/viewer"]);

/** roles/run.admin, roles/iam.securityAdmin, roles/resourcemanager.projectIamAdmin, ... (predefined or custom). */
export function isAdminRole(role: string): boolean {
  const last = role.split("/").pop() ?? "";
  return /admin$/i.test(last);
}

/** The e-mail of a `serviceAccount:` member (lower-cased), or undefined. */
export function serviceAccountEmail(member: string): string | undefined {
  const m = /^serviceAccount:(.+)$/.exec(member);
  return m?.[1]?.toLowerCase();
}
