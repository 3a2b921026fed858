"""Signed deliveries through the job queue: a real receiver on 127.0.0.1, the real worker.

The receiver fails the first attempts; the body arrives unchanged and signed, retries back off,
and a delivery that never gets through ends ``dead_letter`` in ``cimhouse jobs list`` and is
sent again by ``cimhouse jobs retry``.
"""

from __future__ import annotations

import json
import logging
import threading

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import session_scope
from cimhouse.delivery.attempt_delivery import (
    attempt_delivery,
    backoff_delay,
    recover_deliveries,
)
from cimhouse.delivery.enqueue_delivery import enqueue_delivery, shown_url
from cimhouse.delivery.sign import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_secret,
    sign,
    verify_signature,
)
from cimhouse.errors import InvalidInput
from cimhouse.schema import Delivery, Job
from cimhouse.settings import Settings
from tests.helpers.cli import wide_console
from tests.helpers.database import someone_waits
from tests.helpers.delivery_worker import run_until_settled
from tests.helpers.receiver import Receiver

PAYLOAD = {"changes": [{"cursor": "1", "kind": "house", "name": "南湖小区 1 幢"}]}


def test_signature_verifies_and_resists_tampering_and_replay() -> None:
    body = json.dumps(PAYLOAD).encode()
    headers = {TIMESTAMP_HEADER: "1764662400",
               SIGNATURE_HEADER: sign("whsec_x", 1764662400, body)}
    assert verify_signature("whsec_x", body, headers, now=1764662400 + 60)
    assert not verify_signature("whsec_y", body, headers, now=1764662400)  # another secret
    assert not verify_signature("whsec_x", body + b" ", headers, now=1764662400)  # tampered
    assert not verify_signature("whsec_x", body, headers, now=1764662400 + 301)  # replayed
    assert not verify_signature("whsec_x", body, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})


def test_backoff_is_exponential_capped_and_jittered() -> None:
    lows = [backoff_delay(10, n, rng=lambda: 0.0) for n in range(1, 6)]
    highs = [backoff_delay(10, n, rng=lambda: 1.0) for n in range(1, 6)]
    assert lows == [5.0, 10.0, 20.0, 40.0, 80.0]
    assert highs == [10.0, 20.0, 40.0, 80.0, 160.0]
    assert backoff_delay(10, 40, rng=lambda: 1.0) == 3600.0
    spread = {round(backoff_delay(10, 3), 6) for _ in range(20)}
    assert len(spread) > 1  # jitter: not every sender retries at the same instant
    assert all(20.0 <= d <= 40.0 for d in spread)


def test_url_shown_without_credentials_and_checked(engine: Engine,
                                                   test_settings: Settings) -> None:
    assert shown_url("https://u:p@h.example:8443/x?token=s") == "https://h.example:8443/x"
    with session_scope(engine) as session, pytest.raises(InvalidInput):
        enqueue_delivery(session, test_settings, url="file:///etc/passwd", payload={},
                         secret="s", actor="t")


def test_retries_until_the_receiver_answers(fresh_db: str, fresh_engine: Engine,
                                            test_settings: Settings,
                                            caplog: pytest.LogCaptureFixture) -> None:
    secret = new_secret()
    caplog.set_level(logging.DEBUG)
    with Receiver(fail_first=2) as rx:
        with session_scope(fresh_engine) as session:
            job_id = enqueue_delivery(session, test_settings, url=rx.url("/in?k=1"),
                                      payload=PAYLOAD, secret=secret, actor="alerts",
                                      scope_code="330402", base_delay_s=0.02).id
        statuses = run_until_settled(fresh_db, test_settings, fresh_engine, [job_id])
    assert statuses == {job_id: "succeeded"}
    assert [r.answered for r in rx.requests] == [503, 503, 204]
    assert {r.path for r in rx.requests} == {"/in?k=1"}
    for number, request in enumerate(rx.requests, start=1):
        assert json.loads(request.body) == PAYLOAD  # the same bytes on every attempt
        assert verify_signature(secret, request.body, request.headers)
        assert request.headers[DELIVERY_HEADER] == str(job_id)  # the receiver's dedup key
        assert request.headers["X-Cimhouse-Attempt"] == str(number)
    with session_scope(fresh_engine) as session:
        job = session.get(Job, job_id)
        delivery = session.get(Delivery, job_id)
        assert job is not None
        assert delivery is not None
        assert job.counts["attempts"] == 3
        assert delivery.delivered_at is not None
        assert delivery.secret_enc != secret.encode()
        shown = json.dumps([job.options, job.counts, job.error], default=str)
    assert secret not in shown
    assert secret not in caplog.text


@pytest.mark.usefixtures("cli_env")
def test_dead_letter_after_max_attempts_then_retry(fresh_db: str, fresh_engine: Engine,
                                                   test_settings: Settings,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver(always_fail=True, fail_status=500) as rx:
        with session_scope(fresh_engine) as session:
            job_id = enqueue_delivery(session, test_settings, url=rx.url(), payload=PAYLOAD,
                                      secret="whsec_t", actor="ops", max_attempts=3,
                                      base_delay_s=0.02).id
        assert run_until_settled(fresh_db, test_settings, fresh_engine, [job_id]) == {
            job_id: "dead_letter"}
        assert len(rx.requests) == 3
        listed = CliRunner().invoke(app, ["jobs", "list", "--json", "--status", "dead_letter"])
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.stdout)
        assert row["id"] == job_id
        assert "dead letter after 3 attempts; last: HTTP 500" in row["error"]
        wide_console(monkeypatch)  # the status and attempts cells are read whole
        table = CliRunner().invoke(app, ["--lang", "zh", "jobs", "list"])
        assert "死信" in table.output, table.output
        assert "3 次尝试" in table.output, table.output
        english = CliRunner().invoke(app, ["--lang", "en", "jobs", "list"])
        assert "dead_letter" in english.output, english.output
        assert "3 attempts" in english.output, english.output
        rx.always_fail = False
        retried = CliRunner().invoke(app, ["jobs", "retry", str(job_id)])
        assert retried.exit_code == 0, retried.output
        assert run_until_settled(fresh_db, test_settings, fresh_engine, [job_id]) == {
            job_id: "succeeded"}
    assert [r.answered for r in rx.requests] == [500, 500, 500, 204]
    again = CliRunner().invoke(app, ["jobs", "retry", str(job_id)])
    assert again.exit_code != 0  # only a dead letter is retried


def test_unreachable_receiver_counts_as_a_failed_attempt(fresh_engine: Engine,
                                                         test_settings: Settings) -> None:
    with Receiver() as rx:
        url = rx.url()
    with session_scope(fresh_engine) as session:  # nothing listens there any more
        job_id = enqueue_delivery(session, test_settings, url=url, payload={}, secret="s",
                                  actor="t", max_attempts=2, base_delay_s=60).id
    first = attempt_delivery(fresh_engine, test_settings, job_id, timeout_s=2)
    assert first["status"] == "queued"
    assert first["http_status"] is None
    assert 30 <= first["retry_in_s"] <= 60
    with session_scope(fresh_engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert (job.error or "").startswith("attempt 1 failed: URLError")
        assert session.execute(text(
            "SELECT scheduled_at > now() + interval '25 seconds' FROM procrastinate_jobs "
            "WHERE id = :q"), {"q": job.queue_job_id}).scalar()


def test_an_attempt_cut_off_with_its_worker_is_queued_again(fresh_engine: Engine,
                                                            test_settings: Settings) -> None:
    with session_scope(fresh_engine) as session:
        job = enqueue_delivery(session, test_settings, url="http://127.0.0.1:9/x",
                               payload={}, secret="s", actor="t")
        job_id, first_entry = job.id, job.queue_job_id
    with fresh_engine.begin() as conn:  # as a worker that took the entry and was then killed
        conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :q"),
                     {"q": first_entry})
    with session_scope(fresh_engine) as session:
        assert recover_deliveries(session) == [job_id]
    with session_scope(fresh_engine) as session:
        again = session.get(Job, job_id)
        assert again is not None
        assert again.status == "queued"
        assert again.queue_job_id != first_entry
        assert session.execute(text("SELECT status FROM procrastinate_jobs WHERE id = :q"),
                               {"q": first_entry}).scalar() == "failed"
        assert recover_deliveries(session) == []
    stale = attempt_delivery(fresh_engine, test_settings, job_id, queue_id=first_entry)
    assert stale["skipped"] is True  # the old entry no longer sends


def test_enqueue_does_not_wait_for_another_open_enqueue(fresh_engine: Engine,
                                                        test_settings: Settings) -> None:
    """Two deliveries queued at the same time (two alerts, two webhooks): neither waits for
    the other's commit. Writing the job row and then its queue id (an INSERT then an
    UPDATE) locked the Citus reference table's shard exclusively, and two such enqueues
    deadlocked (issue 12; this test waits for ever there without the fix)."""
    done: list[int] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with session_scope(fresh_engine) as session:
                done.append(enqueue_delivery(session, test_settings, url="http://127.0.0.1:9/b",
                                             payload={}, secret="s", actor="bob").id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with session_scope(fresh_engine) as session:
        first = enqueue_delivery(session, test_settings, url="http://127.0.0.1:9/a",
                                 payload={}, secret="s", actor="alice")
        assert first.queue_job_id is not None
        thread = threading.Thread(target=second)
        thread.start()
        # no deadline: the second enqueue either ends, or shows up waiting for a lock
        while thread.is_alive():
            assert not someone_waits(fresh_engine), "the second enqueue waits for the first"
            thread.join(0.05)
        assert not errors, errors
        first_id = first.id
    with session_scope(fresh_engine) as session:
        jobs = session.query(Job).filter(Job.id.in_([first_id, *done])).all()
        assert sorted(str(job.requested_by) for job in jobs) == ["alice", "bob"]
        assert all(job.queue_job_id is not None for job in jobs)
        assert session.query(Delivery).filter(Delivery.job_id.in_([first_id, *done])).count() == 2
