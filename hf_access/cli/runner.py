"""Running a command's coroutine: the session, logging, errors and exit codes in one place.

Exit codes: 0 all done; 1 some items failed (or another Hub error); 2 usage or auth error
(:class:`~hf_access.AuthenticationError`, :class:`~hf_access.PermissionDeniedError`,
:class:`~hf_access.ConfigurationError`, :class:`ValueError` from bad input); 130 interrupted
(Ctrl-C); 143 a continuous ``watch`` stopped by SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import attrs

from ..core.errors import (
    AuthenticationError,
    ConfigurationError,
    HfAccessError,
    HfAccessWarning,
    PermissionDeniedError,
)
from ..hub.client import AccessSession
from .fleet_support import FleetLink

__all__ = [
    "EXIT_DECLINED",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "GITLAB_CREDENTIALS",
    "HUB_CREDENTIALS",
    "Credentials",
    "Settings",
    "cli_message",
    "exit_code_for",
    "print_error",
    "run",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DECLINED = 3  # "no" at the confirmation prompt: nothing was sent
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process ended by it

USAGE_ERRORS: tuple[type[BaseException], ...] = (
    AuthenticationError,
    PermissionDeniedError,
    ConfigurationError,
    ValueError,
)


@attrs.frozen
class Settings:
    """The global options, shared by every sub-command.

    The token is kept out of ``repr`` so that no traceback or debug print can show it.
    """

    token: str | None = attrs.field(default=None, repr=False)
    endpoint: str | None = None
    repo_type: str | None = None
    verbose: int = 0
    fleet: FleetLink = attrs.field(factory=FleetLink, eq=False)  # --redis

    def session(self) -> AccessSession:
        limiter = self.fleet.hub_limiter(self.token, self.endpoint)
        return AccessSession(token=self.token, endpoint=self.endpoint, limiter=limiter)


@attrs.frozen
class Credentials:
    """How the command line takes a provider's token and address, for its error messages."""

    token: str
    endpoint: str
    login: str = ""


HUB_CREDENTIALS = Credentials(
    token="HF_TOKEN or --token",
    endpoint="--endpoint (or HF_ENDPOINT)",
    login=", or log in (huggingface-cli login) so that the token file exists",
)
GITLAB_CREDENTIALS = Credentials(
    token="GITLAB_TOKEN or 'hf-access gitlab --token'",
    endpoint="'hf-access gitlab --url' (or GITLAB_URL)",
)
_LIBRARY_HINTS = (
    "pass token=..., set HF_TOKEN, or log in so that $HF_HOME/token exists",
    "pass token=... or set GITLAB_TOKEN (a personal, group or project access token)",
)


def cli_message(error: BaseException, credentials: Credentials = HUB_CREDENTIALS) -> str:
    """The error in the command line's words: its options and environment variables, never
    the library's arguments (``token=...``, ``allow_insecure_http=True``)."""
    text = str(error) or type(error).__name__
    if isinstance(error, ConfigurationError) and any(h in text for h in _LIBRARY_HINTS):
        return f"this command needs a token: set {credentials.token}{credentials.login}"
    text = text.replace(
        "use https, a loopback address, or allow_insecure_http=True",
        f"give {credentials.endpoint} an https:// or loopback address",
    )
    if isinstance(error, AuthenticationError):
        text += f"; check {credentials.token}"
    return text


def exit_code_for(error: BaseException) -> int:
    return EXIT_USAGE if isinstance(error, USAGE_ERRORS) else EXIT_FAILED


def _one_line(text: str) -> str:
    return " ".join(text.split())


def print_error(
    error: BaseException | str,
    *,
    verbose: int = 0,
    stream: TextIO | None = None,
    credentials: Credentials = HUB_CREDENTIALS,
) -> None:
    """``error: ...`` on one line; the traceback too when ``-v`` was given."""
    out = stream or sys.stderr
    if isinstance(error, BaseException):
        if verbose and error.__traceback__ is not None:
            traceback.print_exception(type(error), error, error.__traceback__, file=out)
        message = cli_message(error, credentials)
    else:
        message = error
    out.write(f"error: {_one_line(message)}\n")
    out.flush()


@contextmanager
def logging_to_stderr(verbose: int) -> Iterator[None]:
    """``-v``: the library's log at DEBUG on stderr; ``-vv``: aiohttp's too."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    names = ["hf_access"] + (["aiohttp"] if verbose > 1 else [])
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Library warnings (a list that may be cut short...) as ``warning: ...`` lines."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        sys.stderr.write(f"warning: {_one_line(str(message))}\n")

    with warnings.catch_warnings():
        warnings.simplefilter("always", HfAccessWarning)
        warnings.showwarning = show
        yield


def run(
    settings: Settings,
    work: Callable[[], Awaitable[int]],
    *,
    credentials: Credentials = HUB_CREDENTIALS,
) -> int:
    """Run ``work()`` in a fresh event loop and turn its end into an exit code.

    Errors print one line (``error: ...``), with the traceback only when ``-v`` was given.
    """
    with logging_to_stderr(settings.verbose), warnings_as_lines():
        try:
            return asyncio.run(_call(settings, work))
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, like other command-line tools.
            _silence_stdout()
            return EXIT_FAILED
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            return EXIT_INTERRUPTED
        except (HfAccessError, ValueError) as error:
            print_error(error, verbose=settings.verbose, credentials=credentials)
            return exit_code_for(error)
        except OSError as error:
            print_error(error, verbose=settings.verbose)
            return EXIT_FAILED


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass


async def _call(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    try:
        return await work()
    finally:
        await settings.fleet.aclose()
