"""Expunge: every item of a project deleted, its keys last retired, with a report
(`POST /v1/auth/project/expunge` with `{"confirm": "<project_id>"}`, then
`GET /v1/auth/project/expunge`). What is deleted, found how and in which order: sweep.py.

The job is one item keyed by the project (`EXPUNGE#<project>`), carried forward a page per step
by task messages on the dispatch queue (`{"expunge": {p, s}}`, routed by the deliver function
like a bulk replay's steps). The request that starts it marks the project (no key can be made
from then on) and revokes every key at once on this instance; the first step does it again and
the walk waits REVOKE_GRACE, so that no API instance still trusts a key (they cache a key for
projects.AUTH_CACHE_SECONDS) and nothing new is written behind the walk.

Crash-safe and counted once, as replays.py:
- a step's task names the job's step number; a task for the step before the job's queues the
  current step again (the follow-up of a redelivered message may be lost), any other stale
  task is dropped, and a duplicate step loses the conditional write below;
- a step first deletes what the step before it claimed (`page`, left if it died mid-page), then
  reads the next page, checks which of its items exist (one consistent BatchGetItem), and
  *claims* them: one write, conditional on the step, that moves the position, adds them to the
  counts and records them as `page`; only then does it delete them, and clear `page`. A step
  that dies after its claim has its page deleted by the next; one that dies before it is redone.
- a lost task (SQS gave up on it) is resumed by the job's due marker (core/due.py, the reconciler).

The keys go last: each key's hash record is *retired*, not deleted (projects.retire_key):
revoked for everything but the two routes above, it keeps reading the report for KEEP_SECONDS
after the end, when the report and the retired keys expire (TTL). So a client that sent the
POST polls the GET with the same key until `state` is `completed`."""
import logging

from ... import observability
from ...aws import dispatch, keys, store
from ...core import clock, due, validation
from ...core.errors import Conflict, InvalidInput, NotFound
from ..tenancy import projects
from . import sweep

log = logging.getLogger(__name__)

SORT_KEY = "EXPUNGE"
FIELDS = ("confirm", "idempotency_key")
KEEP_SECONDS = 30 * 24 * 3600               # the report, and the retired keys that read it, after the end
REVOKE_GRACE = projects.AUTH_CACHE_SECONDS + 5
STEP_RECHECK = 900                          # a step task not done by then is sent again (the marker)
POSITION = ("phase", "part", "cursor", "child", "child_cursor")


def _key(project_id: str) -> tuple[str, str]:
    return f"EXPUNGE#{project_id}", SORT_KEY


def start(project_id: str, body: dict) -> dict:
    """Begin (or, when begun already, report on) the project's expunge."""
    validation.reject_unknown(body, FIELDS)   # an idempotency_key is checked by the route: the job is once anyway
    if body.get("confirm") != project_id:
        raise InvalidInput(f"To expunge this project and everything in it, send {{\"confirm\": \"{project_id}\"}}: "
                           "its id, as GET /v1/auth/me shows it. This cannot be undone.", field="confirm")
    now = clock.now()
    pk, sk = _key(project_id)
    job = {"pk": pk, "sk": sk, "project_id": project_id, "state": "running", "step": 0, "revoked": False,
           **sweep.start(), "deleted": {}, "started_at": now, "updated_at": now,
           **due.mark(pk, now + due.RECONCILE_EVERY, due.CHECK)}
    try:
        store.transact_write([
            {"put": job, "condition": "attribute_not_exists(pk)"},
            {"update": keys.project(project_id), "expression": "SET expunging_at = :now",
             "condition": "attribute_exists(pk)", "values": {":now": now}}])
    except store.ConditionFailed:
        found = store.get(pk, sk)
        if found is None:
            raise Conflict("This project no longer exists.") from None
        return view(found)
    observability.event("expunge_started", project_id=project_id)
    try:
        dispatch.enqueue(_task(project_id, 0))
    except Exception:  # noqa: BLE001 - the job is stored: its marker starts it within a minute
        log.warning("expunge of %s: first step not queued; the reconciler starts it", project_id, exc_info=True)
    try:
        _revoke(project_id, now)   # the keys stop here and now, not only when the first step runs
    except Exception:  # noqa: BLE001 - the first step revokes them again
        log.warning("expunge of %s: keys not revoked yet; the first step does it", project_id, exc_info=True)
    return view(job)


def get(project_id: str) -> dict:
    job = store.get(*_key(project_id))
    if not job or job.get("ttl", float("inf")) <= clock.now():
        raise NotFound("No expunge of this project was started (or its report expired, 30 days after it "
                       "ended).", field=None)
    return view(job)


def view(job: dict) -> dict:
    phase = None
    if job["state"] == "running":
        phase = sweep.NAMES[min(job.get("phase", 0), len(sweep.NAMES) - 1)] if job.get("revoked") else "keys"
    return {"project_id": job["project_id"], "state": job["state"], "phase": phase,
            "deleted": {k: int(job["deleted"].get(k, 0)) for k in sweep.COUNTED},
            "started_at": clock.rfc3339(job["started_at"]), "updated_at": clock.rfc3339(job["updated_at"]),
            "finished_at": clock.rfc3339(job.get("finished_at"))}


def _task(project_id: str, step: int) -> dict:
    return {"expunge": {"p": project_id, "s": step}}


def _send(job: dict) -> None:
    """The task of the job's current step, delayed until the job may go on."""
    dispatch.enqueue(_task(job["project_id"], job["step"]), max(0.0, job.get("not_before", 0) - clock.now()))


def continue_expunge(task: dict) -> str:
    """One step of a job (a task message). Safe to run any number of times."""
    project_id, step = str(task.get("p")), task.get("s")
    job = store.get(*_key(project_id))
    if not job or job["state"] != "running":
        return "expunge done"
    if step == job["step"] - 1:
        _send(job)   # the follow-up of a redelivered step may be lost
        return "expunge resumed"
    if step != job["step"]:
        return "expunge stale"
    now = clock.now()
    if job.get("not_before", 0) > now:   # early (a resend by the marker): back when the wait is over
        _send(job)
        return "expunge waiting"
    if job.get("page"):
        sweep.delete(project_id, job["page"], now + KEEP_SECONDS)
    if not job.get("revoked"):
        _revoke(project_id, now)
        changes, page = {"revoked": True, "not_before": now + REVOKE_GRACE}, []
    else:
        changes, page = _next_page(job, now)
    changes.update({"step": step + 1, "updated_at": now, "page": page or None})
    if changes.get("state") == "completed":
        changes.update({"finished_at": now, "ttl": int(now + KEEP_SECONDS), "not_before": None, **due.unmark()})
    else:   # the next task is owed: if it is lost, the marker resumes the job
        changes.update(due.mark(job["pk"], max(now, changes.get("not_before") or 0) + STEP_RECHECK, due.CHECK))
    try:
        job = store.update(job["pk"], job["sk"], changes, condition="step = :s", values={":s": step})
    except store.ConditionFailed:
        return "expunge stale"   # a duplicate of this step claimed it first
    if page:
        sweep.delete(project_id, page, now + KEEP_SECONDS)
        try:
            store.update(job["pk"], job["sk"], {"page": None}, condition="step = :s", values={":s": step + 1})
        except store.ConditionFailed:
            pass   # the next step has begun (it deletes the page again: harmless)
    if job["state"] == "running":
        _send(job)
        return "expunge step"
    observability.event("expunge_finished", project_id=project_id, **job["deleted"])
    return "expunge completed"


def _next_page(job: dict, now: float) -> tuple[dict, list[dict]]:
    """The next page: what the walk finds from the job's position that still exists, and the
    changes that claim it (position, counts, the wait before the next step; the end)."""
    project_id = job["project_id"]
    found, pos, wait = sweep.gather(project_id, {k: job.get(k) for k in POSITION})
    items = sweep.existing(project_id, found)
    page = [{"pk": pk, "sk": sk, **({"key_hash": item["key_hash"]} if item.get("key_hash") else {})}
            for (pk, sk), item in items.items()]
    deleted = dict(job["deleted"])
    for entry in page:
        kind = sweep.category(entry["pk"], entry["sk"])
        deleted[kind] = deleted.get(kind, 0) + 1
    changes = {**pos, "deleted": deleted, "not_before": now + wait if wait else None}
    if pos["phase"] >= len(sweep.NAMES) and not page:
        changes["state"] = "completed"
    return changes, page


def _revoke(project_id: str, now: float) -> None:
    """Every key of the project retired (revoked, reading only the report): safe to repeat."""
    cursor = None
    while True:
        items, cursor = store.query_page(None, keys.project(project_id)[0], limit=100, cursor=cursor,
                                         sk_prefix="KEY#", newest_first=False)
        for item in items:
            projects.retire_key(project_id, item, now + KEEP_SECONDS)
        if not cursor:
            return


def on_due(job: dict) -> str:
    """The job's marker fell due: a running job whose step task was lost is sent its step again
    (and marked again); an ended one is unmarked."""
    if job.get("state") == "running":
        _send(job)
        changes = due.mark(job["pk"], max(clock.now(), job.get("not_before") or 0) + STEP_RECHECK, due.CHECK)
    else:
        changes = due.unmark()
    try:
        store.update(job["pk"], job["sk"], changes, condition="gsi3sk = :sk AND step = :s",
                     values={":sk": job["gsi3sk"], ":s": job["step"]})
    except store.ConditionFailed:
        pass
    return "expunge resumed" if job.get("state") == "running" else "unmarked"
