"""Benchmark of the bulk journal's cost per item (issue 11): one write per finished call, the
time formatted once per call, versus one write per item with every line built whole (0.1's
way, reimplemented here as the baseline and measured in the same run).

    .venv/bin/python benchmarks/bench_journal.py            # 200,000 items
    .venv/bin/python benchmarks/bench_journal.py --quick    # 20,000 items

Exit status 0 when the target is met (at least 2x cheaper per item with batches of 100).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import Row, machine, print_table

from hf_access import Decision, ItemOutcome, Outcome
from hf_access.core.convert import format_time
from hf_access.core.journal import Journal

BATCH = 100


def items(count: int) -> list[ItemOutcome[Decision]]:
    return [
        ItemOutcome(i, Decision("org/model", f"user-{i:06d}", "accept"), Outcome.DONE)
        for i in range(count)
    ]


def per_item_baseline(path: Path, todo: list[ItemOutcome[Decision]]) -> float:
    """One ``write`` per item, each line a dict dumped whole with its own timestamp."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    unsynced = 0
    started = time.perf_counter()
    for item in todo:
        line = {
            "key": item.decision.key,
            "outcome": item.outcome.value,
            "at": format_time(datetime.now(timezone.utc)),
        }
        os.write(fd, (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8"))
        unsynced += 1
        if unsynced >= 256:
            os.fsync(fd)
            unsynced = 0
    os.fsync(fd)
    elapsed = time.perf_counter() - started
    os.close(fd)
    return elapsed


def per_call(path: Path, todo: list[ItemOutcome[Decision]]) -> float:
    journal = Journal(path, kind="hub")
    journal.open()
    started = time.perf_counter()
    for start in range(0, len(todo), BATCH):
        journal.record_many(todo[start : start + BATCH])
    journal.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 items instead of 200,000")
    options = parser.parse_args(argv)
    count = 20_000 if options.quick else 200_000
    todo = items(count)
    with tempfile.TemporaryDirectory() as tmp:
        base = per_item_baseline(Path(tmp) / "baseline.jsonl", todo)
        mine = per_call(Path(tmp) / "journal.jsonl", todo)
        lines = len((Path(tmp) / "journal.jsonl").read_text().splitlines()) - 1
    assert lines == count
    base_us, mine_us = base / count * 1e6, mine / count * 1e6
    ratio = base_us / mine_us
    print(f"journal of {count:,} finished items ({machine()})")
    print_table(
        [
            Row("one write per item (baseline)", f"{base_us:.2f} µs/item", "-", True),
            Row(f"one write per call of {BATCH}", f"{mine_us:.2f} µs/item", "-", True),
            Row("per-item cost ratio", f"{ratio:.1f}x cheaper", ">= 2x", ratio >= 2),
        ]
    )
    return 0 if ratio >= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
