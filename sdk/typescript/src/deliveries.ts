/** Every delivery of the project, whatever made it, and bulk replays: `client.deliveries`. */
import { Api, pick } from "./resource.js";
import type { DeliveryFilters, DeliverySummary, Page, PageOptions, Replay } from "./types.js";

/** client.deliveries: every delivery of the project (webhook sends, queue messages, cron runs). */
export class DeliveriesApi extends Api {
  list(opts: PageOptions & DeliveryFilters = {}): Promise<Page<DeliverySummary>> {
    return this.client.call("scheduling.deliveries.list", { query: { ...opts } });
  }
  /** Replay every failed delivery matching the filters, as a background job. */
  replay(filters: DeliveryFilters & { idempotency_key?: string } = {}): Promise<Replay> {
    const { idempotency_key, ...body } = filters;
    return this.client.call("scheduling.deliveries.replay", { body: pick(body), idempotencyKey: idempotency_key });
  }
  replayStatus(replayId: string): Promise<Replay> {
    return this.client.call("scheduling.replays.get", { params: { replay_id: replayId } });
  }
}
