// Every delivery in one list (GET /v1/scheduling/deliveries with its filters, 100 a page,
// the API's cursor for the next), a delivery's page with its attempts, Retry, and replays:
// the selected rows one by one, or every failed delivery matching the filters as a bulk job.
import { api } from "./api.js";
import { authText, badge, errorBox, field, guarded, h, pretty, when } from "./dom.js";

const STATES = ["queued", "held", "retrying", "succeeded", "failed", "cancelled"];
const KINDS = ["webhook", "queue", "cron"];
const FILTERS = ["state", "kind", "queue", "topic", "subscription_id", "cron_id", "host", "status_code", "since", "until"];
const PAGE = 100;
const TERMINAL = new Set(["succeeded", "failed", "cancelled", "held"]);

const select = (name, options, value) => h("select", { id: `f-${name}`, name },
  h("option", { value: "" }, "any"), options.map((o) => h("option", { value: o, selected: o === value }, o)));
const text = (name, value, placeholder) => h("input", { id: `f-${name}`, name, value: value || "", placeholder, autocomplete: "off" });

// datetime-local (the viewer's zone) <-> RFC 3339 UTC in the URL and the API
const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? "" : new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
const fromLocalInput = (v) => (v ? new Date(v).toISOString().replace(/\.000Z$/, "Z") : "");

function filterForm(params) {
  const since = h("input", { id: "f-since", name: "since", type: "datetime-local", value: toLocalInput(params.get("since")) });
  const until = h("input", { id: "f-until", name: "until", type: "datetime-local", value: toLocalInput(params.get("until")) });
  const form = h("form", { class: "filters", "aria-label": "Filters", onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const el = form.elements[name];
      const v = el.type === "datetime-local" ? fromLocalInput(el.value) : el.value.trim();
      if (v) q.set(name, v);
    }
    location.hash = "#/deliveries" + (q.toString() ? "?" + q : "");
  } },
  field("State", select("state", STATES, params.get("state"))),
  field("Kind", select("kind", KINDS, params.get("kind"))),
  field("Queue", text("queue", params.get("queue"), "orders")),
  field("Topic", text("topic", params.get("topic"), "orders")),
  field("Subscription", text("subscription_id", params.get("subscription_id"), "sub_…")),
  field("Cron job", text("cron_id", params.get("cron_id"), "cron_…")),
  field("Host", text("host", params.get("host"), "example.com")),
  field("Status", text("status_code", params.get("status_code"), "500 or none")),
  field("Since", since), field("Until", until),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter"),
    h("a", { href: "#/deliveries", class: "button" }, "Clear")));
  return form;
}

// One row template, cloned per delivery, filled with textContent: 100 rows in one fragment,
// one insertion, no HTML parsing.
const ROW = (() => {
  const tr = document.createElement("tr");
  tr.innerHTML = '<td><input type="checkbox" class="pick"></td><td><a class="id"></a></td><td><span class="badge"></span></td>'
    + '<td class="kind"></td><td class="target"></td><td class="num status"></td><td class="num attempts"></td><td class="created"></td>';
  return tr;
})();

export function rows(items) {
  const frag = document.createDocumentFragment();
  for (const d of items) {
    const tr = ROW.cloneNode(true);
    const c = tr.children;
    const pick = c[0].firstChild;
    pick.value = d.delivery_id;
    pick.setAttribute("aria-label", `Select ${d.delivery_id}`);
    pick.dataset.state = d.state;
    const a = c[1].firstChild;
    a.href = `#/deliveries/${d.delivery_id}`;
    a.textContent = d.delivery_id;
    const b = c[2].firstChild;
    b.className = `badge state-${d.state}`;
    b.textContent = d.state;
    if (d.repair) {   // the reconciler could not carry it on: say so where it is listed
      b.textContent = `${d.state} · ${d.repair.quarantined ? "quarantined" : "repair failing"}`;
      b.title = d.repair.error || "";
    }
    c[3].textContent = d.kind;
    c[4].textContent = d.url || (d.queue ? `queue ${d.queue}` : "—");
    c[5].textContent = d.status_code === null ? "—" : d.status_code;
    c[6].textContent = d.attempt_count;
    c[7].textContent = when(d.created_at);
    tr.dataset.id = d.delivery_id;
    frag.append(tr);
  }
  return frag;
}

export async function list(ctx, queryText) {
  const params = new URLSearchParams(queryText || "");
  const query = { limit: PAGE, cursor: params.get("cursor") };
  for (const name of FILTERS) query[name] = params.get(name);
  const page = await api("GET", "/v1/scheduling/deliveries", { query });

  const status = h("p", { class: "muted", role: "status", id: "list-status" });
  const tbody = h("tbody");
  const started = performance.now();
  tbody.append(rows(page.items));
  const ms = performance.now() - started;
  status.dataset.renderMs = ms.toFixed(1);
  // and until the rows are on screen: style, layout and paint come after this function returns
  // (the frame after the next animation frame has painted them)
  requestAnimationFrame(() => setTimeout(() => { status.dataset.paintMs = (performance.now() - started).toFixed(1); }, 0));
  status.textContent = page.items.length
    ? `${page.items.length} deliveries on this page (rendered in ${ms.toFixed(0)} ms).`
    : "No deliveries match these filters.";

  const all = h("input", { type: "checkbox", "aria-label": "Select every row on this page", onchange: () => {
    for (const box of tbody.querySelectorAll(".pick")) box.checked = all.checked;
  } });
  const table = h("table", { class: "list deliveries" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, all), ["Delivery", "State", "Kind", "Target", "Status", "Attempts", "Created"]
      .map((t) => h("th", { scope: "col" }, t)))), tbody);

  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  if (params.get("cursor")) {
    const first = new URLSearchParams(params);
    first.delete("cursor");
    pager.append(h("a", { href: "#/deliveries" + (first.toString() ? "?" + first : ""), class: "button" }, "First page"));
  }
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", page.next_cursor);
    pager.append(h("a", { href: "#/deliveries?" + next, class: "button", rel: "next" }, "Next page"));
  }

  const progress = h("div", { class: "progress", role: "status", "aria-live": "polite" });
  const retrySelected = h("button", { type: "button", onclick: () => retryMany(ctx, tbody, progress) }, "Retry selected");
  const bulkFilters = {};
  for (const name of FILTERS) if (name !== "state" && params.get(name)) bulkFilters[name] = params.get(name);
  const replayAll = h("button", { type: "button", onclick: () => bulkReplay(ctx, bulkFilters, progress, replayAll) },
    "Replay every failed delivery matching these filters");

  return h("section", {}, h("h1", {}, "Deliveries"), filterForm(params), status,
    h("div", { class: "actions" }, retrySelected, replayAll), progress,
    h("div", { class: "scroll" }, table), pager);
}

async function retryMany(ctx, tbody, progress) {
  const picked = [...tbody.querySelectorAll(".pick:checked")];
  if (!picked.length) {
    progress.replaceChildren(h("p", { class: "notice" }, "Select deliveries first (the boxes in the first column)."));
    return;
  }
  const failed = picked.filter((p) => p.dataset.state === "failed");
  const errors = h("ul", { class: "errors" });
  const line = h("p");
  progress.replaceChildren(line, errors);
  let done = 0;
  const skipped = picked.length - failed.length;
  for (const box of failed) {
    try {
      await api("POST", `/v1/scheduling/webhook/deliveries/${box.value}/retry`);
    } catch (e) {
      errors.append(h("li", {}, `${box.value}: `, errorBox(e)));
    }
    done++;
    line.textContent = `Retried ${done} of ${failed.length}` + (skipped ? ` (${skipped} selected not failed: only failed deliveries can be retried)` : "") + ".";
    if (!ctx.alive()) return;
  }
  if (!failed.length) line.textContent = "None of the selected deliveries has failed: only failed deliveries can be retried.";
}

async function bulkReplay(ctx, filters, progress, button) {
  button.disabled = true;
  const line = h("p");
  progress.replaceChildren(line);
  try {
    let job = await api("POST", "/v1/scheduling/deliveries/replay", { body: { state: "failed", ...filters } });
    while (ctx.alive()) {
      line.textContent = `Replay ${job.replay_id}: ${job.state}; ${job.matched} matched, ${job.queued} replayed, ${job.skipped} skipped.`;
      if (job.finished) {
        if (job.error) progress.append(errorBox({ message: job.error.message, code: job.error.code }));
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
      job = await api("GET", `/v1/scheduling/replays/${job.replay_id}`);
    }
  } catch (e) {
    progress.append(errorBox(e));
  } finally {
    button.disabled = false;
  }
}

function attemptsTable(attempts) {
  if (!attempts.length) return h("p", { class: "muted" }, "No attempt yet.");
  return h("div", { class: "scroll" }, h("table", { class: "list attempts" },
    h("thead", {}, h("tr", {}, ["#", "Time", "Status", "Duration", "Error", "Response (excerpt)", "Span"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, attempts.map((a) => h("tr", {},
      h("td", { class: "num" }, a.attempt), h("td", {}, when(a.at)),
      h("td", { class: "num" }, a.status_code === null ? "no response" : a.status_code),
      h("td", { class: "num" }, `${Math.round(a.duration_ms)} ms`),
      h("td", {}, a.error || "—"), h("td", {}, h("pre", { class: "excerpt" }, a.response_excerpt || "")),
      h("td", {}, h("code", {}, a.span_id || "—")))))));
}

function sentHeaders(d) {
  // What every attempt carries (from the API), and the Standard Webhooks headers made per
  // attempt, which are not stored.
  const fixed = d.headers || { "content-type": "application/json", "webhook-id": d.webhook_id };
  return h("dl", { class: "kv headers" },
    Object.entries(fixed).map(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, v))]),
    d.auth && d.auth.type === "oauth2_client_credentials"
      ? [h("dt", {}, "authorization"), h("dd", {}, "Bearer <an access token from the endpoint's token URL>")] : null,
    h("dt", {}, "webhook-timestamp"), h("dd", {}, "the attempt's time, in Unix seconds"),
    h("dt", {}, "webhook-signature"), h("dd", {}, "v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per live signing secret"),
    h("dt", {}, "infrai-attempt"), h("dd", {}, "the attempt's number"),
    h("dt", {}, "traceparent"), h("dd", {}, d.trace_id ? `00-${d.trace_id}-<the attempt's span>-<flags>` : "the attempt's W3C trace context"));
}

export async function detail(ctx, id) {
  const d = await api("GET", `/v1/scheduling/webhook/deliveries/${encodeURIComponent(id)}`);
  const slot = h("div", { class: "slot" });
  const body = h("div");
  let last = d;
  const fill = (rec) => {
    last = rec;
    body.replaceChildren(h("div", {},
      h("dl", { class: "kv" },
        h("dt", {}, "State"), h("dd", { id: "delivery-state" }, badge(rec.state)),
        h("dt", {}, "Target"), h("dd", {}, rec.url || "— (a held queue message: its queue has no endpoint)"),
        rec.auth ? [h("dt", {}, "Endpoint auth"), h("dd", { id: "delivery-auth" }, authText(rec.auth))] : null,
        h("dt", {}, "Created"), h("dd", {}, when(rec.created_at)),
        h("dt", {}, "Next attempt"), h("dd", {}, when(rec.next_attempt_at)),
        h("dt", {}, "Attempts"), h("dd", {}, `${rec.attempt_count} (retries allowed: ${rec.retries}, timeout ${rec.timeout_seconds} s)`),
        rec.trace_id ? [h("dt", {}, "Trace"), h("dd", { id: "delivery-trace" }, h("code", {}, rec.trace_id))] : null,
        rec.repair ? [h("dt", {}, "Repair"), h("dd", { id: "delivery-repair" },
          `${rec.repair.quarantined ? "Quarantined: " : ""}${rec.repair.error} (tried ${rec.repair.tries} times, last ${when(rec.repair.at)})`)] : null),
      h("h2", {}, "Attempts"), attemptsTable(rec.attempts),
      rec.payload === undefined ? null : [h("h2", {}, "Payload"), h("pre", { class: "payload" }, pretty(rec.payload))],
      h("h2", {}, "Headers sent"), sentHeaders(rec)));
    retry.disabled = rec.state !== "failed";
    retry.title = rec.state === "failed" ? "" : "Only a failed delivery can be retried";
  };
  const retry = h("button", { type: "button", class: "primary", onclick: async () => {
    const rec = await guarded(slot, () => api("POST", `/v1/scheduling/webhook/deliveries/${encodeURIComponent(id)}/retry`));
    if (rec) {
      last = { ...last, ...rec };   // the retry's answer has no payload or headers: keep them
      fill(last);
      poll(last);
    }
  } }, "Retry");
  // While a delivery is on its way, the page follows it (once a second, while shown)
  const poll = async (rec) => {
    while (ctx.alive() && !TERMINAL.has(rec.state)) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!ctx.alive()) return;
      const next = await guarded(slot, () => api("GET", `/v1/scheduling/webhook/deliveries/${encodeURIComponent(id)}`));
      if (!next) return;
      rec = next;
      fill(rec);
    }
  };
  fill(d);
  poll(d);
  return h("section", {}, h("p", {}, h("a", { href: "#/deliveries" }, "← All deliveries")),
    h("h1", {}, "Delivery ", h("code", {}, id)), h("div", { class: "actions" }, retry), slot, body);
}
