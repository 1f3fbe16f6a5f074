"""50 concurrent tasks through one AccessSession, against a fixed-window server in aioresponses."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from hf_access import Quota, RetryPolicy

from ..conftest import sent_body

HUB = "https://huggingface.co"
REPO = "org/gated-model"
HANDLE = f"{HUB}/api/models/{REPO}/user-access-request/handle"
LATENCY = 0.2


class HubWindows:
    """Fixed windows of ``quota`` calls per ``window`` seconds on the virtual clock."""

    def __init__(self, vt: Any, quota: int, window: float, offset: float = 0.0) -> None:
        self.vt = vt
        self.quota = quota
        self.window = window
        self.origin = vt.now - offset
        self.counts: dict[int, int] = {}
        self.accepted: list[float] = []
        self.refused: list[float] = []
        self.users: list[str] = []
        self.answered: list[float] = []
        self.arrivals: list[float] = []

    async def respond(self, url: Any, **kwargs: Any) -> CallbackResult:
        now = self.vt.now
        self.arrivals.append(now)
        index = int((now - self.origin) // self.window)
        used = self.counts.get(index, 0)
        reset = self.origin + (index + 1) * self.window - now
        t = int(reset + 0.999)
        policy = f'"fixed window";"api";q={self.quota};w={int(self.window)}'
        if used >= self.quota:
            self.refused.append(now)
            status, body = 429, {"error": f"you hit the quota of {self.quota} api requests"}
            headers = {"RateLimit": f'"api";r=0;t={t}', "RateLimit-Policy": policy}
        else:
            self.counts[index] = used + 1
            self.accepted.append(now)
            self.users.append(sent_body(kwargs)["user"])
            status, body = 200, {}
            headers = {
                "RateLimit": f'"api";r={self.quota - used - 1};t={t}',
                "RateLimit-Policy": policy,
            }
        await self.vt.sleep(LATENCY)  # the round trip
        self.answered.append(self.vt.now)
        return CallbackResult(status=status, body=json.dumps(body), headers=headers)


def _max_in_any_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best, j = 0, 0
    for i, start in enumerate(starts):
        while starts[j] <= start - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("offset", [0.0, 120.0, 290.0])
async def test_50_tasks_learn_the_quota_and_never_hit_429(
    make_hub: Any, mocked: aioresponses, vt: Any, offset: float
) -> None:
    server = HubWindows(vt, quota=20, window=300.0, offset=offset)
    mocked.post(HANDLE, callback=server.respond, repeat=True)
    users = [f"user{i:02d}" for i in range(50)]
    async with make_hub() as hub:
        await vt.gather(*(hub.accept(REPO, u) for u in users))
        assert hub.calls == 50
        assert hub.limiter.quota == 20
        assert hub.limiter.in_flight == 0
    assert sorted(server.users) == users
    assert server.refused == []
    assert max(server.counts.values()) <= 20
    assert len(server.counts) == 3  # 50 calls need three windows of 20
    # probe first: one request went out alone, the others waited for its answer
    assert sum(1 for t in server.arrivals if t < server.answered[0]) == 1


async def test_50_tasks_with_an_explicit_quota_at_most_20_per_window(
    make_hub: Any, mocked: aioresponses, vt: Any
) -> None:
    server = HubWindows(vt, quota=20, window=300.0)
    mocked.post(HANDLE, callback=server.respond, repeat=True)
    async with make_hub(quota=Quota(20, 300.0)) as hub:
        await vt.gather(*(hub.accept(REPO, f"user{i:02d}") for i in range(50)))
    assert len(server.accepted) == 50
    assert server.refused == []
    assert _max_in_any_window(server.arrivals, 300.0) == 20
    assert 600.0 <= vt.elapsed < 700.0


async def test_50_tasks_429_pauses_every_task(make_hub: Any, mocked: aioresponses, vt: Any) -> None:
    server = HubWindows(vt, quota=20, window=300.0)
    mocked.post(HANDLE, callback=server.respond, repeat=True)
    # the session believes in a far larger quota: the server's 429s must hold everyone
    async with make_hub(quota=Quota(1000, 300.0), probe_first=False) as hub:
        await vt.gather(*(hub.accept(REPO, f"user{i:02d}") for i in range(50)))
        pauses = hub.limiter.stats.pauses
    assert len(server.accepted) == 50
    assert server.refused, "the scenario must produce 429s"
    assert pauses >= 1
    first_refusal_answered = server.refused[0] + LATENCY
    next_window = 300.0 + vt.start
    # after the first 429 came back, nothing was sent until the window reset
    assert not [t for t in server.arrivals if first_refusal_answered < t < next_window]
    # the 429 answers taught the quota: no refusal after the first window
    assert all(t < next_window for t in server.refused)
    assert max(server.counts.values()) == 20


async def test_50_tasks_connection_errors_and_retries(
    make_hub: Any, mocked: aioresponses, vt: Any
) -> None:
    server = HubWindows(vt, quota=1000, window=300.0)
    for _ in range(10):
        mocked.post(HANDLE, exception=aiohttp.ClientConnectionError("reset"))
    mocked.post(HANDLE, callback=server.respond, repeat=True)
    async with make_hub(retry=RetryPolicy(max_attempts=5, jitter=0.0)) as hub:
        await vt.gather(*(hub.accept(REPO, f"user{i:02d}") for i in range(50)))
        assert hub.limiter.in_flight == 0
        assert hub.calls == 60
    assert sorted(server.users) == [f"user{i:02d}" for i in range(50)]
    backoffs = [d for d in vt.delays if d != LATENCY]  # the server's round trips aside
    assert len(backoffs) == 10
    assert set(backoffs) <= {0.5, 1.0, 2.0, 4.0}
