"""Issue 22: one ordering key for every message of a queue. A cron-fed message (its id starts
`dlv_`, which sorted before every `msg_`) and a replayed one (its old id sorted first) used to
jump a FIFO queue; now each takes its place by the time it joined the queue."""
import json

from chalicelib.services.deliver import router

from .conftest import drain

Q = "/v1/scheduling/queue"


def order(receiver, path):
    return [json.loads(a.body) for a in receiver.at(path)]


def test_a_cron_fed_message_takes_its_place_in_a_fifo_queue(api, receiver):
    api.call("PUT", f"{Q}/fifo", {"url": receiver.url("/fifo"), "parallelism": 1})
    api.call("POST", f"{Q}/publish", {"queue": "fifo", "payload": {"n": "first"}})
    job = api.call("POST", "/v1/scheduling/cron", {"name": "feed", "schedule": "0 9 * * *", "queue": "fifo",
                                                   "payload": {"n": "cron"}}).data
    router.process_batch([json.dumps({"cron": job["cron_id"], "at": "2026-12-07T09:00:00Z"})])   # it fires
    api.call("POST", f"{Q}/publish", {"queue": "fifo", "payload": {"n": "last"}})
    drain()
    assert [b["n"] for b in order(receiver, "/fifo")] == ["first", "cron", "last"]


def test_a_replayed_message_goes_behind_the_ones_pending(api, receiver):
    receiver.script("/f2", [500, 200])
    api.call("PUT", f"{Q}/f2", {"url": receiver.url("/f2"), "parallelism": 1, "retries": 0})
    failed = api.call("POST", f"{Q}/publish", {"queue": "f2", "payload": {"n": "old"}}).data["message_id"]
    drain()
    assert api.call("GET", f"{Q}/messages/{failed}").data["state"] == "failed"
    api.call("PUT", f"{Q}/f2", {"paused": True})
    for n in ("a", "b"):
        api.call("POST", f"{Q}/publish", {"queue": "f2", "payload": {"n": n}})
    api.call("POST", f"{Q}/messages/{failed}/retry", {})
    api.call("PUT", f"{Q}/f2", {"paused": False})
    drain()
    assert [b["n"] for b in order(receiver, "/f2")] == ["old", "a", "b", "old"]
