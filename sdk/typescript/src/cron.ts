/** Cron jobs: `client.job.cron`. */
import { Api, pick } from "./resource.js";
import type { BackfillOptions, BackfillResult, CronDeleted, CronOptions, CronRecord, CronRun, CronUpdate, IdempotencyOptions, Page, PageOptions, TraceOptions } from "./types.js";

export function defaultName(task: string): string {
  if (/^https?:\/\//i.test(task)) {
    try {
      const u = new URL(task);
      return (u.host + u.pathname).replace(/\/+$/, "").slice(0, 128) || task.slice(0, 128);
    } catch {
      return task.slice(0, 128);
    }
  }
  return task.slice(0, 128);
}

/** client.job.cron */
export class CronApi extends Api {
  /** A job that POSTs to `url` (or publishes into `queue`, or to `topic` as `event_type`) on `schedule`. */
  create(opts: CronOptions): Promise<CronRecord> {
    const { idempotency_key, ...fields } = opts;
    const target = fields.url ?? fields.queue ?? fields.topic ?? "";
    const body = pick({ ...fields, name: fields.name ?? defaultName(target) });
    return this.client.call("scheduling.cron.create", { body, idempotencyKey: idempotency_key });
  }
  list(opts: PageOptions = {}): Promise<Page<CronRecord>> {
    return this.client.call("scheduling.cron.list", { query: { ...opts } });
  }
  get(cronId: string): Promise<CronRecord> {
    return this.client.call("scheduling.cron.get", { params: { cron_id: cronId } });
  }
  update(cronId: string, changes: CronUpdate): Promise<CronRecord> {
    return this.client.call("scheduling.cron.update", { params: { cron_id: cronId }, body: pick(changes) });
  }
  delete(cronId: string): Promise<CronDeleted> {
    return this.client.call("scheduling.cron.delete", { params: { cron_id: cronId } });
  }
  pause(cronId: string, opts: IdempotencyOptions = {}): Promise<CronRecord> {
    return this.client.call("scheduling.cron.pause", { params: { cron_id: cronId }, idempotencyKey: opts.idempotency_key });
  }
  resume(cronId: string, opts: IdempotencyOptions = {}): Promise<CronRecord> {
    return this.client.call("scheduling.cron.resume", { params: { cron_id: cronId }, idempotencyKey: opts.idempotency_key });
  }
  /** Run once now (also when paused). */
  trigger(cronId: string, opts: IdempotencyOptions & TraceOptions = {}): Promise<CronRun> {
    return this.client.call("scheduling.cron.trigger", { params: { cron_id: cronId }, idempotencyKey: opts.idempotency_key,
      headers: { traceparent: opts.traceparent, tracestate: opts.tracestate } });
  }
  /** Fire the scheduled runs of a past window, each once: runs that exist already are counted, not fired again. */
  backfill(cronId: string, opts: BackfillOptions): Promise<BackfillResult> {
    const { idempotency_key, ...window } = opts;
    return this.client.call("scheduling.cron.backfill", { params: { cron_id: cronId }, body: window, idempotencyKey: idempotency_key });
  }
  runs(cronId: string, opts: PageOptions = {}): Promise<Page<CronRun>> {
    return this.client.call("scheduling.cron.runs", { params: { cron_id: cronId }, query: { ...opts } });
  }
}
