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
    split_house(session, code: str, parts: int, *, actor: str) -> list[str]
    merge_houses(session, codes: list[str], *, actor: str) -> str
    relabel_object(session, code: str, /, *, actor: str, **labels) -> Estate|Building|House
    apply_region_changes(session, mapping: {old: new}, effective_date: date, *, actor: str,
                         names: {new: name} | None = None) -> RegionChangeResult
    lineage(session, code: str) -> LineageView   # .events, .ancestors, .descendants

All take a session, may flush, never commit: the caller owns the transaction.

Import each from its module, which is named like the function
(``from cimhouse.coding.assign_codes import assign_codes``); the package re-exports nothing,
so that ``cimhouse.coding.assign_codes`` stays the module and importing the pure
functions stays cheap.

Example::

    with session_scope(engine) as session:
        result = assign_codes(session, "330402007024", actor="alice")
        new_codes = split_house(session, "3304020070240010003001018", 2, actor="alice")
"""
