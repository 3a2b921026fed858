"""Bulk importers. Each public use case is one module named verb_noun.

- :mod:`cimhouse.importers.load_regions`: the statistical division codes (start here: the
  smallest complete importer).
- :mod:`cimhouse.importers.register.import_register`: housing registers (CSV/XLSX).
- :mod:`cimhouse.importers.ifc.import_ifc`: IFC/BIM models.
- :mod:`cimhouse.importers.facilities.import_facilities`: public-service facilities.
- :mod:`cimhouse.importers.boundaries.import_boundaries`: community and estate boundaries.
- :mod:`cimhouse.importers.import_runs`: the shared import-run lifecycle.

Every importer accounts for every input row (accepted + rejected = read), writes rejected
rows with reasons to a report, records an :class:`~cimhouse.schema.ImportRun`, runs in the
caller's transaction (killed mid-run, nothing is half-written) and is idempotent.
"""
