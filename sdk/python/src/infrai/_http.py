"""One request, with retries: connection errors, 429 and 5xx, exponential backoff with jitter,
`Retry-After` honoured (up to a cap), the same idempotency key on every try."""
from __future__ import annotations

import email.utils
from datetime import datetime
import random
import time
from typing import Any, Callable, Optional

import requests

from ._version import __version__
from .errors import ConnectionFailed, InfraiError, error_for_status

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class Transport:
    def __init__(self, *, timeout: float = 30.0, max_retries: int = 3, backoff: float = 0.5,
                 max_backoff: float = 8.0, max_retry_after: float = 60.0,
                 session: Optional[requests.Session] = None, sleep: Callable[[float], None] = time.sleep):
        self.timeout, self.max_retries = timeout, max_retries
        self.backoff, self.max_backoff, self.max_retry_after = backoff, max_backoff, max_retry_after
        self.session = session or requests.Session()
        self.sleep = sleep

    def request(self, method: str, url: str, *, headers: dict, params: Optional[dict] = None,
                json_body: Any = None) -> Any:
        headers = {"User-Agent": f"infrai-python/{__version__}", "Accept": "application/json", **headers}
        attempt = 0
        while True:
            try:
                resp = self.session.request(method, url, headers=headers, params=params,
                                            json=json_body, timeout=self.timeout, allow_redirects=False)
            except (requests.ConnectionError, requests.Timeout) as e:
                if attempt < self.max_retries:
                    self.sleep(self._delay(attempt, None))
                    attempt += 1
                    continue
                raise ConnectionFailed(f"Could not reach the infrai API at {url} ({type(e).__name__}: {e}). "
                                       "Is the base URL right (INFRAI_BASE_URL) and the service running?") from e
            if resp.status_code < 400:
                return _json(resp)
            retry_after = _retry_after(resp.headers.get("Retry-After"))
            if retry_after is None and resp.status_code == 429:
                retry_after = _resets_in(resp)   # no header (an older server): the body's resets_at
            if (resp.status_code in RETRY_STATUSES and attempt < self.max_retries
                    and (retry_after is None or retry_after <= self.max_retry_after)):
                self.sleep(self._delay(attempt, retry_after))
                attempt += 1
                continue
            raise _error(resp, retry_after)

    def _delay(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        cap = min(self.max_backoff, self.backoff * (2 ** attempt))
        return random.uniform(cap / 2, cap)


def _json(resp: requests.Response) -> Any:
    if not resp.content:
        return {}
    try:
        return resp.json()
    except ValueError:
        raise InfraiError(f"The API answered {resp.status_code} with a body that is not JSON: "
                          f"{resp.text[:200]!r}", status=resp.status_code, code="invalid_response")


def _retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _resets_in(resp: requests.Response) -> Optional[float]:
    """Seconds until a 429's `resets_at` (RFC 3339), if its body names one."""
    try:
        resets_at = resp.json()["error"]["resets_at"]
        when = datetime.fromisoformat(resets_at.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error(resp: requests.Response, retry_after: Optional[float]) -> InfraiError:
    body: Any
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code, message, field = err.get("code"), err.get("message") or "", err.get("field")
    else:
        code = None
        message = (body.get("message") if isinstance(body, dict) else None) or str(body)[:300] or resp.reason
        field = None
    cls = error_for_status(resp.status_code)
    return cls(message, status=resp.status_code, code=code, field=field, body=body, retry_after=retry_after)
