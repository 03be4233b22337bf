"""Missed cron runs: catch-up after a pause or an outage, and backfill of a past window.

Every run of a job is keyed by (cron id, scheduled time) (cron_runs.scheduled_run_id) and
written only if absent, so Scheduler's firing, a catch-up and a backfill of the same time make
one run, whichever comes first and however often each comes.

What "missed" means here, concretely. A job with `catch_up_window_seconds` > 0 has a *watch*
item (keys.cron_watch, made by cron._sync_watch) holding `checked_to`: every scheduled time up
to it has been looked at. Its due marker (core/due.py, kind CATCH_UP) brings it to the
reconciler shortly after each scheduled time (at least GRACE after it, at most every
CHECK_EVERY), and at once when the job is resumed. The reconciler then lists the scheduled
times in (checked_to, now - GRACE], each of the schedule in force at it (a PATCH of `schedule`
or `timezone` ends the old one's span: _times_in_force), and looks up their runs:
- a time with a run fired (by Scheduler, an earlier catch-up or a backfill): nothing to do;
- a time without one, at most `catch_up_window_seconds` old: fired now, oldest first;
- a time without one, older than that: skipped, and told in one `cron.run_skipped` event
  (reason `missed`) per check, with how many and between which times.
So a pause, a lost schedule, a firing dead-lettered after the deliver function failed it, or
the whole service stopped (the local stack shut down; on recovery the marker is overdue) all
look the same: scheduled times with no run. While the job is paused the watch rests (no
marker); the resume marks it due. A firing Scheduler delivers late (its own retries, up to a
day) still runs, as without a window.

Backfill (POST /cron/{id}/backfill {since, until}) fires the scheduled times in [since,
until), at most MAX_BACKFILL_RUNS, each once: those with a run already are counted, not fired.
It is not a job of its own: a backfill that dies half-way leaves the runs it made (each
carried to its end by its own due marker) and is finished by asking again, which fires only the
rest. Each fired run counts against the plan's deliveries per day; over it, the run is recorded
skipped and told (`cron.run_skipped`, reason `quota_exceeded`), as a scheduled run would be."""
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from ...aws import keys, store
from ...core import clock, due, ids, schedules, validation
from ...core.errors import InvalidInput
from . import cron, cron_runs
from ..delivery import delivery_list
from ..notices import events

log = logging.getLogger(__name__)

GRACE = 120               # a scheduled time this old without a run is missed (Scheduler fires within seconds)
CHECK_EVERY = 600         # a frequent job is checked at most this often (a minutely job: ten times at once)
CATCH_UP_PAGE = 200       # runs a check fires per job; more are fired by the next check, a minute later
CHUNK = 100               # scheduled times looked up per BatchGetItem
SKIP_COUNT_CAP = 100_000  # missed times counted per check (a minutely job paused for ten weeks)
MAX_BACKFILL_RUNS = 1000
MAX_BACKFILL_SPAN = 366 * 86400
BACKFILL_THREADS = 8      # runs fired at once by a backfill: 1,000 runs within an API request's time


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=timezone.utc)


# -- catch-up (the reconciler, on a watch's marker) ---------------------------------------------

def check(watch: dict, now: float) -> str:
    """One check of a job's watch. Returns the reconciler's outcome word."""
    job = store.get(*keys.cron_job(watch["cron_id"]))
    if not job or job.get("sync") == "deleting" or not job.get("catch_up_window_seconds"):
        try:
            store.delete(watch["pk"], watch["sk"], condition="gsi3sk = :sk", values={":sk": watch["gsi3sk"]})
        except store.ConditionFailed:
            pass   # marked again meanwhile (the window set anew): its own check decides
        return "unwatched"
    if not job["enabled"]:
        _settle(watch, due.unmark())   # rests while paused; the resume marks it due again
        return "paused"
    schedule = schedules.parse(job["schedule"])
    frm, to = float(watch["checked_to"]), now - GRACE
    too_old = min(now - job["catch_up_window_seconds"], to)   # times up to here are past the window
    if frm < too_old:
        _report_missed(job, frm, too_old)
    fired, checked_to, more = _catch_up(job, max(frm, too_old), to) if max(frm, too_old) < to \
        else (0, max(frm, to), False)
    if more:
        at = now   # the rest at the reconciler's next pass
    else:
        nxt = schedules.next_run(schedule, job["timezone"], _dt(checked_to))
        at = max(nxt.timestamp() + GRACE, now + CHECK_EVERY) if nxt else None
    _settle(watch, {"checked_to": checked_to, **(due.mark(watch["pk"], at, due.CATCH_UP) if at else due.unmark())})
    return "caught up" if fired else "checked"


def _settle(watch: dict, changes: dict) -> None:
    """Write the check's result, if the watch is still as the check found it (two reconcilers
    checking at once: the second writes nothing; the runs they both fired are one each)."""
    try:
        store.update(watch["pk"], watch["sk"], changes, condition="gsi3sk = :sk AND checked_to = :c",
                     values={":sk": watch["gsi3sk"], ":c": watch["checked_to"]})
    except store.ConditionFailed:
        pass


def _times_in_force(job: dict, frm: float, to: float, limit: int) -> list[datetime]:
    """The scheduled times in (frm, to], oldest first, at most `limit`: each a time of the
    schedule (and timezone) in force at it. The job's `schedule_history` (cron._schedule_history)
    says until when each earlier one was; without it, a PATCH of `schedule` made the new
    expression's times before the change look missed, and the catch-up fired runs that were
    never scheduled. An entry without a schedule (history cut short) owes nothing."""
    segments = [*(job.get("schedule_history") or []),
                {"schedule": job["schedule"], "timezone": job["timezone"], "until": to}]
    out, since = [], frm
    for seg in segments:
        until = min(float(seg["until"]), to)
        if seg["schedule"] and since < until and len(out) < limit:
            out += schedules.times_in(schedules.parse(seg["schedule"]), seg["timezone"], _dt(since + 0.001),
                                      _dt(until + 0.001), limit - len(out))
        since = max(since, until)
    return out


def _report_missed(job: dict, frm: float, until: float) -> None:
    """Tell how many scheduled times in (frm, until] have no run: too old to fire."""
    times = _times_in_force(job, frm, until, SKIP_COUNT_CAP)
    if not times:
        return
    lo, hi = times[0].timestamp(), times[-1].timestamp()
    pk = keys.cron_job(job["cron_id"])[0]
    ran = store.count_between(pk, f"RUN#{ids.time_prefix('dlv', lo)}", f"RUN#{ids.time_prefix('dlv', hi)}~",
                              where={"manual": False})
    missed = len(times) - ran
    if missed <= 0:
        return
    log.info("cron runs missed outside the catch-up window", extra={"cron_id": job["cron_id"], "count": missed})
    events.emit(job["project_id"], "cron.run_skipped",
                {"cron_id": job["cron_id"], "reason": "missed", "count": missed,
                 "count_is_lower_bound": len(times) >= SKIP_COUNT_CAP,
                 "since": clock.rfc3339(lo), "until": clock.rfc3339(hi),
                 "catch_up_window_seconds": job["catch_up_window_seconds"]}, now=hi)


def _catch_up(job: dict, frm: float, to: float) -> tuple[int, float, bool]:
    """Fire the times in (frm, to] that have no run, oldest first, up to CATCH_UP_PAGE. Returns
    (how many fired, checked up to, whether more remain). The span is at most the window (7
    days), so every time in it is listed."""
    times = _times_in_force(job, frm, to, 8 * 24 * 60)
    fired = 0
    for start in range(0, len(times), CHUNK):
        for t in _without_run(job["cron_id"], times[start:start + CHUNK]):
            if fired == CATCH_UP_PAGE:
                return fired, t.timestamp() - 0.001, True
            _fire(job["cron_id"], t, requested=False)
            fired += 1
    return fired, to, False


def _without_run(cron_id: str, times: list[datetime]) -> list[datetime]:
    run_keys = {t: keys.cron_run(cron_id, cron_runs.scheduled_run_id(cron_id, t.timestamp())) for t in times}
    found = store.get_many(list(run_keys.values())) if run_keys else {}
    return [t for t, k in run_keys.items() if k not in found]


def _fire(cron_id: str, t: datetime, requested: bool) -> str:
    """Fire one scheduled time; returns 'fired' or 'skipped' (over the plan's limit, or the job
    went away meanwhile). Its first attempt is handed to SQS before its delivery is written; if
    that send fails, this raises and nothing of the run is written (the watch's marker, or the
    backfill's caller, tries again)."""
    delivery_id, _ = cron_runs.fire(cron_id, t.strftime("%Y-%m-%dT%H:%M:%SZ"), requested=requested, hand=True)
    return "fired" if delivery_id else "skipped"


# -- backfill (the API) ------------------------------------------------------------------------

def backfill(project_id: str, cron_id: str, body: dict) -> dict:
    validation.reject_unknown(body, ("since", "until", "idempotency_key"))
    for name in ("since", "until"):
        if body.get(name) is None:
            raise InvalidInput(f"'{name}' is required: the window [since, until) whose scheduled runs to fire, "
                               "as RFC 3339 times, e.g. {\"since\": \"2026-11-23T00:00:00Z\", "
                               "\"until\": \"2026-11-30T00:00:00Z\"}.", field=name)
    since, until = (delivery_list.parse_time(body[n], n) for n in ("since", "until"))
    job = cron.load(project_id, cron_id)
    now = clock.now()
    if until > now:
        raise InvalidInput(f"'until' is in the future (now is {clock.rfc3339(now)}): a backfill fires past runs; "
                           "the schedule fires the ones to come.", field="until")
    if since >= until:
        raise InvalidInput("'since' must be before 'until'.", field="since")
    if until - since > MAX_BACKFILL_SPAN:
        raise InvalidInput("The window is longer than 366 days; backfill it in parts.", field="since")
    schedule = schedules.parse(job["schedule"])
    times = schedules.times_in(schedule, job["timezone"], _dt(since), _dt(until), MAX_BACKFILL_RUNS + 1)
    if len(times) > MAX_BACKFILL_RUNS:
        cut = clock.rfc3339(times[MAX_BACKFILL_RUNS].timestamp())
        raise InvalidInput(f"The window holds more than {MAX_BACKFILL_RUNS} runs of this schedule; ask for at most "
                           f"{MAX_BACKFILL_RUNS} at a time: until {cut} first, then from there.", field="until")
    todo = [t for start in range(0, len(times), CHUNK) for t in _without_run(cron_id, times[start:start + CHUNK])]
    if len(todo) > BACKFILL_THREADS:
        with ThreadPoolExecutor(max_workers=BACKFILL_THREADS) as pool:
            outcomes = list(pool.map(lambda t: _fire(cron_id, t, requested=True), todo))
    else:
        outcomes = [_fire(cron_id, t, requested=True) for t in todo]
    return {"cron_id": cron_id, "since": clock.rfc3339(since), "until": clock.rfc3339(until),
            "runs": len(times), "fired": outcomes.count("fired"), "existing": len(times) - len(todo),
            "skipped": outcomes.count("skipped")}
