"""Issue 22: timers that scale out. N timers due at once (deliveries whose wait was longer than SQS
holds), one project with almost all of them and another with one; worked by the fan-out's shard
tasks against moto in process, one worker at a time. Prints items/s per worker, the AWS requests
and DynamoDB units per timer (counted), the cost per million timers, and, by arithmetic from the
counts and AWS's published limits, the fan-out that 1,000,000 timers due in one minute need."""
import os
import statistics
import time
from collections import Counter

from .awscount import Counter as AwsCounter
from .awscount import PRICES
from .common import report

N = int(os.environ.get("BENCH_TIMERS", "5000"))
GOAL_PER_MINUTE = 1_000_000
# AWS's published figures the arithmetic uses (us-east-1): a partition's write throughput, and
# round-trip latencies of one call from Lambda in the same Region (DynamoDB single-digit ms;
# SQS SendMessageBatch some tens of ms), taken at their pessimistic ends.
PARTITION_WRITE_UNITS = 1000
DDB_CALL_MS, SQS_CALL_MS = 10, 30


def make_timers(pid_many: str, pid_one: str, n: int, due_at: float) -> str:
    """n timers of one project and one of another, all due at `due_at`; returns the lone one's id."""
    from chalicelib.aws import store
    from chalicelib.core import clock
    from chalicelib.services.delivery import deliveries
    delay = due_at + 840 - clock.now()   # each timer's marker falls due at due_at (SQS_LEAD before its time)
    records = [deliveries.new_record(pid_many, kind="webhook", url="https://hooks.example.com/t", payload="{}",
                                     retries=0, timeout_seconds=5, delay_seconds=delay) for _ in range(n)]
    lone = deliveries.new_record(pid_one, kind="webhook", url="https://hooks.example.com/lone", payload="{}",
                                 retries=0, timeout_seconds=5, delay_seconds=delay)
    for start in range(0, len(records), 25):
        store.put_many(records[start:start + 25])
    store.put(lone)
    return lone["delivery_id"]


def main():
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from chalicelib.aws import clients, dispatch
    clients.reset()
    dispatch.reset()
    from moto import mock_aws

    with mock_aws():
        from chalicelib.aws import keys, store
        from chalicelib.core import clock, due
        from chalicelib.services.repair import timers
        from chalicelib.services.tenancy import projects
        from local import provision
        provision.provision()
        many, one = projects.create_project(plan="unlimited"), projects.create_project(plan="unlimited")
        now = clock.now()
        t0 = time.perf_counter()
        lone = make_timers(many["project_id"], one["project_id"], N, now + 60)
        made = time.perf_counter() - t0
        counter = AwsCounter().install()
        outcomes, per_shard, lone_done_after = Counter(), [], None
        t0 = time.perf_counter()
        worked = 0
        for shard in range(due.SHARDS):   # one worker: the shard tasks one after another
            s0 = time.perf_counter()
            got = Counter()
            timers.work_shard(shard, now + 61, time.monotonic() + 600, timers.TASK_ITEMS, got)
            per_shard.append(sum(got.values()))
            worked += sum(got.values())
            outcomes.update(got)
            if lone_done_after is None and store.get(*keys.delivery(lone)).get("gsi3sk") is None:
                lone_done_after = (shard + 1, time.perf_counter() - s0)
        elapsed = time.perf_counter() - t0
        calls, wu, iwu, ru = counter.snapshot()
        due_index_wu = counter.detail().get(f"wu:index:{due.INDEX}", 0) / worked
        counter.uninstall()
        per = {k: v / worked for k, v in calls.items()}
        ddb_calls = sum(v for k, v in per.items() if k.startswith("dynamodb:"))
        sqs_calls = sum(v for k, v in per.items() if k.startswith("sqs:"))
        rate = worked / elapsed
        # the AWS side, by arithmetic: a timer's calls are made THREADS at a time by each task
        item_ms = ddb_calls * DDB_CALL_MS + sqs_calls * SQS_CALL_MS
        aws_rate = timers.THREADS * 1000 / item_ms
        need = GOAL_PER_MINUTE / 60
        tasks = need / aws_rate
        shard_wu = need * due_index_wu / due.SHARDS   # the due index is the one keyed by shard
        cost = (wu + iwu) / worked * PRICES["ddb_write_unit"] + ru / worked * PRICES["ddb_read_unit"] \
            + sqs_calls * PRICES["sqs_request"]
        report(f"Timers: {N + 1} due at once, one project with {N} and another with 1 (moto, one worker)", [
            ("timers made (s)", f"{made:.1f}"),
            ("worked by one worker: timers, seconds", f"{worked}, {elapsed:.1f}"),
            ("items/s per worker (moto-bound)", f"{rate:.0f}"),
            ("outcomes", dict(outcomes)),
            ("timers per shard: median [min-max]", f"{statistics.median(per_shard):.0f} [{min(per_shard)}-{max(per_shard)}]"),
            ("the other project's one timer handed to SQS after (shards worked, s in its shard)",
             f"{lone_done_after[0]} of {due.SHARDS}, {lone_done_after[1]:.2f}" if lone_done_after else "not reached"),
            ("AWS requests per timer", ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items()))),
            ("DynamoDB units per timer: table + index writes, reads", f"{wu / worked:.2f} + {iwu / worked:.2f}, {ru / worked:.2f}"),
            ("cost per million timers (DynamoDB + SQS, USD)", f"{cost * 1e6:.2f}"),
            ("AWS, by arithmetic: ms per timer (DynamoDB 10 ms, SQS 30 ms a call)", f"{item_ms:.0f}"),
            (f"AWS: timers/s per task ({timers.THREADS} at a time)", f"{aws_rate:.0f}"),
            ("AWS: 1,000,000 in a minute needs timers/s, tasks at once", f"{need:.0f}, {tasks:.0f}"),
            ("AWS: shards (one task each) vs tasks needed", f"{due.SHARDS} vs {tasks:.0f}: "
             + ("enough" if due.SHARDS >= tasks else "TOO FEW")),
            ("AWS: due-index write units/s per shard partition at 1M/min (limit 1,000)",
             f"{shard_wu:.0f} ({shard_wu / PARTITION_WRITE_UNITS:.0%} of a partition)"),
            ("AWS: the other project's one timer among 1M due in a minute: at most (s)",
             f"{GOAL_PER_MINUTE / due.SHARDS / aws_rate:.1f} (its shard's share of the minute's timers at one task's rate)"),
        ])
        clients.reset()
        dispatch.reset()


if __name__ == "__main__":
    main()
