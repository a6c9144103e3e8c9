import pytest

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
