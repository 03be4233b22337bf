/** Verify webhooks received from infrai (Standard Webhooks v1). `verifyWebhook` is synchronous
 *  and uses node:crypto where the runtime has it (Node, Deno, Bun); `verifyWebhookAsync` uses Web
 *  Crypto and runs anywhere (Cloudflare Workers, Vercel Edge, browsers). Neither loads at import. */
import { WebhookVerificationError } from "./errors.js";
import { fromBase64, nodeBuiltin, toBase64, utf8 } from "./runtime.js";

interface NodeCrypto {
  createHmac(algorithm: string, key: Uint8Array): { update(data: string): { digest(): Uint8Array } };
}

export const TOLERANCE_SECONDS = 5 * 60;

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;
export interface VerifyOptions {
  /** seconds either side of now a timestamp may be (default 300) */
  toleranceSeconds?: number;
  /** the clock, in Unix seconds (tests inject one) */
  now?: () => number;
}

function secretBytes(secret: string): Uint8Array {
  const text = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new WebhookVerificationError("The signing secret is not a 'whsec_<base64>' secret; copy it from "
      + "client.job.webhook.secret().", { code: "webhook_verification_failed" });
  }
  return fromBase64(text.padEnd(Math.ceil(text.length / 4) * 4, "="));
}

function nodeCrypto(): NodeCrypto {
  const found = nodeBuiltin<NodeCrypto>("node:crypto");
  if (!found) {
    throw new WebhookVerificationError("This runtime has no node:crypto for the synchronous verifyWebhook/"
      + "signWebhook; use `await verifyWebhookAsync(...)` (Web Crypto) instead.", { code: "runtime_unsupported" });
  }
  return found;
}

/** Constant-time comparison of two ASCII strings of signatures. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
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
  const mac = nodeCrypto().createHmac("sha256", secretBytes(secret)).update(`${msgId}.${timestamp}.${utf8(body)}`).digest();
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** signWebhook with Web Crypto: for runtimes without node:crypto. */
export async function signWebhookAsync(secret: string, msgId: string, timestamp: number,
                                       body: string | Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) {
    throw new WebhookVerificationError("This runtime has no Web Crypto (crypto.subtle).", { code: "runtime_unsupported" });
  }
  const key = await subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await subtle.sign("HMAC", key, new TextEncoder().encode(`${msgId}.${timestamp}.${utf8(body)}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

function fail(message: string): never {
  throw new WebhookVerificationError(message, { code: "webhook_verification_failed" });
}

/** Check a received webhook's signature and timestamp; returns the parsed JSON body.
 *  `body` must be the raw request body exactly as received. Throws WebhookVerificationError. */
export function verifyWebhook(body: string | Uint8Array, headers: HeaderBag, secret: string,
                              options: VerifyOptions = {}): unknown {
  const { msgId, ts, signatures } = checkHeaders(headers, options);
  return checkSignature(body, signatures, signWebhook(secret, msgId, ts, body));
}

/** verifyWebhook with Web Crypto, for any runtime (Workers, Vercel Edge, Deno, browsers). */
export async function verifyWebhookAsync(body: string | Uint8Array, headers: HeaderBag, secret: string,
                                         options: VerifyOptions = {}): Promise<unknown> {
  const { msgId, ts, signatures } = checkHeaders(headers, options);
  return checkSignature(body, signatures, await signWebhookAsync(secret, msgId, ts, body));
}

function checkHeaders(headers: HeaderBag, options: VerifyOptions): { msgId: string; ts: number; signatures: string } {
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
  return { msgId: msgId!, ts, signatures: signatures! };
}

function checkSignature(body: string | Uint8Array, signatures: string, expectedSignature: string): unknown {
  const expected = expectedSignature.slice(3);
  const ok = signatures.split(" ").some((candidate) => {
    const [version, value] = [candidate.slice(0, candidate.indexOf(",")), candidate.slice(candidate.indexOf(",") + 1)];
    return version === "v1" && sameText(value, expected);
  });
  if (!ok) {
    fail("No matching signature: the body was changed, or it was signed with another secret (after a rotation "
      + "use the new secret; verify the raw body, not re-encoded JSON).");
  }
  const text = utf8(body);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
