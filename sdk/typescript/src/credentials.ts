/** Where the key and base URL come from when not given: INFRAI_API_KEY / INFRAI_BASE_URL, then the
 *  credentials file `infra.activate()` (Python) writes, read only where the runtime has node:fs. */
import { env, nodeBuiltin } from "./runtime.js";

export function defaultCredentialsPath(): string | null {
  const fromEnv = env("INFRAI_CREDENTIALS_FILE");
  if (fromEnv) return fromEnv;
  const os = nodeBuiltin<{ homedir(): string }>("node:os");
  const path = nodeBuiltin<{ join(...parts: string[]): string }>("node:path");
  return os && path ? path.join(os.homedir(), ".infrai", "credentials") : null;
}

export function readCredentials(path: string | null): Record<string, string> {
  const fs = nodeBuiltin<{ readFileSync(path: string, encoding: "utf8"): string }>("node:fs");
  if (!path || !fs) return {};
  try {
    const data = JSON.parse(fs.readFileSync(path, "utf8"));
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}
