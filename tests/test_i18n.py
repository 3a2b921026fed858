"""Chinese and English (issue 18): every message has its translation, the language follows
--lang/LANG (CLI) and Accept-Language (API), vocabularies accept and show Chinese."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster
from cimhouse.errors import InvalidInput
from cimhouse.i18n import (
    _,
    bilingual,
    language_from_accept,
    language_from_env,
    language_scope,
    normalize_language,
    translate,
)
from cimhouse.i18n.catalogs import all_messages, missing_translations, read_catalog
from cimhouse.schema.vocab import (
    ZH_NAMES,
    FacilityCategory,
    LifecycleStatus,
    RelationKind,
    vocab_label,
    vocab_value,
)
from cimhouse.services.policy import parse_radius_options
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, api_world

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def test_every_message_has_its_chinese_translation() -> None:
    """Fails when a ``_("...")`` or a CLI help text has no msgstr: run
    ``python -m cimhouse.i18n update``, fill the msgstr, ``compile``."""
    messages = all_messages()
    assert len(messages) > 250  # the CLI tree and the code were both read
    assert missing_translations(messages) == []


def test_translations_keep_the_placeholders() -> None:
    for entry in read_catalog():
        if isinstance(entry.id, str) and isinstance(entry.string, str) and entry.id:
            assert sorted(PLACEHOLDER.findall(entry.id)) == \
                sorted(PLACEHOLDER.findall(entry.string)), entry.id


def test_message_renders_in_both_languages() -> None:
    with language_scope("zh"):
        message = _("job {job_id} not found", job_id=17)
        assert message == "作业 17 不存在"
    assert message.render("en") == "job 17 not found"
    with language_scope("en"):
        assert _("wrote {path}", path="r.csv") == "wrote r.csv"
    assert translate("no such message in the catalog", "zh") == "no such message in the catalog"


def test_language_choice() -> None:
    assert language_from_env({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert language_from_env({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"  # POSIX order
    assert language_from_env({"CIMHOUSE_LANG": "zh", "LC_ALL": "C"}) == "zh"
    assert language_from_env({}) == "en"
    assert language_from_accept("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language_from_accept("en-US,en;q=0.9,zh;q=0.5") == "en"
    assert language_from_accept("fr-FR") == "en"
    assert language_from_accept(None) == "en"
    assert language_from_accept("fr, zh;q=0") == "en"
    assert normalize_language("中文") == "zh"
    assert normalize_language("de") is None


@pytest.mark.parametrize(("word", "vocabulary", "value"), [
    ("托育", FacilityCategory, "childcare"), ("养老", FacilityCategory, "elderly_care"),
    ("在用", LifecycleStatus, "in_use"), ("拆除", LifecycleStatus, "demolished"),
    ("产权", RelationKind, "owner"), ("户籍", RelationKind, "registered"),
    ("常住", RelationKind, "resident"), ("租住", RelationKind, "tenant"),
    ("elderly_care", FacilityCategory, "elderly_care"), ("OWNER", RelationKind, "owner"),
])
def test_vocabularies_accept_chinese(word: str, vocabulary: type, value: str) -> None:
    assert vocab_value(vocabulary, word) == value


def test_every_vocabulary_value_has_a_chinese_name() -> None:
    for vocabulary, names in ZH_NAMES.items():
        assert set(names) == {member.value for member in vocabulary}, vocabulary
    assert vocab_label(FacilityCategory, "childcare", "zh") == "托育"
    assert vocab_label(FacilityCategory, "childcare", "en") == "childcare"
    with pytest.raises(InvalidInput) as refused:
        vocab_value(FacilityCategory, "菜场")
    assert "托育" in refused.value.message  # the refusal lists the words it knows


def test_radius_option_takes_chinese_categories() -> None:
    assert parse_radius_options(["托育=250", "medical=800"]) == {"childcare": 250.0,
                                                                 "medical": 800.0}
    with pytest.raises(InvalidInput):
        parse_radius_options(["托育"])


@pytest.fixture(scope="module")
def aw(pg_cluster: EmbeddedCluster, template_db: str,
       test_settings: Settings) -> Iterator[ApiWorld]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        yield built


def test_api_errors_in_both_languages(aw: ApiWorld, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    query = {"query": "{ persons { totalCount } }"}
    auth = {"Authorization": f"Bearer {aw.tokens['town']}"}
    english = client.post("/graphql", json=query, headers=auth).json()["errors"][0]
    assert english["extensions"]["code"] == "FORBIDDEN"
    assert english["message"].startswith("this operation needs the")
    assert english["extensions"]["message_zh"].startswith("此操作需要")
    assert english["extensions"]["message_en"] == english["message"]
    chinese = client.post("/graphql", json=query,
                          headers={**auth, "Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert chinese["errors"][0]["message"] == english["extensions"]["message_zh"]
    unauthenticated = client.post("/graphql", json=query,
                                  headers={"Accept-Language": "zh-CN"})
    assert unauthenticated.status_code == 401
    error = unauthenticated.json()["errors"][0]
    assert error["message"].startswith("需要 Authorization")
    assert error["extensions"]["message_en"].startswith("an Authorization")


def test_report_headers_chinese_by_default(tmp_path: Path) -> None:
    import datetime as dt

    from cimhouse.services.report import ServicesReport, write_report
    report = ServicesReport(scope="330402", as_of=dt.date(2026, 6, 30),
                            radii_m={"childcare": 300.0}, weights={"childcare": 2.0})
    report.tables["coverage"] = [{"estate_code": "330402007024001", "category": "childcare",
                                  "covered": False, "childcare_share": 0.5}]
    chinese = load_workbook(write_report(report, "xlsx", tmp_path / "zh.xlsx")[0])
    assert chinese.sheetnames == ["说明", "覆盖情况"]
    rows = list(chinese["覆盖情况"].values)
    assert rows[0] == ("小区编码", "类别", "已覆盖", "托育覆盖占比")
    assert rows[1][1:3] == ("托育", "否")
    english = load_workbook(write_report(report, "xlsx", tmp_path / "en.xlsx",
                                         language="en")[0])
    assert english.sheetnames == ["about", "coverage"]
    assert next(iter(english["coverage"].values)) == ("estate_code", "category", "covered",
                                                   "childcare_share")


ERROR_CLASSES = {"CimhouseError", "InvalidInput", "NotFound", "Conflict", "PermissionDenied",
                 "Unauthenticated", "DatabaseUnavailable", "TimedOut", "PayloadTooLarge",
                 "QueryTooExpensive", "DeadlineExceeded", "ConfigurationError"}
PACKAGE = Path(__file__).resolve().parent.parent / "cimhouse"


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            yield node, name


def test_every_error_message_goes_through_the_catalog() -> None:
    """A domain error made from a literal or an f-string is English only: its message must be
    ``_("...", name=value)`` (extraction then finds it and the test above wants its Chinese)."""
    bare = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for call, name in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name in ERROR_CLASSES and call.args and isinstance(
                    call.args[0], ast.Constant | ast.JoinedStr):
                bare.append(f"{path.relative_to(PACKAGE.parent)}:{call.lineno}")
    assert bare == []


def test_no_message_hides_in_an_f_string() -> None:
    """Babel's extractor cannot see a ``_()`` call inside an f-string (Python 3.11): such a
    message would never reach the catalog."""
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FormattedValue):
                hidden += [f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
                           for call, name in _calls(node.value) if name == "_"]
    assert hidden == []


def test_domain_errors_render_in_both_languages() -> None:
    from cimhouse.idnumber import parse_id_number

    with pytest.raises(InvalidInput) as refused:
        parse_id_number("12345")
    assert refused.value.message.render("zh") == "身份证号应为 18 位，实际 5 位"  # type: ignore[attr-defined]
    assert refused.value.message.render("en") == "ID number must have 18 characters, got 5"  # type: ignore[attr-defined]
    assert bilingual(refused.value.message) == ("身份证号应为 18 位，实际 5 位 / "
                                                "ID number must have 18 characters, got 5")


def test_click_usage_errors_in_chinese() -> None:
    from cimhouse.cli.usage import translate_message

    with language_scope("zh"):
        assert translate_message("Missing option '--scope'.") == "缺少选项 '--scope'。"
        assert translate_message("No such option: --firs (Possible options: --first)") == \
            "没有此选项：--firs（是否想用 --first？）"
        assert translate_message("Invalid value for '--first': Input should be a valid "
                                 "integer, unable to parse string as an integer") == \
            "'--first' 的值无效：不是整数。"
        assert translate_message("Got unexpected extra argument(s) (x)") == "多余的参数：x"
        assert translate_message("something click never says") == "something click never says"


def test_graphql_input_errors_carry_chinese(aw: ApiWorld, test_settings: Settings) -> None:
    client = TestClient(create_app(test_settings, engine=aw.engine))
    auth = {"Authorization": f"Bearer {aw.tokens['town']}"}
    query = {"query": '{ lookup(code: "123") { code } }'}
    error = client.post("/graphql", json=query, headers=auth).json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "长度错误" in error["extensions"]["message_zh"]
    chinese = client.post("/graphql", json=query,
                          headers={**auth, "Accept-Language": "zh-CN"}).json()["errors"][0]
    assert chinese["message"] == error["extensions"]["message_zh"]
