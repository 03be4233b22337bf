/** Records as the API returns them (snake_case, as on the wire) and the options the methods take. */

export type Timestamp = string; // RFC 3339 UTC with Z, e.g. "2025-01-01T09:00:00.000Z"
export type JsonObject = { [key: string]: unknown };
export type DeliveryState = "queued" | "held" | "delivering" | "retrying" | "succeeded" | "failed" | "cancelled";

export interface Page<T> { items: T[]; next_cursor: string | null }
export interface PageOptions { limit?: number; cursor?: string }
/** POSTs without fields of their own take only an idempotency key (the SDK makes one per call otherwise). */
export interface IdempotencyOptions { idempotency_key?: string }

/** How long to wait before each retry: "svix" (default), "exponential" (min(86400, e^(2.5n)) s) or
 *  1 to 30 gaps in whole seconds, at most 7 days in all; null: the default. */
export type RetrySchedule = "svix" | "exponential" | number[] | null;

export interface ApiErrorBody { error: { code: string; message: string; field?: string; [extra: string]: unknown } }

// ---- cron
export interface CronOptions {
  /** cron expression, e.g. "0 9 * * *" */
  schedule: string;
  /** the URL that receives the scheduled POST (exactly one of url / queue) */
  url?: string;
  /** a queue each run publishes into (exactly one of url / queue) */
  queue?: string;
  /** human-readable job name; defaults to the queue name or the URL's host + path */
  name?: string;
  payload?: unknown;
  /** IANA time zone of the schedule (default "UTC") */
  timezone?: string;
  /** retries on failure (default 3) */
  retries?: number;
  timeout_seconds?: number;
  enabled?: boolean;
  retry_schedule?: RetrySchedule;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  idempotency_key?: string;
}
export type CronUpdate = Partial<Omit<CronOptions, "idempotency_key">>;

export interface CronRecord {
  cron_id: string;
  name: string;
  schedule: string;
  url?: string;
  queue?: string;
  enabled: boolean;
  timezone: string;
  next_run_at?: Timestamp | null;
  next_runs?: Timestamp[];
  retries: number;
  timeout_seconds: number;
  payload: unknown;
  aws_schedule_expressions: string[];
  retry_schedule: RetrySchedule;
  callback_url: string | null;
  failure_callback_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface CronDeleted { deleted: string }
export interface CronRun {
  scheduled_at: Timestamp;
  fired_at: Timestamp;
  delivery_id: string;
  manual: boolean;
  target: "url" | "queue";
  /** "skipped": a scheduled run that sent nothing (see skipped_reason) */
  delivery_state: DeliveryState | "pending" | "skipped";
  attempt_count: number;
  skipped_reason?: "quota_exceeded";
}

// ---- deliveries, webhooks
export interface Attempt {
  attempt: number;
  at: Timestamp;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_excerpt: string | null;
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
  /** present only when set */
  retry_schedule?: RetrySchedule;
  callback_url?: string;
  failure_callback_url?: string;
}
/** what made a delivery: a send, a queue message, a cron run, a callback, an operational event */
export type DeliveryKind = "webhook" | "queue" | "cron" | "callback" | "event";
export interface DeliveryFilters {
  state?: DeliveryState;
  kind?: DeliveryKind;
  queue?: string;
  cron_id?: string;
  host?: string;
  /** HTTP status of the last attempt, or "none" for no response */
  status_code?: number | "none";
  /** RFC 3339 */
  since?: string;
  until?: string;
}
export interface DeliverySummary extends Omit<DeliveryRecord, "attempts"> {
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
export interface WebhookOptions {
  headers?: Record<string, string>;
  retries?: number;
  timeout_seconds?: number;
  delay_seconds?: number;
  retry_schedule?: RetrySchedule;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  idempotency_key?: string;
}
export interface WebhookSecret { secret: string }
export interface RotatedSecret { secret: string; previous_secret_expires_at: Timestamp | null }

// ---- queues
export interface PublishOptions {
  delay_seconds?: number;
  callback_url?: string | null;
  failure_callback_url?: string | null;
  idempotency_key?: string;
}
export interface PublishResult {
  message_id: string;
  queue: string;
  state: "queued" | "held";
  deliver_at: Timestamp;
  created_at: Timestamp;
}
export interface BatchMessage {
  queue: string;
  payload: JsonObject;
  delay_seconds?: number;
  callback_url?: string | null;
  failure_callback_url?: string | null;
}
export interface BatchResult {
  results: Array<PublishResult | { error: ApiErrorBody["error"] }>;
  accepted: number;
  rejected: number;
}
export interface QueueOptions {
  url?: string | null;
  retries?: number;
  timeout_seconds?: number;
  paused?: boolean;
  retry_schedule?: RetrySchedule;
}
export interface QueueCounts { held: number; queued: number; retrying: number; failed: number }
export interface QueueRecord {
  name: string;
  url: string | null;
  retries: number;
  timeout_seconds: number;
  paused: boolean;
  retry_schedule: RetrySchedule;
  created_at: Timestamp;
  updated_at: Timestamp;
  counts?: QueueCounts;
}
export interface QueueDeleted { deleted: string; cancelled_messages: number }
export interface MessageRecord extends Omit<DeliveryRecord, "delivery_id" | "url"> {
  message_id: string;
  queue: string | null;
}
export interface MessageListOptions extends PageOptions { state?: DeliveryState }

// ---- operational events (client.events) and callbacks
export type EventType = "delivery.failed" | "endpoint.held" | "endpoint.released" | "cron.run_skipped" | "replay.finished";
export interface EventsOptions { url: string }
export interface EventsConfig { url: string | null; event_types: EventType[]; updated_at: Timestamp | null }
/** The body of an operational event or a callback, as POSTed (Standard Webhooks style). */
export interface EventBody<D = JsonObject> { type: EventType | "delivery.succeeded"; timestamp: Timestamp; data: D }
/** `data` of a callback and of a delivery.failed event. */
export interface DeliveryOutcome {
  delivery_id: string;
  webhook_id: string;
  message_id?: string;
  kind: DeliveryKind;
  state: "succeeded" | "failed";
  url: string | null;
  queue: string | null;
  cron_id: string | null;
  scheduled_at?: Timestamp;
  attempt_count: number;
  retries: number;
  created_at: Timestamp;
  ended_at: Timestamp;
  last_attempt: Attempt | null;
}

// ---- auth
/** A plan's limits; null = no limit. */
export interface Limits {
  cron_jobs?: number | null;
  queues?: number | null;
  deliveries_per_day?: number | null;
  payload_bytes?: number | null;
  publishes_per_second?: number | null;
  api_keys?: number | null;
  [limit: string]: number | null | undefined;
}
export interface Activation {
  project_id: string;
  /** shown once; stored only as a hash */
  api_key: string;
  key_id: string;
  plan: string;
  limits: Limits;
}
export interface ApiKeyInfo { key_id: string; /** shortened for display */ key: string; created_at: Timestamp; revoked_at: Timestamp | null }
export interface Me { project_id: string; plan: string | null; limits: Limits; created_at?: Timestamp | null; keys: ApiKeyInfo[] }
export interface NewApiKey { key_id: string; api_key: string; created_at: Timestamp }
export interface RevokedKey { key_id: string; revoked_at: Timestamp }
export interface Health { status: "ok" }
