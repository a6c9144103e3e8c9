"""A finished batch's report: counts, failed jobs, the e-mail text, and who receives it."""

from hypothesis import given
from hypothesis import strategies as st

from include.merritt.report import BatchReport, email_address, report_recipients


def test_a_batch_report_counts_and_lists_failed_jobs():
    submission = {"batchID": "u-1", "profile": "p", "submitter": "jdoe", "submissionDate": "d", "title": "T"}
    report = BatchReport("bid0000000001", submission, completed=("jid1", "jid2"), failed=(("jid3", "GET 404"),))
    assert report.outcome.value == "Failed"
    assert report.summary() == {
        "bid": "bid0000000001",
        "batch_id": "u-1",
        "profile": "p",
        "outcome": "Failed",
        "jobs": 3,
        "completed": 2,
        "failed": 1,
        "deleted": 0,
        "failed_jobs": [{"jid": "jid3", "message": "GET 404"}],
    }
    assert report.email_subject() == "Merritt batch u-1 Failed: 2 completed, 1 failed"
    assert "  jid3: GET 404\n" in report.email_body()
    assert BatchReport("b", submission, completed=("jid1",)).outcome.value == "Completed"


def test_recipients_are_parsed_addresses_never_a_header_injection():
    """A submission node written by another tool (or before validation was strict) cannot inject headers."""
    assert report_recipients({"notification": "ops@Example.ORG; nobody, b@example.org"}) == [
        "ops@example.org",
        "b@example.org",
    ]
    assert report_recipients({"notification": "", "submitter": "jdoe@example.org\r\nBcc: all@example.org"}) == []
    assert report_recipients({"submitter": "Jo <jo@example.org>"}) == []
    assert report_recipients({"notification": ["not", "text"], "submitter": 7}) == []


@given(st.text())
def test_any_text_gives_an_address_without_line_breaks_or_none(text):
    address = email_address(text)
    assert address is None or ("\r" not in address and "\n" not in address and "@" in address)
