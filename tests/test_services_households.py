"""Statistics by household: sizes, 纯老户, elderly living alone, children 0-3 (issue 15)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from cimhouse.idnumber import make_id_number
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault
from cimhouse.scope import parse_scope
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.households import HouseholdStatistics, household_statistics

VAULT = PiiVault(b"k" * 32)
ADDR = "南湖区建设街道百福弄社区梅花苑3幢2单元{room}室"
HEADER = ["户号", "房屋坐落", "户主姓名", "姓名", "身份证号", "与户主关系", "人房关系"]
# Memberships start on the import date: the figures are asked for today.
AS_OF = dt.date.today()


def born(n: int, age: int) -> str:
    """An ID number of someone ``age`` years old today (born on the 1st of an earlier month
    or, in January, of January)."""
    birth = dt.date(AS_OF.year - age - (1 if AS_OF.month == 1 else 0), 1, 1 + n)
    return make_id_number("330402", birth, n, "M" if n % 2 else "F")


def rows() -> list[list[str]]:
    a201, a202, a203, a301 = (ADDR.format(room=r) for r in (201, 202, 203, 301))
    zhang, li, wang = born(1, 70), born(2, 68), born(3, 82)
    zhao, zhaoli, baby = born(5, 75), born(6, 41), born(7, 2)
    out = []
    for household, address, head, name, number, to_head in (
            ("H1", a201, "张建国", "张建国", zhang, "户主"),
            ("H1", a201, "张建国", "李秀英", li, "配偶"),
            ("H2", a202, "王芳", "王芳", wang, "户主"),
            ("H4", a301, "赵丽", "赵丽", zhaoli, "户主"),
            ("H4", a301, "赵丽", "孙小宝", baby, "子")):
        out += [[household, address, head, name, number, to_head, "户籍"],
                [household, address, head, name, number, to_head, "常住"]]
    # 赵大: his own household at 203, but he lives with his daughter's family at 301
    out += [["H3", a203, "赵大", "赵大", zhao, "户主", "户籍"],
            ["H3", a301, "赵大", "赵大", zhao, "户主", "常住"]]
    return out


def load(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "households.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows()])
    result = import_register(session, path, vault=VAULT)
    assert result.rejected == 0, result.reasons


def test_household_figures_use_households_and_actual_living_together(
        session: Session, tmp_path: Path) -> None:
    load(session, tmp_path)
    stats = household_statistics(session, parse_scope("330402"), as_of=AS_OF)
    assert stats.households == 4
    assert stats.by_size == {1: 2, 2: 2}
    assert stats.elderly_only == 3  # H1 (70, 68), H2 (82), H3 (75)
    assert stats.elderly_living_alone == 1  # 王芳; 赵大 lives with his daughter's family
    assert stats.with_children_0_3 == 1  # H4
    community = household_statistics(session, parse_scope("330402007024"), as_of=AS_OF)
    assert community == stats


def test_household_figures_stay_in_scope(session: Session, tmp_path: Path) -> None:
    load(session, tmp_path)
    for other in ("330411", "330402001001", "330421"):
        assert household_statistics(session, parse_scope(other), as_of=AS_OF) == \
            HouseholdStatistics()


def separated_rows() -> list[list[str]]:
    """人户分离 and a household known only from the register (no living relation)."""
    a = {r: ADDR.format(room=r) for r in (401, 402, 501, 601)}
    qian, qianzi, sun = born(11, 80), born(12, 50), born(13, 85)
    zhou, zhouxiao = born(14, 30), born(15, 3)
    return [
        # 钱老 is registered with his son's household at 401 but lives alone at 402
        ["H5", a[401], "钱老", "钱老", qian, "户主", "户籍"],
        ["H5", a[402], "钱老", "钱老", qian, "户主", "常住"],
        ["H5", a[401], "钱老", "钱子", qianzi, "子", "户籍"],
        ["H5", a[401], "钱老", "钱子", qianzi, "子", "常住"],
        # 孙奶奶: her household at 501 is all the register says about where she lives
        ["H6", a[501], "孙奶奶", "孙奶奶", sun, "户主", "产权"],
        # a child of 3 is no longer 0-3 (under 3)
        ["H7", a[601], "周母", "周母", zhou, "户主", "常住"],
        ["H7", a[601], "周母", "周小", zhouxiao, "子", "常住"],
    ]


def load_rows(session: Session, tmp_path: Path, data: list[list[str]]) -> None:
    path = tmp_path / "separated.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *data])
    result = import_register(session, path, vault=VAULT)
    assert result.rejected == 0, result.reasons


def test_living_alone_is_where_people_live_whatever_the_register_says(
        session: Session, tmp_path: Path) -> None:
    load_rows(session, tmp_path, separated_rows())
    people = {p.address[-4:] if p.address else "": p for p in list_elderly_living_alone(
        session, parse_scope("330402"), as_of=AS_OF)}
    assert sorted(people) == ["402室", "501室"]
    qian = people["402室"]  # lives alone at 402, registered with his son at 401: 人户分离
    assert (qian.household_number, qian.household_size, qian.registered_here) == ("H5", 2, False)
    sun = people["501室"]  # no 常住/户籍 relation: she lives where her household is
    assert (sun.household_number, sun.household_size, sun.registered_here) == ("H6", 1, True)
    stats = household_statistics(session, parse_scope("330402"), as_of=AS_OF)
    assert stats.by_size == {1: 1, 2: 2}
    assert stats.elderly_living_alone == 1  # H6; H5 has two members
    # another county sees none of it
    assert list_elderly_living_alone(session, parse_scope("330411"), as_of=AS_OF) == []


def test_children_0_3_means_under_3_in_household_figures(session: Session,
                                                         tmp_path: Path) -> None:
    """Regression: the household figures counted a child of 3 (the services' group 0-3 is
    under 3, policy.CHILDREN_0_3)."""
    load_rows(session, tmp_path, separated_rows())
    assert household_statistics(session, parse_scope("330402"),
                                as_of=AS_OF).with_children_0_3 == 0
