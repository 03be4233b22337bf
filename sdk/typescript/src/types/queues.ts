/** Queues, their endpoints' settings, named flows and messages. */
import type { ApiErrorBody, DeliveryState, JsonObject, PageOptions, RetrySchedule, Timestamp, TraceOptions } from "./common.js";
import type { DeliveryRecord } from "./deliveries.js";
import type { CircuitBreaker, EndpointAuth, EndpointSettings, RateLimit } from "./endpoints.js";

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
