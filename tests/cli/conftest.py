"""Fixtures of the command-line tests: a fake Hub served from a thread and a runner for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from hf_access.cli.app import cli
from hf_access.testing import FakeHub

REPO = "acme/model"
SECRET = "hf_CLItestSECRETtoken0123456789"  # a distinctive token: it must never be printed


class Cli:
    """Runs ``hf-access`` in-process against one fake Hub, with the owner's token."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub

    def __call__(
        self,
        *args: str,
        token: str | None = SECRET,
        input: str | None = None,
        endpoint: bool = True,
        env: dict[str, str | None] | None = None,
    ) -> Result:
        head: list[str] = []
        if endpoint:
            head += ["--endpoint", self.hub.url]
        if token is not None:
            head += ["--token", token]
        runner = CliRunner()
        return runner.invoke(cli, [*head, *args], input=input, env=env, catch_exceptions=False)

    def statuses(self, repo: str = REPO, *, repo_type: str = "model") -> dict[str, str]:
        """``{user: status}`` of every request on the repo, read from the fake Hub."""
        snapshot = self.hub.snapshot(repo, repo_type=repo_type)
        return {name: record.status for name, record in snapshot.items()}


@pytest.fixture(autouse=True)
def _no_user_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never read the developer's token or endpoint."""
    home = tmp_path_factory.mktemp("hf_home")
    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_TOKEN_PATH", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    """A fake Hub with ``acme/model`` and 5 pending requests (user-000000..4)."""
    with FakeHub() as server:
        server.add_repo(REPO)
        server.seed_pending(REPO, 5)
        server.add_user("owner2")
        server.add_token(SECRET, user="owner2", role="write", namespaces=["acme"])
        yield server


@pytest.fixture
def run(hub: FakeHub) -> Cli:
    return Cli(hub)
