/** Records as the API returns them (snake_case, as on the wire) and the options the methods take. */

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

// ---- cron
export interface CronOptions {
  /** cron expression, e.g. "0 9 * * *" */
  schedule: string;
  /** the URL that receives the scheduled POST (exactly one of url / queue / topic) */
  url?: string;
  /** a queue each run publishes into (exactly one of url / queue / topic) */
  queue?: string;
  /** a topic each run publishes to, one delivery per matching subscription (exactly one of url / queue / topic; it must exist) */
  topic?: string;
  /** what each run publishes to the topic as (required with topic, refused otherwise; the payload must then be an object) */
  event_type?: string;
  /** human-readable job name; defaults to the queue or topic name or the URL's host + path */
  name?: string;
  payload?: unknown;
  /** IANA time zone of the schedule (default "UTC") */
  timezone?: string;
  /** retries on failure (default 3) */
  retries?: number;
  timeout_seconds?: number;
  enabled?: boolean;
  /** runs missed while paused or down, at most this many seconds old, fire on resume/recovery (default 0: skipped; at most 604800) */
  catch_up_window_seconds?: number;
  /** a named flow (client.flows.put) whose limits the job's runs share; url targets only */
  flow_key?: string | null;
  /** its runs' endpoint's circuit breaker (default on: 20 failures over 300 s, a probe every 300 s); null turns it off; url targets only */
  circuit_breaker?: Partial<CircuitBreaker> | null;
  /** the endpoint's credentials, copied to each run (url targets only); null removes them */
  auth?: EndpointAuth | null;
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
  topic?: string;
  event_type?: string;
  enabled: boolean;
  timezone: string;
  next_run_at?: Timestamp | null;
  next_runs?: Timestamp[];
  retries: number;
  timeout_seconds: number;
  catch_up_window_seconds: number;
  payload: unknown;
  aws_schedule_expressions: string[];
  flow_key: string | null;
  /** url targets: the breaker its runs go through (null: turned off) */
  circuit_breaker?: CircuitBreaker | null;
  /** present when set: what identifies its credentials, never a secret */
  auth?: EndpointAuthRecord;
  retry_schedule: RetrySchedule;
  callback_url: string | null;
  failure_callback_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface CronDeleted { deleted: string }
/** The past window [since, until) whose scheduled runs a backfill fires (RFC 3339 times; at most 1,000 runs). */
export interface BackfillOptions {
  since: string;
  until: string;
  idempotency_key?: string;
}
export interface BackfillResult {
  cron_id: string;
  since: Timestamp;
  until: Timestamp;
  /** scheduled times in the window */
  runs: number;
  /** runs this request made */
  fired: number;
  /** runs that existed already (not fired again) */
  existing: number;
  /** runs recorded skipped: over the plan's deliveries per day */
  skipped: number;
}
export interface CronRun {
  scheduled_at: Timestamp;
  fired_at: Timestamp;
  delivery_id: string;
  manual: boolean;
  target: "url" | "queue" | "topic";
  /** "skipped": a scheduled run that sent nothing (see skipped_reason); "expired": its delivery is past the project's retention;
   *  "published": a run to a topic, one delivery per matching subscription (see matched) */
  delivery_state: DeliveryState | "pending" | "skipped" | "expired" | "published";
  /** a run to a topic: the topic */
  topic?: string;
  /** a run to a topic: how many subscriptions it made a delivery for (0: none matched) */
  matched?: number;
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

// ---- queues
export interface PublishOptions extends TraceOptions {
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
  trace_id?: string;
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
/** At most `count` sends start in any window of `period_seconds` (1 s to 7 days). */
export interface RateLimit { count: number; period_seconds: number }
export interface QueueOptions {
  url?: string | null;
  retries?: number;
  timeout_seconds?: number;
  paused?: boolean;
  retry_schedule?: RetrySchedule;
  /** null lifts the limit */
  rate_limit?: RateLimit | null;
  /** attempts in flight at once (1: FIFO); null lifts the limit */
  parallelism?: number | null;
  /** the endpoint's circuit breaker (missing fields: 20, 300, 300); null turns it off */
  circuit_breaker?: Partial<CircuitBreaker> | null;
  /** the endpoint's credentials; null removes them */
  auth?: EndpointAuth | null;
}
export interface CircuitBreaker { failures: number; min_seconds: number; probe_seconds: number }
/** An endpoint's credentials (docs/endpoint-auth.md). The secret and the key are sealed at rest and never returned. */
export type EndpointAuth =
  | { type: "oauth2_client_credentials"; token_url: string; client_id: string; client_secret: string;
      scope?: string; audience?: string; client_authentication?: "basic" | "body" }
  /** PEM; the key unencrypted; https URLs only */
  | { type: "mtls"; certificate: string; private_key: string };
/** What the API shows of an endpoint's credentials. */
export type EndpointAuthRecord =
  | { type: "oauth2_client_credentials"; token_url: string; client_id: string; scope?: string; audience?: string;
      client_authentication?: "body" }
  | { type: "mtls"; certificate_sha256: string; certificate_subject: string; certificate_expires_at: Timestamp };
export interface EndpointRecord {
  endpoint_id: string;
  /** the target URL without its query */
  url: string;
  /** closed: delivering; open: held, one probe every probe_seconds; disabled: held until released by hand */
  state: "closed" | "open" | "disabled";
  consecutive_failures: number;
  failing_since: Timestamp | null;
  last_failure_at: Timestamp | null;
  last_error: string | null;
  held_since: Timestamp | null;
  next_probe_at: Timestamp | null;
  queues: string[];
  /** besides queues, what else has sent to it: webhook sends, cron runs */
  sources: ("webhook" | "cron")[];
  counts: { held: number };
}
export interface QueueCounts { held: number; queued: number; waiting: number; retrying: number; failed: number }
/** What a queue and a topic's subscription (a queue underneath) hold about their endpoint. */
export interface EndpointSettings {
  retries: number;
  timeout_seconds: number;
  paused: boolean;
  rate_limit: RateLimit | null;
  parallelism: number | null;
  circuit_breaker: CircuitBreaker | null;
  /** what identifies the endpoint's credentials (null: none), never a secret */
  auth: EndpointAuthRecord | null;
  retry_schedule: RetrySchedule;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** single reads: its messages by state */
  counts?: QueueCounts;
}
export interface QueueRecord extends EndpointSettings {
  name: string;
  url: string | null;
}

// ---- named flows (a limit shared through flow_key)
export interface FlowOptions { rate_limit?: RateLimit | null; parallelism?: number | null }
export interface FlowRecord {
  key: string;
  rate_limit: RateLimit | null;
  parallelism: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** single-flow reads: attempts holding a parallelism slot now */
  in_flight?: number;
  /** single-flow reads: where the next free rate-limit slot starts, if later than now */
  next_send_at?: Timestamp | null;
}
export interface FlowDeleted { deleted: string }
export interface QueueDeleted { deleted: string; cancelled_messages: number }
export interface MessageRecord extends Omit<DeliveryRecord, "delivery_id" | "url" | "payload" | "headers"> {
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
  topics?: number | null;
  deliveries_per_day?: number | null;
  payload_bytes?: number | null;
  publishes_per_second?: number | null;
  api_keys?: number | null;
  attempts_per_day?: number | null;
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
/** What a key may do; `admin` holds every other scope (docs/security.md#scopes). */
export type Scope = "read" | "publish" | "manage" | "admin";
export interface ApiKeyInfo {
  key_id: string; /** shortened for display */ key: string; name: string | null; scopes: Scope[];
  /** the only queues the key may publish to; null: every queue */
  queues: string[] | null; created_at: Timestamp; revoked_at: Timestamp | null;
}
export interface ApiKeyList { keys: ApiKeyInfo[] }
/** A new key's grant: `scopes` (default ["admin"]), `queues` (needs "publish"), a `name`. */
export interface KeyOptions { scopes?: Scope[]; queues?: string[]; name?: string; idempotency_key?: string }
/** Audit log filters: `since`/`until` are RFC 3339 strings. */
export interface AuditOptions { since?: string; until?: string; key_id?: string; resource?: string; limit?: number; cursor?: string }
/** One change of the project's configuration: never a body, a header value or a secret. */
export interface AuditEntry {
  audit_id: string; at: Timestamp; key_id: string | null; method: string;
  /** the route's template, e.g. /v1/scheduling/cron/{cron_id} */
  route: string; resource_id: string | null; status: number; source_ip: string | null;
}
export interface AuditPage { entries: AuditEntry[]; next_cursor: string | null }
/** What the project uses of its limits now; null where nothing counts it */
export interface Usage { cron_jobs: number | null; queues: number | null; topics: number | null; api_keys: number | null; deliveries_per_day: number | null; attempts_per_day: number | null }
/** Days a delivery is kept once it ended, per outcome (1 to 400; defaults 30 and 90). */
export interface RetentionDays { succeeded: number; failed: number }
/** The project's settings, as stored (GET /v1/auth/me shows them too). */
export interface ProjectSettings { retention_days: RetentionDays; signatures: SignatureScheme[] }
/** The settings to change: the others stay; either retention outcome may be sent alone. */
export interface ProjectSettingsUpdate { retention_days?: Partial<RetentionDays>; signatures?: SignatureScheme[] }
export interface Me extends ProjectSettings { project_id: string; plan: string | null; limits: Limits; usage: Usage; created_at?: Timestamp | null; keys: ApiKeyInfo[] }
export type ExpungePhase = "keys" | "events" | "cron_jobs" | "replays" | "queues" | "flows" | "endpoints"
  | "deliveries" | "stragglers" | "usage" | "audit" | "project";
/** A project's expunge: readable with its retired keys until 30 days after it ends. */
export interface Expunge {
  project_id: string;
  state: "running" | "completed";
  /** what it deletes now; null once completed */
  phase: ExpungePhase | null;
  deleted: { deliveries: number; cron_jobs: number; cron_runs: number; queues: number; flows: number;
    endpoints: number; replays: number; api_keys: number; other: number };
  started_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}
export interface NewApiKey { key_id: string; api_key: string; created_at: Timestamp; name: string | null; scopes: Scope[]; queues: string[] | null }
export interface RevokedKey { key_id: string; revoked_at: Timestamp }
export interface Health { status: "ok" }

// ---- fan-out: topics, subscriptions, event types (docs/topics.md)
export interface TopicOptions { description?: string | null }
export interface TopicRecord {
  name: string;
  description: string | null;
  /** at most 1,000 */
  subscriptions: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export interface TopicDeleted { deleted: string }
export interface TopicPublishOptions extends TraceOptions {
  delay_seconds?: number;
  idempotency_key?: string;
}
export interface TopicPublishResult {
  /** the publish's id */
  message_id: string;
  topic: string;
  event_type: string;
  /** subscriptions delivered to (one delivery each) */
  matched: number;
  /** `delivery_id` is also the webhook-id it is sent with */
  deliveries: { subscription_id: string; delivery_id: string; state: "queued" | "held" }[];
}
/** An SQS queue or EventBridge bus in your AWS account, delivered to instead of a URL (docs/topics.md) */
export interface Destination {
  type: "sqs" | "eventbridge";
  /** arn:aws:sqs:<region>:<account>:<queue> or arn:aws:events:<region>:<account>:event-bus/<bus> */
  arn: string;
  /** a role to assume for the send (another account's destination) */
  role_arn?: string;
}
export interface SubscriptionUpdate {
  url?: string;
  /** instead of `url` (a subscription has exactly one) */
  destination?: Destination;
  /** the event types delivered; null: every type */
  event_types?: string[] | null;
  /** an EventBridge event pattern on the payload, e.g. { amount: [{ numeric: [">", 100] }] } */
  filter?: JsonObject | null;
  description?: string | null;
  /** extra headers sent with each delivery (credentials stored sealed, shown masked) */
  headers?: Record<string, string> | null;
  auth?: EndpointAuth | null;
  retries?: number;
  retry_schedule?: RetrySchedule;
  timeout_seconds?: number;
  paused?: boolean;
  rate_limit?: RateLimit | null;
  parallelism?: number | null;
  circuit_breaker?: Partial<CircuitBreaker> | null;
}
/** exactly one of `url` and `destination` */
export interface SubscriptionOptions extends SubscriptionUpdate {
  idempotency_key?: string;
}
export interface SubscriptionRecord extends EndpointSettings {
  subscription_id: string;
  topic: string;
  url: string | null;
  destination: Destination | null;
  event_types: string[] | null;
  filter: JsonObject | null;
  description: string | null;
  headers: Record<string, string>;
}
export interface SubscriptionDeleted { deleted: string; cancelled_deliveries: number }
export interface EventTypeOptions {
  description?: string | null;
  /** a JSON Schema subset: type, properties, required, enum, minimum, maximum, items; null removes it */
  schema?: JsonObject | null;
}
export interface EventTypeRecord {
  name: string;
  description: string | null;
  schema: JsonObject | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}
