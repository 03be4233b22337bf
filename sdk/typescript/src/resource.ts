/** What every resource class (client.job.cron, client.flows, …) shares: what it calls through. */
import type { CallOptions } from "./connection.js";
import type { OperationId } from "./routes.js";

/** What a resource calls: a Connection (or the InfraiClient, which has the same `call`). */
export interface Caller {
  call<T>(operation: OperationId, opts?: CallOptions): Promise<T>;
}

export abstract class Api<C extends Caller = Caller> {
  constructor(protected readonly client: C) {}
}

/** The fields that are given: `undefined` is left out of the body, `null` is sent (it clears). */
export function pick<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
