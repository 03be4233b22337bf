"""infrai scheduling: the table of contents. Routes live in chalicelib/api (one blueprint per
resource); the event handlers below only hand their records to a service."""
import os

from chalice import Chalice

from chalicelib.api import audit, auth, console, cron, deliveries, endpoints, errors, events, flows, health, queues, topics, webhooks
from chalicelib.api import http, http_api, openapi
from chalicelib import config
from chalicelib.core import due
from chalicelib.services.deliver import router
from chalicelib.services.repair import reconciler
from chalicelib.services.idempotency import idempotency

app = Chalice(app_name="infrai-scheduling")
app.register_middleware(errors.chalice_answers_in_our_format, "http")
app.register_middleware(http.json_bodies_only, "http")   # 415 for a body that is not JSON
app.register_blueprint(health.bp)
app.register_blueprint(auth.bp)
app.register_blueprint(audit.bp)   # GET /v1/auth/audit (entries: chalicelib/api/http.py)
app.register_blueprint(webhooks.bp)
app.register_blueprint(cron.bp)
app.register_blueprint(queues.bp)
app.register_blueprint(topics.bp)   # fan-out: topics, subscriptions, event types (docs/topics.md)
app.register_blueprint(deliveries.bp)
app.register_blueprint(flows.bp)
app.register_blueprint(endpoints.bp)
app.register_blueprint(events.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(console.bp)   # the web console's files (not API operations)


@app.middleware("http")
def remember_lambda_context(event, get_response):
    idempotency.set_lambda_context(app.lambda_context)
    return get_response(event)


# The API function's handler behind an HTTP API (the packaged template's default front door):
# Chalice routes REST API events only (chalicelib/api/http_api.py).
http_api_handler = http_api.entry(app)


@app.on_sqs_message(queue=os.environ.get("INFRAI_DISPATCH_QUEUE", "infrai-prod-dispatch"), name="deliver",
                    batch_size=10, maximum_batching_window_in_seconds=config.DELIVER_BATCH_WINDOW_SECONDS,
                    maximum_concurrency=config.deliver_concurrency())   # a deploy setting: INFRAI_DELIVER_CONCURRENCY
def deliver(event):
    """Each message to its handler, up to 10 at once (chalicelib/services/deliver/router.py)."""
    records = [r.to_dict() for r in event]
    result = router.process_batch([r["body"] for r in records],
                                  [int(r.get("attributes", {}).get("ApproximateReceiveCount", 1)) for r in records],
                                  [r.get("messageId") for r in records], [r.get("receiptHandle") for r in records])
    return {"batchItemFailures": result["batchItemFailures"]}   # Lambda's partial batch response


@app.schedule(f"rate({due.RECONCILE_EVERY // 60} minute)", name="reconcile")
def reconcile(event):
    """The timers' tick, handed out shard by shard, and the dead-letter sweep (chalicelib/services/repair/)."""
    return reconciler.run(fan_out=True)
