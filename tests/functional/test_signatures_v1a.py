"""Asymmetric signatures (issue 24, item 1): Standard Webhooks v1a, Ed25519. Deliveries reach a real
receiver on 127.0.0.1 that verifies v1a with the project's public key alone, through PyNaCl
(libsodium: an Ed25519 implementation independent of ours, which uses `cryptography`), and v1
with the shared secret through `standardwebhooks`."""
import base64

import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from standardwebhooks.webhooks import Webhook

from chalicelib.aws import keys, store
from chalicelib.core import clock
from chalicelib.services.tenancy import projects

from tests.receiver import Receiver

from .conftest import drain

PROJECT = "/v1/auth/project"
KEYS = "/v1/scheduling/webhook/public-keys"
ROTATE = "/v1/scheduling/webhook/public-keys/rotate"
SEND = "/v1/scheduling/webhook/send"


class PublicKeyReceiver(Receiver):
    """Verifies each arrival's v1a signatures with the public keys it was given, nothing else."""

    def __init__(self):
        super().__init__()
        self.public_keys = []   # whpk_…

    def verified_by(self, arrival) -> list[str]:
        """The public keys that verify one of the arrival's v1a signatures."""
        content = f"{arrival.headers['webhook-id']}.{arrival.headers['webhook-timestamp']}.".encode() + arrival.body
        found = []
        for public_key in self.public_keys:
            verifier = VerifyKey(base64.b64decode(public_key.removeprefix("whpk_")))
            for version, _, value in (s.partition(",") for s in arrival.headers["webhook-signature"].split(" ")):
                try:
                    if version == "v1a":
                        verifier.verify(content, base64.b64decode(value))
                        found.append(public_key)
                        break
                except BadSignatureError:
                    pass
        return found

    def _verify(self, headers, body):
        return False   # this receiver holds no shared secret: see verified_by


@pytest.fixture
def pk_receiver():
    r = PublicKeyReceiver()
    yield r
    r.stop()


def schemes(arrival) -> list[str]:
    return [s.partition(",")[0] for s in arrival.headers["webhook-signature"].split(" ")]


def v1_verifies(arrival, secret) -> bool:
    try:
        Webhook(secret).verify(arrival.body, arrival.headers)
        return True
    except Exception:  # noqa: BLE001 - WebhookVerificationError or a header it cannot parse
        return False


def send_and_drain(api, receiver, path, **extra):
    resp = api.call("POST", SEND, {"url": receiver.url(path), "payload": {"hello": path}, **extra})
    assert resp.status_code == 202, resp.data
    drain()
    return receiver.at(path)


def test_v1_is_the_default_and_there_is_no_key_pair_until_v1a_is_turned_on(api, pk_receiver, project):
    assert api.call("GET", "/v1/auth/me").data["signatures"] == ["v1"]
    assert api.call("GET", KEYS).data == {"keys": []}
    [arrival] = send_and_drain(api, pk_receiver, "/default")
    assert schemes(arrival) == ["v1"]
    assert v1_verifies(arrival, projects.current_secret(project["project_id"]))
    rotate = api.call("POST", ROTATE)
    assert rotate.status_code == 409 and "turn v1a on" in rotate.data["error"]["message"]


def test_migration_carries_v1_and_v1a_side_by_side_on_sends_and_callbacks(api, pk_receiver, project):
    resp = api.call("PATCH", PROJECT, {"signatures": ["v1", "v1a"]})
    assert resp.status_code == 200 and resp.data["signatures"] == ["v1", "v1a"]
    assert api.call("GET", "/v1/auth/me").data["signatures"] == ["v1", "v1a"]
    [key] = api.call("GET", KEYS).data["keys"]
    assert key["public_key"].startswith("whpk_") and key["key_id"].startswith("whk_")
    assert key["expires_at"] is None and key["created_at"].endswith("Z")
    assert len(base64.b64decode(key["public_key"][5:])) == 32
    pk_receiver.public_keys = [key["public_key"]]

    [arrival] = send_and_drain(api, pk_receiver, "/both", callback_url=pk_receiver.url("/callback"))
    assert schemes(arrival) == ["v1", "v1a"]
    assert pk_receiver.verified_by(arrival) == [key["public_key"]]          # the public key alone
    assert v1_verifies(arrival, projects.current_secret(project["project_id"]))   # the secret alone
    [callback] = pk_receiver.at("/callback")                                # callbacks are signed alike
    assert schemes(callback) == ["v1", "v1a"] and pk_receiver.verified_by(callback) == [key["public_key"]]

    # a changed body verifies with neither
    tampered = type(arrival)(arrival.path, arrival.headers, arrival.body + b" ", False, arrival.at)
    assert pk_receiver.verified_by(tampered) == []
    assert not v1_verifies(tampered, projects.current_secret(project["project_id"]))


def test_the_secret_key_is_sealed_at_rest_and_never_shown(api, project):
    api.call("PATCH", PROJECT, {"signatures": ["v1a"]})
    item = store.get(*keys.project(project["project_id"]))
    [pair] = item["signing_key_pairs"]
    assert pair["secret_key"].startswith("sealed1:") and "whsk_" not in repr(item)
    for path in (KEYS, "/v1/auth/me"):
        assert "whsk_" not in repr(api.call("GET", path).data)
    assert "whsk_" not in repr(api.call("POST", ROTATE).data)


def test_v1a_alone_carries_no_hmac_so_the_shared_secret_verifies_nothing(api, pk_receiver, project):
    assert api.call("PATCH", PROJECT, {"signatures": ["v1a"]}).data["signatures"] == ["v1a"]
    pk_receiver.public_keys = [k["public_key"] for k in api.call("GET", KEYS).data["keys"]]
    [arrival] = send_and_drain(api, pk_receiver, "/only")
    assert schemes(arrival) == ["v1a"] and len(pk_receiver.verified_by(arrival)) == 1
    assert not v1_verifies(arrival, projects.current_secret(project["project_id"]))
    # back to v1 and v1a: the same key pair, not a new one
    before = api.call("GET", KEYS).data
    api.call("PATCH", PROJECT, {"signatures": ["v1a", "v1"]})   # any order; stored in canonical order
    assert api.call("GET", "/v1/auth/me").data["signatures"] == ["v1", "v1a"]
    assert api.call("GET", KEYS).data == before


def test_rotation_signs_with_both_keys_for_the_overlap_then_with_the_new_one(api, pk_receiver, monkeypatch):
    api.call("PATCH", PROJECT, {"signatures": ["v1", "v1a"]})
    [old] = api.call("GET", KEYS).data["keys"]
    rotated = api.call("POST", ROTATE)
    assert rotated.status_code == 200, rotated.data
    new = rotated.data
    assert new["public_key"] != old["public_key"] and new["expires_at"] is None
    listed = api.call("GET", KEYS).data["keys"]
    assert [k["key_id"] for k in listed] == [new["key_id"], old["key_id"]]
    assert listed[1]["expires_at"] == new["previous_key_expires_at"]

    # during the overlap: two v1a signatures, and a receiver holding either public key accepts
    pk_receiver.public_keys = [old["public_key"], new["public_key"]]
    [arrival] = send_and_drain(api, pk_receiver, "/overlap")
    assert schemes(arrival) == ["v1", "v1a", "v1a"]
    assert pk_receiver.verified_by(arrival) == [old["public_key"], new["public_key"]]
    again = api.call("POST", ROTATE)
    assert again.status_code == 409 and again.data["error"]["previous_key_expires_at"] == new["previous_key_expires_at"]

    # after it: the old key neither signs nor is listed, and another rotation may start
    later = clock.now() + projects.ROTATION_OVERLAP + 1
    monkeypatch.setattr(clock, "_now", lambda: later)
    assert [k["key_id"] for k in api.call("GET", KEYS).data["keys"]] == [new["key_id"]]
    [arrival] = send_and_drain(api, pk_receiver, "/after")
    assert schemes(arrival) == ["v1", "v1a"] and pk_receiver.verified_by(arrival) == [new["public_key"]]
    assert api.call("POST", ROTATE).status_code == 200


def test_a_retried_rotation_answers_the_same_and_rotates_once(api):
    api.call("PATCH", PROJECT, {"signatures": ["v1", "v1a"]})
    headers = {"Idempotency-Key": "rotate-public-key-0001"}
    first = api.call("POST", ROTATE, headers=headers)
    second = api.call("POST", ROTATE, headers=headers)
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert len(api.call("GET", KEYS).data["keys"]) == 2


@pytest.mark.parametrize("value,field,words", [
    ("v1a", "signatures", "must be a list"),
    ([], "signatures", "must be a list"),
    ({"v1": True}, "signatures", "must be a list"),
    (None, "signatures", "must be a list"),
    (["v2"], "signatures[0]", "\"v1\" (HMAC"),
    (["v1", "V1A"], "signatures[1]", "\"v1a\""),
    (["v1", 1], "signatures[1]", "\"v1\""),
    (["v1", "v1"], "signatures", "twice"),
])
def test_bad_signatures_values_get_400_and_change_nothing(api, project, value, field, words):
    resp = api.call("PATCH", PROJECT, {"signatures": value, "retention_days": {"succeeded": 2}})
    assert resp.status_code == 400, resp.data
    assert resp.data["error"]["field"] == field and words in resp.data["error"]["message"], resp.data
    me = api.call("GET", "/v1/auth/me").data
    assert me["signatures"] == ["v1"] and me["retention_days"]["succeeded"] == 30
    assert "signing_key_pairs" not in store.get(*keys.project(project["project_id"]))
