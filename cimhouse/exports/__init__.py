"""Exports of the layers (estates, buildings, houses, facilities) to GIS and office formats.

:mod:`cimhouse.exports.layers` says what each layer holds (columns, Chinese headers, the
scoped SQL); :mod:`cimhouse.exports.writers` streams rows into GeoJSON, GeoPackage, CSV or
XLSX; :mod:`cimhouse.exports.export_layer` joins the two. docs/exports.md has the details.
"""
