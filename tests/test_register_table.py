"""The one table of register columns drives header matching, staging and apply (issue 14.3)."""

from __future__ import annotations

import inspect
from pathlib import Path

from cimhouse.importers.register import apply, conflicts, rows, stored_conflicts, table
from cimhouse.importers.register.columns import header_field


def test_every_synonym_names_its_field_from_the_table() -> None:
    for entry in table.FIELDS:
        for synonym in entry.synonyms:
            assert header_field(synonym) == entry.name, synonym


def test_staging_layout_is_the_table_grouped_by_part() -> None:
    assert table.STAGE_COLUMNS[0] == "line"
    assert set(table.STAGE_COLUMNS) == {c.name for c in table.STAGED}
    parts = [next(c.part for c in table.STAGED if c.name == n) for n in table.STAGE_COLUMNS]
    assert parts == sorted(parts, key=table.PARTS.index)
    assert rows.STAGE_COLUMNS is table.STAGE_COLUMNS


def test_conflict_checks_and_apply_derive_from_the_table() -> None:
    assert [c for c, _, _ in conflicts.HOUSE_COLUMNS] == [c.name for c in table.agreeing()]
    assert set(stored_conflicts._FIELDS) == {
        t.column for _c, t in table.targets("house") if t.lifecycle}
    assert {t.column for _n, t in apply._HOUSE_TARGETS} >= {"area_m2", "use", "location"}


def test_no_sql_text_is_patched_with_replace() -> None:
    for module in (apply, conflicts, stored_conflicts, rows):
        assert ".replace(" not in inspect.getsource(module), module.__name__


def test_target_fragments_name_their_aliases() -> None:
    area = table.target_of("house", "area_m2")
    assert area.changed("s", "house", "area_m2") == \
        "house.area_m2 IS DISTINCT FROM COALESCE(s.area_m2, house.area_m2)"
    name = table.target_of("person", "name")
    assert name.new_value("EXCLUDED", "p") == "EXCLUDED.name"
    assert table.target_of("house", "use").insert_value("s", "house_use") == \
        "COALESCE(s.house_use, 'residential')"


def test_the_guide_lists_every_household_column_with_its_synonyms() -> None:
    """docs/register-import.md: each household field's row names all its Chinese headers."""
    guide = (Path(__file__).resolve().parent.parent / "docs" / "register-import.md").read_text(
        encoding="utf-8")
    for entry in (f for f in table.FIELDS if f.part == "household"):
        row = next(line for line in guide.splitlines() if line.startswith(f"| `{entry.name}` |"))
        listed = {s.strip() for s in row.split("|")[2].split(",")}
        chinese = {s for s in entry.synonyms if not s.isascii()}
        assert chinese <= listed, (entry.name, chinese - listed)
