"""Checking a bulk deletion list: every item is judged before anything is created.

A list is accepted only if every identifier names an active object or file of the
requested institution with no pending WorkItem; otherwise every failing item is
reported with its reason and nothing is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NOT_FOUND = "not found"
ALREADY_DELETED = "conflict: already deleted"
PENDING_WORK = "conflict: pending WorkItem(s)"
OTHER_INSTITUTION = "belongs to another institution"


@dataclass(frozen=True)
class RegistryItem:
    """An object or file as the registry has it (one row of the lookup queries)."""

    kind: str  # "object" or "file"
    identifier: str
    intellectual_object_id: int
    generic_file_id: int | None
    institution_id: int
    institution: str
    state: str
    pending_work_item_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Problem:
    identifier: str
    reason: str

    def __str__(self) -> str:
        return f"{self.identifier}: {self.reason}"


class DeletionListRejected(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"deletion list rejected, nothing was created; {len(self.problems)} item(s) failed:\n{listed}")


def requested_identifiers(identifiers: Iterable[str]) -> list[str]:
    """The list as given, stripped, blanks dropped, each identifier once, order kept."""
    seen: dict[str, None] = {}
    for identifier in identifiers:
        if identifier and identifier.strip():
            seen.setdefault(identifier.strip(), None)
    return list(seen)


def check_deletion_list(
    institution: str, identifiers: Sequence[str], found: Iterable[RegistryItem]
) -> list[RegistryItem]:
    """The items to delete, in list order; raises DeletionListRejected naming every failing item."""
    if not identifiers:
        raise DeletionListRejected([Problem("(list)", "no identifiers given")])
    by_identifier: dict[str, RegistryItem] = {}
    for item in found:
        # an identifier naming both an object and a file is taken as the object
        if item.identifier not in by_identifier or item.kind == "object":
            by_identifier[item.identifier] = item
    problems: list[Problem] = []
    institutions = {item.institution for item in by_identifier.values()}
    for identifier in identifiers:
        item = by_identifier.get(identifier)
        if item is None:
            problems.append(Problem(identifier, NOT_FOUND))
        elif item.institution != institution:
            problems.append(Problem(identifier, f"{OTHER_INSTITUTION} ({item.institution}, not {institution})"))
        elif item.state == "D":
            problems.append(Problem(identifier, ALREADY_DELETED))
        elif item.pending_work_item_ids:
            ids = ", ".join(map(str, item.pending_work_item_ids))
            problems.append(Problem(identifier, f"{PENDING_WORK} {ids}"))
    if len(institutions) > 1:
        problems.insert(0, Problem("(list)", f"mixes institutions: {', '.join(sorted(institutions))}"))
    if problems:
        raise DeletionListRejected(problems)
    return [by_identifier[identifier] for identifier in identifiers]


def same_person(requester: str, approver_ids: Iterable[str | None]) -> bool:
    """Whether an approver (Airflow user id or name) is the requester themself."""
    wanted = requester.strip().lower()
    return any(candidate and candidate.strip().lower() == wanted for candidate in approver_ids)
