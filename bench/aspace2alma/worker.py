"""One measured export in a fresh process: ``python -m bench.aspace2alma.worker SPEC_JSON``.

Runs the DAG task's export code (the ArchivesSpace hook over HTTP, `export_records`,
`stream_collection` into a spool file) against the stand-in named by
``AIRFLOW_CONN_ASPACE_DEFAULT``, on the first ``resources`` resources, and prints
one JSON line: seconds, the CPU seconds the process spent in them, peak RSS, the run summary.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from devstack.settings import use_plugins_folder


class FirstResources:
    """The hook, seen through a window of the first ``limit`` resources (repository order)."""

    def __init__(self, hook, limit: int | None) -> None:
        self.hook = hook
        self.remaining = limit

    def repositories(self):
        return self.hook.repositories()

    def resource_ids(self, repository_uri):
        ids = self.hook.resource_ids(repository_uri)
        if self.remaining is None:
            return ids
        ids, self.remaining = ids[: self.remaining], max(self.remaining - len(ids), 0)
        return ids

    def resource_marc_xml(self, repository_uri, resource_id):
        return self.hook.resource_marc_xml(repository_uri, resource_id)

    def top_containers(self, repository_uri, resource_uri):
        return self.hook.top_containers(repository_uri, resource_uri)


def main(spec: dict) -> None:
    use_plugins_folder()
    from include.aspace2alma.export import ExportSummary, export_records
    from include.aspace2alma.marcxml import stream_collection
    from include.aspace2alma.report import parse_barcode_report
    from include.aspace2alma.selection import exclusion_list
    from preservation_pipelines.aspace2alma.hooks.archivesspace import RESOURCE_ERRORS, ArchivesSpaceHook

    began, cpu_began = time.perf_counter(), time.process_time()
    barcodes = parse_barcode_report(Path(spec["report"]).read_bytes(), spec["report"])
    hook = ArchivesSpaceHook(max_connections=spec["concurrency"])
    summary = ExportSummary()
    records = export_records(
        FirstResources(hook, spec.get("resources")), summary, report_barcodes=barcodes,
        excluded=exclusion_list(None), concurrency=spec["concurrency"], resource_errors=RESOURCE_ERRORS,
        progress_interval=1e9,
    )  # fmt: skip
    written = 0
    with open(spec["out"], "wb") as out:
        for chunk in stream_collection(records):
            written += out.write(chunk)
    summary.bytes_uploaded = written
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_rss_mib": peak_kib / 1024,
                "summary": summary.as_dict() | {"errored": {}, "failed": {}},
            }
        )
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
