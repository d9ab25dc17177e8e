"""`make bench`: every benchmark in turn, each in its own process, with its defaults.

.venv/bin/python -m bench [name ...]
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("leads", "assignment", "pipeline", "ai", "realtime", "whatsapp")


def main() -> int:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {BENCHMARKS}")
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench.{name} ===", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
