"""A backfill on the local stack: the runs of a past window arrive at a real receiver, signed,
once each, with the webhook-id and scheduled time a scheduled firing of that time would carry;
asked again, nothing more arrives."""
import time


def test_a_backfill_arrives_signed_once_per_scheduled_time(api, receiver, path):
    job = api.post("/v1/scheduling/cron", {"name": "backfilled", "schedule": "*/5 * * * *", "enabled": False,
                                           "url": receiver.url(path + "/b"), "payload": {"kind": "backfill"}}).json()
    until = int(time.time()) // 300 * 300
    window = {"since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until - 15 * 60)),
              "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))}
    first = api.post(f"/v1/scheduling/cron/{job['cron_id']}/backfill", window).json()
    assert (first["runs"], first["fired"], first["existing"]) == (3, 3, 0)
    arrivals = receiver.wait_for(path + "/b", 3, timeout=60)
    assert all(a.verified and a.json == {"kind": "backfill"} for a in arrivals)
    expected = {time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(until - k * 300)) for k in (1, 2, 3)}
    assert {a.headers["infrai-scheduled-time"] for a in arrivals} == expected
    runs = api.get(f"/v1/scheduling/cron/{job['cron_id']}/runs").json()["items"]
    assert {r["delivery_id"] for r in runs} == {a.headers["webhook-id"] for a in arrivals}
    again = api.post(f"/v1/scheduling/cron/{job['cron_id']}/backfill", window).json()
    assert (again["fired"], again["existing"]) == (0, 3)
    time.sleep(2.0)
    assert len(receiver.at(path + "/b")) == 3, "asked twice, each run arrives once"
    api.session.delete(api.base + f"/v1/scheduling/cron/{job['cron_id']}", timeout=30)
