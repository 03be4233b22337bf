/** What the SDK needs from its runtime, found on first use and never imported at load: the SDK
 *  loads in Node, Deno, Bun, Cloudflare Workers, Vercel Edge and browsers. Node's built-in modules
 *  are used only where the runtime offers them (`process.getBuiltinModule`, Node >= 20.16, Deno, Bun). */

interface ProcessLike {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (name: string) => unknown;
}

function processLike(): ProcessLike | undefined {
  return (globalThis as { process?: ProcessLike }).process;
}

/** A Node built-in module, or undefined where the runtime has none (edge runtimes, browsers). */
export function nodeBuiltin<T>(name: string): T | undefined {
  try {
    return processLike()?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** An environment variable, or undefined where the runtime has no process environment. */
export function env(name: string): string | undefined {
  try {
    return processLike()?.env?.[name] || undefined;
  } catch {   // Deno without --allow-env throws here
    return undefined;
  }
}

/** A random UUID from Web Crypto (every supported runtime has `crypto.randomUUID`). */
export function randomUUID(): string {
  const webCrypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (webCrypto?.randomUUID) return webCrypto.randomUUID();
  const nodeCrypto = nodeBuiltin<{ randomUUID: () => string }>("node:crypto");
  if (nodeCrypto) return nodeCrypto.randomUUID();
  throw new Error("infrai: this runtime has no crypto.randomUUID (Web Crypto); pass idempotency_key yourself.");
}

export function utf8(bytes: string | Uint8Array): string {
  return typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes);
}

export function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let raw = "";
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
}
