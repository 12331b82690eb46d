/**
 * Admin and console handlers are async: a failure must be answered in the error envelope (never express's HTML 500 or
 * an unhandled rejection). `toError` says what a thrown value means to the caller (e.g. a store outage is a 503).
 */
import type { Request, Response } from "express";
import type { GatewayError } from "../wire/errors.js";
import { writeError } from "./write.js";

export type AsyncHandler = (req: Request, res: Response) => Promise<void>;

export function guarded(handler: AsyncHandler, toError: (err: unknown) => GatewayError): AsyncHandler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      writeError(res, toError(err));
    }
  };
}
