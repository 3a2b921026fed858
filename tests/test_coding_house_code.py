"""Pure house-code functions: property tests (hypothesis) and the error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimhouse.checksum import mod11_2
from cimhouse.coding.crossref import (
    realestate_unit_parts,
    validate_address_code,
    validate_external_ids,
    validate_ifc_global_id,
    validate_realestate_unit_no,
)
from cimhouse.coding.house_code import (
    decode,
    display,
    encode,
    is_valid,
    normalize,
    problem,
    validate,
)
from cimhouse.errors import InvalidInput

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
region_codes = st.builds(
    lambda province, middle, community: province + middle + community,
    st.integers(11, 99).map(str),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
    st.integers(1, 999).map(lambda n: f"{n:03d}"),
)


@st.composite
def parts(draw: st.DrawFn) -> tuple[str, int, int, int]:
    region = draw(region_codes)
    building = draw(st.integers(0, 9999))
    estate = draw(st.integers(0 if building else 1, 999))
    house = draw(st.integers(0, 99999)) if building else 0
    return region, estate, building, house


@settings(max_examples=300)
@given(parts())
def test_round_trip(value: tuple[str, int, int, int]) -> None:
    code = encode(*value)
    decoded = decode(code)
    assert (decoded.region_code, decoded.estate_number, decoded.building_number,
            decoded.house_number) == value
    assert decoded.code == code
    assert validate(display(code)) == code
    fullwidth = display(code).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    assert normalize(fullwidth.replace("-", " ").lower()) == code
    kind = decoded.object_kind
    assert kind == ("house" if value[3] else "building" if value[2] else "estate")
    if kind == "house":
        assert decode(decoded.building_code or "").object_kind == "building"


@settings(max_examples=60)
@given(parts())
def test_every_single_substitution_is_detected(value: tuple[str, int, int, int]) -> None:
    code = encode(*value)
    for position in range(25):
        alphabet = "0123456789X" if position == 24 else "0123456789"
        for replacement in alphabet:
            if replacement == code[position]:
                continue
            altered = code[:position] + replacement + code[position + 1:]
            assert not is_valid(altered), (code, altered)
            if position < 24:  # the checksum itself catches it, not only a structure rule
                assert mod11_2(altered[:24]) != altered[24]


@settings(max_examples=200)
@given(parts())
def test_every_adjacent_transposition_is_detected(value: tuple[str, int, int, int]) -> None:
    code = encode(*value)
    for position in range(24):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        altered = code[:position] + b + a + code[position + 2:]
        assert not is_valid(altered), (code, altered)


def test_error_messages_say_what_and_where() -> None:
    with pytest.raises(InvalidInput, match="wrong length: 24 characters"):
        validate("330402007024001000300101")
    with pytest.raises(InvalidInput, match=r"non-digit 'A' at position 13") as info:
        validate("330402007024A010003001018")
    assert info.value.detail["position"] == 13
    with pytest.raises(InvalidInput, match=r"got '3', expected '8'"):
        validate("330402007024-001-0003-00101-3")
    with pytest.raises(InvalidInput, match="position 25 must be 0-9 or X"):
        validate("330402007024-001-0003-00101-Y")
    assert problem("330402007024-001-0003-00101-8") is None
    assert "community/village part" in (problem(encode_unchecked("330402007000", 1, 0, 0))
                                        or "")
    assert "house number without a building" in (
        problem(encode_unchecked("330402007024", 1, 0, 5)) or "")
    assert "names no object" in (problem(encode_unchecked("330402007024", 0, 0, 0)) or "")
    with pytest.raises(InvalidInput, match="estate number 1000 out of range"):
        encode("330402007024", 1000, 1, 1)
    assert validate("330402007024-001-0003-00101-8 ") == "3304020070240010003001018"
    assert display("3304020070240010003001018") == "330402007024-001-0003-00101-8"


def encode_unchecked(region: str, estate: int, building: int, house: int) -> str:
    body = f"{region}{estate:03d}{building:04d}{house:05d}"
    return body + mod11_2(body)


def test_lowercase_x_check_character() -> None:
    body = next(f"330402007024001000300{n:03d}" for n in range(1000)
                if mod11_2(f"330402007024001000300{n:03d}") == "X")
    assert validate(body + "x") == body + "X"


def test_realestate_unit_number() -> None:
    assert validate_realestate_unit_no("330402001002GB00012F00030101") == \
        "330402001002GB00012F00030101"
    assert realestate_unit_parts("330402001002JC00012F00030101")["ownership"] == "J"
    assert validate_realestate_unit_no("330402001002GB00012W00000000").endswith("W00000000")
    for bad, where in (("330402001002AB00012F00030101", "position 13"),
                       ("330402001002G100012F00030101", "position 14"),
                       ("330402001002GB00012X00030101", "position 20"),
                       ("33040200100AGB00012F00030101", "positions 10-12"),
                       ("330402001002GB00012W00030101", "positions 21-28"),
                       ("330402001002GB00012F0003010", "wrong length 27")):
        with pytest.raises(InvalidInput, match=where):
            validate_realestate_unit_no(bad)


def test_address_code_ifc_and_external_ids() -> None:
    assert validate_address_code("330402 0070 2400 1003") == "330402007024001003"
    with pytest.raises(InvalidInput, match="wrong length"):
        validate_address_code("33040")
    with pytest.raises(InvalidInput, match="position 7"):
        validate_address_code("330402_07024001")
    with pytest.raises(InvalidInput, match="county code"):
        validate_address_code("AB0402007024001")
    assert validate_ifc_global_id("0K7w7JN4H2Og3HyJd4cBJa") == "0K7w7JN4H2Og3HyJd4cBJa"
    with pytest.raises(InvalidInput, match="position 5"):
        validate_ifc_global_id("0K7w-JN4H2Og3HyJd4cBJa")
    with pytest.raises(InvalidInput, match="first character"):
        validate_ifc_global_id("4K7w7JN4H2Og3HyJd4cBJa")
    with pytest.raises(InvalidInput, match="wrong length 21"):
        validate_ifc_global_id("0K7w7JN4H2Og3HyJd4cBJ")
    assert validate_external_ids({"housing_register": " FC-001 "}) == {
        "housing_register": "FC-001"}
    with pytest.raises(InvalidInput, match="system name"):
        validate_external_ids({"Bad System": "1"})
    with pytest.raises(InvalidInput, match="printable"):
        validate_external_ids({"register": ""})
