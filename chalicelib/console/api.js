// The public API, from the page. The key lives in this tab's sessionStorage only: closing the
// tab forgets it, and "Sign out" removes it. The API's base is the folder above the console's
// files, so the page works at /console locally and under an API Gateway stage (/api/console).
const KEY = "infrai.apiKey";
export const BASE = new URL("../", import.meta.url);

export const getKey = () => sessionStorage.getItem(KEY);
export const setKey = (key) => sessionStorage.setItem(KEY, key);
export const clearKey = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// One call. Every POST carries a fresh Idempotency-Key (as the SDKs do). An error answer throws
// an ApiError carrying the API's own code, message and field, shown to the user as they are.
export async function api(method, path, { query, body, key } = {}) {
  const url = new URL(path.replace(/^\//, ""), BASE);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Authorization: `Bearer ${key || getKey() || ""}`, Accept: "application/json" };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (method === "POST") headers["Idempotency-Key"] = newIdempotencyKey();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    throw new ApiError(0, "network_error", `The API did not answer (${e.message}). Check the connection and try again.`, null);
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(resp.status, err.code || `http_${resp.status}`,
      err.message || `The API answered ${resp.status} ${resp.statusText || ""}`.trim() + ".", err.field || null);
  }
  return data;
}
