"""Run the fake Hub standalone: ``python -m hf_access.testing serve``.

Example::

    python -m hf_access.testing serve --port 8765 --repo acme/model --seed-pending 1000 \\
        --token hf_read:read --user alice --quota 1000 --window 300

prints exactly ``listening on http://127.0.0.1:8765`` once it accepts connections, then
serves until SIGINT or SIGTERM (exit status 0). The owner token ``hf_fake_owner_token``
always exists. Each repository gets ``--seed-pending`` pending requests from users
``user-000000``, ``user-000001``, ... (the same users on every repository).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from ._faults import Faults
from ._hub import OWNER, FakeHub
from ._limits import DEFAULT_WINDOW


def _token(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) == 1:
        parts.append("write")
    if len(parts) == 2:
        parts.append(OWNER)
    token, role, user = parts if len(parts) == 3 else ("", "", "")
    if not token or role not in ("read", "write") or not user:
        raise argparse.ArgumentTypeError(f"expected TOKEN[:read|write[:USER]], got {text!r}")
    return token, role, user


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
        metavar="TOKEN[:ROLE[:USER]]",
        help="add a token; ROLE read or write (default), USER owner by default (repeat)",
    )
    add("--user", action="append", default=[], metavar="NAME", help="add a user (repeat)")
    add("--latency-ms", type=float, default=0.0, help="latency added to every answer")
    add("--fail-rate", type=_rate, default=0.0, help="probability of a 500/502/503")
    add("--drop-rate", type=_rate, default=0.0, help="probability of a dropped connection")
    add("--seed", type=int, default=0, help="seed of the fault generator")
    add("--quota", type=int, default=None, help="calls per user and window (default: none)")
    add("--window", type=int, default=DEFAULT_WINDOW, help="rate-limit window, seconds")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m hf_access.testing`` parser (one command: ``serve``)."""
    parser = argparse.ArgumentParser(
        prog="python -m hf_access.testing", description="A fake Hugging Face Hub, locally."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the fake Hub until SIGINT/SIGTERM")
    add_serve_arguments(serve)
    return parser


def make_hub(options: argparse.Namespace) -> FakeHub:
    """A seeded, not yet started :class:`FakeHub` from parsed ``serve`` options."""
    faults = Faults(
        latency_ms=options.latency_ms,
        error_rate=options.fail_rate,
        drop_rate=options.drop_rate,
        seed=options.seed,
    )
    hub = FakeHub(port=options.port, quota=options.quota, window=options.window, faults=faults)
    for name in options.user:
        hub.add_user(name)
    for token, role, user in options.token:
        if user != OWNER and user not in options.user:
            hub.add_user(user)
        hub.add_token(token, user=user, role=role)
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


async def serve(options: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print ``listening on <url>`` once ready."""
    hub = make_hub(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with hub:
        print(f"listening on {hub.url}", flush=True)
        await stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m hf_access.testing``; return the exit status."""
    options = build_parser().parse_args(argv)  # "serve" is the only command
    try:
        return asyncio.run(serve(options))
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
