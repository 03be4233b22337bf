/** Target endpoints that have failed, with their circuit breakers: `client.endpoints`. */
import { Api } from "./resource.js";
import type { EndpointRecord, IdempotencyOptions, Page, PageOptions } from "./types.js";

/** client.endpoints: target endpoints that have failed, with their circuit breakers. */
export class EndpointsApi extends Api {
  list(opts: PageOptions = {}): Promise<Page<EndpointRecord>> {
    return this.client.call("scheduling.endpoints.list", { query: { ...opts } });
  }
  /** Close its breaker by hand; what it held goes, in publish order. */
  release(endpointId: string, opts: IdempotencyOptions = {}): Promise<EndpointRecord> {
    return this.client.call("scheduling.endpoints.release", { params: { endpoint_id: endpointId }, idempotencyKey: opts.idempotency_key });
  }
}
