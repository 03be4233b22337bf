// The console's shell: sign in / sign out, the navigation, and a router over location.hash
// (#/deliveries, #/cron/<id>, ...): the server serves one page and its files, nothing else.
import { api, clearKey, getKey, setKey } from "./api.js";
import { errorBox, h } from "./dom.js";
import * as audit from "./audit.js";
import * as cron from "./cron.js";
import * as deliveries from "./deliveries.js";
import * as project from "./project.js";
import * as queues from "./queues.js";
import * as topics from "./topics.js";

const ROUTES = [
  [/^#\/deliveries\/([A-Za-z0-9_-]+)$/, deliveries.detail, "Delivery"],
  [/^#\/deliveries(?:\?(.*))?$/, deliveries.list, "Deliveries"],
  [/^#\/cron\/new$/, cron.edit, "New cron job"],
  [/^#\/cron\/([A-Za-z0-9_]+)\/edit$/, cron.edit, "Edit cron job"],
  [/^#\/cron\/([A-Za-z0-9_]+)$/, cron.detail, "Cron job"],
  [/^#\/cron$/, cron.list, "Cron jobs"],
  [/^#\/queues\/([A-Za-z0-9._-]+)$/, queues.detail, "Queue"],
  [/^#\/queues$/, queues.list, "Queues"],
  [/^#\/topics\/([A-Za-z0-9._-]+)$/, topics.detail, "Topic"],
  [/^#\/topics$/, topics.list, "Topics"],
  [/^#\/project$/, project.page, "Project"],
  [/^#\/audit(?:\?(.*))?$/, audit.page, "Audit log"],
];

const main = document.getElementById("main");
const top = document.getElementById("top");
let current = 0;   // the page being shown; a page stops polling once it is no longer current

function signIn(message) {
  top.hidden = true;
  document.title = "Sign in · infrai console";
  const input = h("input", { id: "api-key", name: "api-key", type: "password", autocomplete: "off",
    required: true, spellcheck: "false", placeholder: "ifr_pk_proj_…" });
  const slot = h("div", { class: "slot" });
  if (message) slot.append(h("p", { class: "notice" }, message));
  const form = h("form", { class: "card signin", onsubmit: async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    slot.replaceChildren();
    try {
      await api("GET", "/v1/auth/me", { key });
    } catch (e) {
      slot.append(errorBox(e));
      input.focus();
      return;
    }
    setKey(key);
    if (!location.hash || location.hash === "#/signin") location.hash = "#/deliveries";
    else render();
  } },
  h("h1", {}, "infrai console"),
  h("p", {}, "Sign in with an API key of your project. It is kept in this tab only (session storage) and sent to this API alone."),
  h("label", { for: "api-key" }, "API key"), input,
  h("button", { type: "submit", class: "primary" }, "Sign in"), slot);
  main.replaceChildren(form);
  input.focus();
}

export function signOut() {
  clearKey();
  current++;
  history.replaceState(null, "", "#/signin");   // no hashchange: the message below stays
  signIn("Signed out: the key was removed from this tab.");
}

async function render() {
  const token = ++current;
  if (!getKey()) return signIn();
  top.hidden = false;
  const hash = location.hash && location.hash !== "#/signin" ? location.hash : "#/deliveries";
  for (const link of document.querySelectorAll("#top nav a")) {
    const section = link.getAttribute("href");
    if (hash === section || hash.startsWith(section + "/") || hash.startsWith(section + "?")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const route = ROUTES.find(([re]) => re.test(hash));
  if (!route) {
    main.replaceChildren(h("div", { class: "error", role: "alert" }, "No such page. ", h("a", { href: "#/deliveries" }, "Go to deliveries")));
    return;
  }
  const [re, page, title] = route;
  const args = hash.match(re).slice(1).map((a) => (a === undefined ? "" : decodeURIComponent(a)));
  document.title = `${title} · infrai console`;
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading…"));
  const ctx = { alive: () => token === current, rerender: () => render() };
  try {
    const node = await page(ctx, ...args);
    if (ctx.alive()) {
      main.replaceChildren(node);
      const heading = main.querySelector("h1");
      if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
    }
  } catch (e) {
    if (!ctx.alive()) return;
    if (e.status === 401) return signIn(`The API refused the key: ${e.message}`);
    main.replaceChildren(errorBox(e));
  }
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", render);
render();
