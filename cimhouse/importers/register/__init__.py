"""Bulk import of housing registers (CSV/XLSX): persons, houses and their relations.

Start with :func:`cimhouse.importers.register.import_register.import_register`, the one
public use case. The pieces, in the order a row meets them:

- :mod:`.read_table`  format, encoding and header detection, streaming rows;
- :mod:`.columns`     header synonyms and mapping files;
- :mod:`.rows`        per-row validation (address via :mod:`cimhouse.addressing`, ID
  numbers, phones, relation, use, area, 不动产单元号, coordinates) into a staged tuple;
- :mod:`.apply`       set-based SQL from the staging table into the model, with history;
- :mod:`.report`      the rejects report, re-importable as it is.
"""
