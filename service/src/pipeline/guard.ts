/**
 * Stage: guard. The tenant's security policy applied to a validated request, before anything is spent on it:
 *
 * - the gateway's prompt-injection scorer (guard/injection.ts) over the user's parts, with the tenant's action:
 *   off (not scored), log (score in the audit record), flag (also `x-gateway-flagged` on the response),
 *   block (400 INVALID_ARGUMENT naming the categories);
 * - the tenant's Model Armor templates, attached as Vertex `modelArmorConfig`. Vertex refuses `modelArmorConfig`
 *   together with `safetySettings`; rather than silently dropping the client's settings (the gateway never
 *   drops fields) or letting Vertex answer with a vaguer 400, such a request is refused here with a message that
 *   says what to remove. A client's own `modelArmorConfig` is refused the same way: the tenant policy decides.
 *
 * countTokens generates nothing, so neither applies to it.
 */
import type { InjectionAction, Tenant } from "../config/tenants.js";
import { DEFAULT_INJECTION_THRESHOLD, scoreInjection, userTexts, type InjectionCategory } from "../guard/injection.js";
import { errors } from "../wire/errors.js";
import type { ValidatedBody } from "./validate.js";

export interface InjectionVerdict {
  score: number;
  categories: readonly InjectionCategory[];
  flagged: boolean;
  action: Exclude<InjectionAction, "off">;
}

export interface GuardVerdict {
  /** Undefined when the tenant's action is off, or for countTokens. */
  injection: InjectionVerdict | undefined;
  /** The field to add to the forwarded request, when the tenant uses Model Armor. */
  modelArmorConfig: object | undefined;
}

/** Throws only for Model Armor conflicts; an injection block is returned (the audit record needs the verdict). */
export function guard(body: ValidatedBody, tenant: Tenant): GuardVerdict {
  if (body.method === "countTokens") return { injection: undefined, modelArmorConfig: undefined };

  let modelArmorConfig: object | undefined;
  if (tenant.modelArmor) {
    const safety = body.doc.safetySettings;
    // Proto semantics: an empty repeated field is the same as an absent one, and Vertex accepts it.
    if (Array.isArray(safety) ? safety.length > 0 : safety != null) throw errors.modelArmorConflict("safetySettings");
    if (body.doc.modelArmorConfig != null) throw errors.modelArmorConflict("modelArmorConfig");
    modelArmorConfig = tenant.modelArmor;
  }

  const action = tenant.injection.action;
  if (action === "off") return { injection: undefined, modelArmorConfig };
  const { score, categories } = scoreInjection(userTexts(body.doc));
  const flagged = score >= (tenant.injection.threshold ?? DEFAULT_INJECTION_THRESHOLD);
  return { injection: { score, categories, flagged, action }, modelArmorConfig };
}

/** The verdict's consequence for the call: a 400 to throw when the tenant blocks flagged prompts. */
export function injectionBlock(verdict: GuardVerdict): Error | undefined {
  const i = verdict.injection;
  return i?.flagged && i.action === "block" ? errors.injectionBlocked(i.categories) : undefined;
}
