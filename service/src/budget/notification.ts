/**
 * Parsing a Cloud Billing budget notification as Pub/Sub delivers it to a push endpoint: the push envelope
 * `{"message":{"data","attributes","messageId","publishTime"},"subscription"}` whose `data` is the base64 of the
 * budget's JSON (schemaVersion 1.0). Budgets publish several times a day whatever the thresholds, so the consumer
 * compares cost to budget itself (kill-switch.ts); this module only checks and normalizes the shape.
 *
 * Unknown fields are ignored (Pub/Sub also sends `message_id`, `publish_time`, delivery attempts, ...), but every field
 * the kill switch relies on is required: a message that cannot be trusted to say how much was spent is refused with
 * 400 rather than read as "nothing spent".
 */
import { z } from "zod";
import { errors } from "../wire/errors.js";

/** One budget notification, normalized: what the kill switch needs and nothing else. */
export interface BudgetNotification {
  /** From the message attributes: the budget's id in the billing account. */
  budgetId: string;
  /** The budget's display name, for messages to clients and operators. */
  displayName: string;
  /** Spend so far in the current period, in `currencyCode`. */
  costAmount: number;
  /** The budget for the period (> 0), in `currencyCode`. */
  budgetAmount: number;
  /** Start of the budget period, as sent (RFC 3339). */
  costIntervalStart: string;
  /** The same instant, epoch milliseconds. */
  costIntervalStartMs: number;
  /** ISO 4217, e.g. "USD". */
  currencyCode: string;
  /** The highest threshold rule crossed by actual spend (a fraction: 0.9 = 90%), when one was. */
  alertThresholdExceeded?: number;
  /** The highest threshold rule crossed by forecast spend, when one was. */
  forecastThresholdExceeded?: number;
  /** Pub/Sub's id of the message, for logs (redeliveries keep it). */
  messageId: string;
}

// Standard base64 as Pub/Sub sends it (url-safe accepted too); Buffer.from() would silently skip anything else.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

const PushSchema = z.object({
  message: z.object({
    data: z.string().min(1, "is empty").regex(BASE64, "is not base64"),
    attributes: z.object({
      budgetId: z.string().min(1),
      billingAccountId: z.string().optional(),
      // Another schema version may mean other fields or units: refuse it rather than guess.
      schemaVersion: z.literal("1.0").optional(),
    }),
    messageId: z.string().min(1),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

const amount = z.number().refine(Number.isFinite, "must be a finite number");

const BudgetDataSchema = z.object({
  budgetDisplayName: z.string().min(1),
  costAmount: amount,
  costIntervalStart: z.iso.datetime({ offset: true }),
  budgetAmount: amount.refine((n) => n > 0, "must be greater than 0"),
  budgetAmountType: z.string().optional(),
  currencyCode: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD"),
  alertThresholdExceeded: amount.optional(),
  forecastThresholdExceeded: amount.optional(),
});

/**
 * Parses the raw body of a Pub/Sub push request carrying a budget notification.
 * @throws GatewayError 400 INVALID_ARGUMENT naming what is wrong (invalid JSON, a missing or bad field, budgetAmount
 *   not above 0, `message.data` not base64 of a JSON object).
 */
export function parseBudgetPush(raw: Buffer): BudgetNotification {
  const push = validate(PushSchema, parseJson(raw.toString("utf8"), "The request body"), "push request");

  const json = Buffer.from(push.message.data, "base64").toString("utf8");
  const data = validate(BudgetDataSchema, parseJson(json, "message.data (base64-decoded)"), "message.data");

  const n: BudgetNotification = {
    budgetId: push.message.attributes.budgetId,
    displayName: data.budgetDisplayName,
    costAmount: data.costAmount,
    budgetAmount: data.budgetAmount,
    costIntervalStart: data.costIntervalStart,
    costIntervalStartMs: Date.parse(data.costIntervalStart),
    currencyCode: data.currencyCode,
    messageId: push.message.messageId,
  };
  if (data.alertThresholdExceeded !== undefined) n.alertThresholdExceeded = data.alertThresholdExceeded;
  if (data.forecastThresholdExceeded !== undefined) n.forecastThresholdExceeded = data.forecastThresholdExceeded;
  return n;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.invalidArgument(`Invalid budget notification: ${what} is not valid JSON.`);
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // The first few issues, each with its path: enough to fix the sender without echoing the payload back.
  const issues = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`)
    .join("; ");
  throw errors.invalidArgument(`Invalid budget notification (${what}): ${issues}.`);
}
