"""Checking a bulk deletion request: its params, every item of its list, and who approves it.

The params are parsed first (institution, requester address, identifiers; each bounded
and free of control characters). A list is accepted only if every identifier names an
active object or file of the requested institution with no pending WorkItem; otherwise
every failing item is reported with its reason and nothing is created. The four-eyes
rule compares registry users, not strings: see ``approving_users``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from include.aptrust.inputs import InvalidAddress, address_key, control_characters, email_address, shown
from include.aptrust.limits import MAX_IDENTIFIER_LENGTH, MAX_IDENTIFIERS, MAX_INSTITUTION_LENGTH

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


@dataclass(frozen=True)
class DeletionRequest:
    """The params of a deletion request, parsed: the requester is a normalised address."""

    institution: str
    requester: str
    identifiers: tuple[str, ...]


def parse_deletion_request(institution: object, requester: object, identifiers: object) -> DeletionRequest:
    """The request's params checked together; raises DeletionListRejected naming every bad one."""
    problems: list[Problem] = []
    if not isinstance(institution, str) or not institution.strip():
        problems.append(Problem("(institution)", f"{shown(institution)} is not an institution identifier"))
    else:
        problems += _text_problems("(institution)", institution.strip(), MAX_INSTITUTION_LENGTH)
    try:
        address = email_address(requester)
    except InvalidAddress as error:
        problems.append(Problem("(requester)", str(error)))
    try:
        items = requested_identifiers(identifiers)
    except DeletionListRejected as rejected:
        problems += rejected.problems
    if problems:
        raise DeletionListRejected(problems)
    return DeletionRequest(institution.strip(), address, tuple(items))


def requested_identifiers(identifiers: object) -> list[str]:
    """The list as given, stripped, blanks dropped, each identifier once, order kept.

    Raises DeletionListRejected naming each item that is not text, is too long or holds
    a control character, and when the list is not a list, is empty or is too long.
    """
    if not isinstance(identifiers, list | tuple):
        raise DeletionListRejected([Problem("(list)", f"{shown(identifiers)} is not a list of identifiers")])
    if len(identifiers) > MAX_IDENTIFIERS:
        raise DeletionListRejected(
            [Problem("(list)", f"{len(identifiers)} identifiers; at most {MAX_IDENTIFIERS} per request")]
        )
    seen: dict[str, None] = {}
    problems: list[Problem] = []
    for number, identifier in enumerate(identifiers, 1):
        if not isinstance(identifier, str):
            problems.append(Problem(f"item {number}", f"{shown(identifier)} is not text"))
        elif identifier.strip():
            found = _text_problems(f"item {number}", identifier.strip(), MAX_IDENTIFIER_LENGTH)
            problems += found
            if not found:
                seen.setdefault(identifier.strip(), None)
    if problems:
        raise DeletionListRejected(problems)
    if not seen:
        raise DeletionListRejected([Problem("(list)", "no identifiers given")])
    return list(seen)


def _text_problems(where: str, text: str, longest: int) -> list[Problem]:
    if len(text) > longest:
        return [Problem(where, f"{shown(text)} is longer than {longest} characters")]
    if controls := control_characters(text):
        return [Problem(where, f"{shown(text)} contains control characters {', '.join(controls)}")]
    return []


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


@dataclass(frozen=True)
class RegistryUser:
    """An active registry user (one row of ``users``)."""

    id: int
    email: str
    institution_id: int


class IdentityRefused(ValueError):
    """The requester or the approver is not a registry user who may take that part."""


# find_users(address) -> the active registry users with that address, case-insensitively
FindUsers = Callable[[str], Sequence[RegistryUser]]


def requesting_user(request: DeletionRequest, institution_id: int, find_users: FindUsers) -> RegistryUser:
    """The registry user who asks: an active user of the institution, by their address."""
    users = [user for user in find_users(address_key(request.requester)) if user.institution_id == institution_id]
    if len(users) != 1:
        raise IdentityRefused(
            f"requester {request.requester} is not an active registry user of {request.institution}"
            + (" (several users have that address)" if users else "")
        )
    return users[0]


def airflow_user_address(user: Mapping[str, object] | None) -> str | None:
    """An Airflow user's email, from HITL's ``{"id", "name"}``: the first of the two that is an address.

    Airflow's auth managers report only an id and a name; the name is the email when
    the deployment makes usernames email addresses (docs/aptrust.md).
    """
    for candidate in ((user or {}).get("name"), (user or {}).get("id")):
        try:
            return email_address(candidate)
        except InvalidAddress:
            continue
    return None


def responding_user(responder: Mapping[str, object] | None, find_users: FindUsers) -> RegistryUser | None:
    """The one active registry user the answering Airflow user maps to by email, if any (a rejection
    needs no four eyes: whoever rejects, nothing is deleted)."""
    address = airflow_user_address(responder)
    users = find_users(address_key(address)) if address else []
    return users[0] if len(users) == 1 else None


def approving_users(
    *,
    request: DeletionRequest,
    institution_id: int,
    responder: Mapping[str, object] | None,
    triggered_by: str | None,
    find_users: FindUsers,
) -> tuple[RegistryUser, RegistryUser]:
    """(requester, approver) as registry users; raises IdentityRefused unless they are two people.

    The approving Airflow user (HITL ``responded_by_user``) is mapped to a registry user
    by email. Refused: an approver with no email or no active registry user of the
    institution, the requester under any spelling of their address, and the Airflow user
    who triggered the run (who typed the requester's address).
    """
    requester = requesting_user(request, institution_id, find_users)
    if not responder:
        raise IdentityRefused("the approval carries no approving user")
    name = shown(responder.get("name") or responder.get("id"))
    address = airflow_user_address(responder)
    if address is None:
        raise IdentityRefused(
            f"the approving Airflow user {name} has no email address, so no registry user can be found for them"
        )
    approvers = find_users(address_key(address))
    if len(approvers) != 1:
        raise IdentityRefused(f"the approving Airflow user {name} ({address}) is not one active registry user")
    approver = approvers[0]
    if approver.institution_id != institution_id:
        raise IdentityRefused(f"{approver.email} (as {name}) is not a registry user of {request.institution}")
    if approver.id == requester.id:
        raise IdentityRefused(f"{requester.email} requested this deletion and cannot approve it (as {name})")
    trigger_address = airflow_user_address({"name": triggered_by})
    if triggered_by is not None and (
        triggered_by in (responder.get("name"), responder.get("id"))
        or (trigger_address is not None and address_key(trigger_address) == address_key(address))
    ):
        raise IdentityRefused(f"{name} triggered this request for {requester.email} and cannot approve it")
    return requester, approver


@dataclass(frozen=True)
class DeletionDecision:
    """How a deletion request ended: confirmed by ``confirmed_by`` (Delete WorkItems follow), or
    cancelled (rejected by ``cancelled_by``, or timed out: None)."""

    institution_id: int
    requester: RegistryUser
    confirmed_by: RegistryUser | None = None
    cancelled_by: RegistryUser | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_by is not None


def unsent_token_hash() -> str:
    """``deletion_requests.encrypted_confirmation_token`` (NOT NULL in the registry): the bcrypt hash of
    a random token nobody is ever sent, since the approval happens in Airflow, not by a mailed link."""
    import secrets

    import bcrypt

    return bcrypt.hashpw(secrets.token_urlsafe(32).encode(), bcrypt.gensalt()).decode()
