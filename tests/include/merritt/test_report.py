"""A finished batch's report: counts, failed jobs, the e-mail text, and who receives it."""

from include.merritt.report import BatchReport


def test_a_batch_report_counts_and_lists_failed_jobs():
    submission = {"batchID": "u-1", "profile": "p", "submitter": "jdoe", "submissionDate": "d", "title": "T"}
    report = BatchReport("bid0000000001", submission, completed=("jid1", "jid2"), failed=(("jid3", "GET 404"),))
    assert report.ready and report.outcome.value == "Failed"
    assert report.summary() == {
        "bid": "bid0000000001",
        "submission_uuid": "u-1",
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
    assert not BatchReport("b", submission, processing=("jid1",)).ready
