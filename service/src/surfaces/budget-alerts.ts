/**
 * `POST /internal/budget-alerts`: the push endpoint of the budget's Pub/Sub subscription. Order matters: the OIDC
 * token is verified before the body is read, so an unauthenticated caller can neither change the switch nor make the
 * gateway buffer a body. Then the body is read (bounded), parsed, applied, and answered 204, which Pub/Sub counts as
 * an acknowledgement.
 *
 * Every other answer is a nack and Pub/Sub redelivers with backoff: wanted for 503 (the shared store is down, the
 * notification must not be lost); for 400 it repeats until the subscription's retention or dead-letter policy drops
 * the message, which is what makes a broken publisher visible.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { errors, GatewayError } from "../wire/errors.js";
import { StoreUnavailableError } from "../store/store.js";
import type { Logger } from "../telemetry/logger.js";
import { readBody } from "../http/read-body.js";
import { writeError } from "../http/write.js";
import type { BudgetSwitch } from "../budget/kill-switch.js";
import { parseBudgetPush } from "../budget/notification.js";
import type { PushVerifier } from "../budget/push-auth.js";

export const BUDGET_ALERTS_PATH = "/internal/budget-alerts";

/** A push is a small JSON envelope sent at once by Pub/Sub: generous bounds for it, not settings. */
const PUSH_BODY_LIMITS = { timeoutMs: 10_000, maxJsonValues: 1_000 } as const;

export interface BudgetAlertsHandlerOptions {
  verifier: PushVerifier;
  budgetSwitch: BudgetSwitch;
  logger: Logger;
  /** Budget notifications are well under 2 KiB; a few KiB is plenty. */
  maxBodyBytes: number;
}

/** The request handler; it never rejects (every failure is answered with the Gemini error envelope). */
export function budgetAlertsHandler(
  options: BudgetAlertsHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { verifier, budgetSwitch, logger, maxBodyBytes } = options;

  return async (req, res) => {
    try {
      if (req.method !== "POST") throw errors.methodNotAllowed(req.method ?? "?");
      await verifier.verify(req.headers.authorization);
      const notification = parseBudgetPush(await readBody(req, { maxBytes: maxBodyBytes, ...PUSH_BODY_LIMITS }));
      const { state, applied } = await budgetSwitch.apply(notification);
      logger.info(
        {
          budgetId: notification.budgetId,
          messageId: notification.messageId,
          ratio: Math.round((notification.costAmount / notification.budgetAmount) * 10_000) / 10_000,
          level: state.level,
          applied,
        },
        applied ? "budget notification applied" : "budget notification ignored: older than the current period",
      );
      res.writeHead(204);
      res.end();
    } catch (err) {
      const failure = toFailure(err);
      // The message is ours (push-auth.ts never quotes the token); the Authorization header is not logged.
      const fields: Record<string, unknown> = { status: failure.httpCode, reason: failure.message };
      if (failure.httpCode === 500) fields.err = err instanceof Error ? err.message : String(err);
      if (failure.httpCode >= 500) logger.error(fields, "budget notification not accepted");
      else logger.warn(fields, "budget notification refused");
      // A refused body may still be arriving (413, or never read after 401/403): do not reuse the connection.
      if (failure.httpCode === 413 || failure.httpCode === 401 || failure.httpCode === 403) {
        res.setHeader("connection", "close");
      }
      writeError(res, failure);
    }
  };
}

function toFailure(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof StoreUnavailableError) return errors.storeUnavailable();
  return errors.internal();
}
