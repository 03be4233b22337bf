// Cron jobs: the list with each schedule in words, a job's next runs in its zone and the
// viewer's with DST changes marked, create/edit validated as you type, pause/resume/trigger/
// delete, and the job's runs with their deliveries.
import { api } from "./api.js";
import { VIEWER_ZONE, authText, badge, errorBox, field, guarded, h, isZone, offsetMinutes, utcOffset, when } from "./dom.js";
import { describe, nextRuns, parse } from "./schedule.js";

const BASE = "/v1/scheduling/cron";

function words(job) {
  try {
    return describe(parse(job.schedule), job.timezone);
  } catch {
    return `${job.schedule} (${job.timezone})`;
  }
}

export async function list(ctx) {
  const page = await api("GET", BASE, { query: { limit: 100 } });
  const body = page.items.length
    ? h("div", { class: "scroll" }, h("table", { class: "list cron" },
      h("thead", {}, h("tr", {}, ["Name", "Schedule", "Target", "State", "Next run"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, page.items.map((j) => h("tr", { "data-id": j.cron_id },
        h("td", {}, h("a", { href: `#/cron/${j.cron_id}` }, j.name)),
        h("td", {}, h("span", { class: "words" }, words(j)), h("br"), h("code", { class: "muted" }, j.schedule)),
        h("td", {}, targetText(j)),
        h("td", {}, j.enabled ? badge("active") : badge("paused")),
        h("td", {}, when(j.next_run_at, j.timezone, true)))))))
    : h("p", { class: "muted" }, "No cron jobs yet.");
  return h("section", {}, h("h1", {}, "Cron jobs"),
    h("div", { class: "actions" }, h("a", { href: "#/cron/new", class: "button primary" }, "New cron job")), body,
    page.next_cursor ? h("p", { class: "muted" }, "Showing the first 100 jobs.") : null);
}

// Runs in the job's zone and the viewer's; a row whose UTC offset differs from the one before
// it (the first: from now) is marked: the clocks changed between the two runs.
export function runsTable(isoRuns, zone) {
  const now = new Date();
  let prevJob = offsetMinutes(now, zone);
  let prevViewer = offsetMinutes(now, VIEWER_ZONE);
  const rows = isoRuns.map((iso, i) => {
    const at = new Date(iso);
    const job = offsetMinutes(at, zone);
    const viewer = offsetMinutes(at, VIEWER_ZONE);
    const notes = [];
    if (job !== prevJob) notes.push(`DST change in ${zone}: ${utcOffset(prevJob)} → ${utcOffset(job)}`);
    if (viewer !== prevViewer && VIEWER_ZONE !== zone) notes.push(`DST change in ${VIEWER_ZONE}: ${utcOffset(prevViewer)} → ${utcOffset(viewer)}`);
    prevJob = job;
    prevViewer = viewer;
    return h("tr", { class: notes.length ? "dst" : null },
      h("td", { class: "num" }, i + 1), h("td", { class: "job-zone" }, when(iso, zone, true)),
      h("td", { class: "viewer-zone" }, when(iso, VIEWER_ZONE, true)),
      h("td", { class: "dst-note" }, notes.length ? notes.map((n) => h("div", {}, "⚠ ", n)) : ""));
  });
  return h("div", { class: "scroll" }, h("table", { class: "list next-runs" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, `In ${zone} (the job's zone)`),
      h("th", { scope: "col" }, `In ${VIEWER_ZONE} (yours)`), h("th", { scope: "col" }, "Clock changes"))),
    h("tbody", {}, rows)));
}

export async function detail(ctx, id) {
  const [job, runs] = await Promise.all([api("GET", `${BASE}/${id}`), api("GET", `${BASE}/${id}/runs`, { query: { limit: 20 } })]);
  const slot = h("div", { class: "slot", "aria-live": "polite" });
  const act = (label, fn, cls) => h("button", { type: "button", class: cls, onclick: async () => {
    const done = await guarded(slot, fn);
    if (done !== undefined && ctx.alive()) ctx.rerender();
  } }, label);
  const confirmDelete = h("button", { type: "button", class: "danger", hidden: true, onclick: async () => {
    const done = await guarded(slot, () => api("DELETE", `${BASE}/${id}`));
    if (done) location.hash = "#/cron";
  } }, "Yes, delete this job and its schedules");
  const actions = h("div", { class: "actions" },
    h("a", { href: `#/cron/${id}/edit`, class: "button" }, "Edit"),
    job.enabled ? act("Pause", () => api("POST", `${BASE}/${id}/pause`)) : act("Resume", () => api("POST", `${BASE}/${id}/resume`)),
    act("Trigger now", () => api("POST", `${BASE}/${id}/trigger`)),
    h("button", { type: "button", class: "danger", onclick: () => { confirmDelete.hidden = false; confirmDelete.focus(); } }, "Delete…"),
    confirmDelete);
  const runRows = runs.items.map((r) => h("tr", {},
    h("td", {}, when(r.scheduled_at)), h("td", {}, when(r.fired_at)), h("td", {}, r.manual ? "manual" : "scheduled"),
    h("td", {}, badge(r.delivery_state), r.skipped_reason ? ` (${r.skipped_reason})` : ""),
    h("td", { class: "num" }, r.attempt_count),
    h("td", {}, r.target === "topic" && r.delivery_state !== "skipped" ? `${r.matched ?? 0} subscription(s)`
      : r.delivery_id && r.delivery_state !== "skipped" ? h("a", { href: `#/deliveries/${r.delivery_id}` }, r.delivery_id) : "—")));
  return h("section", {}, h("p", {}, h("a", { href: "#/cron" }, "← All cron jobs")),
    h("h1", {}, job.name), h("p", { class: "words", id: "schedule-words" }, words(job)),
    h("dl", { class: "kv" },
      h("dt", {}, "Schedule"), h("dd", {}, h("code", {}, job.schedule), " in ", job.timezone),
      h("dt", {}, "Target"), h("dd", {}, targetText(job)),
      job.auth ? [h("dt", {}, "Endpoint auth"), h("dd", { id: "cron-auth" }, authText(job.auth))] : null,
      h("dt", {}, "State"), h("dd", {}, job.enabled ? badge("active") : badge("paused")),
      h("dt", {}, "Retries, timeout"), h("dd", {}, `${job.retries} retries, ${job.timeout_seconds} s per attempt`),
      h("dt", {}, "Id"), h("dd", {}, h("code", {}, job.cron_id))),
    actions, slot,
    h("h2", {}, "Next runs"),
    job.enabled && job.next_runs && job.next_runs.length ? runsTable(job.next_runs, job.timezone) : h("p", { class: "muted" }, job.enabled ? "No upcoming run." : "Paused: no upcoming run."),
    h("h2", {}, "Runs"),
    runRows.length ? h("div", { class: "scroll" }, h("table", { class: "list runs" },
      h("thead", {}, h("tr", {}, ["Scheduled", "Fired", "How", "Delivery state", "Attempts", "Delivery"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runRows))) : h("p", { class: "muted" }, "No runs yet."));
}

// a job's target: its URL, queue, or topic (with the event type each run publishes as)
const targetText = (j) => j.url || (j.queue ? `queue ${j.queue}` : `topic ${j.topic} (${j.event_type})`);

const ZONES = (() => {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
})();

export async function edit(ctx, id) {
  const job = id ? await api("GET", `${BASE}/${id}`) : null;
  const input = (name, attrs) => h("input", { id: `cron-${name}`, name, autocomplete: "off", ...attrs });
  const name = input("name", { value: job?.name || "", required: true, maxlength: "128" });
  const schedule = input("schedule", { value: job?.schedule || "0 9 * * 1-5", required: true, spellcheck: "false" });
  const zone = input("timezone", { value: job?.timezone || VIEWER_ZONE, list: "zones", required: true, spellcheck: "false" });
  const target = h("select", { id: "cron-target", name: "target" },
    h("option", { value: "url", selected: !!job?.url || !job }, "a URL"), h("option", { value: "queue", selected: !!job?.queue }, "a queue"),
    h("option", { value: "topic", selected: !!job?.topic }, "a topic"));
  const dest = input("destination", { value: job?.url || job?.queue || job?.topic || "", required: true, placeholder: "https://example.com/hook" });
  const eventType = input("event-type", { value: job?.event_type || "", placeholder: "report.daily", spellcheck: "false" });
  const payload = h("textarea", { id: "cron-payload", name: "payload", rows: "4", spellcheck: "false" },
    job ? JSON.stringify(job.payload ?? {}, null, 2) : "{}");
  const retries = input("retries", { type: "number", min: "0", max: "20", value: String(job?.retries ?? 3) });
  const timeout = input("timeout", { type: "number", min: "1", max: "300", value: String(job?.timeout_seconds ?? 300) });

  const scheduleField = field("Schedule (5-field cron, or @daily, @hourly …)", schedule, "");
  const zoneField = field("Time zone (IANA)", zone, "");
  const payloadField = field("Payload (JSON, sent with every run)", payload, "");
  const preview = h("div", { class: "preview", id: "schedule-preview" });
  const slot = h("div", { class: "slot" });
  const save = h("button", { type: "submit", class: "primary" }, job ? "Save" : "Create");

  const hint = (fieldEl) => fieldEl.querySelector(".hint");
  const mark = (el, fieldEl, message, ok) => {
    el.setAttribute("aria-invalid", ok ? "false" : "true");
    hint(fieldEl).textContent = message;
    hint(fieldEl).className = ok ? "hint" : "hint invalid";
  };
  // Validated as you type: the schedule (in words, and its next runs), the zone, the payload
  const check = () => {
    let ok = true;
    let parsed = null;
    try {
      parsed = parse(schedule.value);
    } catch (e) {
      mark(schedule, scheduleField, e.message, false);
      ok = false;
    }
    const zoneOk = isZone(zone.value.trim()) && zone.value.trim() !== "";
    mark(zone, zoneField, zoneOk ? "" : `'${zone.value}' is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC).`, zoneOk);
    ok = ok && zoneOk;
    if (parsed) mark(schedule, scheduleField, zoneOk ? `Runs ${describe(parsed, zone.value.trim())}.` : "", true);
    preview.replaceChildren();
    if (parsed && zoneOk) {
      const runs = nextRuns(parsed, zone.value.trim(), 5).map((d) => d.toISOString());
      preview.append(h("h2", {}, "Next runs (preview)"), runs.length ? runsTable(runs, zone.value.trim()) : h("p", {}, "This schedule never runs."));
    }
    try {
      JSON.parse(payload.value || "null");
      mark(payload, payloadField, "", true);
    } catch (e) {
      mark(payload, payloadField, `Not valid JSON: ${e.message}`, false);
      ok = false;
    }
    save.disabled = !ok;
    return ok;
  };

  const form = h("form", { class: "card", "aria-label": job ? "Edit cron job" : "New cron job", oninput: check, onsubmit: async (ev) => {
    ev.preventDefault();
    if (!check()) return;
    const body = { name: name.value.trim(), schedule: schedule.value.trim(), timezone: zone.value.trim(),
      payload: JSON.parse(payload.value || "null"), retries: Number(retries.value), timeout_seconds: Number(timeout.value) };
    body[target.value] = dest.value.trim();
    if (target.value === "topic") body.event_type = eventType.value.trim();
    const saved = await guarded(slot, () => (job ? api("PATCH", `${BASE}/${id}`, { body }) : api("POST", BASE, { body })));
    if (saved) location.hash = `#/cron/${saved.cron_id}`;
    else slot.querySelector(".error")?.scrollIntoView({ block: "nearest" });
  } },
  field("Name", name), scheduleField, zoneField,
  h("datalist", { id: "zones" }, ZONES.map((z) => h("option", { value: z }))),
  h("div", { class: "row" }, field("Target", target), field("URL or queue name (or topic)", dest),
    field("Event type (a topic target)", eventType)),
  payloadField, h("div", { class: "row" }, field("Retries", retries), field("Timeout (s)", timeout)),
  h("div", { class: "actions" }, save, h("a", { href: job ? `#/cron/${id}` : "#/cron", class: "button" }, "Cancel")), slot, preview);
  check();
  return h("section", {}, h("h1", {}, job ? `Edit ${job.name}` : "New cron job"), form);
}
