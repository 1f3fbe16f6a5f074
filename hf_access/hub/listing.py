"""Reading one of the Hub's lists to its end, past a page cut short with no next link.

The Hub sends a ``Link: rel="next"`` header while more entries remain, but a list has been
seen to stop at exactly 1,000 entries with no next link (FIDELITY.md, pagination). A full
page with no next link is therefore not the end: the list is asked once more for what comes
after the last entry (``after=`` its timestamp). The Hub does not document whether ``after``
is inclusive, so the tolerant reading is taken: entries already handed out at that instant
are dropped, whichever it is. A list
of exactly a multiple of the page size costs one extra call; a list the Hub cut short is
read to the end.

That needs entries in time order (oldest first) with timestamps. Where a full page has
none, or is out of order, or the question again brings nothing new (more than a page of
entries at one instant, or a server that ignores ``after``), asking again cannot help and
an :class:`~hf_access.HfAccessWarning` says the list may be cut short.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime

from ..core.errors import HfAccessWarning
from ..core.paging import iter_pages
from ..core.sansio import Call
from ..core.transport import Response
from . import wire as _wire
from ._watch_state import request_key
from .convert import decode_requests
from .models import AccessRequest

__all__ = ["iter_list", "resume_point"]


def resume_point(items: Sequence[AccessRequest]) -> datetime | None:
    """Where to ask again after a full page: its last entry's timestamp, when that is the newest.

    ``None`` when an entry has no timestamp or the page is not oldest first.
    """
    stamps = [item.timestamp for item in items]
    if not stamps or any(stamp is None for stamp in stamps):
        return None
    known = [stamp for stamp in stamps if stamp is not None]
    return known[-1] if known == sorted(known) else None


async def iter_list(
    send: Callable[[Call], Awaitable[Response]],
    call_after: Callable[[datetime | None], Call],
    *,
    after: datetime | None = None,
    full: int = _wire.MAX_PAGE,
) -> AsyncIterator[AccessRequest]:
    """Every entry of a list: ``call_after(after)`` is its first page for a given ``after``.

    ``full`` is the page size asked for: a page that long with no next link may be cut short.
    """
    boundary: datetime | None = None  # the ``after`` of the current question, once resumed
    at_boundary: set[str] = set()  # entries already handed out stamped exactly ``boundary``
    call = call_after(after)
    while True:
        size, point, at_point = 0, None, set()  # of the last page read (not the page: memory)
        fresh = 0
        top, at_top = boundary, set(at_boundary)  # the newest instant handed out, and who
        async for page in iter_pages(send, call, decode_requests, _wire.next_link, prefetch=True):
            size, point = len(page.items), resume_point(page.items)
            at_point = {request_key(i) for i in page.items if point and i.timestamp == point}
            for item in page.items:
                key, stamp = request_key(item), item.timestamp
                if boundary is not None and (stamp is None or stamp < boundary):
                    continue  # before what was asked for: a server that ignores ``after``
                if boundary is not None and stamp == boundary and key in at_boundary:
                    continue
                fresh += 1
                if stamp is not None and (top is None or stamp > top):
                    top, at_top = stamp, {key}
                elif stamp is not None and stamp == top:
                    at_top.add(key)
                yield item
            del page  # released before the next page is read
        if size < full:
            return
        if point is None or (boundary is not None and fresh == 0):
            why = (
                "nothing new came when asked again"
                if point is not None
                else "its entries are not in time order with timestamps"
            )
            warnings.warn(
                f"{call.path}: a full page of {size} came with no next link and {why}; "
                "the list may be cut short",
                HfAccessWarning,
                stacklevel=2,
            )
            return
        at_boundary = at_top if point == top else at_point
        boundary = point
        call = call_after(point)
