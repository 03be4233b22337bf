"""Queues through the whole local stack."""
import time
from concurrent.futures import ThreadPoolExecutor

import requests

Q = "/v1/scheduling/queue"


def wait_message(api, message_id, states, timeout=30):
    return api.wait_state(message_id, states, timeout=timeout, path=f"{Q}/messages/")


def test_held_messages_are_released_in_order_when_an_endpoint_arrives(api, receiver, path):
    name = "digest" + path.replace("/", "-")
    ids = [api.post(f"{Q}/publish", {"queue": name, "payload": {"i": i}}).json()["message_id"] for i in range(3)]
    time.sleep(1.0)
    assert receiver.at(path) == [], "held messages must not go anywhere"
    assert api.get(f"{Q}/{name}").json()["counts"]["held"] == 3
    assert api.session.put(api.base + f"{Q}/{name}", json={"url": receiver.url(path)}, timeout=30).status_code == 200
    arrivals = receiver.wait_for(path, 3)
    assert sorted(a.json["i"] for a in arrivals) == [0, 1, 2]
    assert all(a.verified for a in arrivals)
    assert {a.headers["webhook-id"] for a in arrivals} == set(ids)
    assert {a.headers["infrai-queue"] for a in arrivals} == {name}
    for i in ids:
        assert wait_message(api, i, {"succeeded"})["state"] == "succeeded"


def test_a_short_delay_is_never_early_and_at_most_two_seconds_late(api, receiver, path):
    name = "delayed" + path.replace("/", "-")
    api.session.put(api.base + f"{Q}/{name}", json={"url": receiver.url(path)}, timeout=30)
    lateness = []
    for delay in (1, 2, 3):
        t0 = time.time()
        msg = api.post(f"{Q}/publish", {"queue": name, "payload": {"d": delay}, "delay_seconds": delay}).json()
        due = t0 + delay
        arrival = [a for a in receiver.wait_for(path, delay, timeout=30) if a.json["d"] == delay][0]
        assert arrival.at >= t0 + delay - 0.05, "never early"
        lateness.append(arrival.at - due)
        assert msg["state"] == "queued"
    assert max(lateness) < 2.0 + 0.5, lateness


def test_fifty_concurrent_identical_publishes_make_one_delivery(api, receiver, path):
    name = "idem" + path.replace("/", "-")
    api.session.put(api.base + f"{Q}/{name}", json={"url": receiver.url(path)}, timeout=30)
    body = {"queue": name, "payload": {"order": 42}, "idempotency_key": "order-42-paid"}

    def publish(_):
        with requests.Session() as s:
            s.headers.update(api.session.headers)
            return s.post(api.base + f"{Q}/publish", json=body, timeout=30)
    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(publish, range(50)))
    assert {r.status_code for r in responses} == {202}, {r.status_code for r in responses}
    assert len({r.json()["message_id"] for r in responses}) == 1
    receiver.wait_for(path, 1)
    time.sleep(2.0)
    assert len(receiver.at(path)) == 1


def test_a_failing_endpoint_fails_the_message_and_it_can_be_replayed(api, receiver, path):
    name = "failing" + path.replace("/", "-")
    api.session.put(api.base + f"{Q}/{name}", json={"url": receiver.url(path), "retries": 1}, timeout=30)
    receiver.script(path, [500, 500, 200])
    msg = api.post(f"{Q}/publish", {"queue": name, "payload": {}}).json()
    assert wait_message(api, msg["message_id"], {"failed"})["state"] == "failed"
    assert api.get(f"{Q}/{name}").json()["counts"]["failed"] == 1
    assert api.post(f"{Q}/messages/{msg['message_id']}/retry").status_code == 202
    done = wait_message(api, msg["message_id"], {"succeeded"})
    assert done["state"] == "succeeded" and done["attempt_count"] == 3
