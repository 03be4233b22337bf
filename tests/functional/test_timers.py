"""Issue 22: timers as their own path, scaling out. The reconcile function's tick hands each shard
of the due index that has anything due to its own task on the dispatch queue; the deliver
function works the tasks like any message, many shards at once; a shard still worked gets no
second task; a task that has more continues in a new message; one project's thousands of timers
do not hold up another project's one."""
import json

from chalicelib.aws import clients, dispatch, keys, store
from chalicelib.core import clock, due
from chalicelib.services.delivery import deliveries
from chalicelib.services.repair import reconciler, timers
from chalicelib.services.tenancy import projects

from .conftest import drain


def timers_due(project_id, n, url="https://hooks.example.com/t"):
    """n deliveries whose wait is longer than SQS holds: each is a timer, none is in SQS."""
    records = [deliveries.new_record(project_id, kind="webhook", url=url, payload="{}", retries=0,
                                     timeout_seconds=5, delay_seconds=3600) for _ in range(n)]
    for start in range(0, n, 25):
        store.put_many(records[start:start + 25])
    return [r["delivery_id"] for r in records]


def queued_bodies():
    out = []
    while msgs := clients.sqs().receive_message(QueueUrl=dispatch.dispatch_queue_url(), MaxNumberOfMessages=10,
                                                VisibilityTimeout=30).get("Messages", []):
        out += [json.loads(m["Body"]) for m in msgs]
    return out


def test_a_tick_hands_each_shard_with_due_timers_to_one_task(project):
    ids = timers_due(project["project_id"], 20)
    shards = {due.shard_of(keys.delivery(d)[0]) for d in ids}
    assert reconciler.run(now=clock.now() + 3600, fan_out=True) == {"shards handed out": len(shards)}
    tasks = queued_bodies()
    assert sorted(t["timers"]["s"] for t in tasks) == sorted(shards)
    # a second tick while those tasks are on their way starts no other task on their shards
    assert reconciler.run(now=clock.now() + 3660, fan_out=True) == {}


def test_the_tasks_hand_every_timer_to_sqs_once_and_drop_their_leases(project, receiver, offset):
    ids = timers_due(project["project_id"], 30, receiver.url("/t"))
    offset[0] = 3600 - due.SQS_LEAD + 1          # every timer's marker is due; its send time is not yet
    reconciler.run(fan_out=True)
    drain()                                        # the tasks are worked; each sends its timers' work
    assert all("gsi3sk" not in store.get(*keys.delivery(d)) for d in ids)
    assert [k for k in range(due.SHARDS) if store.get(*keys.timer_lease(k))] == []
    assert reconciler.run(fan_out=True) == {}      # nothing is due any more


def test_a_task_with_more_than_its_share_goes_on_in_a_new_message(project, monkeypatch):
    monkeypatch.setattr(due, "SHARDS", 1)
    monkeypatch.setattr(timers, "TASK_ITEMS", 4)
    ids = timers_due(project["project_id"], 10)
    now = clock.now() + 3600
    assert timers.continue_timers({"s": 0}) == "timers"   # at the real now nothing is due yet ...
    monkeypatch.setattr(clock, "now", lambda: now)
    timers.continue_timers({"s": 0})                        # ... now 4 are worked, and it goes on
    assert [b for b in queued_bodies() if "timers" in b] == [{"timers": {"s": 0}}]
    assert store.get(*keys.timer_lease(0))["until"] > now
    timers.continue_timers({"s": 0})
    timers.continue_timers({"s": 0})
    assert all("gsi3sk" not in store.get(*keys.delivery(d)) for d in ids)
    assert store.get(*keys.timer_lease(0)) is None


def test_thousands_of_one_projects_timers_do_not_hold_up_anothers_one(aws, monkeypatch):
    """The other project's timer is in one shard among SHARDS, behind only its share of the
    flood, and every shard is worked at once: it is handed to SQS by its shard's first task."""
    monkeypatch.setattr(timers, "TASK_ITEMS", 100)
    monkeypatch.setattr(due, "SHARDS", 128)   # the deployment's (tests run 8): ~16 of the 2,000 a shard
    flood, quiet = projects.create_project(plan="unlimited"), projects.create_project(plan="unlimited")
    timers_due(flood["project_id"], 2000)
    [lone] = timers_due(quiet["project_id"], 1)
    monkeypatch.setattr(clock, "now", lambda: 1e12)        # everything due
    shard = due.shard_of(keys.delivery(lone)[0])
    timers.continue_timers({"s": shard})                    # that shard's first task
    assert "gsi3sk" not in store.get(*keys.delivery(lone))
