/** Every error the SDK throws is an InfraiError; API errors carry the server's status, code,
 *  message and field unchanged. */
export class InfraiError extends Error {
  readonly status: number | null;
  readonly code: string;
  readonly field: string | null;
  readonly body: unknown;
  readonly retryAfter: number | null;

  constructor(message: string, opts: { status?: number | null; code?: string; field?: string | null;
                                         body?: unknown; retryAfter?: number | null; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    this.status = opts.status ?? null;
    this.code = opts.code ?? "error";
    this.field = opts.field ?? null;
    this.body = opts.body;
    this.retryAfter = opts.retryAfter ?? null;
  }
}
export class BadRequest extends InfraiError {}
export class Unauthorized extends InfraiError {}
export class MissingApiKey extends Unauthorized {}
export class Forbidden extends InfraiError {}
export class NotFound extends InfraiError {}
export class Conflict extends InfraiError {}
export class PayloadTooLarge extends InfraiError {}
export class IdempotencyKeyReused extends InfraiError {}
export class RateLimited extends InfraiError {}
export class ServerError extends InfraiError {}
export class ConnectionFailed extends InfraiError {}
export class WebhookVerificationError extends InfraiError {}

const BY_STATUS: Record<number, typeof InfraiError> = {
  400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
  413: PayloadTooLarge, 422: IdempotencyKeyReused, 429: RateLimited,
};

export function errorClassFor(status: number): typeof InfraiError {
  return status >= 500 ? ServerError : (BY_STATUS[status] ?? InfraiError);
}
