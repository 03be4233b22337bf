/** InfraiClient: `client.job.cron`, `client.job.queue`, `client.job.webhook`, `client.deliveries`,
 *  `client.flows`, `client.endpoints`, `client.events`, `client.topics`, `client.auth`: one resource a file (cron.ts,
 *  queue.ts, …) over one Connection (connection.ts). Global fetch, no runtime dependencies, no Node
 *  built-in imported at load (see runtime.ts). */
import { AuthApi } from "./auth.js";
import { Connection, type CallOptions, type ClientOptions } from "./connection.js";
import { CronApi } from "./cron.js";
import { DeliveriesApi } from "./deliveries.js";
import { EndpointsApi } from "./endpoints.js";
import { EventsApi } from "./events.js";
import { FlowsApi } from "./flows.js";
import { QueueApi } from "./queue.js";
import { TopicsApi } from "./topics.js";
import type { OperationId } from "./routes.js";
import type { Health, JsonObject } from "./types.js";
import { WebhookApi } from "./webhook.js";

export class InfraiClient {
  readonly baseUrl: string;
  readonly job: { cron: CronApi; queue: QueueApi; webhook: WebhookApi };
  readonly deliveries: DeliveriesApi;
  readonly flows: FlowsApi;
  readonly endpoints: EndpointsApi;
  readonly events: EventsApi;
  readonly topics: TopicsApi;
  readonly auth: AuthApi;
  #connection: Connection;

  constructor(options: ClientOptions = {}) {
    const connection = this.#connection = new Connection(options);
    this.baseUrl = connection.baseUrl;
    this.job = { cron: new CronApi(connection), queue: new QueueApi(connection), webhook: new WebhookApi(connection) };
    this.deliveries = new DeliveriesApi(connection);
    this.flows = new FlowsApi(connection);
    this.endpoints = new EndpointsApi(connection);
    this.events = new EventsApi(connection);
    this.topics = new TopicsApi(connection);
    this.auth = new AuthApi(connection);
  }

  get apiKey(): string | undefined {
    return this.#connection.apiKey;
  }

  /** @internal used by activate() */
  useKey(apiKey: string): void {
    this.#connection.useKey(apiKey);
  }

  health(): Promise<Health> {
    return this.call("health.get");
  }

  openapi(): Promise<JsonObject> {
    return this.call("openapi.get");
  }

  /** One operation of ROUTES, retried on connection errors, 429 and 5xx with the same idempotency key. */
  call<T>(operation: OperationId, opts: CallOptions = {}): Promise<T> {
    return this.#connection.call(operation, opts);
  }
}
