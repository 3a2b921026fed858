"""Bearer tokens: issue (shown once, stored hashed), list, revoke, authenticate; the CLI."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.auth.principal import Principal, parse_roles
from cimhouse.auth.tokens import (
    authenticate,
    bearer_token,
    create_token,
    list_principals,
    revoke_token,
)
from cimhouse.cli.main import app
from cimhouse.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    exit_code,
)
from cimhouse.schema import ApiPrincipal, AuditLog
from cimhouse.schema.vocab import Role
from cimhouse.scope import parse_scope


def test_token_is_stored_only_as_hash(session: Session) -> None:
    issued = create_token(session, name="gis", scope="330402", roles=["reader"], actor="t")
    row = session.scalars(select(ApiPrincipal).where(ApiPrincipal.name == "gis")).one()
    assert row.token_hash == hashlib.sha256(issued.token.encode()).digest()
    assert issued.token not in str(session.scalars(select(AuditLog.detail)).all())
    principal = authenticate(session, issued.token)
    assert principal.scope == parse_scope("330402")
    assert principal.roles == {Role.READER}
    assert row.last_used_at is not None


def test_six_scope_levels_and_bad_input(session: Session) -> None:
    estate = "330402007024001000000000"
    from cimhouse.checksum import mod11_2

    for index, scope in enumerate(["33", "3304", "330402", "330402007", "330402007024",
                                   estate + mod11_2(estate)]):
        issued = create_token(session, name=f"s{index}", scope=scope, roles=["reader"],
                              actor="t")
        assert authenticate(session, issued.token).scope.level == index + 1
    with pytest.raises(InvalidInput):
        create_token(session, name="x", scope="3304021", roles=["reader"], actor="t")
    with pytest.raises(InvalidInput):
        create_token(session, name="x", scope="33", roles=["superuser"], actor="t")
    with pytest.raises(Conflict):
        create_token(session, name="s0", scope="33", roles=["reader"], actor="t")


def test_revoked_or_unknown_tokens_fail_alike(session: Session) -> None:
    issued = create_token(session, name="old", scope="33", roles=["reader"], actor="t")
    revoke_token(session, "old", actor="t")
    with pytest.raises(Unauthenticated) as revoked:
        authenticate(session, issued.token)
    with pytest.raises(Unauthenticated) as unknown:
        authenticate(session, "cimh_unknown")
    assert revoked.value.message == unknown.value.message
    with pytest.raises(Conflict):
        revoke_token(session, "old", actor="t")
    with pytest.raises(NotFound):
        revoke_token(session, "never", actor="t")
    assert "old" not in [p.name for p in list_principals(session)]
    assert "old" in [p.name for p in list_principals(session, include_revoked=True)]


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    for bad in (None, "", "Basic abc", "Bearer "):
        with pytest.raises(Unauthenticated):
            bearer_token(bad)


def test_roles_imply_weaker_ones() -> None:
    pii = Principal(1, "p", parse_scope("33"), parse_roles(["pii_reader"]))
    assert pii.has(Role.PERSON_READER)
    assert pii.has(Role.READER)
    assert not pii.has(Role.CODER)
    with pytest.raises(PermissionDenied):
        pii.require(Role.IMPORTER)
    admin = Principal(2, "a", parse_scope("33"), parse_roles(["admin"]))
    assert all(admin.has(r) for r in Role)


def test_cli_create_list_revoke(fresh_db: str,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", fresh_db)
    runner = CliRunner()
    made = runner.invoke(app, ["tokens", "create", "--name", "portal", "--scope", "3304",
                               "--role", "reader", "--role", "person_reader", "--json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.stdout)["token"]
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    assert json.loads(listed.stdout)[0]["roles"] == ["person_reader", "reader"]
    assert token not in listed.stdout
    assert runner.invoke(app, ["tokens", "revoke", "portal"]).exit_code == 0
    bad = runner.invoke(app, ["tokens", "create", "--name", "x", "--scope", "abc",
                              "--role", "reader"])
    assert bad.exit_code == exit_code(InvalidInput(""))
    for command in (["tokens", "create", "--help"], ["tokens", "list", "--help"],
                    ["tokens", "revoke", "--help"], ["export-schema", "--help"]):
        assert "Example" in runner.invoke(app, command).stdout
