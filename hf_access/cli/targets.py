"""Repos on the command line: ``--repo-type`` in any position, ``datasets/org/name`` anywhere.

The global ``--repo-type`` (before the command) is the default; the same option after the
command overrides it for that command. A repo written ``datasets/org/name`` (or
``spaces/...``, ``models/...``) carries its own type, whatever the option says.
"""

from __future__ import annotations

from typing import Any

import attrs
import click

from ..hub.models import RepoType
from ..hub.watch import parse_repo

__all__ = ["hub_repo", "parse_repo", "repo_type_option"]

_HELP = "Type of the repos (default: model, or the --repo-type given before the command)."


def _set_repo_type(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None and attrs.has(type(ctx.obj)) and hasattr(ctx.obj, "repo_type"):
        ctx.obj = attrs.evolve(ctx.obj, repo_type=value)


def repo_type_option() -> click.Option:
    """``--repo-type`` for a sub-command (it sets the command's settings, not an argument)."""
    return click.Option(
        ["--repo-type"],
        type=click.Choice([t.value for t in RepoType]),
        default=None,
        expose_value=False,
        callback=_set_repo_type,
        help=_HELP,
    )


def with_repo_type(command: Any) -> Any:
    """Add :func:`repo_type_option` to a click command (a decorator, above ``@click.command``)."""
    command.params.append(repo_type_option())
    return command


def hub_repo(spec: str, repo_type: str | None) -> tuple[str, RepoType]:
    """``("org/name", type)`` from ``org/name`` (of ``repo_type``) or ``datasets/org/name``."""
    return parse_repo(spec, repo_type)
