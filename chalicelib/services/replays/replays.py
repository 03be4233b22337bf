"""Bulk replay: every failed delivery matching the filters of the one delivery list gets a fresh
set of attempts, as `deliveries.replay` gives one. A replay job is a record in DynamoDB that
is carried forward one page per step by task messages on the dispatch queue ({"replay": ...},
handled by the deliver function like a queue's release task).

Two phases, so progress has a known total: *matching* walks the index and writes one marker
per matched delivery (`matched` is then exact); *replaying* walks the markers and replays each.

Crash-safe and never twice:
- a step's task names the job's step number; the job moves from step s to s+1 with a
  conditional write *after* the page is done and *before* the next task is queued. A task for
  an older step is dropped, except the one just before (a redelivered message whose follow-up
  may have been lost), which queues the current step again; a duplicate step loses the
  conditional write and queues nothing, so duplicates die out at once.
- each marker goes pending -> claimed (conditional) -> queued | skipped. A marker found claimed
  (the step died between claim and replay) is replayed only if its delivery is still failed
  with the attempt count it had when matched: a delivery that was replayed has more attempts.
- a marker's last move (claimed -> queued | skipped) and the job's counter are one transaction,
  so each marker is counted once, whoever (a redelivered or duplicate step) finishes it.
- markers are written only if absent: a late duplicate of a matching step cannot reset one.
Each replayed delivery counts against the plan's deliveries per day (only those replayed: a
marker whose delivery is no longer failed is skipped before the page is charged); at the limit
the job stops (state `stopped`, with the error), and the rest stay failed.

When a job ends, the write that ends it carries a due marker (core/due.py) until its
`replay.finished` event is emitted (`announce`): a step that dies in between leaves the event to
the reconciler, and the event's id is derived from the job's end, so it is posted once."""
from ...aws import dispatch, keys, store
from ...core import clock, due, ids, validation
from ...core.errors import Conflict, InvalidInput, NotFound, QuotaExceeded, ServiceUnavailable
from ... import observability
from ..delivery import deliveries, delivery_list
from ..notices import events
from ..tenancy import quotas
from ..idempotency import idempotency


STEP_RECHECK = 900   # a running job's marker: a step task not done by then is sent again
MATCH_PAGE = 100
REPLAY_PAGE = 25
KEEP_SECONDS = 30 * 24 * 3600       # jobs and their markers expire (TTL) a month after they start
BODY_FIELDS = (*delivery_list.FILTERS, "idempotency_key")


SORT_KEY = "REPLAY"


def _key(replay_id: str) -> tuple[str, str]:
    return f"REPLAY#{replay_id}", SORT_KEY


def jobs_of(project_id: str) -> str:
    """gsi1 partition: a project's replay jobs (how an expunge finds them; older jobs expire)."""
    return f"{project_id}#replays"


def start(project_id: str, body: dict, idem_key: str | None) -> dict:
    validation.reject_unknown(body, BODY_FIELDS)
    params = {k: v for k, v in body.items() if k != "idempotency_key" and v is not None}
    for k, v in params.items():
        if isinstance(v, int) and not isinstance(v, bool) and k == "status_code":
            params[k] = str(v)
        elif not isinstance(v, str):
            raise InvalidInput(f"'{k}' must be a string.", field=k)
    if params.setdefault("state", "failed") != "failed":
        raise InvalidInput("Only failed deliveries can be replayed: 'state' must be 'failed' (or left out).",
                           field="state")
    filters = delivery_list.parse_filters(params)

    def create():
        now = clock.now()
        replay_id = ids.new_id("rpl", now)
        pk, sk = _key(replay_id)
        job = {"pk": pk, "sk": sk, "replay_id": replay_id, "project_id": project_id,
               "gsi1pk": jobs_of(project_id), "gsi1sk": replay_id,
               "filters": delivery_list.filters_view(filters), "state": "matching", "step": 0,
               "matched": 0, "queued": 0, "skipped": 0, "created_at": now, "updated_at": now,
               "ttl": int(now) + KEEP_SECONDS, **due.mark(pk, now + STEP_RECHECK, due.CHECK)}
        store.put(job, condition="attribute_not_exists(pk)")
        try:
            dispatch.enqueue(_task(job, 0))
        except Exception as e:  # noqa: BLE001 - a job nobody will run must not be reported started
            store.delete(pk, sk)
            raise ServiceUnavailable("The replay could not be started; nothing was changed. Retry "
                                     "(with the same idempotency_key).") from e
        observability.event("replay_started", replay_id=replay_id, project_id=project_id)
        return view(job)
    return idempotency.once(project_id, "deliveries.replay", idem_key, body, create)


def get(project_id: str, replay_id: str) -> dict:
    job = store.get(*_key(replay_id)) if ids.is_id(replay_id, "rpl") else None
    if not job or job["project_id"] != project_id:
        raise NotFound(f"No replay '{str(replay_id)[:64]}' in this project; use the replay_id "
                       "POST /v1/scheduling/deliveries/replay returned.", field="replay_id")
    return view(job)


def view(job: dict) -> dict:
    return {"replay_id": job["replay_id"], "state": job["state"], "filters": job["filters"],
            "matched": job["matched"], "queued": job["queued"], "skipped": job["skipped"],
            "done": job["queued"] + job["skipped"], "finished": job["state"] in ("completed", "stopped"),
            "error": job.get("error"), "created_at": clock.rfc3339(job["created_at"]),
            "updated_at": clock.rfc3339(job["updated_at"]), "finished_at": clock.rfc3339(job.get("finished_at"))}


def _task(job: dict, step: int) -> dict:
    return {"replay": {"p": job["project_id"], "r": job["replay_id"], "s": step}}


def continue_replay(task: dict) -> str:
    """One step of a job (a task message). Safe to run any number of times."""
    job = store.get(*_key(str(task.get("r"))))
    step = task.get("s")
    if not job or job["project_id"] != task.get("p") or job["state"] not in ("matching", "replaying"):
        return "replay done"
    if step == job["step"] - 1:
        dispatch.enqueue(_task(job, job["step"]))   # the follow-up of a redelivered step may be lost
        return "replay resumed"
    if step != job["step"]:
        return "replay stale"
    changes = _match_page(job) if job["state"] == "matching" else _replay_page(job)
    changes.update({"step": step + 1, "updated_at": clock.now()})
    if changes.get("state") in ("completed", "stopped"):   # its replay.finished event is owed
        changes.update(due.mark(job["pk"], clock.now() + due.CHECK_MARGIN, due.CHECK))
    else:   # the next step's task is owed: if it is lost (the DLQ), the marker resumes the job
        changes.update(due.mark(job["pk"], clock.now() + STEP_RECHECK, due.CHECK))
    try:
        job = store.update(job["pk"], job["sk"], changes, condition="step = :s", values={":s": step})
    except store.ConditionFailed:
        return "replay stale"
    if job["state"] in ("matching", "replaying"):
        dispatch.enqueue(_task(job, step + 1))
    else:
        observability.event("replay_finished", replay_id=job["replay_id"], project_id=job["project_id"],
                            state=job["state"], matched=job["matched"], queued=job["queued"], skipped=job["skipped"])
        announce(job)
    return "replay step"


def on_due(job: dict) -> str:
    """The job's marker fell due: a running job whose step task was lost (SQS gave up on it) is
    resumed from its step, and marked again; an ended one announces its end."""
    if job.get("state") in ("matching", "replaying"):
        dispatch.enqueue(_task(job, job["step"]))
        try:
            store.update(job["pk"], job["sk"], due.mark(job["pk"], clock.now() + STEP_RECHECK, due.CHECK),
                         condition="gsi3sk = :sk AND step = :s", values={":sk": job["gsi3sk"], ":s": job["step"]})
        except store.ConditionFailed:
            pass
        return "replay resumed"
    announce(job)
    return "announced"


def announce(job: dict) -> None:
    """The `replay.finished` event of an ended job, then its marker dropped. Safe to repeat."""
    if job.get("state") in ("completed", "stopped"):
        out = view(job)
        events.emit(job["project_id"], "replay.finished",
                    {k: out[k] for k in ("replay_id", "state", "filters", "matched", "queued", "skipped",
                                         "error", "created_at", "finished_at")}, now=job["finished_at"])
    if "gsi3sk" in job:
        try:
            store.update(job["pk"], job["sk"], due.unmark(), condition="gsi3sk = :sk", values={":sk": job["gsi3sk"]})
        except store.ConditionFailed:
            pass


def _filters(job: dict) -> dict:
    return delivery_list.parse_filters(job["filters"])


def _match_page(job: dict) -> dict:
    """Markers for the next page of matching deliveries (re-put identically if redone)."""
    records, nxt = delivery_list.page(job["project_id"], _filters(job), limit=MATCH_PAGE,
                                      cursor=job.get("match_cursor"), newest_first=False)
    for r in records:
        try:
            store.put({"pk": job["pk"], "sk": f"ITEM#{r['ix_created']}", "delivery_id": r["delivery_id"],
                       "count": r["attempt_count"], "status": "pending", "ttl": job["ttl"]},
                      condition="attribute_not_exists(pk)")
        except store.ConditionFailed:
            pass   # written by an earlier run of this step
    changes = {"matched": job["matched"] + len(records), "match_cursor": nxt}
    if nxt is None:
        changes["state"] = "replaying"
    return changes


def _replay_page(job: dict) -> dict:
    """One page of markers: each is first claimed and checked (_check), and only those still to
    replay are taken from the plan's deliveries per day, together, then replayed. Taking the
    whole page first charged the day for deliveries then skipped (no longer failed), and could
    stop the job at the limit for them."""
    markers, nxt = store.query_page(None, job["pk"], limit=REPLAY_PAGE, cursor=job.get("replay_cursor"),
                                    newest_first=False, sk_prefix="ITEM#")
    todo = [m for m in (_check(m) for m in markers if m["status"] in ("pending", "claimed")) if m]
    try:
        if todo:
            quotas.take_deliveries(job["project_id"], len(todo))
    except QuotaExceeded as e:   # the claimed markers stay claimed: the job ends here
        return {"state": "stopped", "error": e.to_dict()["error"], "finished_at": clock.now()}
    for m in todo:
        _replay_one(job, m)
    changes = {"replay_cursor": nxt}
    if nxt is None:
        changes.update({"state": "completed", "finished_at": clock.now()})
    return changes


def _check(marker: dict) -> dict | None:
    """Claim a pending marker and see whether its delivery is to be replayed: still failed with
    the attempt count it had when matched. Returns the (claimed) marker if so; else the marker
    is finished here, costing nothing, and None is returned."""
    recovering = marker["status"] == "claimed"
    if not recovering and not _claim(marker):
        return None               # a duplicate of this step claimed it first and will count it
    record = store.get(*keys.delivery(marker["delivery_id"]))
    if record and record["state"] == "failed" and record["attempt_count"] == marker["count"]:
        return {**marker, "status": "claimed"}
    # changed since it was matched: retried by hand (skipped) or, when this step died after
    # replaying it, by us; the two cannot be told apart, and either way it was sent again
    _finish(marker, "queued" if recovering and record else "skipped")
    return None


def _replay_one(job: dict, marker: dict) -> None:
    """A claimed marker whose delivery was still failed when checked, already taken from the day."""
    try:
        deliveries.replay(job["project_id"], marker["delivery_id"], counted=True)
        outcome = "queued"
    except (Conflict, NotFound):
        outcome = "skipped"   # it changed since the check (retried by hand); a failed enqueue raises:
                              # the step is redone and this claimed marker replayed then
    _finish(marker, outcome)


def _finish(marker: dict, outcome: str) -> None:
    """The marker's last move and its job's counter, one transaction (the job shares its pk)."""
    try:
        store.transact_update([
            {"pk": marker["pk"], "sk": marker["sk"], "sets": {"status": outcome}, "condition": "#st = :claimed",
             "names": {"#st": "status"}, "values": {":claimed": "claimed"}},
            {"pk": marker["pk"], "sk": SORT_KEY, "adds": {outcome: 1}}])
    except store.ConditionFailed:
        pass                      # finished (and counted) by a duplicate of this step


def _claim(marker: dict) -> bool:
    try:
        store.update(marker["pk"], marker["sk"], {"status": "claimed"}, condition="#st = :pending",
                     names={"#st": "status"}, values={":pending": "pending"})
        return True
    except store.ConditionFailed:
        return False
