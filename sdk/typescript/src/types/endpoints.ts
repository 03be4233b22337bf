/** What every endpoint is given and shows: its limits, breaker, credentials and settings (shared by
 * webhook sends, cron jobs, queues and subscriptions). */
import type { RetrySchedule, Timestamp } from "./common.js";

export interface RateLimit { count: number; period_seconds: number }
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
