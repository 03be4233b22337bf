/** Operational events (client.events) and callbacks. */
import type { JsonObject, Timestamp } from "./common.js";
import type { Attempt, DeliveryKind } from "./deliveries.js";

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
