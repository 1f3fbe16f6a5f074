"""Run the fake Hub standalone: ``python -m hf_access.testing serve`` (``hf-access fake-hub``).

Example::

    python -m hf_access.testing serve --port 8765 --repo acme/model --seed-pending 1000 \\
        --token hf_read:read --user alice --quota 1000 --window 300

prints ``listening on http://127.0.0.1:8765`` as its first line once it accepts
connections, then what it serves (the owner token ``hf_fake_owner_token``, the other
tokens' users and roles, the repositories, the users), then serves until SIGINT or SIGTERM
(exit status 0). Each repository gets ``--seed-pending`` pending requests from users
``user-000000``, ``user-000001``, ... (the same users on every repository).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from ._faults import Faults
from ._hub import OWNER, OWNER_TOKEN, FakeHub
from ._limits import DEFAULT_WINDOW

TokenOption = tuple[str, str, str, tuple[str, ...] | None]
"""``(token, role, user, namespaces or None)`` of one ``--token``."""


def _token(text: str) -> TokenOption:
    parts = text.split(":")
    if len(parts) == 1:
        parts.append("write")
    if len(parts) == 2:
        parts.append(OWNER)
    if len(parts) == 3:
        parts.append("")
    token, role, user, listed = parts if len(parts) == 4 else ("", "", "", "")
    namespaces = tuple(name for name in listed.split(",") if name) or None
    if not token or role not in ("read", "write") or not user:
        raise argparse.ArgumentTypeError(
            f"expected TOKEN[:read|write[:USER[:NS,...]]], got {text!r}"
        )
    return token, role, user, namespaces


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability between 0 and 1, got {text}")
    return value


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of the ``serve`` command to ``parser``."""
    add = parser.add_argument
    add("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    add("--repo", action="append", default=[], metavar="NS/NAME", help="repository (repeat)")
    add("--repo-type", choices=("model", "dataset", "space"), default="model")
    add("--gated", choices=("manual", "auto"), default="manual", help="gating of --repo")
    add("--hide-requesters", action="store_true", help="repos hide their requesters")
    add("--seed-pending", type=int, default=0, metavar="N", help="pending requests per repo")
    add(
        "--token",
        action="append",
        type=_token,
        default=[],
        metavar="TOKEN[:ROLE[:USER[:NS,...]]]",
        help="add a token; ROLE read or write (default); USER owner by default; a write "
        "token manages the namespaces NS (default: every one for owner, the user's own "
        "for anyone else) (repeat)",
    )
    add("--user", action="append", default=[], metavar="NAME", help="add a user (repeat)")
    add("--latency-ms", type=float, default=0.0, help="latency added to every answer")
    add("--fail-rate", type=_rate, default=0.0, help="probability of a 500/502/503")
    add("--drop-rate", type=_rate, default=0.0, help="probability of a dropped connection")
    add(
        "--drop-after-rate",
        type=_rate,
        default=0.0,
        help="probability of applying a change, then dropping the connection unanswered",
    )
    add("--seed", type=int, default=0, help="seed of the fault generator")
    add("--quota", type=int, default=None, help="calls per user and window (default: none)")
    add("--window", type=int, default=DEFAULT_WINDOW, help="rate-limit window, seconds")


_DESCRIPTION = "Serve a fake Hugging Face Hub on 127.0.0.1 until SIGINT or SIGTERM."


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser.

    Without ``prog``: ``python -m hf_access.testing`` and its one command, ``serve``. With
    ``prog`` (e.g. ``"hf-access fake-hub"``): a parser of the ``serve`` options alone,
    whose help and errors name ``prog``.
    """
    if prog is not None:
        parser = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION)
        add_serve_arguments(parser)
        return parser
    parser = argparse.ArgumentParser(
        prog="python -m hf_access.testing", description="A fake Hugging Face Hub, locally."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help=_DESCRIPTION, description=_DESCRIPTION)
    add_serve_arguments(serve)
    return parser


def make_hub(options: argparse.Namespace) -> FakeHub:
    """A seeded, not yet started :class:`FakeHub` from parsed ``serve`` options."""
    faults = Faults(
        latency_ms=options.latency_ms,
        error_rate=options.fail_rate,
        drop_rate=options.drop_rate,
        drop_after_rate=options.drop_after_rate,
        seed=options.seed,
    )
    hub = FakeHub(port=options.port, quota=options.quota, window=options.window, faults=faults)
    for name in options.user:
        hub.add_user(name)
    for token, role, user, namespaces in options.token:
        if user != OWNER and user not in options.user:
            hub.add_user(user)
        hub.add_token(token, user=user, role=role, namespaces=namespaces)
    for repo_id in options.repo:
        hub.add_repo(
            repo_id,
            repo_type=options.repo_type,
            gated=options.gated,
            hide_requesters=options.hide_requesters,
        )
        if options.seed_pending:
            hub.seed_pending(repo_id, options.seed_pending, repo_type=options.repo_type)
    return hub


def _names(names: list[str]) -> str:
    if len(names) > 4:
        return f"{names[0]}, {names[1]}, ..., {names[-1]} ({len(names)})"
    return ", ".join(names)


def describe(options: argparse.Namespace) -> list[str]:
    """The start-up lines after ``listening on``: the owner token, and what it holds.

    The tokens given with ``--token`` are not repeated (whoever started it knows them).
    """
    lines = [f"owner token: {OWNER_TOKEN} (user {OWNER}, write on every namespace)"]
    for _, role, user, namespaces in options.token:
        if role == "read":
            scope = ""
        elif namespaces is not None:
            scope = " on " + ", ".join(f"{namespace}/..." for namespace in namespaces)
        else:
            scope = " on every namespace" if user == OWNER else f" on {user}/..."
        lines.append(f"--token: {role} token of user {user}{scope}")
    if options.repo:
        gating = f"gated {options.gated}" + (
            ", requesters hidden" if options.hide_requesters else ""
        )
        lines.append(f"repos ({options.repo_type}, {gating}): {', '.join(options.repo)}")
    else:
        lines.append("repos: none (add some with --repo NS/NAME)")
    if options.repo and options.seed_pending:
        seeded = [f"user-{i:06d}" for i in range(options.seed_pending)]
        lines.append(f"pending requests on each repo: {_names(seeded)}")
    users = [OWNER, *options.user]
    users += [user for _, _, user, _ in options.token if user not in users]
    lines.append(f"users: {_names(users)}")
    return lines


async def serve(options: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print ``listening on <url>`` once ready, then what
    the fake Hub holds (:func:`describe`)."""
    hub = make_hub(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with hub:
        print(f"listening on {hub.url}", flush=True)
        print("\n".join(describe(options)), flush=True)
        await stop.wait()
    return 0


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Entry point; return the exit status.

    ``python -m hf_access.testing serve ...`` without ``prog``; ``hf-access fake-hub``
    passes ``prog="hf-access fake-hub"`` and the options alone.
    """
    options = build_parser(prog).parse_args(argv)
    try:
        return asyncio.run(serve(options))
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
