"""Where the session finds its token and endpoint (the ecosystem's conventions)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_ENDPOINT = "https://huggingface.co"

TOKEN_HINT = "pass token=..., set HF_TOKEN, or log in so that $HF_HOME/token exists"


def token_path(env: Mapping[str, str] | None = None) -> Path:
    """``$HF_TOKEN_PATH``, else ``$HF_HOME/token``; ``HF_HOME`` defaults to the XDG cache."""
    env = os.environ if env is None else env
    if env.get("HF_TOKEN_PATH"):
        return Path(env["HF_TOKEN_PATH"]).expanduser()
    if env.get("HF_HOME"):
        home = Path(env["HF_HOME"]).expanduser()
    else:
        cache = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
        home = Path(cache).expanduser() / "huggingface"
    return home / "token"


def resolve_token(token: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The argument, else ``HF_TOKEN``, else the token file; None when none is found."""
    if token:
        return token.strip() or None
    env = os.environ if env is None else env
    value = env.get("HF_TOKEN", "").strip()
    if value:
        return value
    path = token_path(env)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def resolve_endpoint(endpoint: str | None, env: Mapping[str, str] | None = None) -> str:
    """The argument, else ``HF_ENDPOINT``, else ``https://huggingface.co`` (no trailing slash)."""
    env = os.environ if env is None else env
    value = endpoint or env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    return value.strip().rstrip("/")
