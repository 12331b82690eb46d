/**
 * What the resource operations (caches, interactions, batch jobs) need besides the call: the ownership registry, the
 * usage ledger and prices (storage and batch spend happen outside a call's own reconcile), the batch staging bucket,
 * and, for an operation that makes its own upstream calls, a way to route and relay them like any call. Types only.
 */
import type { PriceTable } from "../../accounting/prices.js";
import type { UsageLedger } from "../../accounting/usage.js";
import type { Routed, RouteRequest } from "../../route/router.js";
import type { KeyValue, Leases, ResourceRegistry } from "../../store/store.js";
import type { Logger } from "../../telemetry/logger.js";
import type { ObjectStaging } from "../../upstream/storage.js";
import type { UsageMetadataWire } from "../../wire/gemini.js";
import type { RelayResult } from "../relay.js";

export interface ResourceDeps {
  registry: ResourceRegistry;
  usage: UsageLedger;
  prices: PriceTable;
  /** Where batch inputs are staged and outputs read; undefined when no bucket is configured (batch jobs 503). */
  staging: ObjectStaging | undefined;
  /** Claims (billing a finished batch job or background interaction once, across instances). */
  kv: KeyValue & Leases;
  logger: Logger;
  now: () => number;
}

/** How a relay reads an answer that is not a Gemini response, and what it does before the first byte is written. */
export interface RelayHooks {
  /** The usage in an answer or stream event (a string containing `usageMarker`). */
  usageOf?: (json: string) => UsageMetadataWire | undefined;
  usageMarker?: string;
  /**
   * Called with the whole unary answer, or the first stream event, before any of it is written (a 2xx only): a
   * created resource is registered here, so the client can use it on any instance as soon as it sees its name.
   */
  onFirst?: (json: string) => Promise<void>;
}

/** An operation that runs its own upstream calls (operations.ts `execute`). */
export interface ExecuteContext {
  /** Routes one upstream call for this call (its deadline, abort, trace and attempt tracking), with these fields. */
  send(o: Partial<Omit<RouteRequest, "signal" | "deadline" | "waitDeadline">> & { body: Buffer }): Promise<Routed>;
  /** Relays an upstream answer through the surface's encoder, as any call's. */
  relay(routed: Routed, hooks?: RelayHooks): Promise<RelayResult>;
  deps: ResourceDeps;
}
