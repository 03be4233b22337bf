"""Outbound webhooks: one signed POST to a URL, retried until it lands or fails."""
from ...aws import store
from ...core import breaker, clock, credential_headers, due, endpoint_auth, retry_policy, validation
from ...core.errors import Conflict, InfraiError, InvalidInput
from ..delivery import deliveries, delivery_index, delivery_list, keyed, options, payloads
from ..delivery.options import CALLBACK_FIELDS, MAX_DELAY, MAX_RETRIES, MAX_TIMEOUT, callbacks, check_url
from ..receivers import flows
from ..tenancy import projects, quotas
from ..idempotency import idempotency

KIND = "webhook"
SEND_FIELDS = ("url", "payload", "headers", "auth", "retries", "timeout_seconds", "delay_seconds",
               "flow_key", "retry_schedule", "circuit_breaker", *CALLBACK_FIELDS, "idempotency_key")

def send(project_id: str, body: dict, idem_key: str | None, trace=None) -> dict:
    """`trace`: the core/traces.Trace the request came with, if any (else the delivery starts its own)."""
    validation.reject_unknown(body, SEND_FIELDS)
    url = check_url(body)
    payload = validation.payload(body)
    headers = validation.extra_headers(body)
    auth = options.auth(body, project_id, url)
    if auth and auth["type"] == endpoint_auth.OAUTH2 and any(k.lower() == "authorization" for k in headers):
        raise InvalidInput("Give either an Authorization header or an oauth2_client_credentials 'auth' (which "
                           "sends its token as Authorization), not both.", field="headers")
    headers = credential_headers.sealed(headers, project_id)   # before anything is counted or written
    retries = validation.integer(body, "retries", 3, 0, MAX_RETRIES)
    timeout = validation.integer(body, "timeout_seconds", 30, 1, MAX_TIMEOUT)
    delay = validation.integer(body, "delay_seconds", 0, 0, MAX_DELAY)
    flow_key = flows.require(project_id, body)   # a shared limit (services/receivers/flow_control.py)
    schedule = retry_policy.check(body.get("retry_schedule"))
    fuse = breaker.fields(body)   # its endpoint's circuit breaker: the defaults, its own, or off
    calls = callbacks(body)

    found, delivery_id, fp = (keyed.find(project_id, "webhook.send", idem_key, body, "dlv", payloads.fits(payload))
                              if idem_key is not None else (None, None, None))
    if found:   # a retried request: its answer again, nothing made, nothing counted
        return deliveries.view(keyed.as_accepted(found))
    try:
        quotas.check_payload(project_id, payload)
        taken = quotas.take_deliveries(project_id)
    except InfraiError:   # over a plan limit: a retry of a request accepted before is answered all the same
        made = keyed.already(delivery_id, fp)
        if made:
            return deliveries.view(keyed.as_accepted(made))
        raise
    record = deliveries.new_record(project_id, kind=KIND, url=url, payload=payload,
                                   retries=retries, timeout_seconds=timeout,
                                   delay_seconds=delay, headers=headers,
                                   auth=auth, delivery_id=delivery_id,
                                   flow_key=flow_key, retry_schedule=schedule, breaker=fuse, fingerprint=fp,
                                   trace=trace, **calls)
    return deliveries.view(keyed.as_accepted(keyed.submit(project_id, taken, record, fp)))


def get(project_id: str, delivery_id: str) -> dict:
    """Any delivery of the project: a webhook, a cron run or a queue message."""
    record = deliveries.get(project_id, delivery_id)
    return {**deliveries.view(record), **deliveries.content(record)}


def list_(project_id: str, params: dict) -> dict:
    state = params.get("state")
    if state is not None and state not in deliveries.STATES:
        raise InvalidInput(f"'state' must be one of: {', '.join(deliveries.STATES)}.", field="state")
    limit = validation.query_limit(params)
    items, nxt = delivery_list.page(project_id, {"kind": KIND, **({"state": state} if state else {})},
                                    limit=limit, cursor=params.get("cursor"))
    return {"items": [deliveries.view(i) for i in items], "next_cursor": nxt}


def retry(project_id: str, delivery_id: str, idem_key: str | None) -> dict:
    return idempotency.once(project_id, "webhook.retry", idem_key, {"delivery_id": delivery_id},
                            lambda: deliveries.view(deliveries.replay(project_id, delivery_id)))


CANCELLABLE = ("queued", "held", "waiting")   # and no attempt made yet


def cancel(project_id: str, delivery_id: str) -> dict:
    """Cancel a delivery not yet attempted (a delayed send, one held or waiting on a flow limit).
    The write is conditional on the state and on attempt_count = 0, so an attempt racing it
    either records first (then this is a 409) or finds the record cancelled and does nothing
    (attempts.py's record-attempt condition excludes `cancelled`)."""
    record = deliveries.get(project_id, delivery_id)
    if record["state"] in CANCELLABLE and record["attempt_count"] == 0:
        now = clock.now()
        try:
            store.update(record["pk"], record["sk"], {
                "state": "cancelled", "updated_at": now, "next_attempt_at": None, **due.unmark(),
                **deliveries.state_keys(record, "cancelled"), **deliveries.ending(record, "cancelled", now),
                **delivery_index.changed(record, delivery_index.fields({**record, "state": "cancelled"}))},
                condition="#st IN (:q, :h, :w) AND attempt_count = :zero", names={"#st": "state"},
                values={":q": "queued", ":h": "held", ":w": "waiting", ":zero": 0})
            return deliveries.view(deliveries.get(project_id, delivery_id))
        except store.ConditionFailed:
            pass
    current = deliveries.get(project_id, delivery_id)
    raise Conflict(f"Only a delivery not yet attempted can be cancelled; this one is {current['state']} "
                   f"after {current['attempt_count']} attempt(s).", field="delivery_id", state=current["state"])


def secret(project_id: str) -> dict:
    return {"secret": projects.current_secret(project_id)}


def rotate_secret(project_id: str) -> dict:
    return projects.rotate_secret(project_id)
