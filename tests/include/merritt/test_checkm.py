import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.merritt.checkm import MAX_MANIFEST_BYTES, ManifestError, parse_manifest

HEADER = """#%checkm_0.7
#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-batch-manifest
#%prefix | mrt: | http://merritt.cdlib.org/terms#
#%prefix | nfo: | http://www.semanticdesktop.org/ontologies/2007/03/22/nfo#
#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileSize | nfo:fileLastModified | nfo:fileName | mrt:primaryIdentifier | mrt:localIdentifier | mrt:creator | mrt:title | mrt:date
"""
ROW_A = (
    "https://example.org/a.checkm | md5 | 0cc175b9c0f1b6a831c399e269772661 | 1 | | a.checkm | | loc001 | | Title A |"
)
ROW_B = "https://example.org/b.checkm | | | | | b.checkm | ark:/13030/m5b | loc002;loc003 | Doe | Title B | 2024"
ROW_LINE = 6  # the first row's line number after HEADER


def manifest(*rows: str, eof: bool = True) -> str:
    return HEADER + "\n".join(rows) + ("\n#%eof\n" if eof else "\n")


def test_the_spec_example_parses():
    parsed = parse_manifest(manifest(ROW_A, ROW_B), manifest_of_manifests=True)
    assert parsed.version == "0.7" and parsed.profile.endswith("mrt-batch-manifest")
    first, second = parsed.rows
    assert (first.line, first.file_url, first.file_name) == (6, "https://example.org/a.checkm", "a.checkm")
    assert (first.hash_algorithm, first.file_size, first.local_identifiers, first.title) == (
        "md5",
        1,
        ("loc001",),
        "Title A",
    )
    assert second.primary_identifier == "ark:/13030/m5b"
    assert second.local_identifiers == ("loc002", "loc003")
    assert (second.creator, second.date) == ("Doe", "2024")


def test_bytes_with_a_bom_and_no_eof_parse():
    parsed = parse_manifest(("\ufeff" + manifest(ROW_A, eof=False)).encode("utf-8"))
    assert len(parsed.rows) == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("#%fields | nfo:fileUrl\nhttps://x.org/a\n", 1, "missing '#%checkm_0.7' header"),
        ("#%checkm_0.7\nhttps://x.org/a | md5\n", 2, "row before any '#%fields'"),
        ("#%checkm_0.7\n#%fields | nfo:fileName\n", 2, "names no fileUrl"),
        (
            manifest("ftp://example.org/a.checkm | | | | | a.checkm"),
            ROW_LINE,
            "fileUrl 'ftp://example.org/a.checkm' is not an http(s) URL",
        ),
        (manifest(" | | | | | a.checkm"), ROW_LINE, "fileUrl '' is not an http(s) URL"),
        (
            manifest(ROW_A, "https://x.org/b.checkm | sha1 | " + "a" * 40 + " | | | b.checkm"),
            ROW_LINE + 1,
            "'sha1' is not md5 or sha-256",
        ),
        (
            manifest("https://x.org/b.checkm | md5 | abc | | | b.checkm"),
            ROW_LINE,
            "md5 hash 'abc' is not 32 hex digits",
        ),
        (
            manifest("https://x.org/b.checkm | sha-256 | " + "g" * 64 + " | | | b.checkm"),
            ROW_LINE,
            "is not 64 hex digits",
        ),
        (
            manifest("https://x.org/b.checkm | | " + "a" * 32 + " | | | b.checkm"),
            ROW_LINE,
            "'(none)' is not md5 or sha-256",
        ),
        (manifest(ROW_A, ROW_B, ROW_A), ROW_LINE + 2, "duplicate fileName 'a.checkm' (first on line 6)"),
        (
            manifest("https://x.org/b.zip | | | | | b.zip"),
            ROW_LINE,
            "'b.zip' in a manifest of manifests does not end in .checkm",
        ),
        (
            manifest("https://x.org/b.checkm | | | | | b.checkm | 13030/m5b"),
            ROW_LINE,
            "primaryIdentifier '13030/m5b' is not like ark:/<digits>/<name>",
        ),
        (
            manifest("https://x.org/b.checkm | | | | | b.checkm | ark:/cdl/m5b"),
            ROW_LINE,
            "is not like ark:/<digits>/<name>",
        ),
        (
            manifest("https://x.org/b.checkm | | | -4 | | b.checkm"),
            ROW_LINE,
            "fileSize '-4' is not a non-negative integer",
        ),
        (manifest(ROW_B + " | extra | cells"), ROW_LINE, "13 cells but #%fields declares 11"),
    ],
)
def test_each_rule_is_enforced_naming_the_line(text, line, message):
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text, manifest_of_manifests=True)
    assert raised.value.line == line
    assert f"manifest line {line}: " in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_fields_directive_is_refused():
    with pytest.raises(ManifestError, match="missing '#%fields'"):
        parse_manifest("#%checkm_0.7\n#%eof\n")


@pytest.mark.parametrize("text", ["", "  \n\n", HEADER + "#%eof\n"])
def test_an_empty_manifest_is_refused(text):
    with pytest.raises(ManifestError, match="empty|no rows"):
        parse_manifest(text)


def test_file_names_need_not_end_in_checkm_outside_a_manifest_of_manifests():
    parsed = parse_manifest(manifest("https://x.org/data/photo%201.tif | | | | | "))
    assert parsed.rows[0].file_name == "photo 1.tif"


def test_a_manifest_over_5_mb_is_refused_before_parsing():
    row = "https://example.org/{n}.checkm | | | | | {n}.checkm"
    rows, size, n = [], len(HEADER), 0
    while size <= MAX_MANIFEST_BYTES:
        rows.append(row.format(n=n))
        size += len(rows[-1]) + 1
        n += 1
    with pytest.raises(ManifestError, match=r"^manifest: \d+ bytes, over the 5 MB limit"):
        parse_manifest(manifest(*rows).encode())
    assert len(parse_manifest(manifest(*rows[: n // 2]).encode()).rows) == n // 2


# -- hostile input: lines, characters, cells ----------------------------------------------------------

FIELDS_LINE = 2  # in the short manifests below, the #%fields directive is line 2 and rows start on line 3
SHORT_HEADER = "#%checkm_0.7\n#%fields | nfo:fileUrl | nfo:fileName | nfo:fileSize | mrt:title\n"


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\r"])
def test_only_lf_and_crlf_end_a_line(separator):
    """A Unicode line break inside a row does not make a second row (a second job at a URL hidden in a title)."""
    row = f"https://example.org/a | a | 1 | A title{separator}https://evil.example/b | b"
    with pytest.raises(ManifestError) as raised:
        parse_manifest(SHORT_HEADER + row + "\n")
    assert (raised.value.line, raised.value.column) == (3, row.index(separator) + 1)
    assert f"U+{ord(separator):04X}" in str(raised.value)


def test_crlf_lines_parse_like_lf_lines():
    text = SHORT_HEADER + "https://example.org/a | a | 1 | A\nhttps://example.org/b | b | 2 | B\n"
    assert parse_manifest(text.replace("\n", "\r\n")) == parse_manifest(text)


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("https://example.org/a | a | \u0663 | T", 29, "fileSize '٣' is not a non-negative integer"),
        ("https://example.org/a | a | ² | T", 29, "fileSize '²' is not a non-negative integer"),
        ("https://example.org/a | a | 1" + "0" * 30 + " | T", 29, "is over 9223372036854775807"),
        ("https://example.org/a | a | " + "9" * 5000 + " | T", 29, "is over 9223372036854775807"),
        ("http://[::1 | a", 1, "fileUrl 'http://[::1' cannot be parsed"),
        ("http://[fe80::zz]/a | a", 1, "cannot be parsed"),
        ("http://example.org:99999/a | a", 1, "has a port that is not a number from 1 to 65535"),
        ("http://example.org:\u0663/a | a", 1, "has a port that is not a number"),
        ("https://user:secret@example.org/a | a", 1, "carries credentials"),  # pragma: allowlist secret
        ("https://token@example.org/a | a", 1, "carries credentials"),
        ("https://exa mple.org/a | a", 1, "contains whitespace"),
        ("https://bad_host!.org/a | a", 1, "not a valid DNS name"),
        ("https://example.org/a | a\x00.tif", 26, "control character U+0000"),
        ("https://example.org/a | ../../etc/passwd", 25, "fileName '../../etc/passwd' has a path in it"),
        ("https://example.org/a | dir\\file.tif", 25, "has a path in it"),
        ("https://example.org/a | ..", 25, "fileName '..' is not a file name"),
        ("https://example.org/a/.. | ", 1, "fileName '..' is not a file name"),
        ("https://example.org/a%00b | ", 1, "contains the control character U+0000"),
        ("https://example.org/a | " + "n" * 300, 25, "is longer than 255 bytes"),
    ],
)
def test_every_cell_is_validated_naming_line_and_column(row, column, message):
    with pytest.raises(ManifestError) as raised:
        parse_manifest(SHORT_HEADER + row + "\n")
    assert (raised.value.line, raised.value.column) == (3, column)
    assert message in str(raised.value)
    assert str(raised.value).startswith("manifest line 3: ") and str(raised.value).endswith(f"(column {column})")


def test_ipv6_hosts_in_brackets_are_urls():
    parsed = parse_manifest(SHORT_HEADER + "https://[2001:db8::1]:8443/a.tif | a.tif\n")
    assert parsed.rows[0].file_url == "https://[2001:db8::1]:8443/a.tif"


def test_an_error_quotes_at_most_a_readable_part_of_a_huge_cell():
    with pytest.raises(ManifestError) as raised:
        parse_manifest(SHORT_HEADER + "https://example.org/a | a | " + "x" * 1_000_000 + "\n")
    assert len(str(raised.value)) < 200


def test_an_answer_that_is_not_a_manifest_is_not_echoed():
    with pytest.raises(ManifestError) as raised:
        parse_manifest(b"<html>root:x:0:0:SECRET</html>\n")
    assert "SECRET" not in str(raised.value) and raised.value.line == 1


def test_invalid_utf8_is_named_by_line_and_column():
    with pytest.raises(ManifestError) as raised:
        parse_manifest(SHORT_HEADER.encode() + b"https://example.org/\xff | a\n")
    assert (raised.value.line, raised.value.column) == (3, 21)


@pytest.mark.parametrize(
    ("fields", "column", "message"),
    [
        ("#%fields | nfo:fileUrl | nfo:fileUrl", 26, "names 'fileUrl' twice"),
        ("#%fields | nfo:fileUrl | | nfo:title", 26, "empty field name"),
    ],
)
def test_the_fields_directive_is_validated(fields, column, message):
    with pytest.raises(ManifestError) as raised:
        parse_manifest(f"#%checkm_0.7\n{fields}\nhttps://example.org/a\n")
    assert (raised.value.line, raised.value.column) == (FIELDS_LINE, column)
    assert message in str(raised.value)


# -- properties: any text gives rows or the parser's own error, naming a place that exists ----------------

SHORT_FIELDS = SHORT_HEADER.split("\n")[1]
benign = st.text(alphabet="abcxyz019.-_", min_size=1, max_size=8)
hostile = st.sampled_from(["\u2028", "\x85", "\x0c", "\x00", "\r", "\u0663", "²", "|", "/", "..", "@", "[", ":", " "])
cells = st.one_of(benign, st.just(""), st.lists(st.one_of(benign, hostile), max_size=4).map("".join))
cells = st.one_of(benign, benign, benign, cells)  # mostly good cells, so that whole manifests parse too
urls = st.builds(
    "{}://{}/{}".format,
    st.sampled_from(["https", "https", "https", "http", "HTTP", "ftp"]),
    st.one_of(
        benign,
        benign,
        st.sampled_from(["example.org", "[::1]", "[::1", "u:p@example.org", "exa mple.org", "h:8080", "h:99999"]),
    ),
    cells,
)
sizes = st.one_of(st.just(""), st.integers(0, 10**20).map(str), cells)
rows = st.tuples(urls, cells, sizes, cells).map(" | ".join)
near_manifests = st.tuples(
    st.sampled_from(["#%checkm_0.7"] * 6 + ["#%checkm", "", "checkm"]),
    st.sampled_from([SHORT_FIELDS] * 6 + ["", "#%fields | nfo:fileName"]),
    st.lists(st.one_of(rows, rows, rows, st.sampled_from(["#%eof", "# a comment", ""])), max_size=8),
    st.sampled_from(["\n", "\r\n"]),
).map(lambda parts: parts[3].join([parts[0], parts[1], *parts[2]]))


def check_outcome(text: str, parsed_or_error) -> None:
    lines = text.split("\n")
    if isinstance(parsed_or_error, ManifestError):
        error = parsed_or_error
        if error.line is not None:
            assert 1 <= error.line <= len(lines)
            assert error.column is not None and 1 <= error.column <= len(lines[error.line - 1]) + 1
            assert str(error).startswith(f"manifest line {error.line}: ")
        return
    manifest = parsed_or_error
    assert 1 <= len(manifest.rows) <= len(lines)
    assert len({row.line for row in manifest.rows}) == len(manifest.rows)
    for row in manifest.rows:
        assert "/" not in row.file_name and row.file_name not in (".", "..")
        assert row.file_url.split("://", 1)[0].lower() in ("http", "https")


def parse_or_error(data):
    try:
        return parse_manifest(data)
    except ManifestError as error:
        return error


@given(st.one_of(st.text(st.characters(exclude_categories=[])), near_manifests))  # lone surrogates too
def test_any_text_gives_rows_or_a_manifest_error_naming_its_place(text):
    check_outcome(text.removeprefix("\ufeff"), parse_or_error(text))


@given(st.binary(max_size=400))
def test_any_bytes_give_rows_or_a_manifest_error(data):
    outcome = parse_or_error(data)
    if not isinstance(outcome, ManifestError) or outcome.line is None:
        return
    assert 1 <= outcome.line <= data.count(b"\n") + 1
