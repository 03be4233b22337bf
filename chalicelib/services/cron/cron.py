"""Cron jobs: DynamoDB is the source of truth, EventBridge Scheduler the clock. Every change
writes the record first, marked `sync: pending` (or `deleting`) with a due marker
(core/due.py), then makes the schedules match, then marks it `ok` and drops the marker. If the
schedules cannot be changed now, or the request dies half-way, the record stays marked and the
reconciler finishes the change (`converge`): the record is what the job is, always. A schedule
whose job is gone or deleting fires nothing, and is deleted when it fires (cron_runs)."""
import json
import logging
from datetime import datetime, timezone

from ...aws import keys, scheduler, store
from ...core import breaker, clock, due, endpoint_auth, ids, schedules, validation
from ...core.errors import Conflict, InvalidInput, NotFound
from ..receivers import flows
from ..tenancy import quotas
from ..idempotency import idempotency, request_ids
from . import cron_fields

log = logging.getLogger(__name__)

def _aws_expressions(fields: dict) -> list[str]:
    return schedules.to_aws(schedules.parse(fields["schedule"]))


def create(project_id: str, body: dict, idem_key: str | None) -> dict:
    fields = cron_fields.check(body, project_id=project_id)
    flows.require(project_id, fields)
    return idempotency.once(project_id, "cron.create", idem_key, body,
                            lambda: view(_create(project_id, fields, idem_key)))


def _check_quota(project_id: str, fields: dict, was_enabled: bool = False) -> None:
    quotas.check_payload(project_id, fields["payload"])   # the job count is taken with the record


def _create(project_id: str, fields: dict, idem_key: str | None = None) -> dict:
    _check_quota(project_id, fields)
    now = clock.now()
    [cron_id] = request_ids.reserve(project_id, "cron.create", idem_key, "cron")
    pk, sk = keys.cron_job(cron_id)
    record = {"pk": pk, "sk": sk, "cron_id": cron_id, "project_id": project_id,
              "gsi1pk": keys.cron_jobs_of(project_id), "gsi1sk": cron_id,
              **fields, "aws_expressions": _aws_expressions(fields),
              "created_at": now, "updated_at": now, "sync": "pending",
              **due.mark(pk, now + due.SYNC_GRACE, due.SYNC)}
    try:
        quotas.put_cron_job(record)   # with the plan's count of cron jobs, in one transaction
    except store.ConditionFailed:   # the same request, retried after it died: the job is made
        record = store.get(pk, sk)
    return converge(record, quiet=True)


def _sync_schedules(record: dict) -> None:
    """Put each schedule the record needs (create or update), delete the one it no longer does."""
    names = scheduler.schedule_names(record["cron_id"], len(record["aws_expressions"]))
    for name, expression in zip(names, record["aws_expressions"]):
        scheduler.put(name, record["cron_id"], expression, record["timezone"], record["enabled"])
    for name in scheduler.schedule_names(record["cron_id"], 2)[len(names):]:
        scheduler.delete(name)


def _sync_watch(record: dict) -> None:
    """A job with a catch-up window has a watch (keys.cron_watch): up to when its scheduled
    times were checked for runs that never fired (cron_catchup). Made when the window is set,
    starting then (runs before it were not owed); an existing one keeps its place, so a resume
    finds the runs missed while paused, and is due at once then. A watch whose job has no
    window (or is gone) is deleted by its own check."""
    if not record.get("catch_up_window_seconds") or not record["enabled"]:
        return
    pk, sk = keys.cron_watch(record["cron_id"])
    now = clock.now()
    try:
        store.update(pk, sk, {"project_id": record["project_id"], **due.mark(pk, now, due.CATCH_UP)},
                     condition="attribute_exists(pk)")
    except store.ConditionFailed:
        try:
            store.put({"pk": pk, "sk": sk, "cron_id": record["cron_id"], "project_id": record["project_id"],
                       "checked_to": record["updated_at"], **due.mark(pk, now + due.SYNC_GRACE, due.CATCH_UP)},
                      condition="attribute_not_exists(pk)")
        except store.ConditionFailed:
            pass   # made meanwhile by another converge of this job


def drop_schedules(cron_id: str) -> None:
    """Delete every schedule a job can have (missing ones are fine)."""
    for name in scheduler.schedule_names(cron_id, 2):
        scheduler.delete(name)


def converge(record: dict, quiet: bool = False) -> dict | None:
    """Make the schedules match the record, then mark it synced (dropping its marker); a job
    being deleted loses its schedules, then its record. A record changed meanwhile is followed
    to its newer version. Returns the record as it now is (None once deleted). With `quiet`, a
    failure leaves the record marked for the reconciler instead of raising.

    A newer version found already `ok` is not the end: its writer put its schedules, but ours
    (of the older version) may have landed after them (PATCH A writes its record, PATCH B writes
    its record and schedules, then A's Scheduler write arrives), leaving Scheduler on A's
    expression, state or timezone with no marker left to repair it. So we put the newer
    version's schedules again and read the record once more: done when it is still that
    version (any later change writes its record after that read, so its schedules land after
    ours); followed again otherwise."""
    try:
        for _ in range(4):
            if record.get("sync") == "deleting":
                drop_schedules(record["cron_id"])
                quotas.delete_cron_job(record, condition="#sync = :deleting", names={"#sync": "sync"},
                                       values={":deleting": "deleting"})   # and give its place back
                if record.get("catch_up_window_seconds"):
                    store.delete(*keys.cron_watch(record["cron_id"]))   # left behind, it deletes itself
                return None
            _sync_schedules(record)
            if record.get("sync") == "ok":   # a newer version, synced by its writer: ours may have landed last
                current = store.get(record["pk"], record["sk"])
                if current is None:
                    drop_schedules(record["cron_id"])
                    return None
                if current.get("sync") == "ok" and current["updated_at"] == record["updated_at"]:
                    return current
                record = current
                continue
            _sync_watch(record)
            try:
                return store.update(record["pk"], record["sk"], {"sync": "ok", **due.unmark()},
                                    condition="updated_at = :u AND #sync = :pending", names={"#sync": "sync"},
                                    values={":u": record["updated_at"], ":pending": "pending"})
            except store.ConditionFailed:
                current = store.get(record["pk"], record["sk"])
                if current is None:   # deleted while we synced: what we just put must go
                    drop_schedules(record["cron_id"])
                    return None
                if current.get("sync") == "ok" and current["updated_at"] == record["updated_at"]:
                    return current   # ours, synced by another request meanwhile: what we put is it
                record = current
    except Exception:
        if not quiet:
            raise
        log.warning("schedules of %s not in sync yet; the reconciler will finish", record and record.get("cron_id"),
                    exc_info=True)
    return record


def resync(record: dict) -> dict | None:
    """Put a job's schedules again (after they were lost, e.g. the local stack's restart), or
    finish a change or delete that died half-way."""
    if record.get("sync") in ("pending", "deleting"):
        return converge(record)
    _sync_schedules(record)
    return record


def load(project_id: str, cron_id: str) -> dict:
    record = store.get(*keys.cron_job(cron_id)) if ids.is_id(cron_id, "cron") else None
    if not record or record["project_id"] != project_id or record.get("sync") == "deleting":
        raise NotFound(f"No cron job '{str(cron_id)[:64]}' in this project; list them with "
                       "GET /v1/scheduling/cron.", field="cron_id")
    if record.get("sync") == "pending":
        record = converge(record, quiet=True) or record
    return record


def get(project_id: str, cron_id: str) -> dict:
    return view(load(project_id, cron_id), runs=5)


def list_(project_id: str, params: dict) -> dict:
    limit = validation.query_limit(params, default=20, hi=100)
    items, nxt = store.query_page("gsi1", keys.cron_jobs_of(project_id), limit=limit,
                                  cursor=params.get("cursor"), newest_first=False)
    return {"items": [view(i) for i in items if i.get("sync") != "deleting"], "next_cursor": nxt}


def update(project_id: str, cron_id: str, body: dict) -> dict:
    if not body or set(body) <= {"idempotency_key"}:
        raise InvalidInput("Send at least one field to change, e.g. {\"schedule\": \"0 10 * * *\"}.")
    validation.idempotency_key(body, None)   # checked like everywhere; a PATCH is idempotent anyway
    old = load(project_id, cron_id)
    fields = cron_fields.check(body, _public_fields(old), project_id)
    if "flow_key" in body:
        flows.require(project_id, fields)
    return view(_change(old, fields), runs=5)


def set_enabled(project_id: str, cron_id: str, enabled: bool) -> dict:
    old = load(project_id, cron_id)
    if old["enabled"] == enabled:
        return view(old, runs=5)
    return view(_change(old, {**_public_fields(old), "enabled": enabled}), runs=5)


def _public_fields(record: dict) -> dict:
    return {k: record.get(k) for k in ("name", "schedule", *cron_fields.TARGETS, "event_type", "payload", "timezone",
                                        "retries", "timeout_seconds", "enabled", "catch_up_window_seconds",
                                        "flow_key", "circuit_breaker", "breaker_off", "auth", *cron_fields.OPTIONAL)}


MAX_HISTORY = 50   # schedule changes kept per job for the catch-up; older ones: nothing owed before them


def _schedule_history(old: dict, fields: dict, now: float) -> list[dict]:
    """The schedules a job had before, each with `until` (when it stopped being in force), kept
    for the catch-up (cron_catchup): a scheduled time is one of the schedule in force at it, so
    a PATCH of `schedule` or `timezone` must not make the new schedule's earlier times look like
    runs that were missed. A change appends the schedule it ends; entries ended longer than the
    longest window ago are dropped (no catch-up reaches them); past MAX_HISTORY the oldest give
    way to one entry without a schedule: no time before it is owed."""
    history = [h for h in old.get("schedule_history") or [] if h["until"] > now - cron_fields.MAX_CATCH_UP_WINDOW]
    if (fields["schedule"], fields["timezone"]) != (old["schedule"], old["timezone"]):
        history.append({"schedule": old["schedule"], "timezone": old["timezone"], "until": now})
    if len(history) > MAX_HISTORY:
        history = [{"schedule": None, "timezone": None, "until": history[-MAX_HISTORY]["until"]},
                   *history[-MAX_HISTORY + 1:]]
    return history


def _change(old: dict, fields: dict) -> dict:
    _check_quota(old["project_id"], fields, was_enabled=old["enabled"])
    now = max(clock.now(), old["updated_at"] + 0.001)
    new = {**old, **fields, "aws_expressions": _aws_expressions(fields), "updated_at": now, "sync": "pending",
           "schedule_history": _schedule_history(old, fields, now),
           **due.mark(old["pk"], now + due.SYNC_GRACE, due.SYNC)}
    try:
        store.put(new, condition="updated_at = :u AND #sync <> :deleting", names={"#sync": "sync"},
                  values={":u": old["updated_at"], ":deleting": "deleting"})
    except store.ConditionFailed:
        raise Conflict("The job changed while this request ran; read it and try again.", field="cron_id")
    converged = converge(new, quiet=True)
    if converged is None:
        raise NotFound("The cron job was deleted while this request ran.", field="cron_id")
    return converged


def delete(project_id: str, cron_id: str) -> None:
    """Marked `deleting` first (it is gone for the API from then on), then its schedules go, then
    its record; the reconciler finishes a delete that died half-way.

    The `deleting` mark is written only on a job that exists and is not being deleted yet: two
    DELETEs racing (both read the job, one ran to its end first) would otherwise have the late
    one's write re-create the job as a stub, whose own delete gave the plan's slot back a second
    time (the counter below what exists, then a Conflict on every later give-back). So one
    request marks it and frees the slot; the other finds it gone (404, as a DELETE after it)."""
    old = load(project_id, cron_id)
    try:
        store.update(old["pk"], old["sk"], {"sync": "deleting",
                                            "updated_at": max(clock.now(), old["updated_at"] + 0.001),
                                            **due.mark(old["pk"], clock.now() + due.SYNC_GRACE, due.SYNC)},
                     condition="attribute_exists(pk) AND #sync <> :deleting", names={"#sync": "sync"},
                     values={":deleting": "deleting"})
    except store.ConditionFailed:
        raise NotFound(f"No cron job '{cron_id}' in this project: it was deleted while this request ran.",
                       field="cron_id")
    converge({**old, "sync": "deleting"}, quiet=True)


def view(record: dict, runs: int = 0) -> dict:
    schedule = schedules.parse(record["schedule"])
    after = datetime.fromtimestamp(clock.now(), tz=timezone.utc)
    upcoming = schedules.next_runs(schedule, record["timezone"], after, max(runs, 1)) if record["enabled"] else []
    out = {
        "cron_id": record["cron_id"], "name": record["name"], "schedule": record["schedule"],
        "timezone": record["timezone"], "enabled": record["enabled"],
        "next_run_at": clock.rfc3339(upcoming[0].timestamp()) if upcoming else None,
        "retries": record["retries"], "timeout_seconds": record["timeout_seconds"],
        "catch_up_window_seconds": int(record.get("catch_up_window_seconds") or 0),
        "payload": _json(record["payload"]), "aws_schedule_expressions": record["aws_expressions"],
        "created_at": clock.rfc3339(record["created_at"]), "updated_at": clock.rfc3339(record["updated_at"]),
    }
    target = next(t for t in cron_fields.TARGETS if record.get(t))
    out[target] = record[target]
    if target == "topic":
        out["event_type"] = record["event_type"]
    out["flow_key"] = record.get("flow_key")
    if record.get("auth"):   # what identifies its credentials, never a secret
        out["auth"] = endpoint_auth.view(record["auth"])
    if record.get("url"):   # a job feeding a queue goes through its queue's breaker
        out["circuit_breaker"] = breaker.settings(record)
    out.update({k: record.get(k) for k in cron_fields.OPTIONAL})
    if runs:
        out["next_runs"] = [clock.rfc3339(t.timestamp()) for t in upcoming]
    return out


def _json(text):
    return json.loads(text) if text else None
