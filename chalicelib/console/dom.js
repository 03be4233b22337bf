// Small DOM helpers. Text always goes in as text (textContent), never as HTML: whatever a
// payload or an error message holds, it cannot become markup.

// h("a", {href: "#/x", class: "btn", onclick: fn}, "text", child, [more]) -> element
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;   // value, checked, disabled, hidden
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

const formats = new Map();
function formatter(zone, withZone) {
  const key = `${zone}|${withZone}`;
  if (!formats.has(key)) {
    formats.set(key, new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "short", day: "2-digit", weekday: "short",
      hour: "2-digit", minute: "2-digit", second: withZone ? undefined : "2-digit", hourCycle: "h23",
      timeZoneName: withZone ? "shortOffset" : undefined,
    }));
  }
  return formats.get(key);
}

// "Wed, 02 Dec 2026, 09:00 GMT-5" in `zone` (default: the viewer's)
export function when(iso, zone = VIEWER_ZONE, withZone = false) {
  if (!iso) return "—";
  return formatter(zone, withZone).format(new Date(iso));
}

// A zone's UTC offset at an instant, in minutes (New York in January: -300)
export function offsetMinutes(date, zone) {
  const parts = Object.fromEntries(offsetFormatter(zone).formatToParts(date).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

const offsetFormatters = new Map();
function offsetFormatter(zone) {
  if (!offsetFormatters.has(zone)) {
    offsetFormatters.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    }));
  }
  return offsetFormatters.get(zone);
}

export function utcOffset(minutes) {
  const sign = minutes < 0 ? "−" : "+";
  const m = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

export function isZone(name) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function badge(state) {
  return h("span", { class: `badge state-${state}` }, state);
}

// The API's error, as the API said it (code and field beside it for whoever reports it)
export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" });
  box.append(h("strong", {}, err.status ? `Error ${err.status}` : "Error"), " ",
    h("span", { class: "error-message" }, err.message || String(err)));
  if (err.code) box.append(" ", h("code", {}, err.code + (err.field ? ` (${err.field})` : "")));
  return box;
}

// Runs `fn`, shows its error in `slot` (cleared first); returns fn's result or undefined
export async function guarded(slot, fn) {
  slot.replaceChildren();
  try {
    return await fn();
  } catch (e) {
    slot.replaceChildren(errorBox(e));
    return undefined;
  }
}

// An endpoint's credentials in words (the API never returns the secret, nor does this)
export function authText(auth) {
  if (!auth) return "none";
  if (auth.type === "mtls") {
    return `mTLS client certificate ${auth.certificate_subject} (expires ${when(auth.certificate_expires_at)})`;
  }
  return `OAuth2 client credentials: client ${auth.client_id} at ${auth.token_url}` +
    (auth.scope ? `, scope ${auth.scope}` : "") + (auth.audience ? `, audience ${auth.audience}` : "");
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function field(label, input, hint) {
  const id = input.id || (input.id = `f-${Math.random().toString(36).slice(2, 9)}`);
  const hintEl = hint === undefined ? null : h("div", { class: "hint", id: `${id}-hint`, "aria-live": "polite" }, hint);
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}
