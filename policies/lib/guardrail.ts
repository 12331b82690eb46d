/** Small helpers shared by the rule modules. */
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/**
 * A resource validation for every type `match` accepts (for rules spanning many types, e.g. every IAM resource);
 * other types are marked not applicable, as `validateResourceOfType` does for a single class.
 */
export function validateResourceOfTypes(
  match: (type: string) => boolean,
  what: string,
  validate: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidation {
  return (args, reportViolation) => {
    if (!match(args.type)) args.notApplicable(`Policy only applies to ${what}`);
    validate(args, reportViolation);
  };
}

/** Joins remediation sentences into the one paragraph a policy carries. */
export function steps(...lines: string[]): string {
  return lines.join(" ");
}

/** Formats a value for a message. */
export function show(v: unknown): string {
  return v === undefined ? "unset" : JSON.stringify(v);
}
