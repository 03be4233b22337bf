/** Fan-out: topics, subscriptions and event types (docs/topics.md). */
import type { JsonObject, RetrySchedule, Timestamp, TraceOptions } from "./common.js";
import type { CircuitBreaker, EndpointAuth, EndpointSettings, RateLimit } from "./endpoints.js";

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
