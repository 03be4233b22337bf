/** Where the project's operational events are POSTed: `client.events`. */
import { Api } from "./resource.js";
import type { EventsConfig, EventsOptions } from "./types.js";

/** client.events: where the project's operational events are POSTed (signed, like webhooks). */
export class EventsApi extends Api {
  set(opts: EventsOptions): Promise<EventsConfig> {
    return this.client.call("scheduling.events.put", { body: { url: opts.url } });
  }
  get(): Promise<EventsConfig> {
    return this.client.call("scheduling.events.get");
  }
  /** No more events (those already made are still delivered). */
  delete(): Promise<EventsConfig> {
    return this.client.call("scheduling.events.delete");
  }
}
