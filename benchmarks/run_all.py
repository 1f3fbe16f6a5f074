"""Run every ``benchmarks/bench_*.py`` script in turn and print their output (``make bench``).

    .venv/bin/python benchmarks/run_all.py            # every benchmark, full size
    .venv/bin/python benchmarks/run_all.py --quick    # --quick to the scripts that take it

A script takes ``--quick`` when its argument parser defines that option. The exit status is
0 when every script exited 0 (every target met), 1 otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def takes_quick(script: Path) -> bool:
    return '"--quick"' in script.read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs where supported")
    options = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        command = [sys.executable, str(script)]
        if options.quick and takes_quick(script):
            command.append("--quick")
        print(f"=== {script.name} {' '.join(command[2:])}".rstrip(), flush=True)
        started = time.perf_counter()
        status = subprocess.call(command, cwd=HERE.parent)
        results.append((script.name, status, time.perf_counter() - started))
        print(flush=True)
    print("=== all benchmarks")
    for name, status, elapsed in results:
        verdict = "ok" if status == 0 else f"FAILED (exit status {status})"
        print(f"{name:28s} {elapsed:6.1f} s  {verdict}")
    return 0 if all(status == 0 for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
