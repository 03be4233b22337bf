"""Sealing at rest (core/at_rest.py) and the credential-header rules (core/credential_headers.py)."""
import base64
import os

import pytest

from chalicelib.core import at_rest, credential_headers
from chalicelib.core.errors import ServiceUnavailable


def key():
    return base64.b64encode(os.urandom(32)).decode()


def test_a_sealed_value_opens_only_in_its_own_context(monkeypatch):
    monkeypatch.setenv("INFRAI_SEAL_KEY", key())
    sealed = at_rest.seal("s3cret", "proj_1:auth.client_secret")
    assert at_rest.is_sealed(sealed) and "s3cret" not in sealed
    assert at_rest.seal("s3cret", "proj_1:auth.client_secret") != sealed   # a fresh nonce each time
    assert at_rest.unseal(sealed, "proj_1:auth.client_secret") == "s3cret"
    with pytest.raises(at_rest.Unreadable):
        at_rest.unseal(sealed, "proj_2:auth.client_secret")
    with pytest.raises(at_rest.Unreadable):
        at_rest.unseal("sealed1:not base64!", "x")


def test_a_rotation_opens_old_values_and_seals_with_the_new_key(monkeypatch):
    old, new = key(), key()
    monkeypatch.setenv("INFRAI_SEAL_KEY", old)
    before = at_rest.seal("a", "c")
    monkeypatch.setenv("INFRAI_SEAL_KEY", f"{new},{old}")
    after = at_rest.seal("b", "c")
    assert at_rest.unseal(before, "c") == "a" and at_rest.unseal(after, "c") == "b"
    monkeypatch.setenv("INFRAI_SEAL_KEY", new)   # the old key dropped: its values no longer open
    with pytest.raises(at_rest.Unreadable):
        at_rest.unseal(before, "c")


@pytest.mark.parametrize("value", ["", "short", base64.b64encode(b"x" * 16).decode()])
def test_without_a_valid_key_nothing_is_sealed_and_the_answer_says_why(monkeypatch, value):
    monkeypatch.setenv("INFRAI_SEAL_KEY", value)
    with pytest.raises(ServiceUnavailable) as e:
        at_rest.seal("x", "c")
    assert "INFRAI_SEAL_KEY" in e.value.message


def test_credential_headers_are_sealed_masked_and_opened(monkeypatch):
    monkeypatch.setenv("INFRAI_SEAL_KEY", key())
    names = ["Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "api-key", "X-Auth-Token",
             "Stripe-Secret", "X-Session-Id", "X-Password"]
    assert all(credential_headers.is_credential(n) for n in names)
    assert not any(credential_headers.is_credential(n) for n in ["X-Request-Id", "Accept-Language", "X-Tenant"])
    stored = credential_headers.sealed({"Authorization": "Bearer abcdefgh1234", "X-Tenant": "acme"}, "proj_1")
    assert at_rest.is_sealed(stored["Authorization"]) and stored["X-Tenant"] == "acme"
    assert credential_headers.masked(stored, "proj_1") == {"Authorization": "••••1234", "X-Tenant": "acme"}
    assert credential_headers.clear(stored, "proj_1") == {"Authorization": "Bearer abcdefgh1234", "X-Tenant": "acme"}
    assert credential_headers.masked({"Cookie": "a=1"}, "proj_1") == {"Cookie": "••••"}   # short: nothing shown
