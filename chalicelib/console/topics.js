// Topics (docs/topics.md): each topic's subscriptions (endpoint, event types, filter), pause and
// resume, a subscription's target changed (a URL, or an SQS queue or EventBridge bus ARN), a
// subscription's deliveries in the deliveries list, and the declared event types.
import { api } from "./api.js";
import { badge, field, guarded, h, when } from "./dom.js";

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
  const editor = h("div", { id: "target-editor" });
  const edit = (s) => {
    editor.replaceChildren(targetForm(ctx, s, () => editor.replaceChildren()));
    editor.querySelector("select").focus();
  };
  const table = subs.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list subscriptions" },
      h("thead", {}, h("tr", {}, ["Subscription", "Endpoint", "Event types", "Filter", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, subs.items.map((s) => h("tr", { "data-id": s.subscription_id },
        h("td", {}, h("a", { href: `#/deliveries?subscription_id=${s.subscription_id}`, title: "Its deliveries" }, s.subscription_id)),
        h("td", {}, s.url || destinationText(s.destination)), h("td", { class: "types" }, s.event_types ? s.event_types.join(", ") : h("em", {}, "all")),
        h("td", { class: "filter" }, s.filter ? h("code", {}, JSON.stringify(s.filter)) : "—"),
        h("td", {}, s.paused ? badge("paused") : badge("active")),
        h("td", {}, h("div", { class: "actions" }, h("button", { type: "button", onclick: () => toggle(s) }, s.paused ? "Resume" : "Pause"),
          h("button", { type: "button", onclick: () => edit(s) }, "Change target"))))))))
    : h("p", { class: "muted" }, "No subscriptions: a publish to this topic delivers nothing.");
  return h("section", {}, h("p", {}, h("a", { href: "#/topics" }, "← All topics")),
    h("h1", {}, "Topic ", h("code", {}, topic.name)),
    topic.description ? h("p", {}, topic.description) : null,
    slot, h("h2", {}, `Subscriptions (${topic.subscriptions})`), table, editor,
    h("p", {}, h("a", { href: `#/deliveries?topic=${encodeURIComponent(topic.name)}` }, "This topic's deliveries")));
}

// A subscription's target, changed in place (PATCH): a URL, or a destination in the user's AWS
// account (an SQS queue or EventBridge bus ARN, with a role to assume for another account); one
// replaces the other. What the API refuses is shown as it says it, and nothing changes.
const TARGETS = [["url", "URL (an HTTP endpoint)", "https://example.com/hooks"],
  ["sqs", "SQS queue ARN", "arn:aws:sqs:<region>:<account>:<queue>"],
  ["eventbridge", "EventBridge bus ARN", "arn:aws:events:<region>:<account>:event-bus/<bus>"]];

function targetForm(ctx, s, close) {
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const d = s.destination;
  const kind = h("select", { id: "target-kind" }, TARGETS.map(([value, words]) => h("option", { value }, words)));
  kind.value = d ? d.type : "url";
  const target = h("input", { id: "target-value", type: "text", spellcheck: "false", required: true, value: d ? d.arn : s.url || "" });
  const role = h("input", { id: "target-role", type: "text", spellcheck: "false", value: (d && d.role_arn) || "",
    placeholder: "arn:aws:iam::<account>:role/<name>" });
  const roleField = field("Role to assume (optional)", role, "Only for a queue or bus in another account.");
  const shape = () => {
    target.placeholder = TARGETS.find(([value]) => value === kind.value)[2];
    roleField.hidden = kind.value === "url";
  };
  kind.addEventListener("change", shape);
  shape();
  return h("form", { class: "card", "aria-label": `Target of ${s.subscription_id}`, onsubmit: async (ev) => {
    ev.preventDefault();
    const value = target.value.trim();
    const body = kind.value === "url" ? { url: value }
      : { destination: { type: kind.value, arn: value, ...(role.value.trim() ? { role_arn: role.value.trim() } : {}) } };
    const done = await guarded(slot, () => api("PATCH", `${SUBS}/${s.subscription_id}`, { body }));
    if (done && ctx.alive()) ctx.rerender();
  } },
  h("p", {}, "A new target for ", h("code", {}, s.subscription_id), ": a URL, or an SQS queue or EventBridge bus ARN; one replaces the other."),
  h("div", { class: "row" }, field("Target", kind), field("URL or ARN", target), roleField),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save target"),
    h("button", { type: "button", onclick: close }, "Cancel")), slot);
}
