"""The future-community programme (未来社区): projects, progress against the policy's targets,
and the gap-filling (补短板) project library.

Start with :func:`cimhouse.programme.upsert_project.upsert_project` (one project, its
communities and estates, history in ``change_log``),
:func:`cimhouse.programme.import_projects.import_projects` (the file importer),
:func:`cimhouse.programme.progress.compute_progress` (the figures the policy names, per county
and street, and the distance to each target) and :mod:`cimhouse.programme.gap_projects`
(survey, score, gap, project, facility, score again). docs/programme.md explains the
entities, the targets and the formulas.

Example::

    with session_scope(engine) as session:
        progress = compute_progress(session, parse_scope("3304"), "3304",
                                    as_of=dt.date(2023, 12, 31))
    progress.total.provincial_creation, progress.targets[0].distance   # (131, 0)
"""
