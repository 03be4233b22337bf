"""Cron jobs fired by the local Scheduler emulator at a real minute boundary (one wait serves
every job in this test): to a URL, into a queue, and not at all when paused."""
import time


def test_jobs_fire_at_the_minute_once_signed_with_their_headers(api, receiver, path):
    queue = "cron-fed" + path.replace("/", "-")
    api.session.put(api.base + f"/v1/scheduling/queue/{queue}", json={"url": receiver.url(path + "/q")}, timeout=30)
    if 60 - time.time() % 60 < 5:          # too close to the boundary to set up in time
        time.sleep(6)
    to_url = api.post("/v1/scheduling/cron", {"name": "every-minute", "schedule": "* * * * *",
                                              "url": receiver.url(path + "/u"), "payload": {"kind": "tick"}}).json()
    to_queue = api.post("/v1/scheduling/cron", {"name": "feeder", "schedule": "* * * * *", "queue": queue,
                                                "payload": {"kind": "fed"}}).json()
    paused = api.post("/v1/scheduling/cron", {"name": "paused", "schedule": "* * * * *",
                                              "url": receiver.url(path + "/p"), "enabled": False}).json()
    boundary = (int(time.time()) // 60 + 1) * 60
    [u] = receiver.wait_for(path + "/u", 1, timeout=90)
    [q] = receiver.wait_for(path + "/q", 1, timeout=30)
    scheduled = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(boundary))
    assert u.verified and u.json == {"kind": "tick"}
    assert u.headers["infrai-cron-id"] == to_url["cron_id"] and u.headers["infrai-scheduled-time"] == scheduled
    assert boundary <= u.at < boundary + 2.0, f"fired {u.at - boundary:.2f}s after the minute"
    assert q.verified and q.json == {"kind": "fed"} and q.headers["infrai-queue"] == queue
    assert q.headers["infrai-cron-id"] == to_queue["cron_id"]
    runs = api.get(f"/v1/scheduling/cron/{to_url['cron_id']}/runs").json()["items"]
    assert runs[0]["scheduled_at"] == scheduled and runs[0]["delivery_id"] == u.headers["webhook-id"]
    time.sleep(1.0)
    assert len(receiver.at(path + "/u")) == 1, "one firing, one POST"
    assert receiver.at(path + "/p") == [] and api.get(f"/v1/scheduling/cron/{paused['cron_id']}/runs").json()["items"] == []
    for job in (to_url, to_queue, paused):
        api.session.delete(api.base + f"/v1/scheduling/cron/{job['cron_id']}", timeout=30)
