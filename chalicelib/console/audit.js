// The audit log (GET /v1/auth/audit): who changed the project's configuration, when and from
// where, newest first, with the API's filters and cursor. It holds no payload, header value or
// secret, and this page shows only what the API returns.
import { api } from "./api.js";
import { field, guarded, h, when } from "./dom.js";

const FILTERS = [["since", "Since (RFC 3339)", "2026-12-01T00:00:00Z"], ["until", "Until (RFC 3339)", ""],
  ["key_id", "Key id", "key_…"], ["resource", "Resource id", "cron_… or a queue's name"]];

export async function page(ctx, query = "") {
  const params = new URLSearchParams(query);
  const inputs = FILTERS.map(([name, , placeholder]) => h("input", { id: `audit-${name}`, name, type: "text",
    spellcheck: "false", placeholder, value: params.get(name) || "" }));
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const rows = h("tbody", {});
  const more = h("div", { class: "actions" });

  const filters = () => {
    const out = new URLSearchParams();
    inputs.forEach((input, i) => { if (input.value.trim()) out.set(FILTERS[i][0], input.value.trim()); });
    return out;
  };
  const load = async (cursor) => {
    const q = filters();
    q.set("limit", "100");
    if (cursor) q.set("cursor", cursor);
    const got = await guarded(slot, () => api("GET", `/v1/auth/audit?${q}`));
    if (!got || !ctx.alive()) return;
    if (!cursor) rows.replaceChildren();
    rows.append(...got.entries.map(row));
    if (!got.entries.length && !cursor) rows.append(h("tr", {}, h("td", { colspan: "7" }, "No changes on record for these filters.")));
    more.replaceChildren(got.next_cursor
      ? h("button", { type: "button", id: "audit-more", onclick: () => load(got.next_cursor) }, "Older changes") : "");
  };
  const form = h("form", { class: "card filters", "aria-label": "Filters", onsubmit: (ev) => {
    ev.preventDefault();
    const q = filters().toString();
    history.replaceState(null, "", q ? `#/audit?${q}` : "#/audit");
    load();
  } },
  h("div", { class: "row" }, inputs.map((input, i) => field(FILTERS[i][1], input))),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter")));

  await load();
  return h("section", {}, h("h1", {}, "Audit log"),
    h("p", {}, "Every change of the project's configuration — keys, the signing secret, settings, cron jobs, queues, flows, endpoints, the events endpoint, replays, cancels — with the key that made it. Publishes and sends are deliveries, not entries. Never a payload, header value or secret."),
    form, slot,
    h("div", { class: "scroll" }, h("table", { class: "list audit" },
      h("thead", {}, h("tr", {}, ["When", "Key", "Method", "Route", "Resource", "Status", "From"].map((t) => h("th", { scope: "col" }, t)))),
      rows)),
    more);
}

function row(e) {
  return h("tr", { "data-audit": e.audit_id },
    h("td", {}, when(e.at)), h("td", {}, h("code", {}, e.key_id || "—")), h("td", {}, e.method),
    h("td", {}, h("code", {}, e.route)), h("td", {}, e.resource_id ? h("code", {}, e.resource_id) : "—"),
    h("td", { class: e.status >= 400 ? "num failed" : "num" }, String(e.status)), h("td", {}, e.source_ip || "—"));
}
