"""The ``hf-access`` command group: global options and the sub-commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..hub.models import RepoType
from .bulk_cmd import action_commands
from .demo import demo_cmd
from .fleet_support import KEY_ENV, REDIS_ENV, FleetLink
from .gitlab_cmd import gitlab_group
from .inbox_cmd import inbox_cmd
from .relay_cmd import relay_group
from .repo_cmds import gating_cmd, list_cmd, report_cmd
from .runner import EXIT_FAILED, EXIT_INTERRUPTED, Settings
from .sync_cmd import sync_cmd
from .watch_cmd import watch_cmd

__all__ = ["cli"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """A group whose usage errors are one line too: ``error: ... (see 'hf-access X --help')``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            error.show()  # ``hf-access`` alone: the help, as usual
            sys.exit(error.exit_code)
        except click.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.Abort, EOFError):
            click.echo("aborted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(code if isinstance(code, int) else 0)


@click.group("hf-access", cls=_Group, context_settings=CONTEXT)
@click.option(
    "--token",
    metavar="TOKEN",
    help="A token with write access (default: HF_TOKEN, else the token file). Never printed.",
)
@click.option(
    "--endpoint",
    metavar="URL",
    help="The Hub's URL (default: HF_ENDPOINT, else https://huggingface.co).",
)
@click.option(
    "--repo-type",
    type=click.Choice([t.value for t in RepoType]),
    default=None,
    help="Type of the repos (default: model).",
)
@click.option(
    "--redis",
    metavar="URL",
    envvar=REDIS_ENV,
    help="Share the token's quota with other processes through this Redis (default: "
    f"{REDIS_ENV}); watch then runs as one replica, only the leader deciding. Needs the "
    "redis extra.",
)
@click.option(
    "--redis-key",
    metavar="NAME",
    envvar=KEY_ENV,
    help=f"The quota's name in Redis (default: {KEY_ENV}, else hub:<the token's user>).",
)
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv: aiohttp too).")
@click.version_option(__version__, "--version", prog_name="hf-access")
@click.pass_context
def cli(
    ctx: click.Context,
    token: str | None,
    endpoint: str | None,
    repo_type: str | None,
    redis: str | None,
    redis_key: str | None,
    verbose: int,
) -> None:
    """Manage access requests to gated Hugging Face Hub repos, in bulk.

    \b
    Examples:
      hf-access list org/model --format csv > pending.csv
      hf-access accept org/model alice bob
      hf-access reject org/model --from-file spam.txt --reason "incomplete form" --yes
      hf-access demo
    """
    fleet = FleetLink(redis or None, redis_key or None)
    ctx.obj = Settings(token, endpoint, repo_type, verbose, fleet)


@click.command(
    "fake-hub",
    short_help="Serve a fake Hub locally, for tests and trials.",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def fake_hub_cmd(args: tuple[str, ...]) -> None:
    """Serve a fake Hub on 127.0.0.1 until interrupted (see hf-access fake-hub --help)."""
    from ..testing.__main__ import main as serve_main

    raise SystemExit(serve_main(list(args), prog="hf-access fake-hub"))


cli.add_command(list_cmd)
for _command in action_commands():
    cli.add_command(_command)
cli.add_command(report_cmd)
cli.add_command(gating_cmd)
cli.add_command(fake_hub_cmd)
cli.add_command(demo_cmd)
cli.add_command(watch_cmd)
cli.add_command(gitlab_group)
cli.add_command(sync_cmd)
cli.add_command(inbox_cmd)
cli.add_command(relay_group)
