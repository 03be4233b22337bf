import base64
import time

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


# -- v1a (Ed25519), checked with PyNaCl (libsodium), an implementation independent of ours

def _nacl_verifies(public_key: str, content: bytes, entry: str) -> bool:
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey
    version, _, value = entry.partition(",")
    try:
        VerifyKey(base64.b64decode(public_key[5:])).verify(content, base64.b64decode(value))
        return version == "v1a"
    except BadSignatureError:
        return False


def test_v1a_key_pairs_are_whsk_and_whpk_and_the_public_key_derives_from_the_secret():
    (sk, pk), (_, pk2) = signing.new_key_pair(), signing.new_key_pair()
    assert sk.startswith("whsk_") and pk.startswith("whpk_") and pk != pk2
    assert len(base64.b64decode(pk[5:])) == 32
    raw = base64.b64decode(sk[5:])
    assert len(raw) == 64 and raw[32:] == base64.b64decode(pk[5:])   # seed, then public key (libsodium's layout)
    assert signing.public_key(sk) == pk
    assert signing.public_key("whsk_" + base64.b64encode(raw[:32]).decode()) == pk   # the seed alone also works


def test_v1a_signs_id_timestamp_body_and_only_its_public_key_verifies():
    sk, pk = signing.new_key_pair()
    _, stranger = signing.new_key_pair()
    entry = signing.sign_v1a(sk, "dlv_x", 1700000000, b'{"a":1}')
    assert entry.startswith("v1a,") and len(base64.b64decode(entry[4:])) == 64
    assert _nacl_verifies(pk, b'dlv_x.1700000000.{"a":1}', entry)
    assert not _nacl_verifies(pk, b'dlv_x.1700000001.{"a":1}', entry)
    assert not _nacl_verifies(stranger, b'dlv_x.1700000000.{"a":1}', entry)


def test_signed_headers_put_v1_first_then_one_v1a_per_key():
    secret = signing.new_secret()
    (sk1, pk1), (sk2, pk2) = signing.new_key_pair(), signing.new_key_pair()
    ts = int(time.time())
    headers = signing.signed_headers(signing.Signer((secret,), (sk1, sk2)), "dlv_x", ts, b"{}")
    entries = headers["webhook-signature"].split(" ")
    assert [e.partition(",")[0] for e in entries] == ["v1", "v1a", "v1a"]
    assert Webhook(secret).verify(b"{}", headers) == {}              # v1 receivers skip the v1a entries
    content = f"dlv_x.{ts}.{{}}".encode()
    assert _nacl_verifies(pk1, content, entries[1]) and _nacl_verifies(pk2, content, entries[2])
    only_v1a = signing.signed_headers(signing.Signer((), (sk1,)), "dlv_x", ts, b"{}")
    assert only_v1a["webhook-signature"].startswith("v1a,") and " " not in only_v1a["webhook-signature"]
