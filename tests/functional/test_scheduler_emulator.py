"""The local EventBridge Scheduler stand-in (local/scheduler_emulator.py) against moto in process:
schedules written with the boto3 scheduler client, fired by tick_once(now) on an injected clock,
and read back from the SQS target queue. Clock times are in 2031, after any real
LastModificationDate moto stamps, so the emulator sees them as an unrelated (test) clock."""
import json
import time
from datetime import datetime, timezone

import pytest

from chalicelib import config
from chalicelib.aws import clients
from local.scheduler_emulator import SchedulerEmulator


def at(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


class Env:
    def __init__(self):
        self.sched, self.sqs, self.group = clients.scheduler(), clients.sqs(), config.schedule_group()
        self.queue_url = self.sqs.get_queue_url(QueueName=config.dispatch_queue_name())["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def put(self, name, expression, zone="UTC", state="ENABLED", update=False, **extra):
        target = {"Arn": self.queue_arn, "RoleArn": "arn:aws:iam::123456789012:role/infrai-local-scheduler",
                  "Input": json.dumps({"cron": name, "at": "<aws.scheduler.scheduled-time>"}),
                  "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}}
        target.update(extra.pop("target", {}))
        (self.sched.update_schedule if update else self.sched.create_schedule)(
            Name=name, GroupName=self.group, ScheduleExpression=expression, ScheduleExpressionTimezone=zone,
            State=state, FlexibleTimeWindow={"Mode": "OFF"}, Target=target, **extra)
        return target["Input"]

    def messages(self):
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            got = got.get("Messages", [])
            if not got:
                return out
            out += [m["Body"] for m in got]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])

    def emulator(self, clock, **kw):
        return SchedulerEmulator(self.group, clock=clock, **kw)


@pytest.fixture
def env(aws):
    return Env()


def walk(emu, clock, start, end, step):
    fired, t = [], start
    while t <= end:
        clock.now = t
        fired += emu.tick_once(t)
        t += step
    return fired


def test_london_nine_am_fires_once_at_the_right_instant_across_dst(env):
    template = env.put("cron_london", "cron(0 9 * * ? *)", "Europe/London")
    clock = Clock(at(2031, 3, 29, 6))
    emu = env.emulator(clock, refresh=3600)
    fired = walk(emu, clock, clock.now, at(2031, 3, 31, 12), 30)   # BST starts 2031-03-30
    assert [f["scheduled"] for f in fired] == [
        "2031-03-29T09:00:00Z", "2031-03-30T08:00:00Z", "2031-03-31T08:00:00Z"]
    bodies = [template.replace("<aws.scheduler.scheduled-time>", s) for s in
              ("2031-03-29T09:00:00Z", "2031-03-30T08:00:00Z", "2031-03-31T08:00:00Z")]
    assert env.messages() == bodies == [f["input"] for f in fired]
    assert json.loads(bodies[1]) == {"cron": "cron_london", "at": "2031-03-30T08:00:00Z"}
    assert {f["name"] for f in fired} == {"cron_london"}


def test_it_fires_on_the_tick_that_reaches_the_instant_not_before(env):
    env.put("cron_nine", "cron(0 9 * * ? *)")
    clock = Clock(at(2031, 6, 1, 8, 59))
    emu = env.emulator(clock)
    assert emu.tick_once(clock.now) == []                 # the first tick only sets the start
    assert emu.tick_once(at(2031, 6, 1, 8, 59, 59, 999000)) == []
    assert [f["scheduled"] for f in emu.tick_once(at(2031, 6, 1, 9))] == ["2031-06-01T09:00:00Z"]


def test_first_tick_does_not_backfill_the_past(env):
    env.put("cron_minutely", "cron(* * * * ? *)")
    emu = env.emulator(Clock(at(2031, 6, 1, 12, 0, 30)))
    assert emu.tick_once(at(2031, 6, 1, 12, 0, 30)) == []
    assert env.messages() == []


def test_disabled_schedule_never_fires(env):
    env.put("cron_off", "cron(* * * * ? *)", state="DISABLED")
    env.put("cron_on", "cron(0 * * * ? *)")
    clock = Clock(at(2031, 6, 1, 12))
    fired = walk(env.emulator(clock), clock, clock.now, at(2031, 6, 1, 14, 30), 60)
    assert [f["name"] for f in fired] == ["cron_on", "cron_on"]
    assert all(json.loads(b)["cron"] == "cron_on" for b in env.messages())


def test_deleted_schedule_stops_after_refresh(env):
    env.put("cron_gone", "cron(* * * * ? *)")
    clock = Clock(at(2031, 6, 1, 12, 0, 30))
    emu = env.emulator(clock, refresh=3600)
    emu.tick_once(clock.now)
    assert len(emu.tick_once(at(2031, 6, 1, 12, 1, 30))) == 1
    env.sched.delete_schedule(Name="cron_gone", GroupName=env.group)
    clock.now = at(2031, 6, 1, 12, 1, 40)
    emu.refresh_schedules()
    assert emu.tick_once(at(2031, 6, 1, 12, 5, 30)) == []


def test_two_ticks_covering_the_same_instant_fire_it_once(env):
    env.put("cron_once", "cron(0/5 * * * ? *)")
    clock = Clock(at(2031, 6, 1, 11, 59, 59))
    emu = env.emulator(clock, refresh=3600)
    emu.tick_once(clock.now)
    assert len(emu.tick_once(at(2031, 6, 1, 12))) == 1
    assert emu.tick_once(at(2031, 6, 1, 12)) == []           # the same instant again
    assert emu.tick_once(at(2031, 6, 1, 11, 59, 59)) == []   # the clock stepping back
    assert emu.tick_once(at(2031, 6, 1, 12, 0, 0, 250000)) == []
    assert len(env.messages()) == 1


def test_a_late_tick_fires_each_missed_time_once_within_the_event_age(env):
    env.put("cron_every", "cron(* * * * ? *)")
    env.put("cron_young", "cron(* * * * ? *)", target={"RetryPolicy": {
        "MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 300}})
    clock = Clock(at(2031, 6, 1, 12, 0, 10))
    emu = env.emulator(clock, refresh=3600)
    emu.tick_once(clock.now)
    fired = emu.tick_once(at(2031, 6, 1, 12, 10, 30))       # paused for ten minutes
    every = [f["scheduled"] for f in fired if f["name"] == "cron_every"]
    assert every == [f"2031-06-01T12:{m:02d}:00Z" for m in range(1, 11)]
    assert [f["scheduled"] for f in fired if f["name"] == "cron_young"] == [
        f"2031-06-01T12:{m:02d}:00Z" for m in range(6, 11)]   # at most 300 s old
    assert emu.tick_once(at(2031, 6, 1, 12, 10, 31)) == []
    assert len(env.messages()) == 15


def test_a_very_late_tick_skips_ahead_without_walking_every_missed_minute(env):
    env.put("cron_every", "cron(* * * * ? *)", target={"RetryPolicy": {
        "MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120}})
    clock = Clock(at(2031, 6, 1, 12, 0, 10))
    emu = env.emulator(clock, refresh=10**9)
    emu.tick_once(clock.now)
    fired = emu.tick_once(at(2031, 6, 20, 12, 0, 30))
    assert [f["scheduled"] for f in fired] == ["2031-06-20T11:59:00Z", "2031-06-20T12:00:00Z"]


def test_enabled_or_changed_mid_way_does_not_backfill(env):
    env.put("cron_later", "cron(* * * * ? *)", state="DISABLED")
    env.put("cron_moved", "cron(0 * * * ? *)")
    clock = Clock(at(2031, 6, 1, 12, 0, 30))
    emu = env.emulator(clock, refresh=3600)
    emu.tick_once(clock.now)
    assert emu.tick_once(at(2031, 6, 1, 12, 5, 30)) == []
    clock.now = at(2031, 6, 1, 12, 10, 30)
    env.put("cron_later", "cron(* * * * ? *)", update=True)          # re-enabled at 12:10:30
    env.put("cron_moved", "cron(30 * * * ? *)", update=True)         # was due at 13:00, now :30
    emu.refresh_schedules()
    fired = emu.tick_once(at(2031, 6, 1, 12, 35))
    assert [f["scheduled"] for f in fired if f["name"] == "cron_later"] == [
        f"2031-06-01T12:{m:02d}:00Z" for m in range(11, 36)]           # none of 12:06-12:10
    assert [f["scheduled"] for f in fired if f["name"] == "cron_moved"] == ["2031-06-01T12:30:00Z"]
    assert [f["name"] for f in emu.tick_once(at(2031, 6, 1, 13, 0, 30))].count("cron_moved") == 0


def test_created_between_refreshes_fires_what_came_after_its_creation_late(env):
    # On a real clock LastModificationDate is comparable with it: a schedule created after one
    # refresh and seen by the next fires the minutes since its creation (late, as AWS would not
    # be), never the minutes before it.
    clock = Clock(time.time() - 130)
    emu = env.emulator(clock, refresh=3600)
    emu.tick_once(clock.now)
    env.put("cron_new", "cron(* * * * ? *)")
    created = time.time()
    clock.now = created + 125
    emu.refresh_schedules()
    fired = emu.tick_once(clock.now)
    minutes = [m * 60 for m in range(int(created // 60) + 1, int(clock.now // 60) + 1)]
    assert len(minutes) >= 2
    assert [f["scheduled"] for f in fired] == [
        datetime.fromtimestamp(m, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for m in minutes]


def test_start_and_end_dates_bound_the_firings(env):
    start, end = (datetime(2031, 6, 1, 12, m, tzinfo=timezone.utc) for m in (20, 50))
    env.put("cron_window", "cron(*/10 * * * ? *)", StartDate=start, EndDate=end)  # EndDate: "before which"
    clock = Clock(at(2031, 6, 1, 12, 0, 30))
    fired = walk(env.emulator(clock, refresh=3600), clock, clock.now, at(2031, 6, 1, 14), 60)
    assert [f["scheduled"] for f in fired] == [
        "2031-06-01T12:20:00Z", "2031-06-01T12:30:00Z", "2031-06-01T12:40:00Z"]


def test_what_aws_would_refuse_is_skipped_once_not_fatal(env, caplog):
    env.put("cron_bad", "cron(0 9 * * * *)")     # moto stores it; AWS would refuse it
    env.put("cron_zone", "cron(0 9 * * ? *)", "Mars/Olympus_Mons")
    env.put("cron_good", "cron(* * * * ? *)")
    clock = Clock(at(2031, 6, 1, 12, 0, 30))
    emu = env.emulator(clock, refresh=1)
    emu.tick_once(clock.now)
    assert [f["name"] for f in emu.tick_once(at(2031, 6, 1, 12, 1, 30))] == ["cron_good"]   # refreshed again
    assert sorted(r.getMessage().split()[1] for r in caplog.records if "not emulated" in r.getMessage()) == [
        "cron_bad", "cron_zone"]                  # warned once each, not at every refresh


def test_started_in_the_background_fires_and_stops(env):
    env.put("cron_bg", "cron(* * * * ? *)")
    clock = Clock(at(2031, 6, 1, 12, 0, 30))
    emu = env.emulator(clock, tick=0.01, refresh=0.05).start()
    threads = list(emu._threads)
    assert {t.name for t in threads} == {"scheduler-tick", "scheduler-refresh"}
    try:
        clock.now = at(2031, 6, 1, 12, 1, 30)
        deadline = time.monotonic() + 5
        while emu.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        emu.stop()
    assert emu.sent == 1 and not any(t.is_alive() for t in threads)
    assert [json.loads(b)["at"] for b in env.messages()] == ["2031-06-01T12:01:00Z"]


def test_a_thousand_schedules_quiet_tick_and_refresh_make_no_get_schedule_calls(env):
    for i in range(1000):
        zone = ["UTC", "Europe/London", "Asia/Kolkata"][i % 3]
        env.put(f"cron_{i:04d}", f"cron({i % 60} {i % 24} * * ? *)", zone)
    calls = {"GetSchedule": 0, "ListSchedules": 0}

    def count(model, **_):
        calls[model.name] = calls.get(model.name, 0) + 1
    env.sched.meta.events.register("before-call.scheduler.*", count)
    try:
        clock = Clock(at(2031, 6, 1, 12, 0, 30))   # nothing fires at hh:mm:30
        emu = env.emulator(clock, refresh=2.0)
        emu.tick_once(clock.now)
        assert calls["GetSchedule"] == 1000
        calls.update(GetSchedule=0, ListSchedules=0)
        clock.now += 1
        started = time.perf_counter()
        assert emu.tick_once(clock.now) == []        # no refresh due: no API calls at all
        quiet = time.perf_counter() - started
        assert calls == {"GetSchedule": 0, "ListSchedules": 0}
        clock.now += 2
        started = time.perf_counter()
        assert emu.tick_once(clock.now) == []        # refresh due: list pages only
        with_refresh = time.perf_counter() - started
        assert calls == {"GetSchedule": 0, "ListSchedules": 10}
        env.put("cron_0007", "cron(5 12 * * ? *)", update=True)
        clock.now += 2
        emu.tick_once(clock.now)
        assert calls["GetSchedule"] == 1
    finally:
        env.sched.meta.events.unregister("before-call.scheduler.*", count)
    print(f"\n1,000 schedules: quiet tick {quiet * 1e6:.0f} us, tick with a no-change refresh "
          f"{with_refresh * 1e3:.1f} ms (10 list pages, 0 get_schedule)")
