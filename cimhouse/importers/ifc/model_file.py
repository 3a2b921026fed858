"""Open an IFC file and refuse broken ones before anything is written.

ifcopenshell opens a truncated file without raising (it logs the damage), so the checks
are explicit: the STEP trailer ``END-ISO-10303-21;``, a supported schema, no ``[error]``
line in ifcopenshell's log while parsing, exactly one IfcProject.

Example::

    model = open_model(Path("tests/data/ifc/AC20-FZK-Haus.ifc"))
    model.schema                                   # 'IFC4'
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ifcopenshell

from cimhouse.errors import InvalidInput

_ifc: Any = ifcopenshell  # untyped library

SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3")
TRAILER = b"END-ISO-10303-21;"
SCHEMA_PATTERN = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
#: how many parser errors the message quotes
QUOTED_ERRORS = 3
# ifcopenshell's log is process-wide: opening two files at once would mix their errors
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class OpenedModel:
    model: Any  # ifcopenshell.file
    sha256: str
    size_bytes: int


def _schema_family(schema: str) -> str | None:
    upper = schema.upper()
    for family in ("IFC4X3", "IFC2X3", "IFC4"):
        if upper.startswith(family):
            return family
    return None


def open_model(path: Path) -> OpenedModel:
    """Open ``path`` as IFC (STEP physical file) or raise :class:`InvalidInput`."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read the file ({exc.strerror})") from None
    if not raw.lstrip().startswith(b"ISO-10303-21;"):
        raise InvalidInput(f"{name}: not an IFC file (no 'ISO-10303-21;' header); only the "
                           "STEP form (.ifc) is supported, not ifcXML or ifcZIP")
    if not raw.rstrip().endswith(TRAILER):
        raise InvalidInput(f"{name}: the file is truncated (it does not end with "
                           f"'{TRAILER.decode()}')")
    header = raw[:raw.find(b"ENDSEC;") if b"ENDSEC;" in raw else 4096]
    label = SCHEMA_PATTERN.search(header)
    if label is None:
        raise InvalidInput(f"{name}: the header names no FILE_SCHEMA")
    if _schema_family(label.group(1).decode("ascii", "replace")) is None:
        raise InvalidInput(f"{name}: unsupported IFC schema {label.group(1).decode()!r}; "
                           f"supported: {', '.join(SUPPORTED_SCHEMAS)}")
    with _OPEN_LOCK:
        _ifc.get_log()  # drop whatever earlier calls left in the process-wide log
        try:
            model = _ifc.open(str(path))
        except ifcopenshell.SchemaError as exc:
            raise InvalidInput(f"{name}: unsupported IFC schema ({exc}); supported: "
                               f"{', '.join(SUPPORTED_SCHEMAS)}") from None
        except (ifcopenshell.Error, RuntimeError) as exc:
            raise InvalidInput(f"{name}: the IFC file cannot be parsed ({exc})") from None
        log = _ifc.get_log()
    errors = [line.split("] ", 2)[-1] for line in log.splitlines() if line.startswith("[error]")]
    if errors:
        quoted = "; ".join(errors[:QUOTED_ERRORS])
        more = f" (and {len(errors) - QUOTED_ERRORS} more)" if len(errors) > QUOTED_ERRORS else ""
        raise InvalidInput(f"{name}: the IFC file is damaged: {quoted}{more}")
    if _schema_family(model.schema) is None:
        raise InvalidInput(f"{name}: unsupported IFC schema {model.schema}; supported: "
                           f"{', '.join(SUPPORTED_SCHEMAS)}")
    projects = model.by_type("IfcProject")
    if len(projects) != 1:
        raise InvalidInput(f"{name}: expected exactly one IfcProject, found {len(projects)}")
    return OpenedModel(model, hashlib.sha256(raw).hexdigest(), len(raw))
