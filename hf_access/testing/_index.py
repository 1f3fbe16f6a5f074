"""A sorted set of request keys, built for the fake Hub's per-status lists.

Keys are ``(timestamp_ms, seq)`` tuples. The set is stored as a list of short sorted
blocks (at most ``2 * _LOAD`` keys each) plus the maximum of every block, so that

* adding or removing a key costs a bisect over the block maxima plus a short memmove
  inside one block (instead of shifting a 100,000-item list);
* reading a page starts from a bisect (``O(log n)``) and then walks forward.

Appending a key greater than every other (new requests are the newest) is O(1).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator

Key = tuple[int, int]
"""``(timestamp in epoch milliseconds, creation sequence number)``."""

_LOAD = 512


class SortedKeys:
    """An ordered set of :data:`Key` values.

    >>> keys = SortedKeys()
    >>> for k in [(5, 1), (1, 2), (3, 3)]:
    ...     keys.add(k)
    >>> list(keys.iter_from((1, 2), inclusive=False))
    [(3, 3), (5, 1)]
    """

    __slots__ = ("_blocks", "_len", "_maxes")

    def __init__(self) -> None:
        self._blocks: list[list[Key]] = []
        self._maxes: list[Key] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: Key) -> bool:
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        block = self._blocks[i]
        j = bisect_left(block, key)
        return j < len(block) and block[j] == key

    def add(self, key: Key) -> None:
        """Insert ``key`` (which must not be present already)."""
        maxes = self._maxes
        self._len += 1
        if not maxes:
            self._blocks.append([key])
            maxes.append(key)
            return
        if key > maxes[-1]:  # fast path: the newest key
            block = self._blocks[-1]
            block.append(key)
            maxes[-1] = key
            i = len(maxes) - 1
        else:
            i = bisect_left(maxes, key)
            block = self._blocks[i]
            insort(block, key)
        if len(block) > 2 * _LOAD:
            self._blocks[i : i + 1] = [block[:_LOAD], block[_LOAD:]]
            maxes[i : i + 1] = [block[_LOAD - 1], block[-1]]

    def remove(self, key: Key) -> None:
        """Remove ``key``; raise :class:`KeyError` when it is absent."""
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            raise KeyError(key)
        block = self._blocks[i]
        j = bisect_left(block, key)
        if j == len(block) or block[j] != key:
            raise KeyError(key)
        del block[j]
        self._len -= 1
        if block:
            self._maxes[i] = block[-1]
        else:
            del self._blocks[i]
            del self._maxes[i]

    def iter_from(self, key: Key | None, *, inclusive: bool = True) -> Iterator[Key]:
        """Yield keys in ascending order, starting at ``key`` (``None``: from the start).

        With ``inclusive=False`` the keys equal to ``key`` are skipped. The set must not be
        changed while the iterator is in use.
        """
        blocks = self._blocks
        if key is None:
            i, j = 0, 0
        elif inclusive:
            i = bisect_left(self._maxes, key)
            j = bisect_left(blocks[i], key) if i < len(blocks) else 0
        else:
            i = bisect_right(self._maxes, key)
            j = bisect_right(blocks[i], key) if i < len(blocks) else 0
        if i < len(blocks):
            yield from blocks[i][j:] if j else blocks[i]
            for block in blocks[i + 1 :]:
                yield from block

    def __iter__(self) -> Iterator[Key]:
        return self.iter_from(None)
