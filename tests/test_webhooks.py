"""Change-feed webhooks (issue 17): a real receiver on 127.0.0.1, the real worker.

Batches arrive signed, in feed order, each change once; a receiver that fails the first
attempts gets everything anyway; a batch that never gets through is dead-lettered (``jobs
list``, ``webhooks list``), holds the cursor, and ``jobs retry`` resumes. Scope isolation is
in the property test of every exit (tests/test_exits_scope.py::test_webhook_deliveries).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.delivery.attempt_delivery import attempt_delivery
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.feed.deliver_webhooks import deliver_webhooks
from cimhouse.feed.manage_webhooks import add_webhook, list_webhooks, remove_webhook
from cimhouse.feed.read_changes import read_changes
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.schema import Job, Webhook
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.cli import wide_console
from tests.helpers.delivery_worker import drain_webhook, received_changes, run_until_settled
from tests.helpers.graphql_world import ApiWorld, api_world
from tests.helpers.receiver import Receiver

OBJECT_KINDS = ["estate", "building", "house", "facility"]


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings, estates=1, buildings=1,
                   houses=2) as built:
        with session_scope(built.engine) as session:
            for obj in built.world.objects.values():  # one change per object, by code
                session.execute(text(
                    "INSERT INTO change_log (county, object_kind, object_id, operation, "
                    "current) VALUES (:c, :k, :o, 'update', '{\"status\": \"in_use\"}')"),
                    {"c": obj.county, "k": obj.kind, "o": obj.code})
            session.execute(text(
                "INSERT INTO change_log (county, object_kind, object_id, operation, current) "
                "SELECT county, 'person_house', id::text, 'update', "
                "       jsonb_build_object('relation', relation) FROM person_house"))
        stamp_changes(built.engine)
        yield built


def _feed(engine: Engine, scope: str, kinds: list[str] | None,
          with_persons: bool = False) -> list[str]:
    """Cursors of the feed itself for this scope: what a webhook must deliver, no more."""
    out: list[str] = []
    after = 0
    with session_scope(engine) as session:
        parsed = with_county_keys(session, parse_scope(scope))
        while True:
            page = read_changes(session, scope=parsed, after=after, first=1000, kinds=kinds,
                                with_persons=with_persons)
            out += [c.cursor for c in page.changes]
            after = int(page.end_cursor)
            if not page.has_more:
                return out


def test_real_worker_and_a_receiver_that_fails_first(aw: ApiWorld,
                                                     test_settings: Settings) -> None:
    community = aw.world.communities[0]
    url = aw.engine.url.render_as_string(hide_password=False)
    with Receiver(fail_first=3) as rx:
        with session_scope(aw.engine) as session:
            hook, secret = add_webhook(session, test_settings, url=rx.url("/feed"),
                                       scope=community, kinds=None, actor="t", since=0,
                                       batch_size=4, base_delay_s=0.02, with_persons=True)
            hook_id = hook.id
        for _ in range(100):  # the worker's periodic round, run here (deterministic)
            done = deliver_webhooks(aw.engine, test_settings)
            pending = _pending(aw.engine, hook_id)
            if not done.queued and not pending:
                break
            run_until_settled(url, test_settings, aw.engine, pending)
        with session_scope(aw.engine) as session:
            remove_webhook(session, hook_id, "t")
    got = received_changes(rx.delivered, secret)
    assert [r.answered for r in rx.requests[:4]] == [503, 503, 503, 204]
    bodies = [json.loads(r.body) for r in rx.delivered]
    assert all(len(b["changes"]) <= 4 for b in bodies)
    assert [b["after"] for b in bodies[1:]] == [b["endCursor"] for b in bodies[:-1]]
    assert [c["cursor"] for c in got] == _feed(aw.engine, community, None, with_persons=True)
    person = [c for c in got if c["kind"] == "person_house"]
    assert person  # with --with-persons
    assert {c["regionCode"][:12] for c in got} == {community}


def _pending(engine: Engine, hook_id: int) -> list[int]:
    """The webhook's delivery in flight, as a list (empty when none)."""
    with session_scope(engine) as session:
        hook = session.get(Webhook, hook_id)
        return [hook.pending_job_id] if hook is not None and hook.pending_job_id else []


def test_dead_letter_holds_the_cursor_until_retried(aw: ApiWorld, test_settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL",
                       aw.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CIMHOUSE_SECRET_KEY", test_settings.secret_key_b64 or "")
    county = aw.world.communities[0][:6]
    with Receiver(always_fail=True, fail_status=500) as rx:
        with session_scope(aw.engine) as session:
            hook, _secret = add_webhook(session, test_settings, url=rx.url(), scope=county,
                                        kinds=["house"], actor="t", since=0, batch_size=2,
                                        max_attempts=2, base_delay_s=0)
            hook_id = hook.id
        deliver_webhooks(aw.engine, test_settings)
        (job_id,) = _pending(aw.engine, hook_id)
        for _ in range(2):
            attempt_delivery(aw.engine, test_settings, job_id)
        deliver_webhooks(aw.engine, test_settings)  # held: no second batch
        assert len(rx.requests) == 2
        with session_scope(aw.engine) as session:
            (row,) = [w for w in list_webhooks(session) if w["id"] == hook_id]
            assert row["status"] == "dead_letter"
            assert row["cursor"] == "0"
            assert session.get(Job, job_id).status == "dead_letter"  # type: ignore[union-attr]
        listed = CliRunner().invoke(app, ["jobs", "list", "--json", "--status", "dead_letter"])
        assert job_id in [j["id"] for j in json.loads(listed.stdout)], listed.output
        wide_console(monkeypatch)
        hooks = CliRunner().invoke(app, ["--lang", "zh", "webhooks", "list"])
        assert "死信" in hooks.output, hooks.output
        rx.always_fail = False
        assert CliRunner().invoke(app, ["jobs", "retry", str(job_id)]).exit_code == 0
        drain_webhook(aw.engine, test_settings, hook_id)
        with session_scope(aw.engine) as session:
            remove_webhook(session, hook_id, "t")
    first_ok = json.loads(rx.delivered[0].body)
    assert first_ok == json.loads(rx.requests[0].body)  # the same batch, sent again
    got = [c["cursor"] for r in rx.delivered for c in json.loads(r.body)["changes"]]
    assert got == _feed(aw.engine, county, ["house"])


def test_cli_add_shows_the_secret_once_and_validates(aw: ApiWorld, test_settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL",
                       aw.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CIMHOUSE_SECRET_KEY", test_settings.secret_key_b64 or "")
    added = CliRunner().invoke(app, ["webhooks", "add", "--url", "https://gis.example/in?t=1",
                                     "--scope", aw.world.communities[0], "--kinds",
                                     "house,code", "--json"])
    assert added.exit_code == 0, added.output
    made = json.loads(added.stdout)
    assert made["secret"].startswith("whsec_")
    listed = CliRunner().invoke(app, ["webhooks", "list", "--json"])
    assert made["secret"] not in listed.output
    (row,) = [w for w in json.loads(listed.stdout) if w["id"] == made["id"]]
    assert row["url"] == "https://gis.example/in"  # the query may hold a token
    assert row["kinds"] == ["house", "code"]
    with session_scope(aw.engine) as session:
        audit = session.execute(text("SELECT detail::text FROM audit_log "
                                     "WHERE action = 'add_webhook'")).scalars().all()
        assert not [d for d in audit if made["secret"] in d]
        with pytest.raises(InvalidInput):
            add_webhook(session, test_settings, url="https://x.example", scope="330402",
                        kinds=["person"], actor="t")  # persons need with_persons
        with pytest.raises(NotFound):
            add_webhook(session, test_settings, url="https://x.example", scope="330499",
                        kinds=None, actor="t")
    removed = CliRunner().invoke(app, ["webhooks", "remove", str(made["id"])])
    assert removed.exit_code == 0, removed.output
    gone = CliRunner().invoke(app, ["webhooks", "remove", str(made["id"])])
    assert gone.exit_code != 0
