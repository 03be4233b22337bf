/** Verify webhooks received from infrai (Standard Webhooks): v1 (HMAC-SHA256) with the project's
 *  `whsec_` secret, v1a (Ed25519) with one of its `whpk_` public keys. `verifyWebhook` is
 *  synchronous and uses node:crypto where the runtime has it (Node, Deno, Bun); `verifyWebhookAsync`
 *  uses Web Crypto and runs anywhere (Cloudflare Workers, Vercel Edge, browsers; v1a needs Web
 *  Crypto's Ed25519). Neither loads at import. */
import { WebhookVerificationError } from "./errors.js";
import { fromBase64, nodeBuiltin, toBase64, utf8 } from "./runtime.js";

interface NodeCrypto {
  createHmac(algorithm: string, key: Uint8Array): { update(data: string): { digest(): Uint8Array } };
  createPublicKey(key: { key: { kty: string; crv: string; x: string }; format: "jwk" }): unknown;
  verify(algorithm: null, data: Uint8Array, key: unknown, signature: Uint8Array): boolean;
}

/** A whsec_ secret (v1), or a whpk_ public key (v1a); several during a rotation, any may verify. */
export type VerifyKey = string | string[];

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

function publicKeyBytes(key: string): Uint8Array {
  const text = key.slice(5);
  const raw = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? fromBase64(text.padEnd(Math.ceil(text.length / 4) * 4, "=")) : new Uint8Array();
  if (raw.length !== 32) {
    throw new WebhookVerificationError("The public key is not a 'whpk_<base64 of 32 bytes>' key; copy it from "
      + "client.job.webhook.publicKeys().", { code: "webhook_verification_failed" });
  }
  return raw;
}

/** The v1a signatures of a header, decoded (malformed ones left out). */
function v1aSignatures(signatures: string): Uint8Array[] {
  return signatures.split(" ").filter((c) => c.startsWith("v1a,")).map((c) => c.slice(4))
    .filter((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v)).map((v) => fromBase64(v.padEnd(Math.ceil(v.length / 4) * 4, "=")));
}

function signedContent(msgId: string, ts: number, body: string | Uint8Array): Uint8Array {
  return new TextEncoder().encode(`${msgId}.${ts}.${utf8(body)}`);
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
 *  `secret`: the whsec_ secret (checks v1), a whpk_ public key (checks v1a), or a list of them.
 *  `body` must be the raw request body exactly as received. Throws WebhookVerificationError. */
export function verifyWebhook(body: string | Uint8Array, headers: HeaderBag, secret: VerifyKey,
                              options: VerifyOptions = {}): unknown {
  const { msgId, ts, signatures } = checkHeaders(headers, options);
  const keys = checkKeys(secret);
  const ok = keys.some((key) => {
    if (!key.startsWith("whpk_")) return v1Matches(signatures, signWebhook(key, msgId, ts, body));
    const crypto = nodeCrypto();
    const x = toBase64(publicKeyBytes(key)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const publicKey = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    const content = signedContent(msgId, ts, body);
    return v1aSignatures(signatures).some((sig) => crypto.verify(null, content, publicKey, sig));
  });
  return checkSignature(body, signatures, keys, ok);
}

/** verifyWebhook with Web Crypto, for any runtime (Workers, Vercel Edge, Deno, browsers). */
export async function verifyWebhookAsync(body: string | Uint8Array, headers: HeaderBag, secret: VerifyKey,
                                         options: VerifyOptions = {}): Promise<unknown> {
  const { msgId, ts, signatures } = checkHeaders(headers, options);
  const keys = checkKeys(secret);
  let ok = false;
  for (const key of keys) {
    ok ||= key.startsWith("whpk_") ? await v1aMatchesAsync(key, signatures, signedContent(msgId, ts, body))
      : v1Matches(signatures, await signWebhookAsync(key, msgId, ts, body));
  }
  return checkSignature(body, signatures, keys, ok);
}

async function v1aMatchesAsync(key: string, signatures: string, content: Uint8Array): Promise<boolean> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) {
    throw new WebhookVerificationError("This runtime has no Web Crypto (crypto.subtle).", { code: "runtime_unsupported" });
  }
  let publicKey: CryptoKey;
  try {
    publicKey = await subtle.importKey("raw", publicKeyBytes(key), { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    if (e instanceof WebhookVerificationError) throw e;
    throw new WebhookVerificationError("This runtime's Web Crypto has no Ed25519 for v1a; use the synchronous "
      + "verifyWebhook (node:crypto) or verify with the whsec_ secret.", { code: "runtime_unsupported" });
  }
  for (const sig of v1aSignatures(signatures)) {
    if (await subtle.verify({ name: "Ed25519" }, publicKey, sig, content)) return true;
  }
  return false;
}

function checkKeys(secret: VerifyKey): string[] {
  const keys = typeof secret === "string" ? [secret] : [...secret];
  if (!keys.length) fail("No secret or public key to verify with: pass the whsec_ secret or a whpk_ key.");
  return keys;
}

function v1Matches(signatures: string, expectedSignature: string): boolean {
  const expected = expectedSignature.slice(3);
  return signatures.split(" ").some((candidate) => {
    const [version, value] = [candidate.slice(0, candidate.indexOf(",")), candidate.slice(candidate.indexOf(",") + 1)];
    return version === "v1" && sameText(value, expected);
  });
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

function checkSignature(body: string | Uint8Array, signatures: string, keys: string[], ok: boolean): unknown {
  if (!ok) {
    const schemes = new Set(signatures.split(" ").map((c) => c.split(",")[0]));
    const anyPublic = keys.some((k) => k.startsWith("whpk_"));
    if (anyPublic && !schemes.has("v1a")) {
      fail("No v1a signature to check the public key against: this project signs with v1 only; turn v1a on "
        + "(client.auth.updateProject({ signatures: [\"v1\", \"v1a\"] })) or verify with the whsec_ secret.");
    }
    if (!anyPublic && !schemes.has("v1")) {
      fail("No v1 signature to check the secret against: this project signs with v1a only; verify with its "
        + "whpk_ public key (client.job.webhook.publicKeys()).");
    }
    fail("No matching signature: the body was changed, or it was signed with another secret or key (after a "
      + "rotation use the new one; verify the raw body, not re-encoded JSON).");
  }
  const text = utf8(body);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
