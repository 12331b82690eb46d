/** Location values: regions, zones, multi-regions and "global", checked against an allow-list. */

export interface LocationPolicy {
  allowedRegions: string[];
  allowedMultiRegions: string[];
  allowGlobal: boolean;
}

const ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;
const REGION = /^[a-z]+-[a-z]+\d+$/;

/** The region a zone belongs to ("us-central1-a" → "us-central1"); other values unchanged (lower-cased). */
export function regionOf(location: string): string {
  const lower = location.trim().toLowerCase();
  return ZONE.exec(lower)?.[1] ?? lower;
}

/** Undefined when allowed, else why not. */
export function locationProblem(location: string, policy: LocationPolicy): string | undefined {
  const region = regionOf(location);
  if (region === "") return undefined;
  if (region === "global") return policy.allowGlobal ? undefined : `"global" is not allowed (allowGlobal is false)`;
  if (REGION.test(region)) {
    return policy.allowedRegions.map((r) => r.toLowerCase()).includes(region)
      ? undefined
      : `region ${region} is not in allowedRegions [${policy.allowedRegions.join(", ")}]`;
  }
  // A multi-region ("us", "eu", "nam4", ...).
  const allowed = [...policy.allowedMultiRegions, ...policy.allowedRegions].map((r) => r.toLowerCase());
  return allowed.includes(region)
    ? undefined
    : `multi-region ${region} is not in allowedMultiRegions [${policy.allowedMultiRegions.join(", ")}]`;
}
