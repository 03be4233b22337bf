"""The local stack's reconcile timer hands the reconcile function an event Chalice accepts (a
missing field made every local run fail with KeyError before the handler ran)."""
from chalice.app import CloudWatchEvent

from local.reconcile_timer import ReconcileTimer, scheduled_event


def test_chalice_reads_the_event():
    event = CloudWatchEvent(scheduled_event(), None)
    assert event.source == "aws.events" and event.account and event.region == "us-east-1"


def test_a_chalice_scheduled_handler_runs_from_the_timer():
    from chalice import Chalice
    app = Chalice("t")
    seen = []

    @app.schedule("rate(1 minute)")
    def tick(event):
        seen.append(event.detail_type)
        return {"ok": 1}

    timer = ReconcileTimer(tick, every=3600)
    assert timer.run_once() == {"ok": 1} and timer.runs == 1 and seen == ["Scheduled Event"]
