"""aspace2alma export speed and memory against the ArchivesSpace stand-in.

The stand-in serves 10,000 resources and 150,000 top containers with 20 ms added
to every request; the report holds 300,000 barcodes. Each measurement is a fresh
process running the export task's code (hook, concurrent export, transformation,
streamed serialization; the SFTP upload of the finished file is not included):

- the full export at the DAG's configured concurrency (param ``concurrency``), beside
  its latency bound: requests x latency / concurrency, what the export would take if
  nothing but the 20 ms of each request counted;
- the same code at concurrency 1, 4, 8, 16, 24, 32 on the first 1,000 resources (the
  curve the DAG's default was chosen from); the concurrency-1 time, scaled by resources,
  is the sequential full export;
- peak RSS of the export of the first 1,000 resources (at the DAG's concurrency) vs the
  full 10,000;
- the CPU seconds the client and the stand-in spent in each measurement (both run on
  this machine's two cores, so either can be what the export waits for).

The stand-in shares this machine's two cores with the client, and rendering its
generated MARC and Solr JSON costs about as much CPU per resource as the client's
whole processing; a real ArchivesSpace runs elsewhere. So the stand-in keeps what it
rendered (``cache_responses``) and an unmeasured warm-up export fills that cache
first: every measured request is answered from memory, after the 20 ms latency.

Prints the figures and ratios side by side, draws export time against
concurrency with its latency bound (``export_vs_concurrency.png`` next to this file),
exits non-zero if a target is missed: full export < 5 min, >= 20x faster than
sequential, peak RSS at 10,000 resources within 1.5x of that at 1,000.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devstack.aspace_standin.data import Dataset
from devstack.settings import REPO_ROOT, use_plugins_folder
from devstack.stack import Devstack

RESOURCES, CONTAINERS, REPOSITORIES, LATENCY_MS = 10_000, 150_000, 5, 20
REPORT_BARCODES = 300_000
SLICE = 1_000
CURVE = (1, 4, 8, 16, 24, 32)
TARGET_SECONDS, TARGET_SPEEDUP, TARGET_RSS_RATIO = 300.0, 20.0, 1.5
PLOT = Path(__file__).resolve().parent / "export_vs_concurrency.png"


def dag_concurrency() -> int:
    """The ``concurrency`` param default of the aspace2alma DAG, read from the DAG file itself."""
    use_plugins_folder()
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "aspace2alma.py")).dags["aspace2alma"]
    return int(dag.params["concurrency"])


def write_report(path: Path, dataset: Dataset) -> None:
    """Half of the dataset's barcodes (so half the ReCAP containers need items) plus other items of Alma's."""
    known = [barcode for n, barcode in enumerate(dataset.iter_barcodes()) if n % 2 == 0]
    others = (f"39{n:012d}" for n in range(REPORT_BARCODES - len(known)))
    with path.open("w", encoding="utf-8") as report:
        report.write("\ufeffBarcode\n")
        report.writelines(f"{barcode}\n" for barcode in known)
        report.writelines(f"{barcode}\n" for barcode in others)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency_bound(requests: int, concurrency: int) -> float:
    """The export's time if nothing but each request's latency counted."""
    return requests * LATENCY_MS / 1000 / concurrency


def measure(env: dict[str, str], workdir: Path, report: Path, concurrency: int, resources: int | None, stack) -> dict:
    standin = stack["aspace"]
    standin.admin("reset", {})
    spec = {
        "report": str(report),
        "out": str(workdir / "MARC_out.xml"),
        "concurrency": concurrency,
        "resources": resources,
    }
    standin_cpu = cpu_seconds(standin.process.pid)
    done = subprocess.run(
        [sys.executable, "-m", "bench.aspace2alma.worker", json.dumps(spec)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"export worker failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["standin_cpu_seconds"] = cpu_seconds(standin.process.pid) - standin_cpu
    stats = standin.admin("stats")
    result["requests"] = stats["total_requests"]
    result["max_in_flight"] = stats["max_in_flight"]
    result["bound"] = latency_bound(result["requests"], concurrency)
    label = f"{resources or RESOURCES:>6} resources, concurrency {concurrency:>2}"
    print(f"  {label}: {result['seconds']:6.1f} s (latency bound {result['bound']:5.1f} s), "
          f"CPU client {result['cpu_seconds']:5.1f} s / stand-in {result['standin_cpu_seconds']:4.1f} s, "
          f"peak RSS {result['peak_rss_mib']:4.0f} MiB, {result['requests']} requests, "
          f"max {result['max_in_flight']} in flight", flush=True)  # fmt: skip
    return result


def draw(curve: dict[int, dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    levels = sorted(curve)
    axes.plot(levels, [curve[c]["seconds"] for c in levels], marker="o", label="measured")
    axes.plot(levels, [curve[c]["bound"] for c in levels], linestyle="--", color="grey",
              label=f"latency bound (requests x {LATENCY_MS} ms / concurrency)")  # fmt: skip
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(levels, [str(c) for c in levels])
    axes.set_xlabel("concurrency (threads, one request each)")
    axes.set_ylabel(f"export time of {SLICE:,} resources (s)")
    axes.set_title(f"aspace2alma export vs concurrency ({LATENCY_MS} ms per request)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(PLOT, dpi=100)


def main() -> int:
    concurrency = dag_concurrency()
    workdir = REPO_ROOT / ".devstack" / "bench-aspace2alma"
    shutil.rmtree(workdir, ignore_errors=True)
    options = {"resources": RESOURCES, "containers": CONTAINERS, "repositories": REPOSITORIES, "latency_ms": LATENCY_MS,
               "log_interval": 0, "cache_responses": True}  # fmt: skip
    stack = Devstack(workdir, ports="free", aspace_options=options)
    try:
        began = time.monotonic()
        stack.start(["aspace"])
        env = {**os.environ, **stack.airflow_connections_env(), "PYTHONPATH": str(REPO_ROOT)}
        report = workdir / "sc_active_barcodes.csv"
        write_report(report, Dataset(repositories=REPOSITORIES, resources=RESOURCES, containers=CONTAINERS))
        print(f"stand-in: {RESOURCES} resources, {CONTAINERS} top containers, {LATENCY_MS} ms latency; "
              f"report: {REPORT_BARCODES} barcodes; DAG concurrency {concurrency}", flush=True)  # fmt: skip
        print("warm-up (fills the stand-in's response cache):", flush=True)
        measure(env, workdir, report, CURVE[-1], None, stack)
        print("measured:", flush=True)
        full = measure(env, workdir, report, concurrency, None, stack)
        curve = {c: measure(env, workdir, report, c, SLICE, stack) for c in CURVE}
        small = curve.get(concurrency) or measure(env, workdir, report, concurrency, SLICE, stack)
        print(f"  (bench ran {time.monotonic() - began:.0f} s)")
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    draw(curve)

    sequential = curve[1]["seconds"] * RESOURCES / SLICE
    speedup = sequential / full["seconds"]
    rss_ratio = full["peak_rss_mib"] / small["peak_rss_mib"]
    summary = full["summary"]
    per_resource = full["requests"] / RESOURCES
    rows = [
        (f"full export, concurrency {concurrency}", f"{full['seconds']:.1f} s", f"target < {TARGET_SECONDS:.0f} s",
         full["seconds"] < TARGET_SECONDS),
        (f"latency bound ({full['requests']} x {LATENCY_MS} ms / {concurrency})", f"{full['bound']:.1f} s",
         f"export at {full['seconds'] / full['bound']:.2f}x its bound", True),
        ("CPU of the full export: client / stand-in", f"{full['cpu_seconds']:.1f} / {full['standin_cpu_seconds']:.1f} s",
         f"{1000 * full['cpu_seconds'] / RESOURCES:.2f} / {1000 * full['standin_cpu_seconds'] / RESOURCES:.2f} ms "
         "per resource", True),
        (f"sequential (concurrency 1, {SLICE} resources x {RESOURCES // SLICE})", f"{sequential:.1f} s",
         "", True),
        ("speed-up over sequential", f"{speedup:.1f}x", f"target >= {TARGET_SPEEDUP:.0f}x", speedup >= TARGET_SPEEDUP),
        ("peak RSS 1,000 / 10,000 resources", f"{small['peak_rss_mib']:.0f} / {full['peak_rss_mib']:.0f} MiB",
         f"ratio {rss_ratio:.2f}, target <= {TARGET_RSS_RATIO}", rss_ratio <= TARGET_RSS_RATIO),
        ("requests per resource", f"{per_resource:.2f}", f"{full['requests']} requests", True),
        (f"export time by concurrency ({SLICE:,} resources)",
         "  ".join(f"{c}: {curve[c]['seconds']:.1f} s" for c in CURVE), f"plot: {PLOT.name}", True),
        ("  their latency bounds", "  ".join(f"{c}: {curve[c]['bound']:.1f} s" for c in CURVE), "", True),
    ]  # fmt: skip
    print(f"\nrun summary: written {summary['resources_written']}, excluded {summary['resources_excluded']}, "
          f"errored {summary['resources_errored']}, containers {summary['containers_seen']}, "
          f"items {summary['items_created']}, {summary['bytes_uploaded'] / 1e6:.1f} MB")  # fmt: skip
    for name, value, note, ok in rows:
        print(f"{name:48} {value:>22}   {note}{'' if ok else '   MISSED'}")
    missed = [name for name, _, _, ok in rows if not ok]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
