"""Boundary import: community and estate polygons from GeoJSON or GeoPackage. Start with
:func:`cimhouse.importers.boundaries.import_boundaries.import_boundaries`; :mod:`.reading`
reads both formats (GeoPackage through the standard library's sqlite3, no GDAL needed).
"""
