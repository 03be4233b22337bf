"""Where the key and base URL come from, in order: arguments, then the environment
(INFRAI_API_KEY, INFRAI_BASE_URL), then ~/.infrai/credentials, then the local stack's URL.

The credentials file is JSON, written with mode 0600 in a 0700 directory:
`{"api_key": "ifr_pk_proj_…", "project_id": "proj_…", "base_url": "http://…"}`."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
ENV_KEY = "INFRAI_API_KEY"
ENV_BASE_URL = "INFRAI_BASE_URL"
ENV_CREDENTIALS = "INFRAI_CREDENTIALS_FILE"


def credentials_path() -> Path:
    override = os.environ.get(ENV_CREDENTIALS)
    return Path(override) if override else Path.home() / ".infrai" / "credentials"


def read_credentials(path: Optional[Path] = None) -> dict:
    path = path or credentials_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable infrai credentials file ({e}); "
                         "remove it and run infra.activate() again") from e
    return data if isinstance(data, dict) else {}


def write_credentials(data: dict, path: Optional[Path] = None) -> Path:
    """Atomically, never readable by others, not even for a moment (0600 from creation)."""
    path = path or credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".credentials.", dir=str(path.parent))   # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def resolve(api_key: Optional[str], base_url: Optional[str], path: Optional[Path] = None):
    """(api_key or None, base_url, where the key came from)."""
    creds = None
    key, source = api_key, "argument"
    if not key:
        key, source = os.environ.get(ENV_KEY) or None, "environment"
    if not key:
        creds = read_credentials(path)
        key, source = creds.get("api_key") or None, "credentials"
    if not key:
        source = None
    url = base_url or os.environ.get(ENV_BASE_URL)
    if not url:
        if creds is None:
            creds = read_credentials(path)
        url = creds.get("base_url") or DEFAULT_BASE_URL
    return key, url.rstrip("/"), source
