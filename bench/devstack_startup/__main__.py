"""Start and stop each devstack server a few times; print median seconds per server.

Start is measured until the server answers its readiness probe (the same probe the
fixtures wait on), stop until its whole process group is gone.
"""

from __future__ import annotations

import shutil
import statistics
import sys

from devstack.settings import REPO_ROOT
from devstack.stack import ALL_SERVERS, Devstack

ROUNDS = 3


def main() -> int:
    workdir = REPO_ROOT / ".devstack" / "bench-devstack"
    starts: dict[str, list[float]] = {name: [] for name in ALL_SERVERS}
    stops: dict[str, list[float]] = {name: [] for name in ALL_SERVERS}
    stack = Devstack(workdir, ports="free")
    try:
        for _ in range(ROUNDS):
            for name in ALL_SERVERS:
                stack.start([name])
                stack.stop([name])
                starts[name].append(stack.start_seconds[name])
                stops[name].append(stack.stop_seconds[name])
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"{'server':10} {'start (median s)':>17} {'stop (median s)':>16}   ({ROUNDS} rounds; first start includes one-time set-up)"
    )
    for name in ALL_SERVERS:
        print(f"{name:10} {statistics.median(starts[name]):17.2f} {statistics.median(stops[name]):16.2f}")
    total_start = sum(statistics.median(values) for values in starts.values())
    print(f"{'all':10} {total_start:17.2f} {sum(statistics.median(v) for v in stops.values()):16.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
