// Topics (docs/topics.md): each topic's subscriptions (endpoint, event types, filter), pause and
// resume, a subscription's deliveries in the deliveries list, and the declared event types.
import { api } from "./api.js";
import { badge, guarded, h, when } from "./dom.js";

const BASE = "/v1/scheduling/topics";
const SUBS = "/v1/scheduling/subscriptions";

export async function list(ctx) {
  const [page, types] = await Promise.all([api("GET", BASE, { query: { limit: 100 } }),
    api("GET", "/v1/scheduling/event-types", { query: { limit: 100 } })]);
  const topics = page.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list topics" },
      h("thead", {}, h("tr", {}, ["Topic", "Subscriptions", "Description", "Created"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, page.items.map((t) => h("tr", { "data-name": t.name },
        h("td", {}, h("a", { href: `#/topics/${encodeURIComponent(t.name)}` }, t.name)),
        h("td", { class: "num subscriptions" }, t.subscriptions), h("td", {}, t.description || ""),
        h("td", {}, when(t.created_at)))))))
    : h("p", { class: "muted" }, "No topics yet: create one with PUT /v1/scheduling/topics/{name}.");
  const eventTypes = types.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list event-types" },
      h("thead", {}, h("tr", {}, ["Event type", "Description", "Schema"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, types.items.map((e) => h("tr", { "data-name": e.name },
        h("td", {}, h("code", {}, e.name)), h("td", {}, e.description || ""),
        h("td", {}, e.schema ? h("code", {}, JSON.stringify(e.schema)) : "—"))))))
    : h("p", { class: "muted" }, "No declared event types (a publish may carry any type).");
  return h("section", {}, h("h1", {}, "Topics"), topics, h("h2", {}, "Event types"), eventTypes);
}

// a subscription's SQS queue or EventBridge bus in the user's AWS account, instead of a URL
const destinationText = (d) => (d ? `${d.type === "sqs" ? "SQS" : "EventBridge"} ${d.arn}${d.role_arn ? ` (as ${d.role_arn})` : ""}` : "—");

export async function detail(ctx, name) {
  const path = `${BASE}/${encodeURIComponent(name)}`;
  const [topic, subs] = await Promise.all([api("GET", path), api("GET", `${path}/subscriptions`, { query: { limit: 100 } })]);
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const toggle = async (s) => {
    const done = await guarded(slot, () => api("POST", `${SUBS}/${s.subscription_id}/${s.paused ? "resume" : "pause"}`));
    if (done && ctx.alive()) ctx.rerender();
  };
  const table = subs.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list subscriptions" },
      h("thead", {}, h("tr", {}, ["Subscription", "Endpoint", "Event types", "Filter", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, subs.items.map((s) => h("tr", { "data-id": s.subscription_id },
        h("td", {}, h("a", { href: `#/deliveries?subscription_id=${s.subscription_id}`, title: "Its deliveries" }, s.subscription_id)),
        h("td", {}, s.url || destinationText(s.destination)), h("td", { class: "types" }, s.event_types ? s.event_types.join(", ") : h("em", {}, "all")),
        h("td", { class: "filter" }, s.filter ? h("code", {}, JSON.stringify(s.filter)) : "—"),
        h("td", {}, s.paused ? badge("paused") : badge("active")),
        h("td", {}, h("button", { type: "button", onclick: () => toggle(s) }, s.paused ? "Resume" : "Pause")))))))
    : h("p", { class: "muted" }, "No subscriptions: a publish to this topic delivers nothing.");
  return h("section", {}, h("p", {}, h("a", { href: "#/topics" }, "← All topics")),
    h("h1", {}, "Topic ", h("code", {}, topic.name)),
    topic.description ? h("p", {}, topic.description) : null,
    slot, h("h2", {}, `Subscriptions (${topic.subscriptions})`), table,
    h("p", {}, h("a", { href: `#/deliveries?topic=${encodeURIComponent(topic.name)}` }, "This topic's deliveries")));
}
