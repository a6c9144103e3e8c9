"""The export of every resource as one stream of transformed MARC records.

`export_records` walks repositories and resources of an ArchivesSpace client
(`ArchivesSpaceSource`), processes resources on a bounded pool of threads (each
fetches the MARC export, checks and selects it, fetches the top containers only
for selected records, transforms it and serializes it), and yields the records'
bytes in resource order, counting everything in an `ExportSummary`. Memory holds
at most a window of records, whatever the number of resources.

A resource that cannot be exported is skipped and named with its reason: an
incomplete record (no 099, 008 or 041) is the catalogue's state; a failed one
(ArchivesSpace failed to answer, or answered malformed or hostile data) is a record
Alma should have had, and when more than ``max_failed_ratio`` of the resources
failed the export ends with `TooManyFailed` instead of a misleading file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from include.aspace2alma.aspace_data import AspaceDataError, TopContainer
from include.aspace2alma.items import item_fields
from include.aspace2alma.marcxml import MarcXmlError, parse_single_record, serialize_record
from include.aspace2alma.memory import limit_malloc_arenas, release_free_memory
from include.aspace2alma.ordered import bounded_ordered_map
from include.aspace2alma.rules import RecordDataError, apply_special_collections_changes, clean_and_check
from include.aspace2alma.selection import exclusion_reason
from include.common.progress import ProgressLog

log = logging.getLogger(__name__)
TRIM_EVERY = 1_000  # resources between returns of freed memory to the OS
# Skipped resources named per log line: each line costs the thread consuming the results
# ~0.1-1 ms in Airflow's structured logging, and a catalogue holds thousands of incomplete records.
SKIPPED_PER_LOG_LINE = 100


class ArchivesSpaceSource(Protocol):
    def repositories(self) -> list[dict[str, Any]]: ...
    def resource_ids(self, repository_uri: str) -> list[int]: ...
    def resource_marc_xml(self, repository_uri: str, resource_id: int) -> bytes: ...
    def top_containers(self, repository_uri: str, resource_uri: str) -> list[TopContainer]: ...


class ExportAborted(RuntimeError):
    """Too many resources failed in a row: ArchivesSpace itself is failing, not one record."""


class TooManyFailed(ValueError):
    """More than the allowed share of resources failed: the file would miss too much; it lists them."""


@dataclass
class ExportSummary:
    repositories: int = 0
    resources_seen: int = 0
    resources_written: int = 0
    resources_excluded: int = 0
    resources_errored: int = 0  # skipped: incomplete or failed
    resources_failed: int = 0  # of which failed (what max_failed_ratio limits)
    containers_seen: int = 0
    items_created: int = 0
    report_barcodes: int = 0
    bytes_uploaded: int = 0
    errored: dict[str, str] = field(default_factory=dict)  # uri: reason, the first MAX_LISTED_ERRORS
    failed: dict[str, str] = field(default_factory=dict)  # the same for the failed ones: what an operator checks

    MAX_LISTED_ERRORS = 50

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ResourceOutcome:
    uri: str
    status: str  # "written" | "excluded" | "errored"
    record: bytes = b""
    reason: str = ""
    failed: bool = False  # errored for another reason than an incomplete record
    containers: int = 0
    items: int = 0


def process_resource(
    source: ArchivesSpaceSource,
    repository_uri: str,
    resource_id: int,
    *,
    report_barcodes: frozenset[str],
    excluded: frozenset[str],
    resource_errors: tuple[type[BaseException], ...],
) -> ResourceOutcome:
    """Export, check, select and transform one resource; every per-resource failure becomes "errored"."""
    uri = f"{repository_uri}/resources/{resource_id}"
    try:
        record = parse_single_record(source.resource_marc_xml(repository_uri, resource_id), uri)
        call_number = clean_and_check(record)
        reason = exclusion_reason(record, call_number, excluded)
        if reason:
            return ResourceOutcome(uri, "excluded", reason=reason)
        containers = source.top_containers(repository_uri, uri)
        items = item_fields(containers, call_number, report_barcodes)
        apply_special_collections_changes(record, call_number, items)
        return ResourceOutcome(uri, "written", serialize_record(record), containers=len(containers), items=len(items))
    except (RecordDataError, MarcXmlError, AspaceDataError, *resource_errors) as error:
        failed = not isinstance(error, RecordDataError)
        return ResourceOutcome(uri, "errored", reason=f"{type(error).__name__}: {error}", failed=failed)


def export_records(
    source: ArchivesSpaceSource,
    summary: ExportSummary,
    *,
    report_barcodes: frozenset[str],
    excluded: frozenset[str],
    concurrency: int,
    resource_errors: tuple[type[BaseException], ...] = (),
    max_failed_ratio: float = 1.0,
    max_consecutive_errors: int = 25,
    progress_interval: float = 30.0,
    logger: logging.Logger = log,
) -> Iterator[bytes]:
    """The serialized records of every selected resource, in repository and resource order.

    Raises `TooManyFailed` after the last record when more than ``max_failed_ratio``
    of the resources failed, and `ExportAborted` at ``max_consecutive_errors`` in a row.
    """
    summary.report_barcodes = len(report_barcodes)
    resources: list[tuple[str, int]] = []
    for repository in source.repositories():
        summary.repositories += 1
        resources += [(repository["uri"], resource_id) for resource_id in source.resource_ids(repository["uri"])]
    logger.info("%d resources in %d repositories; %d threads", len(resources), summary.repositories, concurrency)

    def work(ref: tuple[str, int]) -> ResourceOutcome:
        return process_resource(
            source, *ref, report_barcodes=report_barcodes, excluded=excluded, resource_errors=resource_errors
        )

    progress = ProgressLog(logger, "resources", total=len(resources), interval=progress_interval)
    consecutive_errors = 0
    skipped: list[str] = []  # "uri: reason" of skipped resources not logged yet
    limit_malloc_arenas()
    try:
        for outcome in bounded_ordered_map(work, resources, concurrency=concurrency):
            summary.resources_seen += 1
            if summary.resources_seen % TRIM_EVERY == 0:
                release_free_memory()
            if outcome.status == "errored":
                summary.resources_errored += 1
                consecutive_errors += 1
                if len(summary.errored) < summary.MAX_LISTED_ERRORS:
                    summary.errored[outcome.uri] = outcome.reason
                if outcome.failed:
                    summary.resources_failed += 1
                    if len(summary.failed) < summary.MAX_LISTED_ERRORS:
                        summary.failed[outcome.uri] = outcome.reason
                skipped.append(f"{outcome.uri}: {outcome.reason}")
                if len(skipped) >= SKIPPED_PER_LOG_LINE:
                    _log_skipped(logger, skipped)
                if consecutive_errors >= max_consecutive_errors:
                    raise ExportAborted(
                        f"{consecutive_errors} resources failed in a row (last {outcome.uri}: {outcome.reason}); "
                        "ArchivesSpace is failing, not a record"
                    )
            else:
                consecutive_errors = 0
                if outcome.status == "excluded":
                    summary.resources_excluded += 1
                    logger.debug("excluded %s: %s", outcome.uri, outcome.reason)
                else:
                    summary.resources_written += 1
                    summary.containers_seen += outcome.containers
                    summary.items_created += outcome.items
                    yield outcome.record
            progress(summary.resources_seen)
    finally:
        _log_skipped(logger, skipped)
    if summary.resources_failed > max_failed_ratio * summary.resources_seen:
        unlisted = summary.resources_failed - len(summary.failed)
        raise TooManyFailed(
            f"{summary.resources_failed} of {summary.resources_seen} resources failed "
            f"({summary.resources_failed / summary.resources_seen:.1%}), above the limit of {max_failed_ratio:.1%}:\n"
            + "\n".join(f"{uri}: {reason}" for uri, reason in summary.failed.items())
            + (f"\n... and {unlisted} more, each in the log" if unlisted else "")
        )


def _log_skipped(logger: logging.Logger, skipped: list[str]) -> None:
    if skipped:
        logger.warning("skipped %d resources:\n%s", len(skipped), "\n".join(skipped))
        skipped.clear()
