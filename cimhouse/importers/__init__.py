"""Bulk importers. Each public use case is one module named verb_noun.

- :mod:`cimhouse.importers.load_regions`: the statistical division codes (start here).

Every importer accounts for every input row (accepted + rejected = read), writes rejected
rows with reasons to a report, records an :class:`~cimhouse.schema.ImportRun`, runs in the
caller's transaction (killed mid-run, nothing is half-written) and is idempotent.
"""
