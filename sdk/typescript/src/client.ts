/** InfraiClient: `client.job.cron`, `client.job.queue`, `client.job.webhook`, `client.flows`, `client.auth`.
 *  Global fetch, no runtime dependencies, no Node built-in imported at load (see runtime.ts). */
import { ConnectionFailed, InfraiError, MissingApiKey, errorClassFor } from "./errors.js";
import { PUBLIC_OPERATIONS, ROUTES, type OperationId } from "./routes.js";
import { env, nodeBuiltin, randomUUID } from "./runtime.js";
import type {
  Activation, BackfillOptions, BackfillResult, BatchMessage, BatchResult, CronDeleted, CronOptions, CronRecord, CronRun, CronUpdate,
  DeliveryFilters, DeliveryRecord, DeliveryState, DeliverySummary, EndpointRecord, EventsConfig, EventsOptions, FlowDeleted, FlowOptions, FlowRecord, Health, IdempotencyOptions, JsonObject, Me,
  MessageListOptions, MessageRecord, NewApiKey, Page, Replay,
  PageOptions, PublishOptions, PublishResult, QueueDeleted, QueueOptions, QueueRecord, RevokedKey,
  RotatedSecret, WebhookOptions, WebhookSecret,
} from "./types.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";
export const VERSION = "0.1.0";
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

export const HOW_TO_GET_A_KEY = "No infrai API key found. Get one with `python -c \"from infrai import infra; "
  + "infra.activate()\"` (saves it in ~/.infrai/credentials) or client.auth.activate(), or set "
  + "INFRAI_API_KEY=ifr_pk_proj_… (or pass new InfraiClient({ apiKey })).";

export interface ClientOptions {
  /** default: INFRAI_API_KEY, then ~/.infrai/credentials (read where the runtime has node:fs) */
  apiKey?: string;
  /** default: INFRAI_BASE_URL, then ~/.infrai/credentials, then http://127.0.0.1:8000 */
  baseUrl?: string;
  /** retries of connection errors, 429 and 5xx (default 3) */
  maxRetries?: number;
  /** per-request timeout (default 30 s) */
  timeoutMs?: number;
  /** longest Retry-After waited for; longer ones raise at once (default 60 s) */
  maxRetryAfterMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** path of the credentials file (default ~/.infrai/credentials where the runtime has node:fs and
   *  node:os; none elsewhere); null to not read one */
  credentialsFile?: string | null;
}

interface CallOptions {
  params?: Record<string, string>;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  idempotencyKey?: string;
}

function defaultCredentialsPath(): string | null {
  const fromEnv = env("INFRAI_CREDENTIALS_FILE");
  if (fromEnv) return fromEnv;
  const os = nodeBuiltin<{ homedir(): string }>("node:os");
  const path = nodeBuiltin<{ join(...parts: string[]): string }>("node:path");
  return os && path ? path.join(os.homedir(), ".infrai", "credentials") : null;
}

function readCredentials(path: string | null): Record<string, string> {
  const fs = nodeBuiltin<{ readFileSync(path: string, encoding: "utf8"): string }>("node:fs");
  if (!path || !fs) return {};
  try {
    const data = JSON.parse(fs.readFileSync(path, "utf8"));
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

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

export class InfraiClient {
  readonly baseUrl: string;
  readonly job: { cron: CronApi; queue: QueueApi; webhook: WebhookApi };
  readonly deliveries: DeliveriesApi;
  readonly flows: FlowsApi;
  readonly endpoints: EndpointsApi;
  readonly events: EventsApi;
  readonly auth: AuthApi;
  #apiKey: string | undefined;
  #maxRetries: number;
  #timeoutMs: number;
  #maxRetryAfterMs: number;
  #fetch: typeof fetch;
  #sleep: (ms: number) => Promise<void>;

  constructor(options: ClientOptions = {}) {
    const credentialsPath = options.credentialsFile === undefined
      ? defaultCredentialsPath()
      : options.credentialsFile;
    let creds: Record<string, string> | undefined;
    const file = () => (creds ??= readCredentials(credentialsPath));
    this.#apiKey = options.apiKey || env("INFRAI_API_KEY") || file().api_key || undefined;
    this.baseUrl = (options.baseUrl || env("INFRAI_BASE_URL") || file().base_url || DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.#maxRetries = options.maxRetries ?? 3;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.job = { cron: new CronApi(this), queue: new QueueApi(this), webhook: new WebhookApi(this) };
    this.deliveries = new DeliveriesApi(this);
    this.flows = new FlowsApi(this);
    this.endpoints = new EndpointsApi(this);
    this.events = new EventsApi(this);
    this.auth = new AuthApi(this);
  }

  get apiKey(): string | undefined {
    return this.#apiKey;
  }

  /** @internal used by activate() */
  useKey(apiKey: string): void {
    this.#apiKey = apiKey;
  }

  health(): Promise<Health> {
    return this.call("health.get");
  }

  openapi(): Promise<JsonObject> {
    return this.call("openapi.get");
  }

  /** One operation of ROUTES, retried on connection errors, 429 and 5xx with the same idempotency key. */
  async call<T>(operation: OperationId, opts: CallOptions = {}): Promise<T> {
    const { method, path: template } = ROUTES[operation];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = opts.params?.[name];
      if (value === undefined) throw new InfraiError(`${operation}: missing path parameter ${name}`);
      return encodeURIComponent(value);
    });
    let url: URL;
    try {
      url = new URL(this.baseUrl + path);
    } catch {
      throw new InfraiError(`The base URL '${this.baseUrl}' is not a URL; set INFRAI_BASE_URL (or baseUrl) to `
        + `your API's address, e.g. ${DEFAULT_BASE_URL} for the local stack.`, { code: "invalid_base_url" });
    }
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { Accept: "application/json", "User-Agent": `infrai-typescript/${VERSION}` };
    if (!PUBLIC_OPERATIONS.has(operation)) {
      if (!this.#apiKey) throw new MissingApiKey(HOW_TO_GET_A_KEY, { code: "missing_api_key" });
      headers.Authorization = `Bearer ${this.#apiKey}`;
    }
    if (method === "POST") headers["Idempotency-Key"] = opts.idempotencyKey ?? `idem_${randomUUID().replace(/-/g, "")}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    for (let attempt = 0; ; attempt++) {
      let resp: Response;
      try {
        resp = await this.#fetch(url, { method, headers, body, redirect: "manual",
                                         signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (cause) {
        if (attempt < this.#maxRetries) {
          await this.#sleep(this.#backoff(attempt));
          continue;
        }
        throw new ConnectionFailed(`${operation}: could not reach the infrai API at ${url.origin}: `
          + `${describeFetchFailure(cause, this.#timeoutMs)} (after ${attempt + 1} attempts). ${howToReach(url)}`,
        { code: "connection_failed", cause });
      }
      const text = await resp.text();
      if (resp.status < 400) return parseSuccess<T>(operation, url, resp.status, text);
      // no header (an older server): a 429's body says when its limit resets
      const retryAfter = parseRetryAfter(resp.headers.get("retry-after")) ?? (resp.status === 429 ? resetsIn(text) : null);
      if (RETRY_STATUSES.has(resp.status) && attempt < this.#maxRetries
          && (retryAfter === null || retryAfter * 1000 <= this.#maxRetryAfterMs)) {
        await this.#sleep(retryAfter !== null ? retryAfter * 1000 : this.#backoff(attempt));
        continue;
      }
      throw toError(resp.status, text, retryAfter);
    }
  }

  #backoff(attempt: number): number {
    const cap = Math.min(8000, 500 * 2 ** attempt);
    return cap / 2 + Math.random() * (cap / 2);
  }
}

/** What went wrong under fetch's "TypeError: fetch failed": the reason is in its `cause`. */
function describeFetchFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs / 1000} s (timeoutMs)`;
  const code = e?.cause?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused: nothing listens there",
    ENOTFOUND: "the host name does not resolve",
    EAI_AGAIN: "the host name could not be resolved (DNS)",
    ECONNRESET: "the connection was reset",
    ETIMEDOUT: "the connection timed out",
    CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
  };
  if (code) return `${reasons[code] ?? "network error"} (${code})`;
  return e?.cause?.message ?? e?.message ?? String(error);
}

function howToReach(url: URL): string {
  const local = url.hostname === "127.0.0.1" || url.hostname === "localhost";
  return local
    ? "Start the local stack with `make run` (it listens on http://127.0.0.1:8000), or set INFRAI_BASE_URL to your deployed API's URL."
    : "Check INFRAI_BASE_URL (or baseUrl): it should be your deployed API's URL, e.g. the one `make deploy` printed.";
}

function parseSuccess<T>(operation: string, url: URL, status: number, text: string): T {
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new InfraiError(`${operation}: ${url.origin} answered ${status} with something that is not JSON `
      + `(${JSON.stringify(text.slice(0, 80))}); is INFRAI_BASE_URL the infrai API?`,
    { status, code: "invalid_response", body: text, cause });
  }
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}

function resetsIn(text: string): number | null {
  try {
    const at = Date.parse(JSON.parse(text)?.error?.resets_at);
    return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
  } catch {
    return null;
  }
}

function toError(status: number, text: string, retryAfter: number | null): InfraiError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON */ }
  const err = (body as { error?: { code?: string; message?: string; field?: string } })?.error;
  const Cls = errorClassFor(status);
  if (err && typeof err === "object") {
    return new Cls(err.message ?? "", { status, code: err.code, field: err.field ?? null, body, retryAfter });
  }
  const message = (body as { message?: string })?.message ?? (text.slice(0, 300) || `HTTP ${status}`);
  return new Cls(message, { status, code: `http_${status}`, body, retryAfter });
}

function pick<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

abstract class Api {
  constructor(protected readonly client: InfraiClient) {}
}

/** client.job.cron */
export class CronApi extends Api {
  /** A job that POSTs to `url` (or publishes into `queue`) on `schedule`. */
  create(opts: CronOptions): Promise<CronRecord> {
    const { idempotency_key, ...fields } = opts;
    const target = fields.url ?? fields.queue ?? "";
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
  trigger(cronId: string, opts: IdempotencyOptions = {}): Promise<CronRun> {
    return this.client.call("scheduling.cron.trigger", { params: { cron_id: cronId }, idempotencyKey: opts.idempotency_key });
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

/** client.job.queue */
export class QueueApi extends Api {
  publish(queue: string, payload: JsonObject, opts: PublishOptions = {}): Promise<PublishResult> {
    const { idempotency_key, ...options } = opts;
    const body = pick({ queue, payload, ...options });
    return this.client.call("scheduling.queue.publish", { body, idempotencyKey: idempotency_key });
  }
  /** Up to 100 messages; a bad one is reported in its slot of `results`. */
  publishBatch(messages: BatchMessage[], opts: IdempotencyOptions = {}): Promise<BatchResult> {
    return this.client.call("scheduling.queue.publish_batch", { body: { messages }, idempotencyKey: opts.idempotency_key });
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

/** client.job.webhook */
export class WebhookApi extends Api {
  send(url: string, payload: JsonObject, opts: WebhookOptions = {}): Promise<DeliveryRecord> {
    const { idempotency_key, ...options } = opts;
    return this.client.call("scheduling.webhook.send", { body: pick({ url, payload, ...options }), idempotencyKey: idempotency_key });
  }
  get(deliveryId: string): Promise<DeliveryRecord> {
    return this.client.call("scheduling.webhook.get", { params: { delivery_id: deliveryId } });
  }
  list(opts: PageOptions & { state?: DeliveryState } = {}): Promise<Page<DeliveryRecord>> {
    return this.client.call("scheduling.webhook.list", { query: { ...opts } });
  }
  retry(deliveryId: string, opts: IdempotencyOptions = {}): Promise<DeliveryRecord> {
    return this.client.call("scheduling.webhook.retry", { params: { delivery_id: deliveryId }, idempotencyKey: opts.idempotency_key });
  }
  /** `{ secret: "whsec_…" }`: what receivers verify signatures with. */
  secret(): Promise<WebhookSecret> {
    return this.client.call("scheduling.webhook.secret");
  }
  /** A new secret; for 24 h deliveries carry both signatures. */
  rotateSecret(opts: IdempotencyOptions = {}): Promise<RotatedSecret> {
    return this.client.call("scheduling.webhook.rotate_secret", { idempotencyKey: opts.idempotency_key });
  }
}

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

/** client.auth */
export class AuthApi extends Api {
  /** A new anonymous trial project (on the local stack: the stack's own project); this client
   *  uses its key from now on. */
  async activate(): Promise<Activation> {
    const result = await this.client.call<Activation>("auth.activate", { body: {} });
    this.client.useKey(result.api_key);
    return result;
  }
  me(): Promise<Me> {
    return this.client.call("auth.me");
  }
  createKey(opts: IdempotencyOptions = {}): Promise<NewApiKey> {
    return this.client.call("auth.keys.create", { body: {}, idempotencyKey: opts.idempotency_key });
  }
  revokeKey(keyId: string): Promise<RevokedKey> {
    return this.client.call("auth.keys.revoke", { params: { key_id: keyId } });
  }
}
