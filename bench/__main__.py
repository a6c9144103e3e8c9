"""`make bench`: run every benchmark under bench/ (each a ``bench.<name>`` package), in order.

``python -m bench name ...`` runs only those. Exits non-zero if any benchmark fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def all_benchmarks() -> list[str]:
    return sorted(path.parent.name for path in BENCH_DIR.glob("*/__main__.py"))


def main(names: list[str]) -> int:
    failed = []
    for name in names or all_benchmarks():
        print(f"\n=== bench/{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=BENCH_DIR.parent).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
