"""Where the GitLab session finds its token and URL."""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_URL = "https://gitlab.com"
TOKEN_HINT = "pass token=... or set GITLAB_TOKEN (a personal, group or project access token)"


def resolve_token(token: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The argument, else ``GITLAB_TOKEN``; None when neither is set."""
    if token:
        return token.strip() or None
    env = os.environ if env is None else env
    return env.get("GITLAB_TOKEN", "").strip() or None


def resolve_url(url: str | None, env: Mapping[str, str] | None = None) -> str:
    """The argument, else ``GITLAB_URL``, else ``https://gitlab.com``."""
    env = os.environ if env is None else env
    return (url or env.get("GITLAB_URL") or DEFAULT_URL).strip()
