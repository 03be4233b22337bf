import base64

from hypothesis import given, strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.core import signing

VECTOR_SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl"
VECTOR_ID = "msg_loFOjxBNrRLzqYUf"
VECTOR_TS = 1731705121
VECTOR_BODY = b'{"event_type":"ping","data":{"success":true}}'


def test_matches_the_standard_webhooks_test_vector():
    assert signing.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == \
        "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0="


def test_new_secrets_are_whsec_with_32_random_bytes():
    a, b = signing.new_secret(), signing.new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a[6:])) == 32


def test_rotation_header_carries_one_signature_per_secret_and_each_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.webhook_headers([new, old], "dlv_x", 1700000000, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    import time
    headers = signing.webhook_headers([new, old], "dlv_x", int(time.time()), b"{}")
    for secret in (old, new):  # a receiver holding either secret accepts it
        assert Webhook(secret).verify(b"{}", headers) == {}
    stranger = signing.new_secret()
    try:
        Webhook(stranger).verify(b"{}", headers)
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("a third secret must not verify")


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                     max_leaves=10)


@given(data=st.dictionaries(st.text(max_size=8), _json, max_size=5), wid=st.from_regex(r"dlv_[0-9A-Z]{26}", fullmatch=True))
def test_round_trip_with_the_reference_library_and_tampering_is_caught(data, wid):
    import json
    import time
    body = json.dumps(data).encode()
    secret = signing.new_secret()
    ts = int(time.time())
    headers = signing.webhook_headers([secret], wid, ts, body)
    Webhook(secret).verify(body, headers)
    tampered = body + b" "
    try:
        Webhook(secret).verify(tampered, headers)
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("a changed body must not verify")
