"""The unified urban-rural house code (docs/house-code.md): parse, assign, run its lifecycle.

Where to start
--------------
Pure functions, no database (:mod:`~cimhouse.coding.house_code`, :mod:`~cimhouse.coding.crossref`)::

    normalize(raw) -> str          validate(raw) -> str (InvalidInput: what and where)
    encode(region_code, estate, building, house) -> str
    decode(raw) -> HouseCode       (.object_kind, .region_path, .estate_code, .as_dict())
    display(code) -> "330402007024-001-0003-00101-8"
    validate_realestate_unit_no / validate_address_code / validate_ifc_global_id /
    validate_external_ids

Assignment (importers call exactly this, inside their transaction)::

    assign_codes(session, scope: str | Scope, *, actor: str, dry_run: bool = False,
                 job_id: int | None = None, on_progress=None) -> AssignResult

Jobs on the procrastinate queue (:mod:`~cimhouse.coding.jobs`; GraphQL
``startCodeAssignment`` / ``cancelJob``)::

    enqueue_code_assignment(session, scope: str, actor: str, *, dry_run=False) -> Job
    cancel_job(session, job_id: int, actor: str) -> Job
    make_app(settings) -> procrastinate.App          # run by ``cimhouse worker``

Lifecycle (GraphQL ``retireHouse`` / ``splitHouse`` / ``mergeHouses``)::

    retire_house(session, code: str, status: str, *, actor: str, reason: str) -> House
    change_status(session, code: str, status: str, *, actor: str, reason=None)  # non-retiring
    split_house(session, code: str, parts: int, *, actor: str) -> list[str]
    merge_houses(session, codes: list[str], *, actor: str) -> str
    relabel_object(session, code: str, /, *, actor: str, **labels) -> Estate|Building|House
    apply_region_changes(session, mapping: {old: new}, effective_date: date, *, actor: str,
                         names: {new: name} | None = None) -> RegionChangeResult
    lineage(session, code: str) -> LineageView   # .events, .ancestors, .descendants

All take a session, may flush, never commit: the caller owns the transaction. Each module
is named like its function, and the package re-exports the functions: the package
attribute ``cimhouse.coding.assign_codes`` is therefore the *function*; write
``from cimhouse.coding.assign_codes import assign_codes`` or
``from cimhouse.coding import assign_codes`` (both give the function).

Example::

    with session_scope(engine) as session:
        result = assign_codes(session, "330402007024", actor="alice")
        new_codes = split_house(session, "3304020070240010003001018", 2, actor="alice")
"""

from typing import TYPE_CHECKING

from cimhouse.lazy import lazy_exports

if TYPE_CHECKING:
    from cimhouse.coding.apply_region_changes import RegionChangeResult, apply_region_changes
    from cimhouse.coding.assign_codes import AssignResult, assign_codes
    from cimhouse.coding.change_status import change_status
    from cimhouse.coding.crossref import (
        validate_address_code,
        validate_external_ids,
        validate_ifc_global_id,
        validate_realestate_unit_no,
    )
    from cimhouse.coding.house_code import HouseCode, decode, display, encode, normalize, validate
    from cimhouse.coding.jobs import cancel_job, enqueue_code_assignment, make_app
    from cimhouse.coding.lineage import LineageEdge, LineageView, lineage
    from cimhouse.coding.merge_houses import merge_houses
    from cimhouse.coding.relabel_object import relabel, relabel_object
    from cimhouse.coding.retire_house import retire_house
    from cimhouse.coding.split_house import split_house

# imported on first use: ``codes validate`` needs house_code only, not SQLAlchemy
lazy_exports(__name__, {
    "AssignResult": "cimhouse.coding.assign_codes",
    "HouseCode": "cimhouse.coding.house_code",
    "LineageEdge": "cimhouse.coding.lineage",
    "LineageView": "cimhouse.coding.lineage",
    "RegionChangeResult": "cimhouse.coding.apply_region_changes",
    "apply_region_changes": "cimhouse.coding.apply_region_changes",
    "assign_codes": "cimhouse.coding.assign_codes",
    "cancel_job": "cimhouse.coding.jobs",
    "change_status": "cimhouse.coding.change_status",
    "decode": "cimhouse.coding.house_code",
    "display": "cimhouse.coding.house_code",
    "encode": "cimhouse.coding.house_code",
    "enqueue_code_assignment": "cimhouse.coding.jobs",
    "lineage": "cimhouse.coding.lineage",
    "make_app": "cimhouse.coding.jobs",
    "merge_houses": "cimhouse.coding.merge_houses",
    "normalize": "cimhouse.coding.house_code",
    "relabel": "cimhouse.coding.relabel_object",
    "relabel_object": "cimhouse.coding.relabel_object",
    "retire_house": "cimhouse.coding.retire_house",
    "split_house": "cimhouse.coding.split_house",
    "validate": "cimhouse.coding.house_code",
    "validate_address_code": "cimhouse.coding.crossref",
    "validate_external_ids": "cimhouse.coding.crossref",
    "validate_ifc_global_id": "cimhouse.coding.crossref",
    "validate_realestate_unit_no": "cimhouse.coding.crossref",
})

__all__ = [
    "AssignResult", "HouseCode", "LineageEdge", "LineageView", "RegionChangeResult",
    "apply_region_changes", "assign_codes", "cancel_job", "change_status", "decode",
    "display", "encode",
    "enqueue_code_assignment", "lineage", "make_app", "merge_houses", "normalize", "relabel",
    "relabel_object", "retire_house", "split_house", "validate", "validate_address_code",
    "validate_external_ids", "validate_ifc_global_id", "validate_realestate_unit_no",
]
