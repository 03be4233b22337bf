// The project: plan, limits (and today's usage where the API gives it), how long deliveries are
// kept once they end (retention_days, changed in place), which signatures deliveries carry (v1,
// v1a: with v1a's public keys), API keys (create with scopes and queues, revoke), the signing
// secret (revealed on click; rotation keeps the old one signing 24 h).
import { api, getKey } from "./api.js";
import { field, guarded, h, when } from "./dom.js";

const LIMIT_WORDS = {
  cron_jobs: "Cron jobs", queues: "Queues", topics: "Topics", deliveries_per_day: "Deliveries per day (UTC)",
  payload_bytes: "Payload size (bytes)", publishes_per_second: "Requests per second", api_keys: "Active API keys",
  attempts_per_day: "Delivery attempts per day (UTC)",
};

export async function page(ctx) {
  const me = await api("GET", "/v1/auth/me");
  const usage = me.usage || {};
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const current = getKey() || "";

  const limits = h("table", { class: "list limits" },
    h("thead", {}, h("tr", {}, ["Limit", "Your plan", "Used"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, Object.entries(me.limits).map(([k, v]) => h("tr", { "data-limit": k },
      h("th", { scope: "row" }, LIMIT_WORDS[k] || k), h("td", { class: "num" }, v === null ? "no limit" : v.toLocaleString("en")),
      h("td", { class: "num usage" }, usage[k] === undefined || usage[k] === null ? "—" : usage[k].toLocaleString("en"))))));

  const newKey = h("div", { "aria-live": "polite" });
  let keys = keysTable(ctx, me, slot, current);
  const grant = grantForm();
  const create = h("button", { type: "button", onclick: async () => {
    const made = await guarded(slot, () => api("POST", "/v1/auth/keys", { body: grant.body() }));
    if (!made) return;
    newKey.replaceChildren(h("div", { class: "notice" }, `New key (${made.scopes.join(", ")}; shown once, copy it now): `,
      h("code", { id: "new-key", class: "secret" }, made.api_key)));
    const fresh = await guarded(slot, () => api("GET", "/v1/auth/me"));
    if (fresh && ctx.alive()) {
      const table = keysTable(ctx, fresh, slot, current);
      keys.replaceWith(table);
      keys = table;
    }
  } }, "Create a key");

  const retention = retentionForm(me.retention_days || { succeeded: 30, failed: 90 });
  const signatures = signaturesForm(ctx, me.signatures || ["v1"]);

  const secretOut = h("div", { id: "secret-box", "aria-live": "polite" });
  const reveal = h("button", { type: "button", onclick: async () => {
    const s = await guarded(slot, () => api("GET", "/v1/scheduling/webhook/secret"));
    if (s) secretOut.replaceChildren(h("p", {}, "Current secret: ", h("code", { id: "current-secret", class: "secret" }, s.secret)));
  } }, "Reveal the signing secret");
  const rotate = h("button", { type: "button", class: "danger", onclick: async () => {
    const r = await guarded(slot, () => api("POST", "/v1/scheduling/webhook/secret/rotate"));
    if (!r) return;
    secretOut.replaceChildren(h("p", {}, "New secret: ", h("code", { id: "current-secret", class: "secret" }, r.secret)),
      h("p", { class: "notice", id: "rotation-window" }, r.previous_secret_expires_at
        ? `Until ${when(r.previous_secret_expires_at, undefined, true)} (24 h), every delivery carries two signatures, the old secret's and the new one's: switch your receivers to the new secret before then.`
        : "The previous secret is no longer used."));
  } }, "Rotate the secret");

  return h("section", {}, h("h1", {}, "Project"),
    h("dl", { class: "kv" }, h("dt", {}, "Project"), h("dd", {}, h("code", {}, me.project_id)),
      h("dt", {}, "Plan"), h("dd", {}, me.plan || "—"), h("dt", {}, "Created"), h("dd", {}, when(me.created_at))),
    slot,
    h("h2", {}, "Limits and today's usage"), h("div", { class: "scroll" }, limits),
    h("h2", {}, "Retention"), retention,
    h("h2", {}, "Signatures"), signatures,
    h("h2", {}, "API keys"), grant.node, h("div", { class: "actions" }, create), newKey, h("div", { class: "scroll" }, keys),
    h("h2", {}, "Signing secret"),
    h("p", {}, "Deliveries are signed with this secret (Standard Webhooks). Rotating keeps the old one signing for 24 h, so receivers can switch without missing a delivery."),
    h("div", { class: "actions" }, reveal, rotate), secretOut);
}

// What a new key may do: its scopes (none ticked: admin, which holds them all), the only queues it
// may publish to, a name (docs/security.md#scopes). A key's grant never changes afterwards.
const SCOPES = [["read", "read: every GET, the audit log"], ["publish", "publish: queue publish, webhook send, retries"],
  ["manage", "manage: cron jobs, queues, flows, endpoints, events, replays, cancels"],
  ["admin", "admin: everything, keys, the signing secret, settings"]];

function grantForm() {
  const boxes = SCOPES.map(([scope]) => h("input", { type: "checkbox", id: `scope-${scope}`, value: scope }));
  const queues = h("input", { id: "key-queues", type: "text", placeholder: "q1, q2", spellcheck: "false" });
  const name = h("input", { id: "key-name", type: "text", maxlength: "60", placeholder: "ci-publisher" });
  const node = h("fieldset", { class: "card", id: "key-grant" }, h("legend", {}, "A new key may"),
    SCOPES.map(([scope, words], i) => h("div", { class: "check" }, boxes[i], h("label", { for: `scope-${scope}` }, words))),
    h("p", { class: "hint" }, "Scopes do not include one another, except admin. None ticked: an admin key."),
    h("div", { class: "row" }, field("Only these queues (publish)", queues, "Comma-separated; empty: any queue."),
      field("Name", name)));
  const body = () => {
    const out = {};
    const scopes = boxes.filter((b) => b.checked).map((b) => b.value);
    if (scopes.length) out.scopes = scopes;
    const names = queues.value.split(",").map((q) => q.trim()).filter(Boolean);
    if (names.length) out.queues = names;
    if (name.value.trim()) out.name = name.value.trim();
    return out;
  };
  return { node, body };
}

function keysTable(ctx, me, slot, current) {
  return h("table", { class: "list keys" },
    h("thead", {}, h("tr", {}, ["Key", "Name", "Scopes", "Queues", "Created", "Revoked", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, me.keys.map((k) => {
      const mine = current.endsWith(k.key.slice(-4)) && current.startsWith(k.key.split("…")[0]);
      const revoke = k.revoked_at ? "" : h("button", { type: "button", class: "danger", "data-key": k.key_id, onclick: async () => {
        const done = await guarded(slot, () => api("DELETE", `/v1/auth/keys/${k.key_id}`));
        if (done && ctx.alive()) ctx.rerender();
      } }, mine ? "Revoke (the key you signed in with)" : "Revoke");
      return h("tr", { "data-key": k.key_id }, h("td", {}, h("code", {}, k.key)), h("td", {}, k.name || "—"),
        h("td", { class: "scopes" }, (k.scopes || ["admin"]).join(", ")), h("td", {}, k.queues ? k.queues.join(", ") : "any"),
        h("td", {}, when(k.created_at)),
        h("td", {}, k.revoked_at ? when(k.revoked_at) : "—"), h("td", {}, revoke));
    })));
}

// Days a delivery is kept once it ended; then it expires (reads hide it, DynamoDB deletes it).
// A change applies to deliveries made from then on: each keeps the setting it was made with.
function retentionForm(days) {
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const input = (id, value) => h("input", { id, type: "number", min: "1", max: "400", step: "1", required: true, value: String(value) });
  const succeeded = input("retention-succeeded", days.succeeded);
  const failed = input("retention-failed", days.failed);
  const saved = h("p", { class: "hint", id: "retention-saved", "aria-live": "polite" });
  return h("form", { class: "card", "aria-label": "Retention", onsubmit: async (ev) => {
    ev.preventDefault();
    const out = await guarded(slot, () => api("PATCH", "/v1/auth/project", {
      body: { retention_days: { succeeded: Number(succeeded.value), failed: Number(failed.value) } } }));
    if (!out) return;
    succeeded.value = String(out.retention_days.succeeded);
    failed.value = String(out.retention_days.failed);
    saved.textContent = `Saved: deliveries made from now on are kept ${out.retention_days.succeeded} days after success, ${out.retention_days.failed} after failure or cancellation.`;
  } },
  h("p", {}, "Days a delivery is kept once it ends, then it expires with its attempts. Each delivery keeps the setting it was made with."),
  h("div", { class: "row" }, field("After success (days)", succeeded), field("After failure or cancellation (days)", failed)),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save retention")), saved, slot);
}

// Which Standard Webhooks signatures deliveries carry (docs/security.md): v1, HMAC with the whsec_
// secret below; v1a, Ed25519, which receivers verify with a public key (listed here while v1a is
// on, to copy into them); both while receivers move from one to the other.
const SIGNATURES = [
  ["v1", "v1 (HMAC, default)", "Signed with the shared whsec_ secret below; every receiver that holds it can verify (and could forge)."],
  ["v1,v1a", "v1 and v1a (migrating)", "Both signatures side by side in webhook-signature, while receivers move to the public key."],
  ["v1a", "v1a (Ed25519)", "Signed with a private key only infrai holds; receivers verify with the public key below."],
];
const signaturesValue = (list) => (list.includes("v1a") ? (list.includes("v1") ? "v1,v1a" : "v1a") : "v1");

function signaturesForm(ctx, current) {
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const saved = h("p", { class: "hint", id: "signatures-saved", "aria-live": "polite" });
  const keysBox = h("div", { id: "public-keys", "aria-live": "polite" });
  const radios = SIGNATURES.map(([value]) => h("input", { type: "radio", name: "signatures", value,
    id: `signatures-${value.replace(",", "-")}`, "aria-describedby": `signatures-${value.replace(",", "-")}-hint`,
    checked: value === signaturesValue(current) }));
  const showKeys = async (value) => {
    keysBox.replaceChildren();
    if (!value.includes("v1a")) return;
    const out = await guarded(slot, () => api("GET", "/v1/scheduling/webhook/public-keys"));
    if (!out || !ctx.alive()) return;
    keysBox.replaceChildren(h("p", {}, "Public keys receivers verify v1a signatures with (also at GET /v1/scheduling/webhook/public-keys):"),
      h("div", { class: "scroll" }, h("table", { class: "list public-keys" },
        h("thead", {}, h("tr", {}, ["Key id", "Public key", "Expires"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, out.keys.map((k) => h("tr", { "data-key": k.key_id }, h("td", {}, h("code", {}, k.key_id)),
          h("td", {}, h("code", { class: "public-key" }, k.public_key)),
          h("td", {}, k.expires_at ? when(k.expires_at) : "no (current)")))))));
  };
  showKeys(signaturesValue(current));
  return h("form", { "aria-label": "Signatures", onsubmit: async (ev) => {
    ev.preventDefault();
    const chosen = radios.find((r) => r.checked);
    saved.textContent = "";
    const out = await guarded(slot, () => api("PATCH", "/v1/auth/project", { body: { signatures: chosen.value.split(",") } }));
    if (!out) return;
    const value = signaturesValue(out.signatures);
    radios.forEach((r) => { r.checked = r.value === value; });
    saved.textContent = `Saved: deliveries made from now on carry ${out.signatures.join(" and ")} signatures.`;
    await showKeys(value);
  } },
  h("fieldset", { class: "card" }, h("legend", {}, "Signatures deliveries carry"),
    SIGNATURES.map(([value, label, help], i) => h("div", {}, h("div", { class: "check" }, radios[i],
      h("label", { for: radios[i].id }, label)), h("p", { class: "hint", id: `${radios[i].id}-hint` }, help)))),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save signatures")), saved, slot, keysBox);
}
