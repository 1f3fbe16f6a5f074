"""A GitLab bulk run against an endpoint that refuses connections stops early (issue 11, row 7)."""

from __future__ import annotations

from hf_access.gitlab import GitLabSession

from ..conftest import VirtualTime
from ..core._hostile import TOKEN, closed_port


async def test_a_run_by_user_name_against_a_closed_port_stops_early(vt: VirtualTime) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with GitLabSession(TOKEN, url, sleep=vt.sleep, clock=vt.clock) as gitlab:
        report = await gitlab.approve_many(3, [f"user{i}" for i in range(1000)])
    assert report.stopped is not None
    assert "unreachable" in report.stopped
    assert report.not_attempted >= 950
    # The tasks that waited for the one read of the request list share its failure instead of
    # retrying it in turn (5 attempts each).
    assert report.calls <= 10


async def test_a_run_by_user_id_against_a_closed_port_stops_early(vt: VirtualTime) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with GitLabSession(TOKEN, url, sleep=vt.sleep, clock=vt.clock) as gitlab:
        report = await gitlab.deny_many(3, list(range(1, 1001)))
    assert report.stopped is not None
    assert "unreachable" in report.stopped
    assert report.not_attempted >= 950
