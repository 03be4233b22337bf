/** Cron jobs, their runs and backfills. */
import type { DeliveryState, RetrySchedule, Timestamp } from "./common.js";
import type { CircuitBreaker, EndpointAuth, EndpointAuthRecord } from "./endpoints.js";

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
