/** Outbound webhooks and the secret that signs them: `client.job.webhook` (verifying them: webhooks.ts). */
import { Api, pick } from "./resource.js";
import type { DeliveryRecord, DeliveryState, IdempotencyOptions, JsonObject, Page, PageOptions, PublicKeys, RotatedPublicKey, RotatedSecret, WebhookOptions, WebhookSecret } from "./types.js";

/** client.job.webhook */
export class WebhookApi extends Api {
  send(url: string, payload: JsonObject, opts: WebhookOptions = {}): Promise<DeliveryRecord> {
    const { idempotency_key, traceparent, tracestate, ...options } = opts;
    return this.client.call("scheduling.webhook.send", { body: pick({ url, payload, ...options }), idempotencyKey: idempotency_key,
      headers: { traceparent, tracestate } });
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
  /** Cancel a delivery not yet attempted (a delayed send, one held or waiting); a ConflictError once an attempt was made or it has ended. */
  cancel(deliveryId: string, opts: IdempotencyOptions = {}): Promise<DeliveryRecord> {
    return this.client.call("scheduling.webhook.cancel", { params: { delivery_id: deliveryId }, idempotencyKey: opts.idempotency_key });
  }
  /** `{ secret: "whsec_…" }`: what receivers verify signatures with. */
  secret(): Promise<WebhookSecret> {
    return this.client.call("scheduling.webhook.secret");
  }
  /** A new secret; for 24 h deliveries carry both signatures. */
  rotateSecret(opts: IdempotencyOptions = {}): Promise<RotatedSecret> {
    return this.client.call("scheduling.webhook.rotate_secret", { idempotencyKey: opts.idempotency_key });
  }
  /** `{ keys: [{ key_id, public_key: "whpk_…", created_at, expires_at }] }`: what receivers verify
   *  v1a signatures with, newest first (empty until v1a is on: `auth.updateProject({ signatures: ["v1", "v1a"] })`). */
  publicKeys(): Promise<PublicKeys> {
    return this.client.call("scheduling.webhook.public_keys");
  }
  /** A new v1a key pair; for 24 h deliveries carry both keys' signatures. */
  rotatePublicKey(opts: IdempotencyOptions = {}): Promise<RotatedPublicKey> {
    return this.client.call("scheduling.webhook.rotate_public_key", { idempotencyKey: opts.idempotency_key });
  }
}
