"""Pagination through Link rel="next": 3+ pages, the cut-short warning, laziness, origins."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from aioresponses import aioresponses

from hf_access import AccessSession, HfAccessWarning, UnsafeLinkError

HUB = "https://huggingface.co"
REPO = "org/gated-model"
PENDING = f"{HUB}/api/models/{REPO}/user-access-request/pending"


def page(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"requestId": f"r{i}", "status": "pending", "user": {"user": f"user{i:04d}"}}
        for i in range(start, start + count)
    ]


def link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next"'}


def request_urls(m: aioresponses) -> list[str]:
    return [str(url) for (_, url), calls in m.requests.items() for _ in calls]


def mock_pages(m: aioresponses, sizes: list[int], limit: int) -> list[str]:
    """One mocked page per size; page k links to page k+1 with its own query. Returns the URLs."""
    urls = [f"{PENDING}?limit={limit}"] + [
        f"{PENDING}?cursor=c{k}&limit={limit}" for k in range(1, len(sizes))
    ]
    start = 0
    for k, size in enumerate(sizes):
        headers = link(urls[k + 1]) if k + 1 < len(sizes) else {}
        m.get(urls[k], payload=page(start, size), headers=headers)
        start += size
    return urls


async def test_four_pages_in_order(hub: AccessSession, mocked: aioresponses) -> None:
    urls = mock_pages(mocked, [10, 10, 10, 3], limit=10)
    got = await hub.list_requests(REPO, "pending", page_size=10)
    assert [r.username for r in got] == [f"user{i:04d}" for i in range(33)]
    assert request_urls(mocked) == urls
    # the next link is followed as given: no query added on top of its own
    for (_, url), calls in mocked.requests.items():
        if "cursor" in str(url):
            assert calls[0].kwargs.get("params") is None
            assert url.query == {"cursor": url.query["cursor"], "limit": "10"}


async def test_pages_follow_the_link_query_exactly(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(f"{PENDING}?q=acme", payload=page(0, 2), headers=link(f"{PENDING}?q=acme&skip=2"))
    mocked.get(
        f"{PENDING}?q=acme&skip=2", payload=page(2, 2), headers=link(f"{PENDING}?skip=4&q=acme")
    )
    mocked.get(f"{PENDING}?q=acme&skip=4", payload=page(4, 1))
    got = await hub.list_pending(REPO, search="acme")
    assert len(got) == 5
    assert len(request_urls(mocked)) == 3


async def test_relative_path_link_stays_on_the_endpoint(
    hub: AccessSession, mocked: aioresponses
) -> None:
    path = f"/api/models/{REPO}/user-access-request/pending?cursor=2"
    mocked.get(PENDING, payload=page(0, 3), headers={"Link": f'<{path}>; rel="next"'})
    mocked.get(HUB + path, payload=page(3, 3))
    got = await hub.list_pending(REPO)
    assert len(got) == 6


async def test_full_page_without_next_link_warns(hub: AccessSession, mocked: aioresponses) -> None:
    mock_pages(mocked, [10, 10, 10], limit=10)
    with pytest.warns(HfAccessWarning, match="cut short"):
        got = await hub.list_requests(REPO, "pending", page_size=10)
    assert len(got) == 30


async def test_full_default_page_without_next_link_warns(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(PENDING, payload=page(0, 1000))
    with pytest.warns(HfAccessWarning, match="1000"):
        got = await hub.list_pending(REPO)
    assert len(got) == 1000


async def test_short_last_page_does_not_warn(hub: AccessSession, mocked: aioresponses) -> None:
    mock_pages(mocked, [10, 10, 9], limit=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = await hub.list_requests(REPO, "pending", page_size=10)
    assert len(got) == 29


async def test_full_pages_with_next_links_do_not_warn(
    hub: AccessSession, mocked: aioresponses
) -> None:
    urls = mock_pages(mocked, [10, 10, 0], limit=10)  # the last page comes back empty
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = await hub.list_requests(REPO, "pending", page_size=10)
    assert len(got) == 20
    assert request_urls(mocked) == urls


async def test_iterator_is_lazy(hub: AccessSession, mocked: aioresponses) -> None:
    urls = mock_pages(mocked, [10, 10, 5], limit=10)
    iterator = hub.iter_requests(REPO, "pending", page_size=10)
    assert request_urls(mocked) == []  # nothing sent before the first item is asked for
    first = await iterator.__anext__()
    assert first.username == "user0000"
    # One page ahead at most: the next page is asked for while this one is decoded.
    assert request_urls(mocked) == urls[:2]
    for _ in range(9):
        await iterator.__anext__()
    assert request_urls(mocked) == urls[:2]  # the page is used up; no further page asked yet
    eleventh = await iterator.__anext__()
    assert eleventh.username == "user0010"
    assert request_urls(mocked) == urls[:3]
    await iterator.aclose()  # type: ignore[attr-defined]
    assert request_urls(mocked) == urls[:3]


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/api/models/org/gated-model/user-access-request/pending?p=2",
        "https://huggingface.co.evil.example/p2",
        "http://huggingface.co/api/p2",  # a downgrade to plain http is another origin too
        "https://huggingface.co:8443/api/p2",
    ],
)
async def test_never_follows_a_link_to_another_origin(
    hub: AccessSession, mocked: aioresponses, evil: str
) -> None:
    mocked.get(PENDING, payload=page(0, 2), headers=link(evil))
    seen: list[str | None] = []

    async def consume() -> None:
        async for request in hub.iter_requests(REPO, "pending"):
            seen.append(request.username)

    with pytest.raises(UnsafeLinkError, match="another origin") as info:
        await consume()
    assert seen == ["user0000", "user0001"]
    assert request_urls(mocked) == [PENDING]
    assert "hf_SECRET_abc123" not in str(info.value)


async def test_redirect_on_the_same_origin_is_followed(
    hub: AccessSession, mocked: aioresponses
) -> None:
    moved = f"{HUB}/api/models/org/renamed-model/user-access-request/pending"
    mocked.get(PENDING, status=307, headers={"Location": moved})
    mocked.get(moved, payload=page(0, 1))
    got = await hub.list_pending(REPO)
    assert [r.username for r in got] == ["user0000"]
    assert request_urls(mocked) == [PENDING, moved]


async def test_redirect_to_another_origin_is_refused(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(PENDING, status=302, headers={"Location": "https://evil.example/steal"})
    with pytest.raises(UnsafeLinkError):
        await hub.list_pending(REPO)
    assert request_urls(mocked) == [PENDING]


async def test_query_only_link_resolves_against_the_page_url(
    hub: AccessSession, mocked: aioresponses
) -> None:
    mocked.get(PENDING, payload=page(0, 2), headers={"Link": '<?cursor=2>; rel="next"'})
    mocked.get(f"{PENDING}?cursor=2", payload=page(2, 2))
    got = await hub.list_pending(REPO)
    assert len(got) == 4
