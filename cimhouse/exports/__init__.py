"""Exports of the layers (estates, buildings, houses, facilities, gaps) to GIS and office
formats, the buildings as CityJSON, and the community roster.

:mod:`cimhouse.exports.layers` says what each layer holds (columns, Chinese headers, the
scoped SQL); :mod:`cimhouse.exports.writers` streams rows into GeoJSON, GeoPackage, CSV or
XLSX; :mod:`cimhouse.exports.export_layer` joins the two; :mod:`.gap_features` computes the
``gaps`` layer (also for ``/ogc`` and ``/tiles``); :mod:`.export_cityjson` writes LoD1
buildings; :mod:`.export_roster` the 花名册 workbook. docs/exports.md has the details.
"""
