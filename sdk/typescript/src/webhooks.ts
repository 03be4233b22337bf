/** Verify webhooks received from infrai (Standard Webhooks v1) with node:crypto. */
import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookVerificationError } from "./errors.js";

export const TOLERANCE_SECONDS = 5 * 60;

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;
export interface VerifyOptions {
  /** seconds either side of now a timestamp may be (default 300) */
  toleranceSeconds?: number;
  /** the clock, in Unix seconds (tests inject one) */
  now?: () => number;
}

function secretBytes(secret: string): Buffer {
  const text = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new WebhookVerificationError("The signing secret is not a 'whsec_<base64>' secret; copy it from "
      + "client.job.webhook.secret().", { code: "webhook_verification_failed" });
  }
  return Buffer.from(text, "base64");
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") {
    return (headers as Headers).get(name) ?? (headers as Headers).get(name.replace("webhook-", "svix-")) ?? undefined;
  }
  const bag = headers as Record<string, string | string[] | undefined>;
  for (const wanted of [name, name.replace("webhook-", "svix-")]) {
    for (const key of Object.keys(bag)) {
      if (key.toLowerCase() === wanted) {
        const v = bag[key];
        return Array.isArray(v) ? v.join(" ") : v;
      }
    }
  }
  return undefined;
}

/** `v1,<base64>` for one message: what the sender puts in `webhook-signature`. */
export function signWebhook(secret: string, msgId: string, timestamp: number, body: string | Uint8Array): string {
  const content = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  const mac = createHmac("sha256", secretBytes(secret)).update(`${msgId}.${timestamp}.${content}`).digest("base64");
  return `v1,${mac}`;
}

function fail(message: string): never {
  throw new WebhookVerificationError(message, { code: "webhook_verification_failed" });
}

/** Check a received webhook's signature and timestamp; returns the parsed JSON body.
 *  `body` must be the raw request body exactly as received. Throws WebhookVerificationError. */
export function verifyWebhook(body: string | Uint8Array, headers: HeaderBag, secret: string,
                              options: VerifyOptions = {}): unknown {
  const msgId = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  const missing = ([["webhook-id", msgId], ["webhook-timestamp", timestamp], ["webhook-signature", signatures]] as const)
    .filter(([, v]) => !v).map(([n]) => n);
  if (missing.length) {
    fail(`Missing header(s): ${missing.join(", ")}; this request was not signed by infrai (or a proxy dropped the headers).`);
  }
  if (!/^-?\d+$/.test(timestamp!)) fail(`webhook-timestamp '${timestamp}' is not a Unix time in seconds.`);
  const ts = Number(timestamp);
  const tolerance = options.toleranceSeconds ?? TOLERANCE_SECONDS;
  const now = options.now ? options.now() : Date.now() / 1000;
  if (ts < now - tolerance) {
    fail(`Message timestamp too old: ${Math.floor(now - ts)} s ago, more than the ${tolerance} s tolerance (a replay, or this server's clock is wrong).`);
  }
  if (ts > now + tolerance) {
    fail(`Message timestamp too new: ${Math.floor(ts - now)} s in the future, more than the ${tolerance} s tolerance (check this server's clock).`);
  }
  const expected = Buffer.from(signWebhook(secret, msgId!, ts, body).slice(3));
  const ok = signatures!.split(" ").some((candidate) => {
    const [version, value] = [candidate.slice(0, candidate.indexOf(",")), candidate.slice(candidate.indexOf(",") + 1)];
    const got = Buffer.from(value);
    return version === "v1" && got.length === expected.length && timingSafeEqual(got, expected);
  });
  if (!ok) {
    fail("No matching signature: the body was changed, or it was signed with another secret (after a rotation "
      + "use the new secret; verify the raw body, not re-encoded JSON).");
  }
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
