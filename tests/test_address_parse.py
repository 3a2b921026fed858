"""Chinese address parsing against the real Zhejiang regions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cimhouse.addressing.gazetteer import Gazetteer, name_variants
from cimhouse.addressing.normalize import (
    chinese_to_int,
    normalize_estate_name,
    normalize_label,
    normalize_text,
    numerals_to_digits,
)
from cimhouse.addressing.parse_address import (
    ACCEPT_CONFIDENCE,
    building_address,
    house_address,
    parse_address,
)

BAIFUNONG = "330402007024"


@pytest.fixture(scope="module")
def gazetteer(engine: Engine) -> Gazetteer:
    with Session(engine) as session:
        return Gazetteer.load(session)


@pytest.mark.parametrize("address", [
    "浙江省嘉兴市南湖区建设街道百福弄社区居委会梅花苑小区3幢2单元501室",
    "嘉兴市南湖区建设街道百福弄社区梅花苑3#2单元501",
    "嘉兴南湖区百福弄社区梅花苑三栋二单元五〇一室",
    "南湖区建设街道百福弄社区梅花苑３号楼２单元５０１室",
    "建设街道百福弄社区梅花苑3座2单元501室",
    "嘉兴市南湖区百福弄社区梅花苑3-2-501",
    "浙江嘉兴南湖建设百福弄社区 梅花苑 3幢 2单元 501室",
])
def test_spellings_of_one_house(gazetteer: Gazetteer, address: str) -> None:
    parsed = parse_address(address, gazetteer)
    assert parsed.accepted, parsed.reasons
    assert (parsed.community_code, parsed.estate, parsed.building, parsed.unit, parsed.room) \
        == (BAIFUNONG, "梅花苑", "3", "2", "501")
    assert parsed.floor_number == 5
    assert parsed.county == "330402"
    assert house_address(gazetteer, parsed) == \
        "浙江省嘉兴市南湖区建设街道百福弄社区居委会 梅花苑 3幢 2单元 501室"


def test_confidence_drops_with_missing_and_abbreviated_levels(gazetteer: Gazetteer) -> None:
    full = parse_address("浙江省嘉兴市南湖区建设街道百福弄社区居委会梅花苑3幢501室", gazetteer)
    short = parse_address("嘉兴百福弄社区梅花苑3幢501室", gazetteer)
    assert full.confidence == 1.0
    assert ACCEPT_CONFIDENCE <= short.confidence < full.confidence


def test_rural_village_group_and_door_number(gazetteer: Gazetteer) -> None:
    parsed = parse_address("南湖区新丰镇竹林村三组15号", gazetteer)
    assert parsed.accepted
    assert parsed.community_code == "330402103215"
    assert (parsed.estate, parsed.building, parsed.room) == ("3组", "15", None)
    assert building_address(gazetteer, parsed).endswith("竹林村委会 3组 15幢")


def test_ambiguous_community_is_rejected_not_guessed(gazetteer: Gazetteer) -> None:
    parsed = parse_address("嘉兴市东苑社区金都花园3幢501室", gazetteer)
    assert not parsed.accepted
    assert parsed.community_code is None
    assert any("ambiguous" in r for r in parsed.reasons)
    narrowed = parse_address("海宁市东苑社区金都花园3幢501室", gazetteer)
    assert narrowed.accepted
    assert narrowed.community_code == "330481001013"


def test_missing_community_is_rejected(gazetteer: Gazetteer) -> None:
    parsed = parse_address("嘉兴市南湖区梅花苑3幢501室", gazetteer)
    assert not parsed.accepted
    assert any("community or village not found" in r for r in parsed.reasons)


def test_existing_estate_locates_the_house_at_a_penalty(gazetteer: Gazetteer) -> None:
    parsed = parse_address("梅花苑3幢501室", gazetteer, known_estates={"梅花苑": [BAIFUNONG]})
    assert parsed.accepted
    assert parsed.community_code == BAIFUNONG
    assert parsed.confidence < 0.9
    assert any("inferred" in r for r in parsed.reasons)
    twice = parse_address("梅花苑3幢501室", gazetteer,
                          known_estates={"梅花苑": [BAIFUNONG, "330402007029"]})
    assert not twice.accepted


def test_columns_take_part_and_must_agree(gazetteer: Gazetteer) -> None:
    parsed = parse_address(None, gazetteer, region_hint="南湖区建设街道百福弄社区",
                           parts={"estate": "梅花苑小区", "building": "三号楼", "unit": "2",
                                  "room": "0501"})
    assert parsed.accepted
    assert (parsed.building, parsed.room) == ("3", "501")
    clash = parse_address("南湖区百福弄社区梅花苑3幢501室", gazetteer,
                          parts={"building": "4"})
    assert not clash.accepted
    assert any("disagree" in r for r in clash.reasons)


def test_unreadable_rest_and_missing_building(gazetteer: Gazetteer) -> None:
    assert not parse_address("南湖区百福弄社区梅花苑东边那栋", gazetteer).accepted
    assert any("building number missing" in r
               for r in parse_address("南湖区百福弄社区梅花苑", gazetteer).reasons)


def test_estate_name_starting_like_a_region_is_kept(gazetteer: Gazetteer) -> None:
    parsed = parse_address("南湖花园3幢501室", gazetteer, region_hint="南湖区建设街道百福弄社区")
    assert parsed.accepted
    assert parsed.estate == "南湖花园"


def test_region_at_the_end_of_the_text_has_its_own_length(gazetteer: Gazetteer) -> None:
    """Regression: a longer spelling sliced past the end ('桐乡' of '桐乡市...') matched with
    the longer length, so the match claimed characters the text does not have."""
    match = gazetteer.match_at("嘉兴桐乡", 2, level=3)
    assert [(m.code, m.length) for m in match] == [("330483", 2)]


def test_normalisation_helpers() -> None:
    assert normalize_text(" 梅花苑　３＃ ") == "梅花苑3#"
    assert [chinese_to_int(t) for t in ("十", "十二", "二十", "二十五", "一百零一", "五〇一")] \
        == [10, 12, 20, 25, 101, 501]
    assert numerals_to_digits("三塔社区七星街道三组二十幢") == "三塔社区七星街道3组20幢"
    assert [normalize_label(t) for t in ("3号楼", "三栋", "3#", "0501室", "A3座", "第2单元")] \
        == ["3", "3", "3", "501", "A3", "2"]
    assert normalize_estate_name("梅花苑小区") == "梅花苑"
    assert normalize_estate_name("小区") == "小区"
    assert ("百福弄社区", False) in name_variants("百福弄社区居委会", 5)
    assert ("竹林村", False) in name_variants("竹林村村委会", 5)
    with pytest.raises(ValueError, match="not a Chinese numeral"):
        chinese_to_int("梅")
