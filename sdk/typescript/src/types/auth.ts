/** The project: its keys, limits, usage, settings, audit log and expunge. */
import type { Timestamp } from "./common.js";
import type { SignatureScheme } from "./deliveries.js";

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
