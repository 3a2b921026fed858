"""Facility import: CSV, XLSX or GeoJSON into ``facility``. Start with
:func:`cimhouse.importers.facilities.import_facilities.import_facilities`.

:mod:`.categories` maps Chinese category words (幼儿园, 托育, 养老, 卫生服务站, 菜场 ...) to a
:class:`~cimhouse.schema.vocab.FacilityCategory` and a subtype, :mod:`.reading` turns the
three file formats into numbered rows, :mod:`.rows` validates one row (coordinates in
CGCS2000, WGS84, GCJ-02, BD-09 or a projected EPSG code), and the use case matches the rows
to estates and communities by location and upserts them idempotently.
"""
