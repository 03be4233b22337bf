"""delivery_index.fields(): every index attribute of a delivery, from its record alone. A
delivery has one entry in ix_list for life, sharded by its id; ix_state and ix_status hold only
what people look for (issue 23), so a first-try success writes no index entry but its first."""
from collections import Counter

from chalicelib.services.delivery.delivery_index import (LIST_SHARDS, changed, fields, host_in, partitions,
                                                          shard_of, sort_key)

BASE = {"project_id": "proj_1", "delivery_id": "dlv_01ABC", "created_at": 1764633600.123, "state": "queued",
        "attempts": []}
S = shard_of("dlv_01ABC")


def test_a_queued_webhook_is_in_the_list_sharded_by_its_id_with_its_host_and_in_no_state_partition():
    f = fields({**BASE, "kind": "webhook", "url": "https://Hooks.Example.com:8443/in?token=t", "source": {}})
    assert f == {"ix_all": f"proj_1#{S}", "ix_created": "1764633600123#dlv_01ABC", "ix_state": None,
                 "ix_cron": None, "ix_host": "proj_1#hooks.example.com", "ix_status": None}


def test_a_cron_run_to_a_queue_carries_its_cron_job_and_its_queues_host():
    f = fields({**BASE, "kind": "queue:orders", "url": None, "source": {"queue": "orders", "cron_id": "cron_9"}},
               "http://10.0.0.7:9000/hook")
    assert f["ix_cron"] == "proj_1#cron_9" and f["ix_host"] == "proj_1#10.0.0.7" and f["ix_status"] is None


def test_only_states_and_statuses_people_look_for_are_indexed():
    for state in ("queued", "succeeded"):
        assert fields({**BASE, "kind": "webhook", "state": state, "attempts": [{"n": 1, "status": 204}]})["ix_state"] is None
    for state in ("held", "waiting", "retrying", "failed", "cancelled"):
        assert fields({**BASE, "kind": "webhook", "state": state})["ix_state"] == f"proj_1#{state}#{S}"
    ok = fields({**BASE, "kind": "webhook", "state": "succeeded", "attempts": [{"n": 1, "status": 200}]})
    assert ok["ix_status"] is None
    bad = fields({**BASE, "kind": "webhook", "state": "retrying", "attempts": [{"n": 1, "status": 503}, {"n": 2, "status": None}]})
    assert bad["ix_status"] == f"proj_1#none#{S}"
    assert fields({**BASE, "kind": "webhook", "state": "failed", "attempts": [{"n": 1, "status": 410}]})["ix_status"] == f"proj_1#410#{S}"


def test_a_first_try_success_changes_no_index_attribute():
    made = {**BASE, "kind": "webhook", "url": "http://h/x", "source": {}}
    stored = {**made, **{k: v for k, v in fields(made).items() if v is not None}}
    done = {**stored, "state": "succeeded", "attempts": [{"n": 1, "status": 200}]}
    assert changed(stored, fields(done)) == {}
    failed = {**stored, "state": "failed", "attempts": [{"n": 1, "status": 500}]}
    assert set(changed(stored, fields(failed))) == {"ix_state", "ix_status"}


def test_a_queue_messages_host_stays_as_recorded():
    stored = {**BASE, "kind": "queue:orders", "url": None, "source": {"queue": "orders"}, "state": "failed",
              "ix_host": "proj_1#10.0.0.7"}
    assert fields(stored)["ix_host"] == "proj_1#10.0.0.7" and host_in(stored) == "10.0.0.7"


def test_shards_spread_ids_evenly_and_the_list_also_reads_the_unsharded_partition_of_older_records():
    ids = [f"dlv_{i:026d}" for i in range(20_000)]
    heat = Counter(shard_of(i) for i in ids)
    assert set(heat) == set(range(LIST_SHARDS))
    assert max(heat.values()) < 1.15 * len(ids) / LIST_SHARDS      # no shard takes much over 1/20
    assert partitions("proj_1#failed") == [f"proj_1#failed#{i}" for i in range(LIST_SHARDS)] + ["proj_1#failed"]


def test_sort_keys_order_by_creation_time_then_id():
    assert sort_key(9.999, "dlv_b") < sort_key(10.0, "dlv_a") < sort_key(10.0, "dlv_b")
    assert sort_key(10.0, "msg_a") > f"{10000:013d}" and sort_key(10.0, "msg_a") < f"{10001:013d}"
