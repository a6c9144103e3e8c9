"""Deterministic, lazily generated ArchivesSpace content (no HTTP here).

A `Dataset` describes N repositories, M resources and C top containers. Only
the layout (which repository holds which resource, how many containers each
resource has) is computed up front, as a few integers per resource; every
MARC record and container is generated on demand from ``(seed, index)``, so a
dataset of 10,000 resources and 150,000 containers costs almost no memory and
a given seed always yields the same bytes.

Any few dozen resources exercise every rule of the aspace2alma spec
(record selection, transformation, item fields): the record-level case is
picked by ``resource index mod 12`` (`RECORD_CASES`), the container-level cases
by the container index modulo small cycles, and names, subjects, notes, dates
and codes are drawn from an RNG seeded by (seed, index).
"""

from __future__ import annotations

import json
import random
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate

DEFAULT_EXCLUDED_CALL_NUMBERS = (
    "C0140", "C1771", "AC214", "AC364", "C0744.06", "C0935", "C1296", "WC059", "RBD1", "RBD1.1",
)  # fmt: skip
# Call numbers that look like excluded ones but must be exported (exact match only).
NEAR_MISS_CALL_NUMBERS = ("C0744", "C0140.01", "RBD1.2", "AC0214", "WC0590", "C1296.1")

MARC_NAMESPACE = "http://www.loc.gov/MARC21/slim"
RECAP_LOCATION = re.compile(r"^(sca)?rcp[a-z]+")
DELETABLE_TAGS = ("351", "524", "535", "540", "541", "544", "561", "583")
KEPT_NOTE_TAGS = ("506", "545", "546", "555", "584")

# Record-level case of resource k is RECORD_CASES[k % 12]; content varies independently.
RECORD_CASES = (
    "normal",
    "normal",
    "long_520",
    "no_856",
    "normal",
    "excluded",
    "two_856",
    "missing_099",
    "near_miss_call_number",
    "missing_008",
    "no_containers",
    "missing_041",
)
# Which "Location of resource" 500 a record has (see _Record.location_case).
LOCATION_NOTE_CASES = ("single", "multiple", "single_recap", "none")

_MASK64 = (1 << 64) - 1
_FIRST_RESOURCE_ID = 1
_RESOURCE_ID_STRIDE = 3  # ids are sparse, like a real database with deletions
_FIRST_CONTAINER_ID = 20_001
_BARCODE_SPACE = 10**8
_BARCODE_MULTIPLIER = 48_271_057  # coprime with 10**8, so barcodes never repeat

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

REPOSITORY_PROFILES = (
    ("mss", "Manuscripts Division"),
    ("publicpolicy", "Public Policy Papers"),
    ("univarchives", "University Archives"),
    ("rarebooks", "Rare Books Division"),
    ("ga", "Graphic Arts Collection"),
    ("cotsen", "Cotsen Children's Library"),
    ("theatre", "Theatre Collection"),
    ("lae", "Latin American Ephemera"),
)

# (heading, viaf id or None)
PERSONS = (
    ("Wilson, Woodrow, 1856-1924.", "34463780"),
    ("Einstein, Albert, 1879-1955.", "75121530"),
    ("Fitzgerald, F. Scott (Francis Scott), 1896-1940.", "2467588"),
    ("Morrison, Toni, 1931-2019.", "108233590"),
    ("Kennan, George F. (George Frost), 1904-2005.", "29550097"),
    ("Dulles, Allen, 1893-1969.", "59882143"),
    ("García Márquez, Gabriel, 1927-2014.", "71389247"),
    ("Mann, Thomas, 1875-1955.", "95155069"),
    ("Gödel, Kurt.", "46808585"),
    ("Dvořák, Antonín, 1841-1904.", "51847331"),
    ("Baker, Josephine, 1906-1975.", "56609913"),
    ("Stevenson, Adlai E. (Adlai Ewing), 1900-1965.", "54154468"),
    ("Forrestal, James, 1892-1949.", "36958473"),
    ("Oppenheimer, J. Robert, 1904-1967.", "44305034"),
    ("Lowell, Robert, 1917-1977.", "76316813"),
    ("Hemingway, Ernest, 1899-1961.", "97006051"),
    ("Cather, Willa, 1873-1947.", "14773089"),
    ("Ruiz de Alarcón, Juan, 1581?-1639.", None),
    ("Hopper, Grace Murray.", None),
    ("Baldassare, Ottavio, 1902-1988.", None),
    ("Kerr, Malcolm H.", None),
    ("Okafor, Adaeze.", None),
    ("Lindqvist, Märta, 1911-1990.", None),
    ("Ferreira, João, 1950-.", None),
)

CORPORATIONS = (
    ("Princeton University. Class of 1923.", "147326054"),
    ("League of Nations.", "143955154"),
    ("American Friends Service Committee.", "128645829"),
    ("Council on Foreign Relations.", "147423849"),
    ("Institute for Advanced Study (Princeton, N.J.)", "124164473"),
    ("Rockefeller Foundation.", "151153932"),
    ("Triangle Club (Princeton University)", None),
    ("McCarter Theatre.", None),
    ("Woodrow Wilson School of Public and International Affairs.", "137823468"),
    ("Eastern Association of College Deans and Advisers of Students.", None),
)

UNIFORM_TITLES = (
    "Bible. English. Authorized.",
    "Declaration of Independence (United States)",
    "Arabian nights.",
    "Federalist.",
    "Tale of Genji.",
    "Bible. English. Authorized -- Criticism, interpretation, etc.",
    "Koran -- Commentaries -- 18th century.",
)

# 650 headings as ASpace exports them: subdivisions run together in $a with " --".
TOPICAL_STRINGS = (
    "World War, 1939-1945 -- Personal narratives, American.",
    "Universities and colleges -- Alumni and alumnae -- 20th century.",
    "Authors, American -- 20th century -- Correspondence.",
    "Publishers and publishing -- New York (State) -- New York.",
    "Women -- Suffrage -- New Jersey.",
    "Nuclear weapons -- Government policy -- History -- 20th century.",
    "Architecture -- Designs and plans -- 19th century.",
    "Theater -- Production and direction -- 20th century.",
    "Diplomacy -- History -- 18th century.",
    "Student movements -- New Jersey -- Princeton -- History.",
    "Physics -- Study and teaching.",
    "Children's literature -- Illustrations.",
    "Cold War.",
    "Mathematics -- Philosophy.",
    "Engraving -- Italy -- 1600-1699.",
    # near misses that must not be split: a single hyphen, no space after "--"
    "Theater - United States - History.",
    "Poetry --Translations into English.",
)

# Headings that ASpace already exports subdivided; the transformation leaves them alone.
TOPICAL_SUBDIVIDED = (
    ("Jazz", (("z", "United States"), ("x", "History"), ("v", "Sources"))),
    ("Refugees", (("z", "Europe"), ("x", "Social conditions"), ("y", "20th century."))),
    ("Authors, Latin American", (("x", "Correspondence"), ("y", "20th century."))),
    ("Printing", (("x", "History"),)),
)

GEOGRAPHIC_STRINGS = (
    "United States -- History -- 20th century.",
    "United States -- Foreign relations -- Soviet Union.",
    "Princeton (N.J.) -- History -- 18th century.",
    "New Jersey -- Politics and government -- 1865-1950.",
    "Mexico -- Social life and customs.",
    "Germany -- History -- 1933-1945.",
)

GEOGRAPHIC_SUBDIVIDED = (
    ("Europe", (("x", "Description and travel"), ("y", "19th century."))),
    ("Brazil", (("x", "Politics and government"),)),
)

# (heading, source): aat/lcgft headings keep ind2 7; only $2 viaf is recoded.
GENRES = (
    ("Correspondence.", "aat"),
    ("Photographs.", "aat"),
    ("Diaries.", "aat"),
    ("Scrapbooks.", "aat"),
    ("Posters -- 20th century.", "aat"),
    ("Clippings (information artifacts)", "aat"),
    ("Manuscripts for publication.", "aat"),
    ("Printed ephemera.", "lcgft"),
)

ROLES = ("Correspondent.", "Contributor.", "Photographer.", "Editor.", "Donor.")

TOPIC_PHRASES = (
    "student life and campus traditions",
    "foreign policy and international relations",
    "the business of publishing",
    "theatrical production",
    "research in theoretical physics",
    "the history of the book",
    "civil rights litigation",
    "the literature of the Americas",
    "children's book illustration",
    "urban planning in New Jersey",
)

MATERIAL_PHRASES = (
    "correspondence",
    "manuscripts and typescripts",
    "photographs",
    "printed ephemera",
    "diaries and notebooks",
    "legal files",
    "clippings",
    "audiovisual materials",
    "drawings and prints",
    "financial records",
)

LOCATION_NOTE_CODES = (
    "scamss", "scamudd", "scaex", "scaea", "scahsvm", "scaflm", "scawa", "scagax", "scathx", "scaprnc",
)  # fmt: skip
RECAP_NOTE_CODES = ("scarcpph", "scarcppf", "scarcppl", "scarcpxm", "scarcpxr", "scarcpxc")

# code -> (building, area); the first group are ReCAP locations.
RECAP_LOCATIONS = {
    "scarcpph": ("ReCAP", "Mudd Library Remote Archival"),
    "scarcppf": ("ReCAP", "Firestone Library Remote Archival"),
    "scarcppl": ("ReCAP", "Firestone Library Remote Archival (Large)"),
    "scarcpxm": ("ReCAP", "Manuscripts Division Remote"),
    "rcpxg": ("ReCAP", "Graphic Arts Remote"),
    "rcpxm": ("ReCAP", "Manuscripts Remote Storage"),
}
ONSITE_LOCATIONS = {
    "scamss": ("Firestone Library", "Manuscripts Division Vault"),
    "scamudd": ("Seeley G. Mudd Manuscript Library", "Mudd Stacks"),
    "mss": ("Firestone Library", "Manuscripts Stacks"),
    "flm": ("Firestone Library", "Microforms"),
    "scahsvm": ("Firestone Library", "High Security Vault"),
    "scaex": ("Firestone Library", "Rare Books Stacks"),
}
ALL_LOCATIONS = {**RECAP_LOCATIONS, **ONSITE_LOCATIONS}
LOCATION_IDS = {code: 23_600 + 17 * number for number, code in enumerate(ALL_LOCATIONS)}

CONTAINER_PROFILES = (
    (3, "NBox", "16", "11", "6"),
    (5, "Record carton", "15", "10", "12"),
    (8, "Flat box (oversize)", "24", "3", "20"),
)


# --------------------------------------------------------------------------
# Public value types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    uri: str
    code: str
    building: str
    area: str
    status: str = "current"

    @property
    def title(self) -> str:
        return f"{self.building}, {self.area} [{self.code}]"

    @property
    def is_recap(self) -> bool:
        return bool(RECAP_LOCATION.match(self.code))


@dataclass(frozen=True)
class TopContainer:
    id: int
    repo_id: int
    resource_id: int
    collection_identifier: str
    collection_title: str
    barcode: str | None
    type: str
    indicator: str
    indicator_number: int  # the first integer of `indicator`, the item order
    locations: tuple[Location, ...]
    restricted: bool
    series: tuple[tuple[int, str], ...]  # (archival object id, display string)
    profile: tuple[int, str, str, str, str]
    created: str

    @property
    def uri(self) -> str:
        return f"/repositories/{self.repo_id}/top_containers/{self.id}"

    @property
    def resource_uri(self) -> str:
        return f"/repositories/{self.repo_id}/resources/{self.resource_id}"

    @property
    def first_location_code(self) -> str | None:
        return self.locations[0].code if self.locations else None

    @property
    def is_recap(self) -> bool:
        """Only the first container location counts."""
        return bool(self.locations) and self.locations[0].is_recap

    def needs_item(self, report_barcodes: frozenset[str] | set[str] = frozenset()) -> bool:
        """Whether the export adds a 949 for this container."""
        return self.barcode is not None and self.is_recap and self.barcode not in report_barcodes


@dataclass(frozen=True)
class ResourceFacts:
    """What a test needs to know about one resource, without parsing its MARC."""

    repo_id: int
    resource_id: int
    index: int
    case: str
    call_number: str  # the resource identifier; exported as 099$a unless has_099 is false
    title: str
    date_begin: str
    date_end: str
    bulk_dates: str | None  # exported as 245$g
    has_099: bool
    has_008: bool
    has_041: bool
    has_856: bool
    excluded: bool
    finding_aid_url: str
    location_note_codes: tuple[str, ...]  # codes of the "Location of resource: ..." 500s
    long_520: bool
    containers: tuple[TopContainer, ...] = field(repr=False)

    @property
    def uri(self) -> str:
        return f"/repositories/{self.repo_id}/resources/{self.resource_id}"

    @property
    def is_data_error(self) -> bool:
        return not (self.has_099 and self.has_008 and self.has_041)

    @property
    def is_exported(self) -> bool:
        """Whether the record belongs in MARC_out.xml (transformable, has an 856, not excluded)."""
        return not self.is_data_error and self.has_856 and not self.excluded

    def expected_items(self, report_barcodes: frozenset[str] | set[str] = frozenset()) -> list[dict[str, str]]:
        """The 949 subfields the export must append, in order."""
        wanted = sorted(
            (tc for tc in self.containers if tc.needs_item(report_barcodes)), key=lambda tc: tc.indicator_number
        )
        return [
            {
                "a": tc.barcode or "",
                "b": f"{tc.type} {tc.indicator}",
                "c": tc.first_location_code or "",
                "d": f"(PULFA){self.call_number}",
            }
            for tc in wanted
        ]


# --------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------


class Dataset:
    """Repositories, resources and top containers generated from a seed."""

    def __init__(
        self,
        seed: int = 0,
        repositories: int = 3,
        resources: int = 48,
        containers: int = 480,
        excluded_call_numbers: tuple[str, ...] = DEFAULT_EXCLUDED_CALL_NUMBERS,
    ) -> None:
        if repositories < 1 or resources < 0 or containers < 0:
            raise ValueError("need at least one repository and non-negative resource and container counts")
        self.seed = seed
        self.repository_count = repositories
        self.resource_count = resources
        self.container_count = containers
        self.excluded_call_numbers = tuple(excluded_call_numbers)
        self._excluded = frozenset(excluded_call_numbers)
        layout = random.Random(_mix(seed, 1))
        # _repo_starts[r] is the first resource index of repository ordinal r.
        repo_sizes = _allocate(resources, [layout.uniform(0.4, 1.6) for _ in range(repositories)], minimum=1)
        self._repo_starts = [0, *accumulate(repo_sizes)]
        container_weights = [self._container_weight(k, layout) for k in range(resources)]
        self._container_starts = [0, *accumulate(_allocate(containers, container_weights))]
        self._reserved_numbers = _reserved_family_numbers(self._excluded | set(NEAR_MISS_CALL_NUMBERS))

    # -- repositories ------------------------------------------------------

    def repository_ids(self) -> list[int]:
        """Real ArchivesSpace numbers repositories from 2 (1 is the global repository)."""
        return [ordinal + 2 for ordinal in range(self.repository_count)]

    def repository(self, repo_id: int) -> dict:
        ordinal = self._repo_ordinal(repo_id)
        code, name = _repository_profile(ordinal)
        uri = f"/repositories/{repo_id}"
        return {
            "lock_version": 1,
            "repo_code": code,
            "name": name,
            "org_code": "NjP",
            "parent_institution_name": "Princeton University Library. Department of Special Collections",
            "url": f"https://library.princeton.edu/special-collections/{code}",
            "created_by": "admin",
            "last_modified_by": "admin",
            "create_time": "2016-06-27T14:10:41Z",
            "system_mtime": "2021-01-22T22:19:27Z",
            "user_mtime": "2021-01-22T22:19:27Z",
            "publish": True,
            "oai_is_disabled": False,
            "slug": code.replace("-", "_"),
            "is_slug_auto": False,
            "jsonmodel_type": "repository",
            "uri": uri,
            "display_string": f"{name} ({code})",
            "agent_representation": {"ref": f"/agents/corporate_entities/{ordinal + 2}"},
        }

    def repositories(self) -> list[dict]:
        return [self.repository(repo_id) for repo_id in self.repository_ids()]

    # -- resources ---------------------------------------------------------

    def resource_ids(self, repo_id: int) -> list[int]:
        ordinal = self._repo_ordinal(repo_id)
        return [self._resource_id(k) for k in range(self._repo_starts[ordinal], self._repo_starts[ordinal + 1])]

    def iter_resources(self) -> Iterator[tuple[int, int]]:
        """Every (repo_id, resource_id) of the dataset."""
        for repo_id in self.repository_ids():
            for resource_id in self.resource_ids(repo_id):
                yield repo_id, resource_id

    def has_resource(self, repo_id: int, resource_id: int) -> bool:
        try:
            self._resource_index(repo_id, resource_id)
        except KeyError:
            return False
        return True

    def resource(self, repo_id: int, resource_id: int) -> ResourceFacts:
        """The expected facts of one resource; KeyError if it does not exist."""
        record = self._record(self._resource_index(repo_id, resource_id))
        return record.facts(self.top_containers(repo_id, resource_id), self._excluded)

    def marc_xml(self, repo_id: int, resource_id: int, include_unpublished: bool = False) -> bytes:
        """The resource's MARC21 export, a <collection> holding one raw <record>."""
        record = self._record(self._resource_index(repo_id, resource_id))
        return render_collection(record.fields(include_unpublished)).encode("utf-8")

    # -- top containers ----------------------------------------------------

    def container_total(self, repo_id: int, resource_id: int) -> int:
        k = self._resource_index(repo_id, resource_id)
        return self._container_starts[k + 1] - self._container_starts[k]

    def top_containers(
        self, repo_id: int, resource_id: int, start: int = 0, stop: int | None = None
    ) -> list[TopContainer]:
        """The resource's top containers in search order (not indicator order), sliced [start:stop]."""
        k = self._resource_index(repo_id, resource_id)
        first, end = self._container_starts[k], self._container_starts[k + 1]
        numbers = list(range(1, end - first + 1))
        random.Random(_mix(self.seed, 3, k)).shuffle(numbers)
        record = self._record(k)
        positions = range(end - first)[start:stop]
        return [self._top_container(record, first + i, numbers[i]) for i in positions]

    def iter_barcodes(self) -> Iterator[str]:
        """Every barcode of every top container (containers without a barcode are skipped)."""
        for j in range(self.container_count):
            if _container_has_barcode(j):
                yield self._barcode(j)

    # -- layout ------------------------------------------------------------

    def _container_weight(self, k: int, rng: random.Random) -> float:
        draw = rng.paretovariate(1.2)  # heavy tail: a few collections hold thousands of boxes
        return 0.0 if RECORD_CASES[k % len(RECORD_CASES)] == "no_containers" else min(draw, 400.0)

    def _repo_ordinal(self, repo_id: int) -> int:
        ordinal = repo_id - 2
        if not 0 <= ordinal < self.repository_count:
            raise KeyError(f"no repository {repo_id}")
        return ordinal

    def _resource_id(self, k: int) -> int:
        return _FIRST_RESOURCE_ID + _RESOURCE_ID_STRIDE * k + _mix(self.seed, 2, k) % _RESOURCE_ID_STRIDE

    def _resource_index(self, repo_id: int, resource_id: int) -> int:
        k = (resource_id - _FIRST_RESOURCE_ID) // _RESOURCE_ID_STRIDE
        if not 0 <= k < self.resource_count or self._resource_id(k) != resource_id:
            raise KeyError(f"no resource {resource_id}")
        if self._repo_of_index(k) != repo_id:
            raise KeyError(f"resource {resource_id} is not in repository {repo_id}")
        return k

    def _repo_of_index(self, k: int) -> int:
        return bisect_right(self._repo_starts, k) - 1 + 2

    def _record(self, k: int) -> _Record:
        repo_id = self._repo_of_index(k)
        return _Record(
            seed=self.seed,
            index=k,
            repo_id=repo_id,
            resource_id=self._resource_id(k),
            repo_name=_repository_profile(repo_id - 2)[1],
            call_number=self._call_number(k),
        )

    def _call_number(self, k: int) -> str:
        case = RECORD_CASES[k % len(RECORD_CASES)]
        turn = k // len(RECORD_CASES)
        if case == "excluded" and turn < len(self.excluded_call_numbers):
            return self.excluded_call_numbers[turn]
        if case == "near_miss_call_number" and turn < len(NEAR_MISS_CALL_NUMBERS):
            return NEAR_MISS_CALL_NUMBERS[turn]
        return _ordinary_call_number(k, self._reserved_numbers)

    # -- containers --------------------------------------------------------

    def _barcode(self, j: int) -> str:
        serial = (j * _BARCODE_MULTIPLIER + _mix(self.seed, 4) % _BARCODE_SPACE) % _BARCODE_SPACE
        digits = f"32101{serial:08d}"
        return digits + str(_check_digit(digits))

    def _top_container(self, record: _Record, j: int, number: int) -> TopContainer:
        h = _mix(self.seed, 5, j)
        container_type = _container_type(record.dominant_container_type, h)
        profile = CONTAINER_PROFILES[(h >> 20) % len(CONTAINER_PROFILES)]
        series_count = (h >> 24) % 4
        return TopContainer(
            id=_FIRST_CONTAINER_ID + j,
            repo_id=record.repo_id,
            resource_id=record.resource_id,
            collection_identifier=record.call_number,
            collection_title=record.title,
            barcode=self._barcode(j) if _container_has_barcode(j) else None,
            type=container_type,
            indicator=_indicator(number, j, h),
            indicator_number=number,
            locations=_container_locations(j, h),
            restricted=(h >> 28) % 17 == 0,
            series=tuple(
                (400_000 + record.index * 10 + s, f"Series {s + 1}: {MATERIAL_PHRASES[(h >> s) % 10].capitalize()}")
                for s in range(series_count)
            ),
            profile=profile,
            created=_timestamp(h >> 32),
        )


def _container_has_barcode(j: int) -> bool:
    return j % 10 != 7


def _container_type(dominant: str, h: int) -> str:
    roll = (h >> 8) % 20
    if roll < 16:
        return dominant
    return ("folder", "item", "volume", "box")[roll - 16]


def _indicator(number: int, j: int, h: int) -> str:
    """Mostly "12"; some "B-3" and "12a", whose first integer still orders them."""
    if j % 9 == 2:
        return f"{('B', 'P', 'OS')[(h >> 12) % 3]}-{number}"
    if j % 9 == 5:
        return f"{number}{'abc'[(h >> 12) % 3]}"
    return str(number)


def _container_locations(j: int, h: int) -> tuple[Location, ...]:
    """No location (j % 13 == 4), several where only the first counts (j % 6 == 1), else one."""
    if j % 13 == 4:
        return ()
    recap_first = (h >> 40) % 100 < 65
    if j % 6 == 1:
        recap_first = (j // 6) % 2 == 0  # alternate: ReCAP then on-site, on-site then ReCAP
        first = _location(_pick(RECAP_LOCATIONS if recap_first else ONSITE_LOCATIONS, h >> 44))
        later = _location(_pick(ONSITE_LOCATIONS if recap_first else RECAP_LOCATIONS, h >> 48), status="previous")
        return (first, later)
    return (_location(_pick(RECAP_LOCATIONS if recap_first else ONSITE_LOCATIONS, h >> 44)),)


def _pick(locations: dict[str, tuple[str, str]], bits: int) -> str:
    codes = tuple(locations)
    return codes[bits % len(codes)]


def _location(code: str, status: str = "current") -> Location:
    building, area = ALL_LOCATIONS[code]
    return Location(uri=f"/locations/{LOCATION_IDS[code]}", code=code, building=building, area=area, status=status)


# --------------------------------------------------------------------------
# One resource record
# --------------------------------------------------------------------------

Subfields = list[tuple[str, str]]


@dataclass(frozen=True)
class DataField:
    tag: str
    ind1: str
    ind2: str
    subfields: Subfields


@dataclass(frozen=True)
class ControlField:
    tag: str
    value: str


MarcField = DataField | ControlField


class _Record:
    """The content of resource k, drawn from an RNG seeded by (seed, k)."""

    def __init__(self, seed: int, index: int, repo_id: int, resource_id: int, repo_name: str, call_number: str):
        self.index = index
        self.repo_id = repo_id
        self.resource_id = resource_id
        self.repo_name = repo_name
        self.call_number = call_number
        self.case = RECORD_CASES[index % len(RECORD_CASES)]
        # Shifted every cycle of RECORD_CASES, so that no record case always lacks a location note.
        self.location_case = LOCATION_NOTE_CASES[(index + index // len(RECORD_CASES)) % len(LOCATION_NOTE_CASES)]
        rng = random.Random(_mix(seed, 6, index))
        self._content_seed = _mix(seed, 8, index)
        self.begin = rng.randint(1780, 1985)
        self.end = min(self.begin + rng.choice((0, 3, 12, 25, 40, 60)), 2023)
        bulk_from = rng.randint(self.begin, self.end)
        bulk_to = rng.randint(bulk_from, self.end)
        bulk = str(bulk_from) if bulk_from == bulk_to else f"{bulk_from}-{bulk_to}"
        self.bulk_dates = bulk if index % 3 == 0 and self.end > self.begin else None
        self.entered = f"{rng.randint(16, 23):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        self.languages = ["eng"] if rng.random() < 0.75 else ["eng", rng.choice(("fre", "ger", "spa", "ita"))]
        self.creator_is_person = rng.random() < 0.6
        self.creator = rng.choice(PERSONS if self.creator_is_person else CORPORATIONS)
        self.title = _title(rng, self.creator[0], self.creator_is_person)
        self.dominant_container_type = "volume" if index % 7 == 3 else "box"
        self.ark = "88435/" + _noid(_mix(seed, 7, index), 9)
        self.location_codes = self._location_note_codes(rng)
        self.crlf = index % 2 == 1  # alternate LF and CR LF line breaks inside notes

    @property
    def has_099(self) -> bool:
        return self.case != "missing_099"

    @property
    def has_008(self) -> bool:
        return self.case != "missing_008"

    @property
    def has_041(self) -> bool:
        return self.case != "missing_041"

    @property
    def has_856(self) -> bool:
        return self.case != "no_856"

    @property
    def finding_aid_url(self) -> str:
        return f"http://arks.princeton.edu/ark:/{self.ark}"

    def facts(self, containers: list[TopContainer], excluded: frozenset[str]) -> ResourceFacts:
        return ResourceFacts(
            repo_id=self.repo_id,
            resource_id=self.resource_id,
            index=self.index,
            case=self.case,
            call_number=self.call_number,
            title=self.title,
            date_begin=str(self.begin),
            date_end=str(self.end),
            bulk_dates=self.bulk_dates,
            has_099=self.has_099,
            has_008=self.has_008,
            has_041=self.has_041,
            has_856=self.has_856,
            excluded=self.has_099 and self.call_number in excluded,
            finding_aid_url=self.finding_aid_url,
            location_note_codes=self.location_codes,
            long_520=self.case == "long_520",
            containers=tuple(containers),
        )

    def _location_note_codes(self, rng: random.Random) -> tuple[str, ...]:
        if self.location_case == "single":
            return (rng.choice(LOCATION_NOTE_CODES),)
        if self.location_case == "multiple":
            return (rng.choice(LOCATION_NOTE_CODES), rng.choice(RECAP_NOTE_CODES))
        if self.location_case == "single_recap":
            return (rng.choice(RECAP_NOTE_CODES),)
        return ()

    # -- fields ------------------------------------------------------------

    def fields(self, include_unpublished: bool) -> list[MarcField]:
        """The record's fields in export order (sorted by tag, ASpace style)."""
        rng = random.Random(self._content_seed)  # a fresh RNG: the same record on every call
        fields: list[MarcField] = [ControlField("008", self._field_008())] if self.has_008 else []
        fields += [
            DataField("040", " ", " ", [("b", "eng"), ("e", _DACS_NOTE)]),
            DataField("049", " ", " ", []),  # ASpace always exports an empty 049
        ]
        if self.has_041:
            fields.append(DataField("041", " ", " ", [("a", code) for code in self.languages]))
        if self.has_099:
            fields.append(DataField("099", " ", " ", [("a", self.call_number)]))
        fields.append(self._main_entry())
        fields.append(self._field_245())
        fields += self._extents(rng)
        fields += self._general_notes(rng, include_unpublished)
        fields += self._summary_notes(rng)
        fields += self._optional_notes(rng)
        fields += self._subjects(rng)
        fields += self._added_entries(rng)
        fields.append(DataField("852", " ", " ", [("a", _REPOSITORY_852), ("b", self.repo_name)]))
        fields += self._links()
        fields.sort(key=lambda f: f.tag)
        return fields

    def _field_008(self) -> str:
        return f"{self.entered}i{self.begin}{self.end}xx{' ' * 18}{self.languages[0]} d"

    def _main_entry(self) -> DataField:
        heading, viaf = self.creator
        subfields = [("a", heading.rstrip(".") + ","), ("e", "Creator."), ("4", "cre")]
        if viaf:
            subfields.append(("0", f"https://viaf.org/viaf/{viaf}"))
        if self.creator_is_person:
            return DataField("100", "1", " ", subfields)
        return DataField("110", "2", " ", subfields)

    def _field_245(self) -> DataField:
        dates = str(self.begin) if self.begin == self.end else f"{self.begin}-{self.end}"
        subfields = [("a", f"{self.title},"), ("f", dates)]
        if self.bulk_dates:
            subfields.append(("g", self.bulk_dates))
        return DataField("245", "1", "0", subfields)

    def _extents(self, rng: random.Random) -> list[DataField]:
        fields = [DataField("300", " ", " ", [("a", str(rng.randint(1, 600))), ("f", "boxes")])]
        if rng.random() < 0.5:
            feet = f"{rng.randint(1, 250)}.{rng.randint(0, 9)}"
            fields.append(DataField("300", " ", " ", [("a", feet), ("f", "linear feet")]))
        return fields

    def _general_notes(self, rng: random.Random, include_unpublished: bool) -> list[DataField]:
        notes = []
        if self.location_codes:
            notes.append(f"Location of resource: {' '.join(self.location_codes)}.")
        notes.append(rng.choice(_OTHER_500_NOTES))
        if self.index % 5 == 0:
            notes.append("Location of original: Historical Society of Pennsylvania.")
        if include_unpublished:
            notes.append(f"Unpublished note: processing remarks for {self.call_number}, staff only.")
        return [DataField("500", " ", " ", [("a", text)]) for text in notes]

    def _summary_notes(self, rng: random.Random) -> list[DataField]:
        fields = [DataField("520", "3", " ", [("a", self._paragraphs(rng, rng.randint(1, 3)))])]
        if self.case == "long_520":
            fields.append(DataField("520", "2", " ", [("a", self._long_text(rng, rng.randint(8_001, 14_000)))]))
        elif rng.random() < 0.5:
            fields.append(DataField("520", "2", " ", [("a", self._paragraphs(rng, rng.randint(2, 4)))]))
        return fields

    def _optional_notes(self, rng: random.Random) -> list[DataField]:
        """Kept (506 545 546 555 584) and deleted (351 524 ...) notes; each tag appears
        in at least one of any 8 consecutive resources."""
        fields = []
        for position, tag in enumerate(KEPT_NOTE_TAGS + DELETABLE_TAGS):
            if self.index % 8 == position % 8 or rng.random() < 0.7:
                fields.append(self._note(tag, rng))
        return fields

    def _note(self, tag: str, rng: random.Random) -> DataField:
        if tag == "351":
            return DataField("351", " ", " ", [("b", f"Arranged in {rng.randint(2, 9)} series.")])
        if tag == "544":
            related = "\n\n".join(f"{rng.choice(PERSONS)[0].split(',')[0]} Papers" for _ in range(3))
            return DataField("544", " ", " ", [("d", self._line_breaks(related))])
        ind1 = {"506": "0", "555": "0", "583": "1", "535": "2"}.get(tag, " ")
        return DataField(tag, ind1, " ", [("a", _NOTE_TEXT[tag].format(cn=self.call_number, repo=self.repo_name))])

    def _subjects(self, rng: random.Random) -> list[DataField]:
        fields = [_person_subject(person, kind) for person, kind in self._persons(rng)]
        fields += [_corporate_subject(org, rng) for org in rng.sample(CORPORATIONS, rng.randint(1, 3))]
        if self.index % 3 == 0 or rng.random() < 0.3:
            fields.append(DataField("630", "0", "7", [("a", rng.choice(UNIFORM_TITLES)), ("2", "local")]))
        topics = rng.sample(TOPICAL_STRINGS, rng.randint(3, 8))
        if not any(" -- " in t and re.search(r" -- \d\d", t) for t in topics):
            topics.append(TOPICAL_STRINGS[1])  # always one part starting with two digits
        fields += [DataField("650", " ", "0", [("a", t)]) for t in topics]
        heading, subdivisions = rng.choice(TOPICAL_SUBDIVIDED)
        fields.append(DataField("650", " ", "0", [("a", heading), *subdivisions]))
        fields += [DataField("651", " ", "0", [("a", g)]) for g in rng.sample(GEOGRAPHIC_STRINGS, rng.randint(1, 2))]
        if rng.random() < 0.4:
            heading, subdivisions = rng.choice(GEOGRAPHIC_SUBDIVIDED)
            fields.append(DataField("651", " ", "0", [("a", heading), *subdivisions]))
        for heading, source in rng.sample(GENRES, rng.randint(1, 3)):
            fields.append(DataField("655", " ", "7", [("a", heading), ("2", source)]))
        return fields

    def _persons(self, rng: random.Random) -> list[tuple[tuple[str, str | None], str]]:
        """At least one VIAF, one local and one LCSH person; one heading with ' -- '."""
        with_viaf = [p for p in PERSONS if p[1]]
        without_viaf = [p for p in PERSONS if not p[1]]
        chosen = [(rng.choice(with_viaf), "viaf"), (rng.choice(without_viaf), "local"), (rng.choice(PERSONS), "lcsh")]
        chosen += [(rng.choice(with_viaf), "viaf") for _ in range(rng.randint(0, 4))]
        chosen.append((rng.choice(with_viaf), "viaf_subdivided"))
        return chosen

    def _added_entries(self, rng: random.Random) -> list[DataField]:
        fields = []
        for number, (heading, viaf) in enumerate(rng.sample(PERSONS, rng.randint(1, 3))):
            if number == 0 and self.index % 6 == 4:
                heading = f"{heading.rstrip('.')} -- Archives."  # rare, but the rules cover 700 too
            if viaf and rng.random() < 0.6:
                subfields = [("a", heading), ("e", rng.choice(ROLES)), ("0", _viaf_uri(viaf, rng)), ("2", "viaf")]
                fields.append(DataField("700", "1", "7", subfields))
            else:
                fields.append(DataField("700", "1", " ", [("a", heading), ("e", rng.choice(ROLES))]))
        return fields

    def _links(self) -> list[DataField]:
        if not self.has_856:
            return []
        links = [DataField("856", "4", "2", [("z", "Finding aid online:"), ("u", self.finding_aid_url)])]
        if self.case == "two_856":
            links.append(
                DataField("856", "4", "1", [("z", "Digital content:"), ("u", f"https://dpul.princeton.edu/{self.ark}")])
            )
        return links

    # -- prose -------------------------------------------------------------

    def _line_breaks(self, text: str) -> str:
        return text.replace("\n", "\r\n") if self.crlf else text

    def _paragraphs(self, rng: random.Random, count: int) -> str:
        paragraphs = [_paragraph(rng, self.title, self.begin, self.end) for _ in range(count)]
        return self._line_breaks("\n\n ".join(paragraphs))

    def _long_text(self, rng: random.Random, minimum: int) -> str:
        paragraphs: list[str] = []
        while sum(len(p) + 3 for p in paragraphs) < minimum:
            paragraphs.append(_paragraph(rng, self.title, self.begin, self.end))
        return self._line_breaks("\n\n ".join(paragraphs))


def _person_subject(person: tuple[str, str | None], kind: str) -> DataField:
    heading, viaf = person
    if kind == "local":
        return DataField("600", "1", "7", [("a", heading), ("2", "local")])
    if kind == "lcsh":  # a $0 that is not VIAF stays $0
        authority = [("0", f"http://id.loc.gov/authorities/names/n{int(viaf) % 10**8:08d}")] if viaf else []
        return DataField("600", "1", "0", [("a", heading), *authority])
    if kind == "viaf_subdivided":
        heading = f"{heading.rstrip('.')} -- Correspondence."
    return DataField("600", "1", "7", [("a", heading), ("0", f"https://viaf.org/viaf/{viaf}"), ("2", "viaf")])


def _corporate_subject(org: tuple[str, str | None], rng: random.Random) -> DataField:
    heading, viaf = org
    if rng.random() < 0.3:
        heading = f"{heading.rstrip('.')} -- History -- 20th century."
    if viaf:
        return DataField("610", "2", "7", [("a", heading), ("0", _viaf_uri(viaf, rng)), ("2", "viaf")])
    return DataField("610", "2", "0", [("a", heading)])


def _viaf_uri(viaf: str, rng: random.Random) -> str:
    """VIAF URIs come in several spellings in real exports."""
    return rng.choice(("https://viaf.org/viaf/{}", "http://viaf.org/viaf/{}", "https://viaf.org/{}")).format(viaf)


def _title(rng: random.Random, creator: str, is_person: bool) -> str:
    if is_person:
        return rng.choice(("{} Papers", "{} Collection", "{} Letters", "Collection of {} Manuscripts")).format(
            _natural_order(creator)
        )
    name = creator.rstrip(".")
    return rng.choice(
        ("{} Records", f"{{}} Records: Subgroup {rng.randint(1, 4)}, Administrative Files", "{} Collection of Ephemera")
    ).format(name)


def _natural_order(heading: str) -> str:
    """'Kennan, George F. (George Frost), 1904-2005.' -> 'George F. Kennan'."""
    surname, _, rest = heading.partition(", ")
    given = re.sub(r"\s*\(.*?\)", "", rest.split(", ")[0]).strip()
    if not given or given[0].isdigit():
        return surname.rstrip(".")
    if not re.search(r"\b[A-Z]\.$", given):
        given = given.rstrip(".")
    return f"{given} {surname}"


def _paragraph(rng: random.Random, title: str, begin: int, end: int) -> str:
    person = rng.choice(PERSONS)[0].rstrip(".")
    sentences = [
        f"The {title} document {rng.choice(TOPIC_PHRASES)} between {begin} and {end}.",
        f"The collection contains {rng.choice(MATERIAL_PHRASES)}, {rng.choice(MATERIAL_PHRASES)}, "
        f"and {rng.choice(MATERIAL_PHRASES)}.",
        f"Correspondents include {person}, whose letters touch on {rng.choice(TOPIC_PHRASES)}.",
        f"Materials relating to {rng.choice(TOPIC_PHRASES)} are arranged chronologically within each series.",
        "Researchers should consult the folder list, since not every topic is named in these descriptions.",
    ]
    rng.shuffle(sentences)
    return " ".join(sentences[: rng.randint(3, 5)])


_DACS_NOTE = "Finding aid content adheres to that prescribed by Describing Archives: A Content Standard."
_REPOSITORY_852 = "Princeton University Library.  Department of Special Collections"
_OTHER_500_NOTES = (
    "Collection material in English.",
    "Sponsored in part by the Friends of the Princeton University Library.",
    "Finding aid written by the processing archivist in 2019.",
    "Some materials are housed in oversize folders.",
)
_NOTE_TEXT = {
    "506": "The collection is open for research use.",
    "524": "Identification of specific item; Date (if known); {cn}; Box and Folder Number; {repo}, "
    "Princeton University Library.",
    "535": "Original letters are held by the family; photocopies are filed with {cn}.",
    "540": "Single photocopies may be made for research purposes. Researchers are responsible for determining "
    "who may hold the copyright.",
    "541": "Gift of the family, 1987 (accession {cn}-1987-004).",
    "545": "The creator was active in Princeton and New York; see the biographical note in the finding aid for {cn}.",
    "546": "Materials are chiefly in English, with some French and Spanish.",
    "555": "This finding aid describes the {repo} holdings of {cn}.",
    "561": "Kept by the creator's estate until its transfer to Princeton.",
    "583": "During processing, duplicate printed matter was discarded.",
    "584": "No further additions to the collection are expected.",
}


def _ordinary_call_number(k: int, reserved: dict[str, list[int]]) -> str:
    """A unique call number for resource k, never equal to an excluded or near-miss one."""
    family, n = k % 5, k // 5
    if family == 0:
        return f"C{_skip_reserved(100 + n, reserved['C']):04d}"
    if family == 1:
        group, part = divmod(n // 2, 10)
        base = f"MC{group + 1:03d}.{part + 1:02d}"
        return base if n % 2 == 0 else f"{base}.01"
    if family == 2:
        return f"AC{_skip_reserved(100 + n, reserved['AC']):03d}"
    if family == 3:
        return f"TC{100 + n:03d}"
    return f"WC{_skip_reserved(1 + n, reserved['WC']):03d}"


def _reserved_family_numbers(call_numbers: set[str] | frozenset[str]) -> dict[str, list[int]]:
    reserved: dict[str, list[int]] = {"C": [], "AC": [], "WC": []}
    for call_number in call_numbers:
        match = re.fullmatch(r"(C|AC|WC)(\d+)", call_number)
        if match:
            reserved[match.group(1)].append(int(match.group(2)))
    return {family: sorted(numbers) for family, numbers in reserved.items()}


def _skip_reserved(value: int, reserved: list[int]) -> int:
    for taken in reserved:  # sorted, so each skip can only push past later ones
        if taken <= value:
            value += 1
    return value


def _repository_profile(ordinal: int) -> tuple[str, str]:
    if ordinal < len(REPOSITORY_PROFILES):
        return REPOSITORY_PROFILES[ordinal]
    return f"sc{ordinal}", f"Special Collections Repository {ordinal}"


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------

_COLLECTION_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<collection xmlns="{MARC_NAMESPACE}" xmlns:marc="{MARC_NAMESPACE}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{MARC_NAMESPACE} http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">\n'
)
_LEADER = "00000npcaa2200000 u 4500"
# A bare CR would be normalised to LF by any XML parser; ASpace escapes it.
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


def render_collection(fields: list[MarcField]) -> str:
    """A MARC21 slim <collection> with one <record>, indented like ASpace's export."""
    lines = [_COLLECTION_OPEN, "  <record>\n", f"    <leader>{_LEADER}</leader>\n"]
    for marc_field in fields:
        lines.append(_render_field(marc_field))
    lines.append("  </record>\n</collection>\n")
    return "".join(lines)


def _render_field(marc_field: MarcField) -> str:
    if isinstance(marc_field, ControlField):
        return f'    <controlfield tag="{marc_field.tag}">{marc_field.value.translate(_XML_ESCAPES)}</controlfield>\n'
    opening = f'    <datafield ind1="{marc_field.ind1}" ind2="{marc_field.ind2}" tag="{marc_field.tag}"'
    if not marc_field.subfields:
        return opening + "/>\n"
    subfields = "".join(
        f'      <subfield code="{code}">{value.translate(_XML_ESCAPES)}</subfield>\n'
        for code, value in marc_field.subfields
    )
    return f"{opening}>\n{subfields}    </datafield>\n"


def top_container_json(tc: TopContainer) -> dict:
    """The top container as ASpace's JSONModel, with container locations resolved."""
    label = f"{tc.type.capitalize()} {tc.indicator}"
    display = f"{label}: [Barcode: {tc.barcode}]" if tc.barcode else label
    profile_id, profile_name, depth, height, width = tc.profile
    record: dict = {"lock_version": tc.id % 7}
    if tc.barcode:
        record["barcode"] = tc.barcode
    record |= {
        "ils_holding_id": f"{tc.collection_identifier}_i{tc.id % 5000}",
        "indicator": tc.indicator,
        "created_by": "admin",
        "last_modified_by": "admin",
        "create_time": tc.created,
        "system_mtime": "2023-07-07T21:34:10Z",
        "user_mtime": tc.created,
        "type": tc.type,
        "jsonmodel_type": "top_container",
        "active_restrictions": [],
        "container_locations": [_container_location_json(location, tc.created) for location in tc.locations],
        "series": [
            {
                "ref": f"/repositories/{tc.repo_id}/archival_objects/{ao_id}",
                "identifier": str(number + 1),
                "display_string": text,
                "level_display_string": "Series",
                "publish": True,
            }
            for number, (ao_id, text) in enumerate(tc.series)
        ],
        "collection": [
            {"ref": tc.resource_uri, "identifier": tc.collection_identifier, "display_string": tc.collection_title}
        ],
        "uri": tc.uri,
        "repository": {"ref": f"/repositories/{tc.repo_id}"},
        "container_profile": {
            "ref": f"/container_profiles/{profile_id}",
            "_resolved": {
                "name": profile_name,
                "extent_dimension": "width",
                "depth": depth,
                "height": height,
                "width": width,
                "dimension_units": "inches",
                "jsonmodel_type": "container_profile",
                "uri": f"/container_profiles/{profile_id}",
                "display_string": _profile_display(tc.profile),
            },
        },
        "restricted": tc.restricted,
        "is_linked_to_published_record": True,
        "display_string": display,
        "long_display_string": ", ".join(
            [
                display.replace(":", "", 1),
                profile_name,
                *(loc.title for loc in tc.locations[:1]),
                tc.collection_identifier,
                tc.collection_title,
            ]
        ),  # fmt: skip
    }
    return record


def _container_location_json(location: Location, created: str) -> dict:
    day = created[:10]
    entry = {
        "jsonmodel_type": "container_location",
        "status": location.status,
        "start_date": day,
        "system_mtime": f"{day} 02:55:57 UTC",
        "user_mtime": f"{day} 02:55:57 UTC",
        "ref": location.uri,
        "_resolved": {
            "lock_version": 1,
            "building": location.building,
            "title": location.title,
            "area": location.area,
            "classification": location.code,
            "created_by": "admin",
            "last_modified_by": "admin",
            "create_time": "2021-01-22T22:29:47Z",
            "system_mtime": "2022-11-18T19:27:46Z",
            "user_mtime": "2022-11-18T19:27:46Z",
            "jsonmodel_type": "location",
            "external_ids": [],
            "functions": [],
            "uri": location.uri,
        },
    }
    if location.status == "previous":
        entry["end_date"] = day
    return entry


def _profile_display(profile: tuple[int, str, str, str, str]) -> str:
    _, name, depth, height, width = profile
    return f"{name} [{depth}d, {height}h, {width}w inches] extent measured by width"


def solr_doc(tc: TopContainer) -> dict:
    """One element of response.docs of the top container search, as ASpace's Solr index holds it."""
    record = top_container_json(tc)
    doc: dict = {
        "id": tc.uri,
        "uri": tc.uri,
        "title": record["long_display_string"],
        "primary_type": "top_container",
        "types": ["top_container", "pui_container", "pui"],
        "suppressed": False,
        "publish": True,
        "system_generated": False,
        "repository": f"/repositories/{tc.repo_id}",
        "type_enum_s": [tc.type],
        "created_by": "admin",
        "last_modified_by": "admin",
        "user_mtime": tc.created,
        "system_mtime": "2023-07-07T21:34:10Z",
        "create_time": tc.created,
        "display_string": record["display_string"],
        "type_u_ssort": tc.type,
        "collection_uri_u_sstr": [tc.resource_uri],
        "collection_display_string_u_sstr": [tc.collection_title],
        "collection_identifier_stored_u_sstr": [tc.collection_identifier],
        "collection_identifier_u_stext": _identifier_variants(tc.collection_identifier),
        "container_profile_uri_u_sstr": [f"/container_profiles/{tc.profile[0]}"],
        "container_profile_display_string_u_sstr": [_profile_display(tc.profile)],
        "has_location_u_sbool": [bool(tc.locations)],
    }
    if tc.locations:
        uris = [location.uri for location in tc.locations]
        doc |= {
            "status_enum_s": [location.status for location in tc.locations],
            "location_uri_u_sstr": uris,
            "location_uris": uris,
            "location_display_string_u_sstr": [location.title for location in tc.locations],
        }
    doc |= {
        "exported_u_sbool": [False],
        "empty_u_sbool": [False],
        "indicator_u_icusort": tc.indicator,
        "top_container_u_typeahead_utext": re.sub(r"[^a-z0-9]", "", record["display_string"].lower()),
        "top_container_u_icusort": record["display_string"],
    }
    if tc.barcode:
        doc |= {"barcode_u_sstr": [tc.barcode], "barcode_u_icusort": tc.barcode}
    doc["json"] = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return doc


def _identifier_variants(identifier: str) -> list[str]:
    """Solr's tokenised spellings of an identifier: MC001.01, MC001 01, MC00101, MC 001 . 01."""
    spaced = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", identifier).replace(".", " . ")
    variants = [identifier, identifier.replace(".", " "), identifier.replace(".", ""), spaced]
    return list(dict.fromkeys(variants))


# --------------------------------------------------------------------------
# Small deterministic helpers
# --------------------------------------------------------------------------


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _mix(*parts: int) -> int:
    """A stable 64-bit hash of integers (Python's hash() is salted per process)."""
    h = 0
    for part in parts:
        h = _splitmix64(h ^ (part & _MASK64))
    return h


def _allocate(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` into integer shares proportional to `weights` (largest remainder)."""
    if not weights:
        return []
    floor = minimum if total >= minimum * len(weights) else 0
    rest = total - floor * len(weights)
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights, weight_sum = [1.0] * len(weights), float(len(weights))
    exact = [rest * w / weight_sum for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[: rest - sum(shares)]:
        shares[i] += 1
    return [floor + share for share in shares]


def _check_digit(digits: str) -> int:
    """Luhn check digit, as on Codabar library barcodes."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def _noid(bits: int, length: int) -> str:
    """An ARK name in NOID's "betanumeric" alphabet, e.g. 7d278t03z."""
    alphabet = "0123456789bcdfghjkmnpqrstvwxz"  # pragma: allowlist secret
    chars = []
    for _ in range(length):
        bits, digit = divmod(bits, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(chars)


def _timestamp(bits: int) -> str:
    year = 2016 + bits % 8
    month = 1 + (bits >> 3) % 12
    day = 1 + (bits >> 7) % 28
    hour, minute, second = (bits >> 12) % 24, (bits >> 17) % 60, (bits >> 23) % 60
    return f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"
