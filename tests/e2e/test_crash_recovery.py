"""A deliver handler that dies mid-batch: nothing is lost, nothing is recorded twice, and the
batch-mates that had already landed are not sent again."""
import threading

from chalicelib.services.deliver import attempts

from .test_webhook_delivery import send


def crash_once(monkeypatch, name, url_marker):
    """Make attempts.<name> raise the first time it handles a delivery to `url_marker`."""
    real = getattr(attempts, name)
    fired = threading.Event()

    def flaky(record, *args, **kwargs):
        if url_marker in record["url"] and not fired.is_set():
            fired.set()
            raise RuntimeError("simulated crash of the deliver function")
        return real(record, *args, **kwargs)
    monkeypatch.setattr(attempts, name, flaky)
    return fired


def send_batch(api, receiver, path, victim_path, n=9):
    others = [send(api, receiver.url(f"{path}/{i}"))["delivery_id"] for i in range(n)]
    victim = send(api, receiver.url(victim_path))["delivery_id"]
    return others, victim


def test_crash_before_sending_loses_nothing_and_doubles_nothing(api, receiver, path, monkeypatch):
    victim_path = f"{path}/victim"
    fired = crash_once(monkeypatch, "_send", victim_path)
    others, victim = send_batch(api, receiver, path, victim_path)
    for d in others + [victim]:
        assert api.wait_state(d, {"succeeded"})["state"] == "succeeded"
    assert fired.is_set()
    for i in range(9):
        assert len(receiver.at(f"{path}/{i}")) == 1, "a batch-mate was sent again"
    assert len(receiver.at(victim_path)) == 1
    assert api.get(f"/v1/scheduling/webhook/deliveries/{victim}").json()["attempt_count"] == 1


def test_crash_after_sending_redelivers_with_the_same_webhook_id_and_records_once(
        api, receiver, path, monkeypatch):
    victim_path = f"{path}/victim"
    fired = crash_once(monkeypatch, "_record_attempt", victim_path)
    others, victim = send_batch(api, receiver, path, victim_path)
    for d in others + [victim]:
        assert api.wait_state(d, {"succeeded"}, timeout=40)["state"] == "succeeded"
    assert fired.is_set()
    arrivals = receiver.at(victim_path)
    assert len(arrivals) == 2, "sent, crashed before recording, sent again: at-least-once"
    assert {a.headers["webhook-id"] for a in arrivals} == {victim}
    record = api.get(f"/v1/scheduling/webhook/deliveries/{victim}").json()
    assert record["attempt_count"] == 1 and len(record["attempts"]) == 1
    for i in range(9):
        assert len(receiver.at(f"{path}/{i}")) == 1, "a batch-mate was sent again"
