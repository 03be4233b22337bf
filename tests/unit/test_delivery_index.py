"""delivery_index.fields(): every index attribute of a delivery, from its record alone."""
from chalicelib.services.delivery.delivery_index import fields, host_in, sort_key

BASE = {"project_id": "proj_1", "delivery_id": "dlv_01ABC", "created_at": 1764633600.123, "state": "queued",
        "attempts": []}


def test_a_webhook_has_project_state_kind_host_and_no_status_before_its_first_attempt():
    f = fields({**BASE, "kind": "webhook", "url": "https://Hooks.Example.com:8443/in?token=t", "source": {}})
    assert f == {"ix_all": "proj_1", "ix_created": "1764633600123#dlv_01ABC", "ix_state": "proj_1#queued",
                 "ix_kind": "proj_1#webhook", "ix_host": "proj_1#hooks.example.com"}


def test_a_cron_run_to_a_queue_is_found_by_queue_and_by_cron_job():
    f = fields({**BASE, "kind": "queue:orders", "url": None, "source": {"queue": "orders", "cron_id": "cron_9"}})
    assert f["ix_kind"] == "proj_1#queue" and f["ix_queue"] == "proj_1#orders" and f["ix_cron"] == "proj_1#cron_9"
    assert "ix_host" not in f and "ix_status" not in f


def test_the_last_attempt_sets_status_and_a_queue_messages_host_which_then_stays():
    msg = {**BASE, "kind": "queue:orders", "url": None, "source": {"queue": "orders"}, "state": "retrying",
           "attempts": [{"n": 1, "status": 503}, {"n": 2, "status": None}]}
    f = fields(msg, "http://10.0.0.7:9000/hook")
    assert f["ix_status"] == "proj_1#none" and f["ix_host"] == "proj_1#10.0.0.7" and f["ix_state"] == "proj_1#retrying"
    stored = {**msg, **f, "state": "failed"}
    assert fields(stored)["ix_host"] == "proj_1#10.0.0.7" and host_in(stored) == "10.0.0.7"


def test_sort_keys_order_by_creation_time_then_id():
    assert sort_key(9.999, "dlv_b") < sort_key(10.0, "dlv_a") < sort_key(10.0, "dlv_b")
    assert sort_key(10.0, "msg_a") > f"{10000:013d}" and sort_key(10.0, "msg_a") < f"{10001:013d}"
