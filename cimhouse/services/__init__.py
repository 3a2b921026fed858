"""Community services: facility coverage, gaps, the elderly living alone, the service index.

Start with :func:`cimhouse.services.coverage.compute_coverage` (nearest facility of each
category per estate, and whether it lies within the category's walking radius), then
:func:`cimhouse.services.gaps.find_gaps` (estates and communities lacking a category, ranked
by the people affected), :func:`cimhouse.services.service_index.compute_service_index`
(the per-community score) and
:func:`cimhouse.services.elderly.list_elderly_living_alone`. The defaults (radii, who is
affected, index weights) live in :mod:`cimhouse.services.policy`; docs/services.md explains
them. :func:`cimhouse.services.report.build_services_report` puts everything together for
``cimhouse report services``.

Example::

    with session_scope(engine) as session:
        gaps = find_gaps(session, parse_scope("330402"))
    gaps.estates[0].category, gaps.estates[0].affected
"""
