/** A project's connection to the API: its key and base URL (options, then the environment and the
 *  credentials file: credentials.ts), and one call = one operation of ROUTES over global fetch,
 *  retried on connection errors, 429 and 5xx. Every resource (cron.ts, queue.ts, …) calls through it. */
import { defaultCredentialsPath, readCredentials } from "./credentials.js";
import { ConnectionFailed, InfraiError, MissingApiKey, errorClassFor } from "./errors.js";
import { PUBLIC_OPERATIONS, ROUTES, type OperationId } from "./routes.js";
import { env, randomUUID } from "./runtime.js";

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

export interface CallOptions {
  params?: Record<string, string>;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  idempotencyKey?: string;
  /** the operation's own header parameters (traceparent, tracestate); undefined ones are left out */
  headers?: Record<string, string | undefined>;
}

export class Connection {
  readonly baseUrl: string;
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
  }

  get apiKey(): string | undefined {
    return this.#apiKey;
  }

  useKey(apiKey: string): void {
    this.#apiKey = apiKey;
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
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = v;
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
