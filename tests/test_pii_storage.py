"""ID numbers are stored encrypted with a keyed hash; the plain number is nowhere in the DB."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.idnumber import make_id_number, parse_id_number
from cimhouse.pii import PiiVault
from cimhouse.schema import Person
from cimhouse.settings import Settings


def make_person(vault: PiiVault, number: str, phone: str) -> Person:
    info = parse_id_number(number)
    return Person(name="测试甲", id_hash=vault.lookup_hash(number),
                  id_cipher=vault.encrypt(number), id_masked=info.masked,
                  gender=info.gender, birth_date=info.birth_date,
                  phone_cipher=vault.encrypt(phone), phone_masked="138****5678")


def test_plain_id_number_never_stored(session: Session, test_settings: Settings) -> None:
    vault = PiiVault.from_settings(test_settings)
    number = make_id_number("330402", dt.date(1941, 5, 6), 37, "F")
    session.add(make_person(vault, number, "13812345678"))
    session.flush()
    dump = session.execute(text(
        "SELECT string_agg(t::text, '|') FROM person t")).scalar() or ""
    hexdump = session.execute(text(
        "SELECT string_agg(encode(id_cipher, 'escape'), '|') FROM person")).scalar() or ""
    assert number not in dump
    assert number not in hexdump
    assert "13812345678" not in dump
    found = session.scalar(select(Person).where(Person.id_hash == vault.lookup_hash(number)))
    assert found is not None
    assert vault.decrypt(found.id_cipher) == number
    assert found.id_masked == number[:6] + "********" + number[-4:]
    assert (found.gender, found.birth_date) == ("F", dt.date(1941, 5, 6))


def test_lookup_hash_depends_on_key(test_settings: Settings) -> None:
    number = make_id_number("330402", dt.date(1990, 1, 1), 1, "M")
    other = PiiVault(b"o" * 32)
    assert other.lookup_hash(number) != PiiVault.from_settings(test_settings).lookup_hash(number)
    assert other.lookup_hash(number.lower()) == other.lookup_hash(number)


@pytest.mark.parametrize(("raw", "reason"), [
    ("33040219900101", "length"),
    ("3304021990010112A4", "character"),
    ("990402199001011234", "region"),
    ("330402199002301234", "birth_date"),
    ("110105194912310021", "checksum"),
])
def test_invalid_numbers_say_why_without_leaking(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_id_number(raw)
    assert err.value.detail["reason"] == reason
    assert raw not in str(err.value)
    assert raw not in repr(err.value.detail)


def test_generated_key_file_is_private(tmp_path: object) -> None:
    from pathlib import Path

    settings = Settings(var_dir=Path(str(tmp_path)))
    vault = PiiVault.from_settings(settings)
    assert (settings.secret_key_path.stat().st_mode & 0o777) == 0o600
    assert PiiVault.from_settings(settings).lookup_hash("x") == vault.lookup_hash("x")
