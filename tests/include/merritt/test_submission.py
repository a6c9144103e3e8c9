"""Submissions validated field by field, the jobs they become, and a manifest fetched once."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.merritt.checkm import ManifestError, parse_manifest
from include.merritt.layout import decode_json
from include.merritt.limits import find_oversize
from include.merritt.report import report_recipients
from include.merritt.states import new_job_status
from include.merritt.submission import (
    ACCEPTED_TYPES,
    FIELDS,
    SUBMISSION_TYPES,
    SubmissionError,
    batch_id_of,
    job_id_of,
    parse_submission,
    plan_jobs,
    validate_submission,
)
from include.merritt.text import first_forbidden

AT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
PROFILES = {"merritt_demo_content"}
MANIFEST = """#%checkm_0.7
#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-batch-manifest
#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileName | mrt:primaryIdentifier | mrt:localIdentifier | mrt:creator | mrt:title | mrt:date
https://example.org/a.checkm | md5 | 0cc175b9c0f1b6a831c399e269772661 | a.checkm | ark:/13030/m5a | loc1;loc2 | Doe | A | 2024
https://example.org/b.checkm | | | b.checkm | | | | B |
"""


def conf(**overrides):
    return {
        "submission_uuid": "u-1",
        "submitter": "jdoe@example.org",
        "profile": "merritt_demo_content",
        "type": "batch-manifest",
        "payload": MANIFEST,
        **overrides,
    }


def test_a_batch_manifest_becomes_one_job_per_row_with_the_spec_nodes():
    submission = parse_submission(conf(title="Batch", notification="ops@example.org"), PROFILES)
    jobs = plan_jobs(submission, parse_manifest(submission.payload, manifest_of_manifests=True))
    assert [job.payload_url for job in jobs] == ["https://example.org/a.checkm", "https://example.org/b.checkm"]
    assert {job.priority for job in jobs} == {11}
    batch_id = submission.batch_id
    assert re.fullmatch(r"bid-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", batch_id)
    assert batch_id == batch_id_of("u-1")  # the same on every try
    record = submission.record(AT)
    assert record == {
        "batchID": batch_id,
        "profile": "merritt_demo_content",
        "type": "batchManifest",
        "submitter": "jdoe@example.org",
        "filename": "",
        "submissionDate": "2026-11-23 10:30:00 -0500",
        "update": False,
        "notificationFormat": "xml",
        "title": "Batch",
        "notification": "ops@example.org",
    }
    nodes = dict(jobs[0].nodes("jid0000000007", "bid0000000003", record, new_job_status(AT)))
    assert list(nodes) == [
        "/jobs/jid0000000007",
        "/jobs/jid0000000007/bid",
        "/jobs/jid0000000007/priority",
        "/jobs/jid0000000007/space_needed",
        "/jobs/jid0000000007/configuration",
        "/jobs/jid0000000007/identifiers",
        "/jobs/jid0000000007/metadata",
        "/jobs/jid0000000007/status",
        "/batches/bid0000000003/states/batch-processing/jid0000000007",
    ]
    assert nodes["/jobs/jid0000000007/bid"] == b"bid0000000003"
    assert nodes["/jobs/jid0000000007/priority"] == b"11"
    assert nodes["/jobs/jid0000000007/space_needed"] == b"0"
    configurations = [
        decode_json(dict(job.nodes("jid1", "bid1", record, {}))["/jobs/jid1/configuration"], "c") for job in jobs
    ]
    assert configurations[0] == {
        "batchID": batch_id,
        "profile": "merritt_demo_content",
        "submitter": "jdoe@example.org",
        "submissionDate": "2026-11-23 10:30:00 -0500",
        "notification": "ops@example.org",
        "notificationFormat": "xml",
        "update": False,
        "jobID": job_id_of(batch_id, 0),
        "type": "manifest",  # the job's own type, not the batch's
        "filename": "a.checkm",
        "payload_url": "https://example.org/a.checkm",
        "digestType": "md5",
        "digestValue": "0cc175b9c0f1b6a831c399e269772661",  # pragma: allowlist secret
        "title": "A",  # the row's, not the batch's
        "creator": "Doe",
        "date": "2024",
        "objectID": "ark:/13030/m5a",
        "localID": "loc1;loc2",
    }
    # a row without creator or date has none (not the batch's title either)
    assert (configurations[1]["title"], "creator" in configurations[1], "date" in configurations[1]) == (
        "B",
        False,
        False,
    )
    assert configurations[1]["jobID"] != configurations[0]["jobID"]
    assert all(isinstance(value, str) for config in configurations for key, value in config.items() if key != "update")
    assert decode_json(nodes["/jobs/jid0000000007/identifiers"], "i") == {
        "primary_id": "ark:/13030/m5a",
        "local_id": ["loc1", "loc2"],
    }
    assert decode_json(nodes["/jobs/jid0000000007/metadata"], "m") == {
        "erc_who": "Doe",
        "erc_what": "A",
        "erc_when": "2024",
        "erc_where": "ark:/13030/m5a",
    }
    assert report_recipients(record) == ["ops@example.org"]


def test_a_single_file_submission_is_one_job_named_after_its_url_with_the_submissions_metadata():
    submission = parse_submission(
        conf(
            type="file",
            payload="https://example.org/data/scan.tif",
            local_id="a; b",
            priority=0,
            title="Scan",
            note="n",
            object_id="ark:/13030/m5x",
            update=True,
        ),
        PROFILES,
    )
    (job,) = plan_jobs(submission, None)
    assert (job.type, job.priority, job.local_ids, job.filename) == ("file", 0, ("a", "b"), "scan.tif")
    configuration = job.configuration(submission.record(AT))
    assert (configuration["title"], configuration["note"], configuration["objectID"]) == ("Scan", "n", "ark:/13030/m5x")
    assert configuration["update"] is True and configuration["localID"] == "a;b"
    assert report_recipients(submission.record(AT)) == ["jdoe@example.org"]
    assert report_recipients({"submitter": "jdoe"}) == []


@pytest.mark.parametrize(
    ("submitted", "stored", "job_type"),
    [
        ("file", "file", "file"),
        ("container", "container", "container"),
        ("object-manifest", "manifest", "manifest"),
        ("manifest", "manifest", "manifest"),
        ("batch-manifest", "batchManifest", "manifest"),
        ("batchManifest", "batchManifest", "manifest"),
        ("container-batch-manifest", "batchManifestContainer", "container"),
        ("single-file-batch-manifest", "batchManifestFile", "file"),
        ("batchManifestFile", "batchManifestFile", "file"),
    ],
)
def test_types_are_stored_by_merritts_names_and_each_job_has_its_own(submitted, stored, job_type):
    profile = {"file": "mrt-single-file-batch-manifest", "container": "mrt-container-batch-manifest"}.get(
        job_type, "mrt-batch-manifest"
    )
    manifest = MANIFEST.replace("mrt-batch-manifest", profile)
    if job_type != "manifest":
        manifest = manifest.replace(".checkm", ".tif")
    payload = manifest if stored.startswith("batch") else "https://example.org/x/obj.checkm"
    validated = validate_submission(
        conf(type=submitted, payload=payload), PROFILES, fetch=lambda url, limit: MANIFEST.encode()
    )
    assert validated.submission.record(AT)["type"] == stored
    assert {job.type for job in validated.jobs} == {job_type}
    if stored == "manifest":  # the object manifest fetched once is the job's payload file
        assert validated.jobs[0].payload == MANIFEST.encode()


@pytest.mark.parametrize(
    ("submitted", "profile", "message"),
    [
        (
            "batch-manifest",
            "mrt-container-batch-manifest",
            "lists container jobs, but the submission's type batchManifest",
        ),
        ("container-batch-manifest", "mrt-batch-manifest", "lists manifest jobs, but the submission's type"),
        (
            "batch-manifest",
            "mrt-ingest-manifest",
            "#%profile 'http://uc3.cdlib.org/registry/ingest/manifest/mrt-ingest-manifest' is not a batch manifest's",
        ),
    ],
)
def test_a_batch_manifest_whose_profile_is_not_its_types_is_refused_naming_the_line(submitted, profile, message):
    with pytest.raises(ManifestError, match=re.escape(message)) as raised:
        validate_submission(conf(type=submitted, payload=MANIFEST.replace("mrt-batch-manifest", profile)), PROFILES)
    assert raised.value.line == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"profile": "no_such_profile"}, "profile: unknown collection profile 'no_such_profile'"),
        ({"submitter": " "}, "submitter: required"),
        ({"type": "zip"}, "type: 'zip' is not one of"),
        ({"payload": ""}, "payload: required"),
        ({"type": "file", "payload": MANIFEST}, "payload: a file submission needs an http(s) URL"),
        ({"type": "object-manifest", "payload": MANIFEST}, "object-manifest submission needs an http(s) URL"),
        ({"priority": 100}, "priority: 100 is not an integer from 0 to 99"),
        ({"priority": "5"}, "priority: '5'"),
        ({"update": "yes"}, "update: expected true or false"),
        ({"submission_uuid": "../x"}, "submission_uuid: '../x' must be"),
        ({"notification": "ops@example.org, nobody"}, "notification: 'nobody' is not an email address"),
        ({"title": 7}, "title: expected text"),
        ({"titel": "typo"}, "unknown field(s) titel; known: creator, date"),
    ],
)
def test_bad_submissions_name_the_field(overrides, message):
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_submission(conf(**overrides), PROFILES)


def test_a_manifest_url_is_fetched_once_and_the_jobs_come_from_those_bytes():
    fetched = []

    def fetch(url, limit):
        fetched.append((url, limit))
        return MANIFEST.encode()

    validated = validate_submission(conf(payload=" https://example.org/m.checkm\n"), PROFILES, fetch=fetch)
    assert fetched == [("https://example.org/m.checkm", 5 * 1024 * 1024)]
    assert validated.manifest_rows == 2
    assert [job.payload_url for job in validated.jobs] == [
        "https://example.org/a.checkm",
        "https://example.org/b.checkm",
    ]


def test_inline_manifests_and_single_files_are_not_fetched():
    assert validate_submission(conf(), PROFILES).manifest_rows == 2
    single = validate_submission(conf(type="file", payload="https://example.org/scan.tif"), PROFILES)
    assert (single.manifest_rows, len(single.jobs)) == (0, 1)
    with pytest.raises(SubmissionError, match="payload: a manifest URL, but nothing here fetches URLs"):
        validate_submission(conf(payload="https://example.org/m.checkm"), PROFILES)


# -- hostile input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "A\u2028B"}, "title: control character U+2028 at position 2"),
        ({"submitter": "jdoe\x00"}, "submitter: control character U+0000"),
        ({"notification": "ops@example.org\r\nBcc: all@example.org"}, "notification: control character U+000D"),
        (
            {"type": "file", "payload": "https://user:pw@example.org/scan.tif"},  # pragma: allowlist secret
            "carries credentials",
        ),
        ({"payload": "https://token@example.org/m.checkm"}, "payload: the URL carries credentials"),
        ({"type": "file", "payload": "http://[::1/scan.tif"}, "cannot be parsed"),
        ({"type": "file", "payload": "https://example.org/a/.."}, "filename: '..' is not a file name"),
        ({"filename": "../../etc/passwd"}, "filename: '../../etc/passwd' has a path in it"),
        ({"submission_uuid": "u-1\n"}, None),  # stripped: a valid uuid
        ({"priority": 10**100}, "priority: 1000000"),
        ({"priority": 5.0}, "priority: 5.0 is not an integer"),
        ({1: "x"}, "unknown field(s) 1"),
    ],
)
def test_hostile_fields_are_refused_naming_the_field(overrides, message):
    if message is None:
        assert parse_submission(conf(**{str(k): v for k, v in overrides.items()}), PROFILES).uuid == "u-1"
        return
    with pytest.raises(SubmissionError, match=re.escape(message)):
        parse_submission({**conf(), **overrides}, PROFILES)


def test_a_conf_that_is_not_an_object_is_refused():
    with pytest.raises(SubmissionError, match="must be a JSON object, not list"):
        parse_submission(["submitter"], PROFILES)


def test_a_cell_too_big_for_zookeeper_is_refused_at_validation_naming_line_and_column():
    """The ~1 MB cell that used to pass validation and then fail staging after the claim."""
    title = "T" * 1_100_000
    manifest = MANIFEST.replace("| B |", f"| {title} |")
    with pytest.raises(ManifestError) as raised:
        validate_submission(conf(payload=manifest), PROFILES)
    assert raised.value.line == 5 and raised.value.column == MANIFEST.split("\n")[4].index("B") + 1
    assert "over the 500,000-byte limit: shorten its title" in str(raised.value)


def test_a_field_too_big_for_zookeeper_is_refused_at_validation_naming_it():
    with pytest.raises(SubmissionError, match=r"^note: the batch's claim of this submission is [\d,]+ bytes"):
        validate_submission(conf(note="n" * 600_000), PROFILES)
    # a file's title is in its job twice (configuration and metadata): the claim fits, the job does not
    single_file = conf(type="file", payload="https://example.org/scan.tif", note="n" * 190_000, title="t" * 210_000)
    with pytest.raises(SubmissionError, match=r"^title: job 1 of this submission is [\d,]+ bytes .*shorten title"):
        validate_submission(single_file, PROFILES)


def test_the_largest_plan_that_fits_is_accepted():
    title = "T" * 240_000  # a row's title is in its job twice (configuration and metadata)
    validated = validate_submission(conf(payload=MANIFEST.replace("| B |", f"| {title} |")), PROFILES)
    assert find_oversize(validated.submission, validated.jobs) is None
    assert validated.jobs[1].title == title


# -- properties: any conf gives a submission or the module's own error -------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
hostile_text = st.sampled_from(["https://u:p@h/", "a\u2028b", "..", "../x", "http://[::1", "x\x00", "", " "])
valid_values = {
    "submission_uuid": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    "submitter": st.sampled_from(["jdoe@example.org", "jdoe"]),
    "profile": st.just("merritt_demo_content"),
    "type": st.sampled_from(ACCEPTED_TYPES),
    "payload": st.sampled_from([MANIFEST, "https://example.org/a.tif", " https://example.org/m.checkm\n"]),
    "priority": st.none() | st.integers(-5, 120),
    "update": st.booleans(),
    "notification": st.sampled_from(["ops@example.org", "a@example.org; b@example.org", "nobody"]),
}


REQUIRED = ("submission_uuid", "submitter", "profile", "type", "payload")
valid_confs = st.fixed_dictionaries(
    {key: valid_values[key] for key in REQUIRED},
    optional={key: valid_values.get(key, st.text(max_size=30)) for key in sorted(FIELDS - set(REQUIRED))},
)
changes = st.dictionaries(
    st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=8), st.integers()),
    st.one_of(hostile_text, json_values),
    min_size=1,
    max_size=2,
)
confs = st.one_of(
    valid_confs,
    st.builds(lambda conf, changed: {**conf, **changed}, valid_confs, changes),  # one or two fields gone bad
    st.dictionaries(st.one_of(st.sampled_from(sorted(FIELDS)), st.text(max_size=8)), json_values),
)


@given(confs)
def test_any_conf_gives_a_submission_or_a_submission_error(candidate):
    try:
        submission = parse_submission(candidate, PROFILES)
    except SubmissionError as error:
        assert str(error)
        return
    assert submission.type in SUBMISSION_TYPES.values() and submission.profile in PROFILES
    assert submission.priority is None or 0 <= submission.priority <= 99
    assert all(first_forbidden(value) is None for value in submission.texts().values() if value != submission.payload)


@given(confs)
def test_any_conf_validates_into_jobs_zookeeper_takes_or_fails_with_its_own_error(candidate):
    try:
        validated = validate_submission(candidate, PROFILES, fetch=lambda url, limit: MANIFEST.encode())
    except (SubmissionError, ManifestError):
        return
    assert validated.jobs and all(0 <= job.priority <= 99 for job in validated.jobs)
    assert find_oversize(validated.submission, validated.jobs) is None
