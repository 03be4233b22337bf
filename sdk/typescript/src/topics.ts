/** Fan-out: topics, their subscriptions, publishing and declared event types: `client.topics`
 *  (docs/topics.md). A publish is delivered once to each subscription whose `event_types` and
 *  `filter` (an EventBridge event pattern) match, each delivery with its own webhook-id. */
import { Api, pick } from "./resource.js";
import type {
  EventTypeOptions, EventTypeRecord, JsonObject, Page, PageOptions, SubscriptionDeleted, SubscriptionOptions,
  SubscriptionRecord, SubscriptionUpdate, TopicDeleted, TopicOptions, TopicPublishOptions, TopicPublishResult, TopicRecord,
} from "./types.js";

/** client.topics */
export class TopicsApi extends Api {
  /** Create the topic or change its description (null removes it). */
  put(name: string, opts: TopicOptions = {}): Promise<TopicRecord> {
    return this.client.call("scheduling.topics.put", { params: { name }, body: pick(opts) });
  }
  get(name: string): Promise<TopicRecord> {
    return this.client.call("scheduling.topics.get", { params: { name } });
  }
  list(opts: PageOptions = {}): Promise<Page<TopicRecord>> {
    return this.client.call("scheduling.topics.list", { query: { ...opts } });
  }
  /** Refused (409) while the topic has subscriptions. */
  delete(name: string): Promise<TopicDeleted> {
    return this.client.call("scheduling.topics.delete", { params: { name } });
  }
  /** One delivery per matching subscription. */
  publish(name: string, event_type: string, payload: JsonObject, opts: TopicPublishOptions = {}): Promise<TopicPublishResult> {
    const { idempotency_key, traceparent, tracestate, ...options } = opts;
    return this.client.call("scheduling.topics.publish", { params: { name }, body: pick({ event_type, payload, ...options }),
      idempotencyKey: idempotency_key, headers: { traceparent, tracestate } });
  }
  /** Subscribe an HTTP endpoint: `event_types` (absent: all), `filter` (an EventBridge event pattern). */
  subscribe(name: string, opts: SubscriptionOptions): Promise<SubscriptionRecord> {
    const { idempotency_key, ...body } = opts;
    return this.client.call("scheduling.topics.subscribe", { params: { name }, body: pick(body), idempotencyKey: idempotency_key });
  }
  subscriptions(name: string, opts: PageOptions = {}): Promise<Page<SubscriptionRecord>> {
    return this.client.call("scheduling.topics.subscriptions", { params: { name }, query: { ...opts } });
  }
  subscription(subscriptionId: string): Promise<SubscriptionRecord> {
    return this.client.call("scheduling.subscriptions.get", { params: { subscription_id: subscriptionId } });
  }
  /** Change only what is given; null goes back to the default (`event_types: null`: every type). */
  updateSubscription(subscriptionId: string, changes: SubscriptionUpdate): Promise<SubscriptionRecord> {
    return this.client.call("scheduling.subscriptions.update", { params: { subscription_id: subscriptionId }, body: pick(changes) });
  }
  /** Its deliveries not yet made are cancelled. */
  deleteSubscription(subscriptionId: string): Promise<SubscriptionDeleted> {
    return this.client.call("scheduling.subscriptions.delete", { params: { subscription_id: subscriptionId } });
  }
  pauseSubscription(subscriptionId: string): Promise<SubscriptionRecord> {
    return this.client.call("scheduling.subscriptions.pause", { params: { subscription_id: subscriptionId } });
  }
  resumeSubscription(subscriptionId: string): Promise<SubscriptionRecord> {
    return this.client.call("scheduling.subscriptions.resume", { params: { subscription_id: subscriptionId } });
  }
  /** Declare an event type; with a `schema` (a JSON Schema subset) a publish's payload must fit it. */
  putEventType(name: string, opts: EventTypeOptions = {}): Promise<EventTypeRecord> {
    return this.client.call("scheduling.event_types.put", { params: { name }, body: pick(opts) });
  }
  eventType(name: string): Promise<EventTypeRecord> {
    return this.client.call("scheduling.event_types.get", { params: { name } });
  }
  eventTypes(opts: PageOptions = {}): Promise<Page<EventTypeRecord>> {
    return this.client.call("scheduling.event_types.list", { query: { ...opts } });
  }
  deleteEventType(name: string): Promise<TopicDeleted> {
    return this.client.call("scheduling.event_types.delete", { params: { name } });
  }
}
