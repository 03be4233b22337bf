// Cron in the browser, for the form's validation as you type, the schedule in words and a
// preview of the next runs. The same rules as the service's chalicelib/core/schedules.py
// (5 fields or a macro; OR of the two day fields when both are written as values; a wall time
// inside a spring-forward gap never fires, a repeated one fires once). The service has the last
// word: it validates again on save, and a job's page shows the next runs the API computed.
import { offsetMinutes } from "./dom.js";

const MACROS = {
  "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
};
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELDS = [
  { name: "minute", lo: 0, hi: 59, help: "minute takes 0-59" },
  { name: "hour", lo: 0, hi: 23, help: "hour takes 0-23" },
  { name: "day-of-month", lo: 1, hi: 31, help: "day-of-month takes 1-31" },
  { name: "month", lo: 1, hi: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])), help: "month takes 1-12 or JAN-DEC" },
  { name: "day-of-week", lo: 0, hi: 7, openHi: 6, names: Object.fromEntries(DAYS.map((d, i) => [d, i])), help: "day-of-week takes 0-7 (0 and 7 are Sunday) or SUN-SAT" },
];
const EXAMPLE = "standard 5-field cron (minute hour day-of-month month day-of-week), e.g. '0 9 * * *'";
const TOKEN = /^([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?(?:\/([0-9]+))?$/;

export class ScheduleError extends Error {}
const bad = (m) => new ScheduleError(m);

function value(text, f, where) {
  let n;
  if (/^[0-9]+$/.test(text)) n = Number(text);
  else if (f.names && text.toUpperCase() in f.names) n = f.names[text.toUpperCase()];
  else throw bad(`${where}: '${text}' is not a number or a known name; ${f.help}.`);
  if (n < f.lo || n > f.hi) throw bad(`${where} is out of range: ${f.help}.`);
  return n;
}

function token(tok, f) {
  const where = `${f.name} '${tok}'`;
  if (tok.includes("?")) throw bad(`'?' in ${f.name} is AWS/Quartz syntax and not supported: write '*' for 'any'.`);
  if (/^([0-9]*L|L-?[0-9]*|LW|[0-9]+W|.*#.*)$/i.test(tok) && !(f.names && tok.toUpperCase() in f.names)) {
    throw bad(`${where} uses L, W or # (last/weekday/nth), which standard cron does not support; use numbers, ranges (1-5), lists (1,15) and steps (*/15).`);
  }
  const star = tok.startsWith("*");
  const m = TOKEN.exec(star ? "0" + tok.slice(1) : tok);
  if (!tok || !m || (star && m[2])) throw bad(`${where} is not valid cron syntax; use numbers, names, ranges (1-5), lists (1,15) and steps (*/15).`);
  const step = m[3] ? Number(m[3]) : 1;
  if (step < 1) throw bad(`${where} has a step of 0: a step must be at least 1, e.g. '*/15' for every 15.`);
  const openHi = f.openHi ?? f.hi;
  let start = f.lo;
  let end = openHi;
  if (!star) {
    start = value(m[1], f, where);
    end = m[2] ? value(m[2], f, where) : (m[3] ? Math.max(start, openHi) : start);
    if (f.name === "day-of-week" && m[2] && m[2].toUpperCase() === "SUN" && start > 0) end = 7;
    if (end < start) throw bad(`${where} runs backwards: write the smaller value first, e.g. '${end}-${start}'; ranges don't wrap.`);
  }
  const out = [];
  for (let v = start; v <= end; v += step) out.push(v);
  return out;
}

const daysIn = (month, year = 2024) => new Date(Date.UTC(year, month, 0)).getUTCDate();

// -> {text, minute[], hour[], dom[], month[], dow[], rule, fields: [5 texts]}; throws ScheduleError
export function parse(expression) {
  const text = String(expression ?? "").split(/\s+/).filter(Boolean).join(" ");
  if (!text) throw bad(`The schedule is empty: ${EXAMPLE}.`);
  if (text.length > 200) throw bad(`The schedule is ${text.length} characters long; the limit is 200.`);
  if (/^(cron|rate|at)\(/i.test(text)) throw bad(`'${text.split("(")[0]}(...)' is AWS syntax and not accepted here: ${EXAMPLE}.`);
  let expanded = text;
  if (text.startsWith("@")) {
    if (text.toLowerCase() === "@reboot") throw bad("'@reboot' is not supported: a hosted schedule has no reboot to run at.");
    expanded = MACROS[text.toLowerCase()];
    if (!expanded) throw bad(`'${text}' is not a known shortcut; use one of ${Object.keys(MACROS).join(", ")}, or ${EXAMPLE}.`);
  }
  const parts = expanded.split(" ");
  if (parts.length !== 5) throw bad(`The schedule has ${parts.length} field(s): ${EXAMPLE}. Seconds or year fields are not accepted.`);
  const [minute, hour, dom, month, dowRaw] = parts.map((p, i) => [...new Set(p.split(",").flatMap((t) => token(t, FIELDS[i])))].sort((a, b) => a - b));
  const dow = [...new Set(dowRaw.map((d) => d % 7))].sort((a, b) => a - b);
  let rule;
  const domAll = dom.length === 31;
  const dowAll = dow.length === 7;
  if (!parts[2].startsWith("*") && !parts[4].startsWith("*")) rule = domAll || dowAll ? "every" : "either";
  else if (domAll || dowAll) rule = domAll && dowAll ? "every" : (dowAll ? "dom" : "dow");
  else throw bad(`day-of-month '${parts[2]}' with day-of-week '${parts[4]}' is ambiguous: restrict just one of the two, or write both without '*' (e.g. '1-31/2') to run on days matching either.`);
  const domCanFire = month.some((mo) => dom.some((d) => d <= daysIn(mo)));
  if (rule === "either" && !domCanFire) rule = "dow";
  if (rule === "dom" && !domCanFire) throw bad(`'${text}' can never run: day(s) ${dom.join(", ")} never occur in the month(s) chosen.`);
  return { text, minute, hour, dom, month, dow, rule, fields: parts };
}

// ---- in words: "at 09:00, Monday to Friday, Europe/Paris"
const DAY_WORDS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTH_WORDS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const pad = (n) => String(n).padStart(2, "0");
const listWords = (xs) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);

function runs(values) {   // [1,2,3,5] -> [[1,3],[5,5]]
  const out = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && v === last[1] + 1) last[1] = v;
    else out.push([v, v]);
  }
  return out;
}

function everyN(values, lo, hi) {   // [0,15,30,45] in 0-59 -> 15
  if (values.length < 2 || values[0] !== lo) return 0;
  const step = values[1] - values[0];
  const all = [];
  for (let v = lo; v <= hi; v += step) all.push(v);
  return all.length === values.length && all.every((v, i) => v === values[i]) ? step : 0;
}

function timeWords(s) {
  const allMin = s.minute.length === 60;
  const allHour = s.hour.length === 24;
  if (allMin && allHour) return "every minute";
  const minStep = everyN(s.minute, 0, 59);
  if (allHour && minStep) return `every ${minStep} minutes`;
  if (allHour) return `at minute ${listWords(s.minute.map(String))} of every hour`;
  if (allMin) return `every minute of hour ${listWords(s.hour.map(pad))}`;
  const hourStep = everyN(s.hour, 0, 23);
  if (s.minute.length === 1 && hourStep > 1) return `every ${hourStep} hours at minute ${s.minute[0]}`;
  if (s.minute.length === 1 && s.minute[0] === 0 && allHour) return "every hour";
  if (s.minute.length * s.hour.length <= 6) return "at " + listWords(s.hour.flatMap((h) => s.minute.map((m) => `${pad(h)}:${pad(m)}`)));
  return `at minute ${listWords(s.minute.map(String))} past hour ${listWords(s.hour.map(pad))}`;
}

function dayWords(s) {
  const dowWords = () => {
    const r = runs(s.dow);
    if (r.length === 1 && r[0][1] - r[0][0] >= 2) return `${DAY_WORDS[r[0][0]]} to ${DAY_WORDS[r[0][1]]}`;
    return `on ${listWords(s.dow.map((d) => DAY_WORDS[d]))}`;
  };
  const domWords = () => `on day ${listWords(runs(s.dom).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)))} of the month`;
  const days = { every: "every day", dom: domWords(), dow: dowWords(), either: `${domWords()} or ${dowWords().replace(/^on /, "on ")}` }[s.rule];
  const months = s.month.length === 12 ? "" : ` in ${listWords(s.month.map((m) => MONTH_WORDS[m - 1]))}`;
  return days + months;
}

export function describe(s, timezone) {
  return `${timeWords(s)}, ${dayWords(s)}, ${timezone}`;
}

// ---- the next runs, computed with Intl: local wall times walked in order, mapped to UTC
function wallToUtc(y, mo, d, h, mi, zone) {
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  // the offset in force at the wall time: try the offsets either side of it, keep the first
  // that round-trips (fold=0); none round-trips inside a spring-forward gap: no run.
  const offsets = [...new Set([offsetMinutes(new Date(guess - 86400000), zone), offsetMinutes(new Date(guess + 86400000), zone)])]
    .sort((a, b) => b - a);
  for (const off of offsets) {
    const at = guess - off * 60000;
    if (offsetMinutes(new Date(at), zone) === off) return new Date(at);
  }
  return null;
}

function wallNow(zone, date) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
    month: "numeric", day: "numeric", hour: "numeric", minute: "numeric" }).formatToParts(date).map((x) => [x.type, +x.value]));
  return { y: p.year, mo: p.month, d: p.day, h: p.hour % 24, mi: p.minute };
}

export function nextRuns(s, zone, count = 5, after = new Date()) {
  const start = wallNow(zone, after);
  const out = [];
  const day = new Date(Date.UTC(start.y, start.mo - 1, start.d));
  // searching 12 years past the last hit, as the service does (Feb 29 across 2100)
  for (let i = 0, lastHit = 0; i - lastHit < 366 * 12 && out.length < count; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    const y = day.getUTCFullYear();
    const mo = day.getUTCMonth() + 1;
    const d = day.getUTCDate();
    if (!s.month.includes(mo)) continue;
    const inDom = s.dom.includes(d);
    const inDow = s.dow.includes(day.getUTCDay());
    const ok = { every: true, dom: inDom, dow: inDow, either: inDom || inDow }[s.rule];
    if (!ok) continue;
    lastHit = i;
    for (const h of s.hour) {
      for (const mi of s.minute) {
        if (out.length >= count) return out;
        const at = wallToUtc(y, mo, d, h, mi, zone);
        if (at && at > after) out.push(at);
      }
    }
  }
  return out;
}
