"""The credentials an attempt presents to a receiver whose `auth` asks for them (core/endpoint_auth.py):
an OAuth2 access token (client credentials grant) in `Authorization: Bearer`, or a client
certificate in the TLS handshake.

Tokens are fetched once and kept until shortly before they expire, per project, token URL,
client, scope and audience: in this process (no request for a token while one is good) and in
the table, sealed (services of other Lambda containers take it from there: one GetItem on
their first send, instead of one token request per container; token servers often count or
bill them, e.g. per machine-to-machine token). A receiver that answers 401 gets one fresh token
and the request once more; still 401, the attempt fails as any other. A token request is a
request to a URL of the user's: it passes the same SSRF guard as a target (sender.post)."""
import base64
import hashlib
import logging
import threading
from collections import OrderedDict
from urllib.parse import quote_plus, urlencode

from ... import config, sender
from ...aws import keys, store
from ...core import at_rest, clock, endpoint_auth, strict_json

log = logging.getLogger(__name__)

USER_AGENT = "infrai-scheduling/1.0 (token request)"
DEFAULT_LIFETIME = 300          # s: a token whose response gives no expires_in
MAX_LIFETIME = 24 * 3600
EARLY = 60                      # s before its expiry a token is no longer used (at most a tenth of its life)
TOKEN_TIMEOUT = 10              # s, at most (and never longer than the attempt's own timeout)
TOKEN_BODY_LIMIT = 64 * 1024
MAX_CACHED = 1000
_tokens = OrderedDict()         # cache id -> (token, usable until)
_tokens_lock = threading.Lock()
_fetch_locks = [threading.Lock() for _ in range(32)]   # one fetch per token at a time, in this process


def of(record: dict, queues: dict) -> dict | None:
    """The `auth` an attempt of this delivery uses: a queue message's is its queue's, read at
    each attempt like its URL; a webhook send or a cron run carries its own."""
    if record["kind"].startswith("queue:"):
        return (queues.get((record["project_id"], record["source"]["queue"])) or {}).get("auth")
    return record.get("auth")


def send(project_id: str, auth: dict | None, post, timeout: float) -> sender.AttemptResult:
    """`post(extra_headers, client_cert)` with the credentials `auth` asks for."""
    if not auth:
        return post({}, None)
    try:
        secret = endpoint_auth.secret(auth, project_id)
    except at_rest.Unreadable:
        return _failed(f"{auth['type']}: its secret cannot be unsealed (the stage's sealing key changed); "
                       "set the endpoint's auth again")
    if auth["type"] == endpoint_auth.MTLS:
        return post({}, sender.client_cert(auth["certificate"], secret))
    token, failure = _token(project_id, auth, secret, timeout)
    if failure:
        return failure
    result = post({"Authorization": f"Bearer {token}"}, None)
    if result.status == 401:   # revoked or expired early: one fresh token, one more request
        token, failure = _token(project_id, auth, secret, timeout, refused=token)
        if failure:
            return failure
        result = post({"Authorization": f"Bearer {token}"}, None)
    return result


def _failed(error: str, ms: int = 0) -> sender.AttemptResult:
    return sender.AttemptResult(None, ms, error, "", None)


def _cache_id(project_id: str, auth: dict, secret: str) -> str:
    parts = [project_id, auth["token_url"], auth["client_id"], auth.get("scope") or "", auth.get("audience") or "",
             auth.get("client_authentication") or "basic", hashlib.sha256(secret.encode()).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def _token(project_id: str, auth: dict, secret: str, timeout: float, refused: str | None = None):
    """(token, None), or (None, a failed AttemptResult). `refused`: the token a receiver just
    refused, which no cache may give again."""
    cache_id = _cache_id(project_id, auth, secret)
    with _fetch_locks[int(cache_id[:8], 16) % len(_fetch_locks)]:
        now = clock.now()
        with _tokens_lock:
            cached = _tokens.get(cache_id)
        if cached and cached[0] != refused and cached[1] > now:
            return cached[0], None
        shared = _shared_get(cache_id, project_id)
        if shared and shared[0] != refused and shared[1] > now:
            _remember(cache_id, *shared)
            return shared[0], None
        token, lifetime, failure = _fetch(auth, secret, min(timeout, TOKEN_TIMEOUT))
        if failure:
            return None, failure
        until = clock.now() + lifetime - min(EARLY, lifetime / 10)
        _remember(cache_id, token, until)
        _shared_put(cache_id, project_id, token, until)
        return token, None


def _remember(cache_id: str, token: str, until: float) -> None:
    with _tokens_lock:
        _tokens[cache_id] = (token, until)
        _tokens.move_to_end(cache_id)
        while len(_tokens) > MAX_CACHED:
            _tokens.popitem(last=False)


def _shared_get(cache_id: str, project_id: str):
    try:
        item = store.get(*keys.oauth_token(cache_id), consistent=False)
        if item and item.get("project_id") == project_id:
            return at_rest.unseal(item["token"], f"{project_id}:oauth_token"), float(item["until"])
    except Exception:  # noqa: BLE001 - the shared copy saves a request; without it one is made
        log.warning("could not read a shared access token", exc_info=True)
    return None


def _shared_put(cache_id: str, project_id: str, token: str, until: float) -> None:
    pk, sk = keys.oauth_token(cache_id)
    try:
        store.put({"pk": pk, "sk": sk, "project_id": project_id, "until": until, "ttl": int(until) + 3600,
                   "token": at_rest.seal(token, f"{project_id}:oauth_token")})
    except Exception:  # noqa: BLE001 - other containers then fetch their own
        log.warning("could not share an access token", exc_info=True)


def _fetch(auth: dict, secret: str, timeout: float):
    """(token, lifetime in s, None), or (None, None, a failed AttemptResult). The error says what
    the token server said (its OAuth2 `error` code), never its body or the secret."""
    form = {"grant_type": "client_credentials"}
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json",
               "user-agent": USER_AGENT}
    if auth.get("client_authentication") == "body":
        form.update(client_id=auth["client_id"], client_secret=secret)
    else:   # RFC 6749 §2.3.1: each form-encoded, then HTTP Basic
        pair = f"{quote_plus(auth['client_id'])}:{quote_plus(secret)}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    form.update({k: auth[k] for k in ("scope", "audience") if auth.get(k)})
    result = sender.post(auth["token_url"], urlencode(form).encode(), headers, timeout=timeout,
                         allow_private=config.allow_private_targets(), read_limit=TOKEN_BODY_LIMIT)
    where = f"token request to {auth['token_url'][:200]}"
    if result.refused:   # as hopeless as a refused target: "refused: ..." fails the delivery at once
        return None, None, _failed(f"refused: {where}: {result.error[len('refused: '):]}", result.duration_ms)
    if result.status is None:
        return None, None, _failed(f"{where} failed: {result.error}", result.duration_ms)
    try:
        answer = strict_json.loads(result.excerpt)
    except ValueError:
        answer = None
    if not 200 <= result.status <= 299:
        code = answer.get("error") if isinstance(answer, dict) else None
        said = f" ({code[:64]})" if isinstance(code, str) and code.isascii() and code.isprintable() else ""
        return None, None, _failed(f"{where}: HTTP {result.status}{said}", result.duration_ms)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not (isinstance(token, str) and 0 < len(token) <= 8192 and token.isascii() and token.isprintable()
            and " " not in token):
        return None, None, _failed(f"{where}: the response has no usable access_token", result.duration_ms)
    kind = answer.get("token_type", "bearer")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        return None, None, _failed(f"{where}: token_type {str(kind)[:32]!r} is not supported (only bearer)",
                                   result.duration_ms)
    lifetime = answer.get("expires_in", DEFAULT_LIFETIME)
    if isinstance(lifetime, str) and lifetime.isdigit():
        lifetime = int(lifetime)
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
        lifetime = DEFAULT_LIFETIME
    return token, max(0.0, min(float(lifetime), MAX_LIFETIME)), None


def _reset() -> None:
    """Forget the tokens this process holds (tests)."""
    with _tokens_lock:
        _tokens.clear()
