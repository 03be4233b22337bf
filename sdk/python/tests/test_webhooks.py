import pytest

from infrai import WebhookVerificationError, webhooks

SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
MSG_ID = "msg_loFOjxBNrRLzqYUf"
TS = 1731705121
BODY = '{"event_type":"ping","data":{"success":true}}'
SIG = "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="


def headers(sig=SIG, ts=TS, msg_id=MSG_ID):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_the_standard_webhooks_test_vector():
    assert webhooks.sign(SECRET, MSG_ID, TS, BODY) == SIG
    assert webhooks.verify(BODY, headers(), SECRET, now=TS) == {"event_type": "ping", "data": {"success": True}}
    assert webhooks.verify(BODY.encode(), {k.upper(): v for k, v in headers().items()}, SECRET, now=lambda: TS + 10)


def test_rotated_multi_signature_headers():
    other = webhooks.sign("whsec_" + "QUJD" * 8, MSG_ID, TS, BODY)
    assert webhooks.verify(BODY, headers(f"{other} {SIG}"), SECRET, now=TS)
    assert webhooks.verify(BODY, headers(f"v2,zzz {SIG}"), SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, headers(other), SECRET, now=TS)


@pytest.mark.parametrize("offset, ok", [(0, True), (299, True), (-299, True), (301, False), (-301, False)])
def test_five_minute_tolerance_with_an_injected_clock(offset, ok):
    now = TS + offset
    if ok:
        webhooks.verify(BODY, headers(), SECRET, now=lambda: now)
    else:
        with pytest.raises(WebhookVerificationError, match="too (old|new)"):
            webhooks.verify(BODY, headers(), SECRET, now=lambda: now)


def test_tampering_and_bad_input_are_explained():
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY.replace("true", "false"), headers(), SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, headers(msg_id="msg_other"), SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="Missing header"):
        webhooks.verify(BODY, {"webhook-id": MSG_ID}, SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="Unix time"):
        webhooks.verify(BODY, headers(ts="yesterday"), SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="whsec_"):
        webhooks.verify(BODY, headers(), "whsec_not*base64", now=TS)


def test_agrees_with_the_standardwebhooks_package():
    standardwebhooks = pytest.importorskip("standardwebhooks")
    from datetime import datetime, timezone
    wh = standardwebhooks.Webhook(SECRET)
    now = datetime.now(tz=timezone.utc)
    sig = wh.sign(MSG_ID, now, BODY)
    assert webhooks.verify(BODY, headers(sig, int(now.timestamp())), SECRET)["event_type"] == "ping"
