"""Parsing and validating checkm manifests (the ``#%checkm_0.7`` format Merritt reads).

``parse_manifest`` checks every rule before returning, so a caller either gets all
rows or a ``ManifestError`` naming the line and column at fault (a whole-manifest
error, such as no rows, names neither). Rules: lines end in LF or CRLF only (a form
feed, NEL or U+2028 inside a line is refused, never taken as a line end); no control
character anywhere (see ``include/merritt/text.py``); a ``#%checkm`` header first;
``#%fields`` before any row, naming ``fileUrl``, with unique non-empty names; no more
cells than fields; fileUrl an http(s) URL (``include/merritt/urls.py``: parseable,
IPv6 hosts in brackets, no credentials); hash algorithm md5 or sha-256 with a hex
value of the right length (both or neither); fileSize ASCII digits, at most a Java
long; fileName a plain file name (no path, not ``.``/``..``, at most 255 bytes),
unique, ending ``.checkm`` in a manifest of manifests; primaryIdentifier like
``ark:/<digits>/<name>``; at least one row; at most 5 MB.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from include.merritt.text import describe_character, first_forbidden, shown
from include.merritt.urls import UrlError, parse_http_url

MAX_MANIFEST_BYTES = 5 * 1024 * 1024
MAX_FILE_SIZE = 2**63 - 1  # Merritt's workers read fileSize as a Java long
MAX_FILE_NAME_BYTES = 255  # the longest file name the workers' file systems take
HASH_LENGTHS = {"md5": 32, "sha-256": 64}
_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGITS = re.compile(r"[0-9]+")
ARK = re.compile(r"ark:/[0-9]+/[^\s/]\S*")


class ManifestError(ValueError):
    """A manifest that breaks a rule; ``line`` and ``column`` are 1-based, or None for the whole file."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.line, self.column = line, column
        where = f" (column {column})" if column else ""
        super().__init__(f"manifest line {line}: {message}{where}" if line else f"manifest: {message}")


@dataclass(frozen=True)
class ManifestRow:
    line: int
    file_url: str
    file_name: str
    hash_algorithm: str = ""
    hash_value: str = ""
    file_size: int | None = None
    primary_identifier: str = ""
    local_identifiers: tuple[str, ...] = ()
    creator: str = ""
    title: str = ""
    date: str = ""
    cells: dict[str, str] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)  # field → 1-based column of its cell


@dataclass(frozen=True)
class Manifest:
    version: str
    profile: str
    fields: tuple[str, ...]
    rows: tuple[ManifestRow, ...]
    profile_line: int | None = None  # where ``#%profile`` is, None without one


def field_name(declared: str) -> str:
    """``nfo:fileUrl`` → ``fileUrl``: rows are read by the local name after the prefix."""
    return declared.rsplit(":", 1)[-1].strip()


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a file name in a job's directory, or None."""
    if "/" in name or "\\" in name:
        return "has a path in it ('/' or '\\')"
    if name in (".", ".."):
        return "is not a file name"
    bad = first_forbidden(name)
    if bad is not None:
        return f"contains the control character {describe_character(name[bad])}"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES:
        return f"is longer than {MAX_FILE_NAME_BYTES} bytes"
    return None


def split_local_ids(text: str) -> tuple[str, ...]:
    """``loc1; loc2`` → ``("loc1", "loc2")``: local identifiers are ``;``-separated."""
    return tuple(part.strip() for part in text.split(";") if part.strip())


def split_cells(line: str) -> list[tuple[str, int]]:
    """The ``|``-separated cells of a line, stripped, each with the 1-based column where its text starts."""
    cells, start = [], 0
    for part in line.split("|"):
        cells.append((part.strip(), start + len(part) - len(part.lstrip()) + 1))
        start += len(part) + 1
    return cells


def parse_manifest(data: bytes | str, *, manifest_of_manifests: bool = False) -> Manifest:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{size} bytes, over the {MAX_MANIFEST_BYTES // (1024 * 1024)} MB limit")
    text = data.removeprefix("\ufeff") if isinstance(data, str) else _decode(data)
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for number, line in enumerate(lines, 1):
        bad = first_forbidden(line)
        if bad is not None:
            raise ManifestError(
                f"control character {describe_character(line[bad])}: not allowed (a line ends only at LF or CRLF)",
                number,
                bad + 1,
            )
    first = next((number for number, line in enumerate(lines, 1) if line.strip()), None)
    if first is None:
        raise ManifestError("empty: no header and no rows")
    header = lines[first - 1].strip()
    if not header.lower().startswith("#%checkm"):
        raise ManifestError("missing '#%checkm_0.7' header: this is not a checkm manifest", first, 1)
    version = header.split("_", 1)[1].strip() if "_" in header else ""

    profile, profile_line, fields, rows = "", None, None, []
    names_seen: dict[str, int] = {}
    for number, raw in enumerate(lines[first:], first + 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#%"):
            directive, _, value = line[2:].partition("|")
            directive = directive.strip().lower()
            if directive == "eof":
                break
            if directive == "profile":
                profile, profile_line = value.strip(), number
            elif directive == "fields":
                fields = _parse_fields(raw, number)
            continue
        if line.startswith("#"):
            continue
        if fields is None:
            raise ManifestError("row before any '#%fields' directive", number, 1)
        row = _parse_row(raw, number, fields, manifest_of_manifests)
        if row.file_name in names_seen:
            raise ManifestError(
                f"duplicate fileName {shown(row.file_name)} (first on line {names_seen[row.file_name]})",
                number,
                row.columns.get("fileName") or row.columns["fileUrl"],
            )
        names_seen[row.file_name] = number
        rows.append(row)
    if fields is None:
        raise ManifestError("missing '#%fields' directive")
    if not rows:
        raise ManifestError("no rows: the manifest lists no files")
    return Manifest(version=version, profile=profile, fields=fields, rows=tuple(rows), profile_line=profile_line)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", "replace")) + 1
        raise ManifestError(f"not UTF-8 text (byte {error.start})", before.count(b"\n") + 1, column) from None


def _parse_fields(raw: str, number: int) -> tuple[str, ...]:
    declared = split_cells(raw)[1:]  # the first cell is the directive itself
    fields: list[str] = []
    for cell, column in declared:
        name = field_name(cell)
        if not name:
            raise ManifestError("#%fields has an empty field name", number, column)
        if name in fields:
            raise ManifestError(f"#%fields names {shown(name)} twice", number, column)
        fields.append(name)
    if "fileUrl" not in fields:
        raise ManifestError("#%fields names no fileUrl column", number, 1)
    return tuple(fields)


def _parse_row(raw: str, number: int, fields: tuple[str, ...], manifest_of_manifests: bool) -> ManifestRow:
    cells = split_cells(raw)
    for cell, column in cells[len(fields) :]:
        if cell:
            raise ManifestError(f"{len(cells)} cells but #%fields declares {len(fields)}", number, column)
    end = len(raw) + 1
    padded = cells[: len(fields)] + [("", end)] * (len(fields) - len(cells))
    values = {name: cell for name, (cell, _) in zip(fields, padded, strict=True)}
    columns = {name: column for name, (_, column) in zip(fields, padded, strict=True)}

    def refuse(name: str, message: str) -> ManifestError:
        return ManifestError(message, number, columns.get(name, 1))

    url = values.get("fileUrl", "")
    try:
        parse_http_url(url)
    except UrlError as error:
        raise refuse("fileUrl", f"fileUrl {shown(url)} {error}") from None

    algorithm = values.get("hashAlgorithm", "").lower()
    digest = values.get("hashValue", "")
    if algorithm or digest:
        if algorithm not in HASH_LENGTHS:
            raise refuse("hashAlgorithm", f"hash algorithm {shown(algorithm or '(none)')} is not md5 or sha-256")
        expected = HASH_LENGTHS[algorithm]
        if len(digest) != expected or not _HEX.fullmatch(digest):
            raise refuse("hashValue", f"{algorithm} hash {shown(digest)} is not {expected} hex digits")

    size_text = values.get("fileSize", "")
    if size_text and not _DIGITS.fullmatch(size_text):
        raise refuse("fileSize", f"fileSize {shown(size_text)} is not a non-negative integer (ASCII digits)")
    if size_text and (len(size_text.lstrip("0")) > len(str(MAX_FILE_SIZE)) or int(size_text) > MAX_FILE_SIZE):
        raise refuse("fileSize", f"fileSize {shown(size_text)} is over {MAX_FILE_SIZE}")

    name_field = "fileName" if values.get("fileName") else "fileUrl"
    name = values.get("fileName", "") or posixpath.basename(unquote(urlsplit(url).path))
    if not name:
        raise refuse("fileName", f"no fileName and none in fileUrl {shown(url)}")
    problem = file_name_problem(name)
    if problem:
        raise refuse(name_field, f"fileName {shown(name)} {problem}")
    if manifest_of_manifests and not name.endswith(".checkm"):
        raise refuse(name_field, f"fileName {shown(name)} in a manifest of manifests does not end in .checkm")

    primary = values.get("primaryIdentifier", "")
    if primary and not ARK.fullmatch(primary):
        raise refuse("primaryIdentifier", f"primaryIdentifier {shown(primary)} is not like ark:/<digits>/<name>")

    return ManifestRow(
        line=number,
        file_url=url,
        file_name=name,
        hash_algorithm=algorithm,
        hash_value=digest.lower(),
        file_size=int(size_text) if size_text else None,
        primary_identifier=primary,
        local_identifiers=split_local_ids(values.get("localIdentifier", "")),
        creator=values.get("creator", ""),
        title=values.get("title", ""),
        date=values.get("date", ""),
        cells=values,
        columns=columns,
    )
