/** What every record and option shares: timestamps, pages, idempotency, traces, errors. */

export type Timestamp = string; // RFC 3339 UTC with Z, e.g. "2025-01-01T09:00:00.000Z"
export type JsonObject = { [key: string]: unknown };
export type DeliveryState = "queued" | "held" | "waiting" | "delivering" | "retrying" | "succeeded" | "failed" | "cancelled";

export interface Page<T> { items: T[]; next_cursor: string | null }
export interface PageOptions { limit?: number; cursor?: string }
/** POSTs without fields of their own take only an idempotency key (the SDK makes one per call otherwise). */
export interface IdempotencyOptions { idempotency_key?: string }
/** W3C Trace Context, sent as the request's headers: the delivery joins this trace and every
 *  attempt, callback and event is sent in it with a new span per attempt. Without it (or with a
 *  malformed one) the delivery starts its own trace. */
export interface TraceOptions { traceparent?: string; tracestate?: string }

/** How long to wait before each retry: "svix" (default), "exponential" (min(86400, e^(2.5n)) s) or
 *  1 to 30 gaps in whole seconds, at most 7 days in all; null: the default. */
export type RetrySchedule = "svix" | "exponential" | number[] | null;

export interface ApiErrorBody { error: { code: string; message: string; field?: string; [extra: string]: unknown } }
