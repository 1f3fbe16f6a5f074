"""The ``hf-access`` command line (needs the ``cli`` extra: click and rich).

The library never imports this package; ``main`` is the console script's entry point.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

MISSING_EXTRA = (
    "error: the hf-access command needs the optional 'cli' extra (click and rich): "
    "pip install 'hf-access[cli]'"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``hf-access`` with ``argv`` (default: the process's arguments); exits."""
    try:
        import click  # noqa: F401
        import rich  # noqa: F401
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        raise SystemExit(2) from None
    from .app import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="hf-access")
