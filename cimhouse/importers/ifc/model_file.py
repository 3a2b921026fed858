"""Open an IFC file and refuse broken ones before anything is written.

ifcopenshell opens a truncated file without raising (it logs the damage), so the checks
are explicit: the STEP trailer ``END-ISO-10303-21;``, a supported schema, content that fits
the schema its header names, no ``[error]`` line in ifcopenshell's log while parsing,
exactly one IfcProject.

ifcopenshell reads the DATA section by the schema that ``FILE_SCHEMA`` names, attribute by
position: an IFC2X3 model whose header says IFC4 opens without an error, only with warnings
that entities have the wrong number of attributes, and every attribute after the first
difference is read as the wrong one. So when entities do not fit the declared schema, the
file is parsed again under the other supported schemas; when one of them fits far better
(under a tenth of the misfits), the header is wrong and the file is refused, naming both
schemas. Misfits that no other schema explains are kept as a warning of the import.

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
from cimhouse.i18n import _

_ifc: Any = ifcopenshell  # untyped library

SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3")
#: the schema ifcopenshell parses for each supported family
PARSER_SCHEMAS = {"IFC2X3": "IFC2X3", "IFC4": "IFC4", "IFC4X3": "IFC4X3_ADD2"}
_LOG_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")  # [warning] [VAL016] [2026-12-02 00:53:53]
#: another schema explains the content when it leaves under this share of the misfits
MISMATCH_RATIO = 0.1
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
    warnings: tuple[str, ...] = ()


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
        raise InvalidInput(_("{name}: cannot read the file ({strerror})", name=name,
                             strerror=exc.strerror)) from None
    if not raw.lstrip().startswith(b"ISO-10303-21;"):
        raise InvalidInput(_("{name}: not an IFC file (no 'ISO-10303-21;' header); only the STEP "
                             "form (.ifc) is supported, not ifcXML or ifcZIP", name=name))
    if not raw.rstrip().endswith(TRAILER):
        raise InvalidInput(_("{name}: the file is truncated (it does not end with '{trailer}')",
                             name=name, trailer=TRAILER.decode()))
    header = raw[:raw.find(b"ENDSEC;") if b"ENDSEC;" in raw else 4096]
    label = SCHEMA_PATTERN.search(header)
    if label is None:
        raise InvalidInput(_("{name}: the header names no FILE_SCHEMA", name=name))
    if _schema_family(label.group(1).decode("ascii", "replace")) is None:
        raise InvalidInput(_("{name}: unsupported IFC schema {label!r}; supported: "
                             "{supported_schemas}", name=name, label=label.group(1).decode(),
                             supported_schemas=', '.join(SUPPORTED_SCHEMAS)))
    with _OPEN_LOCK:
        _ifc.get_log()  # drop whatever earlier calls left in the process-wide log
        try:
            model = _ifc.open(str(path))
        except ifcopenshell.SchemaError as exc:
            raise InvalidInput(_("{name}: unsupported IFC schema ({exc}); supported: "
                                 "{supported_schemas}", name=name, exc=exc,
                                 supported_schemas=', '.join(SUPPORTED_SCHEMAS))) from None
        except (ifcopenshell.Error, RuntimeError) as exc:
            raise InvalidInput(_("{name}: the IFC file cannot be parsed ({exc})", name=name,
                                 exc=exc)) from None
        log = _ifc.get_log()
        declared = _schema_family(label.group(1).decode("ascii", "replace")) or ""
        misfits = _misfits(log)
        if misfits:
            _refuse_other_schema(name, raw, label.span(1), declared, len(misfits), misfits)
    errors = [line.split("] ", 2)[-1] for line in log.splitlines() if line.startswith("[error]")]
    if errors:
        quoted = "; ".join(errors[:QUOTED_ERRORS])
        more = f" (and {len(errors) - QUOTED_ERRORS} more)" if len(errors) > QUOTED_ERRORS else ""
        raise InvalidInput(_("{name}: the IFC file is damaged: {quoted}{more}", name=name,
                             quoted=quoted, more=more))
    if _schema_family(model.schema) is None:
        raise InvalidInput(_("{name}: unsupported IFC schema {schema}; supported: "
                             "{supported_schemas}", name=name, schema=model.schema,
                             supported_schemas=', '.join(SUPPORTED_SCHEMAS)))
    projects = model.by_type("IfcProject")
    if len(projects) != 1:
        raise InvalidInput(_("{name}: expected exactly one IfcProject, found {projects_count}",
                             name=name, projects_count=len(projects)))
    warnings = (f"{len(misfits)} entities do not fit the schema {declared} the header names "
                f"(e.g. {misfits[0]}); their attributes may be read wrongly",) if misfits else ()
    return OpenedModel(model, hashlib.sha256(raw).hexdigest(), len(raw), warnings)


def _misfits(log: str) -> list[str]:
    """Parser messages saying an entity does not fit the schema (arity or unknown name)."""
    return [_LOG_PREFIX.sub("", line).strip() for line in log.splitlines()
            if "[VAL016]" in line or "not found in schema" in line]


def _refuse_other_schema(name: str, raw: bytes, span: tuple[int, int], declared: str,
                         count: int, examples: list[str]) -> None:
    """Raise when another supported schema explains the content far better than the header's.

    Called with the log lock held (the log is process-wide).
    """
    for family, parser_schema in PARSER_SCHEMAS.items():
        if family == declared:
            continue
        relabelled = raw[:span[0]] + parser_schema.encode() + raw[span[1]:]
        _ifc.get_log()
        try:
            _ifc.file.from_string(relabelled.decode("utf-8", "replace"))
        except (ifcopenshell.Error, RuntimeError):
            continue
        other = len(_misfits(_ifc.get_log()))
        if other < count * MISMATCH_RATIO:
            raise InvalidInput(
                _("{name}: the header says FILE_SCHEMA {declared} but the content is {family}: "
                  "{count} entities do not fit {declared} (e.g. {example}), {other} do not fit "
                  "{family}; correct FILE_SCHEMA or export the model again", name=name,
                  declared=declared, family=family, count=count, example=examples[0],
                  other=other))
