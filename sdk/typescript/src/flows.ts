/** Named flows, one rate limit / parallelism shared by every send that names it: `client.flows`. */
import { Api, pick } from "./resource.js";
import type { FlowDeleted, FlowOptions, FlowRecord, Page, PageOptions } from "./types.js";

/** client.flows: named flows, one rate limit / parallelism shared by every webhook send and
 *  cron job that names it in `flow_key`. */
export class FlowsApi extends Api {
  /** Create the flow or change what is given (null lifts a limit). */
  put(key: string, opts: FlowOptions = {}): Promise<FlowRecord> {
    return this.client.call("scheduling.flows.put", { params: { key }, body: pick(opts) });
  }
  get(key: string): Promise<FlowRecord> {
    return this.client.call("scheduling.flows.get", { params: { key } });
  }
  list(opts: PageOptions = {}): Promise<Page<FlowRecord>> {
    return this.client.call("scheduling.flows.list", { query: { ...opts } });
  }
  delete(key: string): Promise<FlowDeleted> {
    return this.client.call("scheduling.flows.delete", { params: { key } });
  }
}
