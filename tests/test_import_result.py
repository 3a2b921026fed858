"""One importer result base (cimhouse/importers/result.py): the boundary, project-boundary,
project and facility imports report through it, with the summaries (what the CLI prints and
``import_run.summary`` keeps) exactly as before, keys in the same order."""

from __future__ import annotations

from pathlib import Path

from cimhouse.importers.boundaries.import_boundaries import BoundaryImportResult
from cimhouse.importers.boundaries.reading import BoundaryUpdateResult
from cimhouse.importers.facilities.import_facilities import FacilityImportResult
from cimhouse.importers.rejects import RejectedRow
from cimhouse.importers.result import ImportResult, UpsertResult
from cimhouse.programme.import_projects import ProjectImportResult

REJECT = RejectedRow(3, {"名称": "x"}, ["缺少类别 / category missing"])


def test_every_list_result_shares_the_base() -> None:
    for kind in (BoundaryUpdateResult, BoundaryImportResult, FacilityImportResult,
                 ProjectImportResult):
        assert issubclass(kind, ImportResult), kind
    assert issubclass(ProjectImportResult, UpsertResult)
    assert issubclass(FacilityImportResult, UpsertResult)


def test_summaries_are_unchanged() -> None:
    report = Path("/tmp/rejects.csv")
    project = ProjectImportResult(read=5, added=2, updated=1, rejected=[REJECT],
                                  import_run_id=7, report_path=report)
    assert list(project.summary().items()) == [
        ("read", 5), ("accepted", 4), ("rejected", 1), ("added", 2), ("updated", 1),
        ("unchanged", 1), ("import_run_id", 7), ("report", str(report))]
    boundary = BoundaryImportResult(read=4, updated=2, buildings_assigned=9)
    assert list(boundary.summary().items()) == [
        ("read", 4), ("accepted", 4), ("rejected", 0), ("updated", 2), ("unchanged", 2),
        ("import_run_id", None), ("report", None), ("buildings_assigned", 9)]
    facility = FacilityImportResult(read=3, added=1, conflicts=1, rejected=[REJECT],
                                    matched_by={"name": 1})
    assert list(facility.summary().items()) == [
        ("read", 3), ("accepted", 2), ("rejected", 1), ("added", 1), ("updated", 0),
        ("unchanged", 1), ("conflicts", 1), ("matched_by", {"name": 1}),
        ("import_run_id", None), ("report", None)]
    assert project.accepted + len(project.rejected) == project.read
