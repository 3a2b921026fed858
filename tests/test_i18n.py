"""Chinese and English (issue 18): every message has its translation, the language follows
--lang/LANG (CLI) and Accept-Language (API), vocabularies accept and show Chinese."""

from __future__ import annotations

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
