"""IFC/BIM import: buildings, storeys, dwellings and spaces from IFC2X3/IFC4/IFC4X3 models.

Start with :func:`cimhouse.importers.ifc.import_ifc.import_ifc` (the use case; the CLI is
``cimhouse import ifc``). The rules it applies (georeferencing priority, dwelling rules,
footprint definition, area sources) are written down in docs/ifc-import.md.
"""
