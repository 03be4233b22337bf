// Queues: counts (held, queued, retrying, failed), endpoint, pause/unpause, messages. Held
// messages (a queue without an endpoint, or paused) are released by attaching an endpoint.
import { api } from "./api.js";
import { authText, badge, field, guarded, h, when } from "./dom.js";

const BASE = "/v1/scheduling/queue";
const COUNTS = ["held", "queued", "waiting", "retrying", "failed"];
const PENDING = new Set(["held", "queued", "waiting", "retrying"]);

// Still on its way: the counts say so, or a message shown is not final yet. Both are read, as
// neither alone is enough: the counts and the list are separate reads, and a message delivered
// between them would otherwise stop the page following with a stale "queued" on screen.
const onItsWay = (q, items) => Boolean(q.url && !q.paused &&
  ((q.counts && COUNTS.some((c) => PENDING.has(c) && q.counts[c] > 0)) || items.some((m) => PENDING.has(m.state))));

const countCells = (q) => COUNTS.map((c) => h("td", { class: `num count-${c}` }, q.counts ? q.counts[c] : "—"));

export async function list(ctx) {
  const page = await api("GET", BASE, { query: { limit: 100 } });
  const body = page.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list queues" },
      h("thead", {}, h("tr", {}, ["Queue", "Endpoint", "State", ...COUNTS.map((c) => c[0].toUpperCase() + c.slice(1))].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, page.items.map((q) => h("tr", { "data-name": q.name },
        h("td", {}, h("a", { href: `#/queues/${encodeURIComponent(q.name)}` }, q.name)),
        h("td", {}, q.url || h("em", {}, "none: messages are held")),
        h("td", {}, q.paused ? badge("paused") : badge("active")), countCells(q))))))
    : h("p", { class: "muted" }, "No queues yet: publishing to a name creates its queue.");
  return h("section", {}, h("h1", {}, "Queues"), body);
}

function countsList(q) {
  return h("dl", { class: "counts", id: "queue-counts" }, COUNTS.map((c) => [h("dt", {}, c), h("dd", { class: `count-${c}` }, q.counts ? q.counts[c] : "—")]));
}

function messagesTable(items) {
  if (!items.length) return h("p", { class: "muted" }, "No messages.");
  return h("div", { class: "scroll" }, h("table", { class: "list messages" },
    h("thead", {}, h("tr", {}, ["Message", "State", "Attempts", "Created", "Deliver at"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((m) => h("tr", { "data-id": m.message_id },
      h("td", {}, h("a", { href: `#/deliveries/${m.message_id}` }, m.message_id)), h("td", {}, badge(m.state)),
      h("td", { class: "num" }, m.attempt_count), h("td", {}, when(m.created_at)), h("td", {}, when(m.deliver_at)))))));
}

export async function detail(ctx, name) {
  const path = `${BASE}/${encodeURIComponent(name)}`;
  const [q, msgs] = await Promise.all([api("GET", path), api("GET", `${path}/messages`, { query: { limit: 100 } })]);
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const counts = h("div", {}, countsList(q));
  const messages = h("div", {}, messagesTable(msgs.items));
  const url = h("input", { id: "queue-url", name: "url", type: "url", value: q.url || "", placeholder: "https://example.com/worker", autocomplete: "off" });
  const retries = h("input", { id: "queue-retries", name: "retries", type: "number", min: "0", max: "20", value: String(q.retries) });
  const timeout = h("input", { id: "queue-timeout", name: "timeout", type: "number", min: "1", max: "300", value: String(q.timeout_seconds) });
  const held = q.counts ? q.counts.held : 0;
  const put = async (body) => {
    const saved = await guarded(slot, () => api("PUT", path, { body }));
    if (saved && ctx.alive()) ctx.rerender();
  };
  const form = h("form", { class: "card", "aria-label": "Endpoint", onsubmit: (ev) => {
    ev.preventDefault();
    put({ url: url.value.trim() || null, retries: Number(retries.value), timeout_seconds: Number(timeout.value) });
  } },
  h("h2", {}, "Endpoint"),
  !q.url && held ? h("p", { class: "notice" }, `${held} held message(s) will be delivered, oldest first, once you attach an endpoint.`) : null,
  field("Endpoint URL (empty: detach, messages are held)", url),
  h("div", { class: "row" }, field("Retries", retries), field("Timeout (s)", timeout)),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, q.url ? "Save endpoint" : "Attach endpoint")));
  const pause = h("button", { type: "button", onclick: () => put({ paused: !q.paused }) }, q.paused ? "Unpause" : "Pause");

  // While messages are on their way, counts and messages follow (once a second, while shown)
  (async () => {
    let busy = onItsWay(q, msgs.items);
    while (busy && ctx.alive()) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!ctx.alive()) return;
      const fresh = await guarded(slot, () => Promise.all([api("GET", path), api("GET", `${path}/messages`, { query: { limit: 100 } })]));
      if (!fresh || !ctx.alive()) return;
      counts.replaceChildren(countsList(fresh[0]));
      messages.replaceChildren(messagesTable(fresh[1].items));
      busy = onItsWay(fresh[0], fresh[1].items);
    }
  })();

  return h("section", {}, h("p", {}, h("a", { href: "#/queues" }, "← All queues")),
    h("h1", {}, "Queue ", h("code", {}, q.name)),
    h("p", {}, q.paused ? badge("paused") : badge("active"), " ", q.url ? `Endpoint: ${q.url}` : "No endpoint: messages are held."),
    q.auth ? h("p", { id: "queue-auth" }, `Endpoint auth: ${authText(q.auth)}`) : null,
    counts, h("div", { class: "actions" }, pause), slot, form,
    h("h2", {}, "Messages"), messages,
    h("p", {}, h("a", { href: `#/deliveries?kind=queue&queue=${encodeURIComponent(q.name)}` }, "This queue's messages in the deliveries list")));
}
