"""Submissions validated field by field, the jobs they become, and a manifest fetched once."""

from datetime import datetime, timedelta, timezone

import pytest

from include.merritt.checkm import parse_manifest
from include.merritt.layout import decode_json
from include.merritt.report import report_recipients
from include.merritt.states import new_job_status
from include.merritt.submission import (
    SubmissionError,
    parse_submission,
    plan_jobs,
    validate_submission,
)

AT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
PROFILES = {"merritt_demo_content"}
MANIFEST = """#%checkm_0.7
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
    record = submission.record(AT)
    assert record == {
        "batchID": "u-1",
        "profile": "merritt_demo_content",
        "type": "batch-manifest",
        "submitter": "jdoe@example.org",
        "filename": "",
        "submissionDate": "2026-11-23 10:30:00 -0500",
        "update": False,
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
    configuration = decode_json(nodes["/jobs/jid0000000007/configuration"], "configuration")
    assert configuration == {
        **record,
        "jobID": "jid0000000007",
        "profile_name": "merritt_demo_content",
        "submitter": "jdoe@example.org",
        "payload_url": "https://example.org/a.checkm",
        "payload_type": "object-manifest",
        "response_type": "xml",
        "filename": "a.checkm",
        "digestType": "md5",
        "digestValue": "0cc175b9c0f1b6a831c399e269772661",  # pragma: allowlist secret
    }
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


def test_a_single_file_submission_is_one_job_named_after_its_url():
    submission = parse_submission(
        conf(type="file", payload="https://example.org/data/scan.tif", local_id="a; b", priority=0), PROFILES
    )
    (job,) = plan_jobs(submission, None)
    assert (job.payload_type, job.priority, job.local_ids) == ("file", 0, ("a", "b"))
    assert submission.filename == "scan.tif"
    assert report_recipients(submission.record(AT)) == ["jdoe@example.org"]
    assert report_recipients({"submitter": "jdoe"}) == []


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
