"""Parsing and validating checkm manifests (the ``#%checkm_0.7`` format Merritt reads).

``parse_manifest`` checks every rule before returning, so a caller either gets all
rows or a ``ManifestError`` naming the line at fault. Rules: a ``#%checkm`` header
first; ``#%fields`` before any row; no more cells than fields; fileUrl http(s);
hash algorithm md5 or sha-256 with a hex value of the right length (both or neither);
fileSize a non-negative integer; fileName unique (and ending ``.checkm`` in a
manifest of manifests); primaryIdentifier like ``ark:/<digits>/<name>``; at least
one row; at most 5 MB.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

MAX_MANIFEST_BYTES = 5 * 1024 * 1024
HASH_LENGTHS = {"md5": 32, "sha-256": 64}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_ARK = re.compile(r"^ark:/\d+/[^\s/][^\s]*$")


class ManifestError(ValueError):
    """A manifest that breaks a rule; ``line`` is 1-based, or None for the whole file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"manifest line {line}: {message}" if line else f"manifest: {message}")


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


@dataclass(frozen=True)
class Manifest:
    version: str
    profile: str
    fields: tuple[str, ...]
    rows: tuple[ManifestRow, ...]


def field_name(declared: str) -> str:
    """``nfo:fileUrl`` → ``fileUrl``: rows are read by the local name after the prefix."""
    return declared.rsplit(":", 1)[-1].strip()


def parse_manifest(data: bytes | str, *, manifest_of_manifests: bool = False) -> Manifest:
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{size} bytes, over the {MAX_MANIFEST_BYTES // (1024 * 1024)} MB limit")
    text = data if isinstance(data, str) else _decode(data)
    lines = text.splitlines()
    first = next((number for number, line in enumerate(lines, 1) if line.strip()), None)
    if first is None:
        raise ManifestError("empty: no header and no rows")
    header = lines[first - 1].strip()
    if not header.lower().startswith("#%checkm"):
        raise ManifestError(f"missing '#%checkm_0.7' header (found {header[:60]!r})", first)
    version = header.split("_", 1)[1].strip() if "_" in header else ""

    profile, fields, rows = "", None, []
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
                profile = value.strip()
            elif directive == "fields":
                fields = tuple(field_name(cell) for cell in value.split("|"))
                if "fileUrl" not in fields:
                    raise ManifestError("#%fields names no fileUrl column", number)
            continue
        if line.startswith("#"):
            continue
        if fields is None:
            raise ManifestError("row before any '#%fields' directive", number)
        row = _parse_row(raw, number, fields, manifest_of_manifests)
        if row.file_name in names_seen:
            raise ManifestError(
                f"duplicate fileName {row.file_name!r} (first on line {names_seen[row.file_name]})", number
            )
        names_seen[row.file_name] = number
        rows.append(row)
    if fields is None:
        raise ManifestError("missing '#%fields' directive")
    if not rows:
        raise ManifestError("no rows: the manifest lists no files")
    return Manifest(version=version, profile=profile, fields=fields, rows=tuple(rows))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(f"not UTF-8 text (byte {error.start})") from None


def _parse_row(raw: str, number: int, fields: tuple[str, ...], manifest_of_manifests: bool) -> ManifestRow:
    cells = [cell.strip() for cell in raw.split("|")]
    if len(cells) > len(fields):
        if any(cells[len(fields) :]):
            raise ManifestError(f"{len(cells)} cells but #%fields declares {len(fields)}", number)
        cells = cells[: len(fields)]
    values = dict(zip(fields, cells + [""] * (len(fields) - len(cells)), strict=True))

    url = values.get("fileUrl", "")
    parsed = urlparse(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        raise ManifestError(f"fileUrl {url!r} is not an http(s) URL", number)

    algorithm = values.get("hashAlgorithm", "").lower()
    digest = values.get("hashValue", "")
    if algorithm or digest:
        if algorithm not in HASH_LENGTHS:
            raise ManifestError(f"hash algorithm {algorithm or '(none)'!r} is not md5 or sha-256", number)
        expected = HASH_LENGTHS[algorithm]
        if len(digest) != expected or not _HEX.match(digest):
            raise ManifestError(f"{algorithm} hash {digest!r} is not {expected} hex digits", number)

    size_text = values.get("fileSize", "")
    if size_text and not size_text.isdigit():
        raise ManifestError(f"fileSize {size_text!r} is not a non-negative integer", number)

    name = values.get("fileName", "") or posixpath.basename(unquote(parsed.path))
    if not name:
        raise ManifestError(f"no fileName and none in fileUrl {url!r}", number)
    if manifest_of_manifests and not name.endswith(".checkm"):
        raise ManifestError(f"fileName {name!r} in a manifest of manifests does not end in .checkm", number)

    primary = values.get("primaryIdentifier", "")
    if primary and not _ARK.match(primary):
        raise ManifestError(f"primaryIdentifier {primary!r} is not like ark:/<digits>/<name>", number)

    local_ids = tuple(part.strip() for part in values.get("localIdentifier", "").split(";") if part.strip())
    return ManifestRow(
        line=number,
        file_url=url,
        file_name=name,
        hash_algorithm=algorithm,
        hash_value=digest.lower(),
        file_size=int(size_text) if size_text else None,
        primary_identifier=primary,
        local_identifiers=local_ids,
        creator=values.get("creator", ""),
        title=values.get("title", ""),
        date=values.get("date", ""),
        cells=values,
    )
