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


# -- v1a: Ed25519 with a whpk_ public key, signed here by PyNaCl (libsodium), not by the SDK's library

def _nacl_signer(seed: bytes):
    signing = pytest.importorskip("nacl.signing")
    import base64
    key = signing.SigningKey(seed)
    public = "whpk_" + base64.b64encode(bytes(key.verify_key)).decode()

    def sign(msg_id=MSG_ID, ts=TS, body=BODY):
        return "v1a," + base64.b64encode(key.sign(f"{msg_id}.{ts}.{body}".encode()).signature).decode()
    return public, sign


def test_v1a_verifies_with_the_public_key_alone():
    public, sign = _nacl_signer(b"\x01" * 32)
    assert webhooks.verify(BODY, headers(sign()), public, now=TS) == {"event_type": "ping", "data": {"success": True}}
    assert webhooks.verify(BODY.encode(), headers(f"{SIG} {sign()}"), public, now=TS)   # migration: v1 and v1a
    assert webhooks.verify(BODY, headers(f"{SIG} {sign()}"), SECRET, now=TS)            # ... either verifies
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY.replace("true", "false"), headers(sign()), public, now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, headers(sign(msg_id="msg_other")), public, now=TS)


def test_v1a_around_a_rotation_any_listed_public_key_verifies():
    old, sign_old = _nacl_signer(b"\x02" * 32)
    new, sign_new = _nacl_signer(b"\x03" * 32)
    stranger, sign_stranger = _nacl_signer(b"\x04" * 32)
    both = headers(f"{SIG} {sign_new()} {sign_old()}")
    assert webhooks.verify(BODY, both, old, now=TS) and webhooks.verify(BODY, both, new, now=TS)
    assert webhooks.verify(BODY, headers(sign_new()), [old, new], now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, both, stranger, now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, headers(sign_stranger()), [old, new], now=TS)


def test_v1a_mismatches_are_explained():
    public, sign = _nacl_signer(b"\x05" * 32)
    with pytest.raises(WebhookVerificationError, match="signs with v1 only"):
        webhooks.verify(BODY, headers(SIG), public, now=TS)
    with pytest.raises(WebhookVerificationError, match="v1a only"):
        webhooks.verify(BODY, headers(sign()), SECRET, now=TS)
    with pytest.raises(WebhookVerificationError, match="whpk_<base64 of 32 bytes>"):
        webhooks.verify(BODY, headers(sign()), "whpk_c2hvcnQ=", now=TS)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhooks.verify(BODY, headers("v1a,not*base64"), public, now=TS)
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, headers(sign()), public, now=TS + 301)
