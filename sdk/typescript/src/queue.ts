/** Queues and their messages: `client.job.queue`. */
import { Api, pick } from "./resource.js";
import type { BatchMessage, BatchResult, IdempotencyOptions, JsonObject, MessageListOptions, MessageRecord, Page, PageOptions, PublishOptions, PublishResult, QueueDeleted, QueueOptions, QueueRecord, TraceOptions } from "./types.js";

/** client.job.queue */
export class QueueApi extends Api {
  publish(queue: string, payload: JsonObject, opts: PublishOptions = {}): Promise<PublishResult> {
    const { idempotency_key, traceparent, tracestate, ...options } = opts;
    const body = pick({ queue, payload, ...options });
    return this.client.call("scheduling.queue.publish", { body, idempotencyKey: idempotency_key, headers: { traceparent, tracestate } });
  }
  /** Up to 100 messages; a bad one is reported in its slot of `results`. */
  publishBatch(messages: BatchMessage[], opts: IdempotencyOptions & TraceOptions = {}): Promise<BatchResult> {
    return this.client.call("scheduling.queue.publish_batch", { body: { messages }, idempotencyKey: opts.idempotency_key,
      headers: { traceparent: opts.traceparent, tracestate: opts.tracestate } });
  }
  /** Create (or change) a queue; with `url` its messages are POSTed there, without it they are held. */
  create(name: string, opts: QueueOptions = {}): Promise<QueueRecord> {
    return this.client.call("scheduling.queue.put", { params: { name }, body: pick(opts) });
  }
  /** Change only what is given; `url: null` detaches the endpoint. */
  update(name: string, opts: QueueOptions): Promise<QueueRecord> {
    return this.client.call("scheduling.queue.put", { params: { name }, body: pick(opts) });
  }
  get(name: string): Promise<QueueRecord> {
    return this.client.call("scheduling.queue.get", { params: { name } });
  }
  list(opts: PageOptions = {}): Promise<Page<QueueRecord>> {
    return this.client.call("scheduling.queue.list", { query: { ...opts } });
  }
  delete(name: string, opts: { force?: boolean } = {}): Promise<QueueDeleted> {
    return this.client.call("scheduling.queue.delete", { params: { name }, query: { force: opts.force ? "true" : undefined } });
  }
  messages(name: string, opts: MessageListOptions = {}): Promise<Page<MessageRecord>> {
    return this.client.call("scheduling.queue.messages", { params: { name }, query: { ...opts } });
  }
  message(messageId: string): Promise<MessageRecord> {
    return this.client.call("scheduling.queue.message", { params: { message_id: messageId } });
  }
  cancel(messageId: string, opts: IdempotencyOptions = {}): Promise<MessageRecord> {
    return this.client.call("scheduling.queue.cancel", { params: { message_id: messageId }, idempotencyKey: opts.idempotency_key });
  }
  retry(messageId: string, opts: IdempotencyOptions = {}): Promise<MessageRecord> {
    return this.client.call("scheduling.queue.retry", { params: { message_id: messageId }, idempotencyKey: opts.idempotency_key });
  }
}
