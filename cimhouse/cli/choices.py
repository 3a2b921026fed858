"""The few domain constants that CLI option declarations need (choices, limits, defaults).

A command module's options are built for every ``cimhouse <group> --help``; taking these
values from their domain modules would import SQLAlchemy, pyproj or ifcopenshell first (a
second or more). They are repeated here, standard library only, and
``tests/test_cli_startup.py`` checks that each equals its source.

Example: ``typer.Option(5, "--first", max=FIND_MAX_FIRST)``
"""

from __future__ import annotations

#: cimhouse.feed.read_changes.KINDS
CHANGE_KINDS = ("estate", "building", "house", "facility", "person_house", "person",
                "household", "household_member", "region", "code")
#: the keys of cimhouse.exports.layers.LAYERS
EXPORT_LAYERS = ("estates", "buildings", "houses", "facilities", "gaps", "projects")
#: cimhouse.exports.writers.FORMATS
EXPORT_FORMATS = ("geojson", "gpkg", "csv", "xlsx")
#: cimhouse.addressing.search_addresses.MAX_FIRST
FIND_MAX_FIRST = 50
#: cimhouse.crs.COORDINATE_SYSTEMS
COORDINATE_SYSTEMS = ("CGCS2000", "WGS84", "GCJ02", "BD09")
#: cimhouse.importers.ifc.georef.DEFAULT_DISAGREEMENT_M
IFC_DISAGREEMENT_M = 500.0
#: the time zone of cimhouse.safety.check_inactivity.CHINA
CHINA_TIME_ZONE = "Asia/Shanghai"

#: (name here, module, name there or "keys:NAME" for a dict's keys) for the test
SOURCES = (
    ("CHANGE_KINDS", "cimhouse.feed.read_changes", "KINDS"),
    ("EXPORT_LAYERS", "cimhouse.exports.layers", "keys:LAYERS"),
    ("EXPORT_FORMATS", "cimhouse.exports.writers", "FORMATS"),
    ("FIND_MAX_FIRST", "cimhouse.addressing.search_addresses", "MAX_FIRST"),
    ("COORDINATE_SYSTEMS", "cimhouse.crs", "COORDINATE_SYSTEMS"),
    ("IFC_DISAGREEMENT_M", "cimhouse.importers.ifc.georef", "DEFAULT_DISAGREEMENT_M"),
    ("CHINA_TIME_ZONE", "cimhouse.safety.check_inactivity", "key:CHINA"),
)
