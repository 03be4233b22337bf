/** Deliveries (every kind), their attempts and replays; webhook sends, secrets and public keys. */
import type { DeliveryState, RetrySchedule, Timestamp, TraceOptions } from "./common.js";
import type { CircuitBreaker, EndpointAuth, EndpointAuthRecord } from "./endpoints.js";

export interface Attempt {
  attempt: number;
  at: Timestamp;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
  /** the W3C span id this attempt was sent with (its traceparent's parent-id) */
  span_id?: string;
}
export interface DeliveryRecord {
  delivery_id: string;
  webhook_id: string;
  state: DeliveryState;
  url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deliver_at: Timestamp;
  next_attempt_at: Timestamp | null;
  retries: number;
  timeout_seconds: number;
  attempt_count: number;
  attempts: Attempt[];
  /** the W3C trace id its attempts, callback and events are sent in */
  trace_id?: string;
  /** the named flow this delivery goes through, if any */
  flow_key?: string;
  /** set while the next attempt waits for a plan limit to free (made at `until`) */
  deferred?: { limit: "attempts_per_day"; until: Timestamp } | null;
  /** present only while the reconcile function cannot carry it on (quarantined after 5 tries) */
  repair?: { error: string; tries: number; at: Timestamp; quarantined: boolean };
  /** single-delivery reads only: the payload as sent */
  payload?: unknown;
  /** single-delivery reads only: the headers every attempt carries (webhook-timestamp,
   *  webhook-signature and infrai-attempt are made per attempt and not stored) */
  headers?: Record<string, string>;
  /** present only when set */
  retry_schedule?: RetrySchedule;
  circuit_breaker?: CircuitBreaker | null;
  /** present when set: what identifies its credentials, never a secret */
  auth?: EndpointAuthRecord;
  callback_url?: string;
  failure_callback_url?: string;
}
/** what made a delivery: a send, a queue message, a cron run, a callback, an operational event */
export type DeliveryKind = "webhook" | "queue" | "cron" | "callback" | "event";
export interface DeliveryFilters {
  state?: DeliveryState;
  kind?: DeliveryKind;
  queue?: string;
  /** deliveries of a topic's subscriptions, or of one subscription */
  topic?: string;
  subscription_id?: string;
  cron_id?: string;
  host?: string;
  /** HTTP status of the last attempt, or "none" for no response */
  status_code?: number | "none";
  /** RFC 3339 */
  since?: string;
  until?: string;
}
export interface DeliverySummary extends Omit<DeliveryRecord, "attempts" | "payload" | "headers"> {
  kind: DeliveryKind;
  queue: string | null;
  cron_id: string | null;
  host: string | null;
  status_code: number | null;
  last_attempt: Attempt | null;
}
export interface Replay {
  replay_id: string;
  state: "matching" | "replaying" | "completed" | "stopped";
  filters: Record<string, string>;
  matched: number;
  queued: number;
  skipped: number;
  done: number;
  finished: boolean;
  error: { code: string; message: string; [extra: string]: unknown } | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}
export interface WebhookOptions extends TraceOptions {
  headers?: Record<string, string>;
  retries?: number;
  timeout_seconds?: number;
  delay_seconds?: number;
  /** a named flow (client.flows.put) whose limits this send shares */
  flow_key?: string | null;
  /** its endpoint's circuit breaker (default on: 20 failures over 300 s, a probe every 300 s); null turns it off for this send */
  circuit_breaker?: Partial<CircuitBreaker> | null;
  /** the endpoint's credentials: an OAuth2 client (token fetched and cached for you) or an mTLS client certificate */
  auth?: EndpointAuth | null;
  retry_schedule?: RetrySchedule;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  idempotency_key?: string;
}
export interface WebhookSecret { secret: string }
export interface RotatedSecret { secret: string; previous_secret_expires_at: Timestamp | null }
/** A v1a (Ed25519) public key; `expires_at` is set on the previous key during a rotation. */
export interface PublicKey { key_id: string; public_key: string; created_at: Timestamp; expires_at: Timestamp | null }
export interface PublicKeys { keys: PublicKey[] }
export interface RotatedPublicKey extends PublicKey { previous_key_expires_at: Timestamp }
/** Which Standard Webhooks signatures deliveries carry: v1 (HMAC, whsec_), v1a (Ed25519, whpk_). */
export type SignatureScheme = "v1" | "v1a";
