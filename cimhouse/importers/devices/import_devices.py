"""Import home-safety devices from a CSV file, idempotently (``cimhouse import devices``).

Columns (English or Chinese headers): ``uid`` (设备编号, the gateway's id), ``kind``
(设备类型: gas, smoke, door, motion, wearable, water_meter, electricity_meter or their
Chinese labels such as 燃气报警器), ``house_code`` (房屋编码, 25 characters), optional
``id_number`` (佩戴人身份证号: the wearer, found by keyed hash, never stored or reported in
full), ``status`` (active/inactive/faulty), ``battery`` (0-100) and ``heartbeat_s``.

Every row is accepted or rejected (accepted + rejected = read); rejected rows go to the one
rejects report with Chinese / English reasons (the ID number masked). A uid already
registered in another county is a conflict (rejected), never a move. The run is one
transaction: killed, it leaves nothing; a rerun updates changed devices and leaves the
same ones unchanged (key: county + uid).

Example::

    result = import_devices(session, Path("devices.csv"), vault=vault, actor="cli",
                            dry_run=False, report_path=Path("rejects.csv"))
    result.summary()  # {'read': 120, 'accepted': 118, 'rejected': 2, 'added': 118, ...}
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import county_in
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.idnumber import mask_id_number, normalize_id_number
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import REPORT_COLUMNS, RejectsReport
from cimhouse.pii import PiiVault
from cimhouse.schema.vocab import ZH_NAMES, DeviceKind, DeviceStatus
from cimhouse.scope import code_county_keys

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "uid": ("uid", "device_id", "device", "设备编号", "设备id"),
    "kind": ("kind", "type", "设备类型", "类型"),
    "house_code": ("house_code", "house", "房屋编码", "户编码"),
    "id_number": ("id_number", "wearer_id_number", "身份证号", "佩戴人身份证号"),
    "status": ("status", "状态"),
    "battery": ("battery", "battery_pct", "电量"),
    "heartbeat_s": ("heartbeat_s", "heartbeat", "心跳秒"),
}
_CANONICAL = {a.lower(): n for n, aliases in HEADER_ALIASES.items() for a in aliases}
_KIND_BY_LABEL = {name: kind for kind, names in ZH_NAMES[DeviceKind].items() for name in names}
_STATUS_BY_LABEL = {name: status for status, names in ZH_NAMES[DeviceStatus].items()
                    for name in names}


@dataclass
class DeviceImportResult:
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    run_id: int | None = None
    report_path: Path | None = None

    @property
    def accepted(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> dict[str, Any]:
        return {"read": self.read, "accepted": self.accepted, "rejected": self.rejected,
                "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "report": str(self.report_path) if self.report_path else None}


Row = tuple[int, dict[str, str], list[str]]  # line, cells by canonical name, cells as written


def read_device_csv(path: Path) -> tuple[list[str], list[Row]]:
    """The header as written and the numbered rows (by canonical column names and as is)."""
    raw = path.read_bytes()
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        decoded = raw.decode("gb18030")
    reader = csv.reader(decoded.splitlines())
    header = next(reader, None)
    if not header:
        raise InvalidInput(_("{file}: the file has no header row", file=path.name))
    report_columns = {c.lower() for c in REPORT_COLUMNS}
    names = ["" if h.strip().lower() in report_columns
             else _CANONICAL.get(h.strip().lstrip("\ufeff").lower(), "") for h in header]
    if not {"uid", "kind", "house_code"} <= set(names):
        raise InvalidInput(_("the file needs the columns uid, kind and house_code "
                             "(设备编号, 设备类型, 房屋编码)"))
    rows = [(line, {n: (values[i].strip() if i < len(values) else "")
                    for i, n in enumerate(names) if n}, values)
            for line, values in enumerate(reader, start=2) if any(v.strip() for v in values)]
    return [h.lstrip("\ufeff") for h in header], rows


def _check(row: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    reasons: list[str] = []
    kind = _KIND_BY_LABEL.get(row["kind"], row["kind"].lower())
    status = _STATUS_BY_LABEL.get(row.get("status", ""), (row.get("status") or "active").lower())
    if not row["uid"] or len(row["uid"]) > 100:
        reasons.append("设备编号为空或过长 / uid missing or longer than 100")
    if kind not in {k.value for k in DeviceKind}:
        reasons.append(f"设备类型未知 / unknown kind {row['kind'][:30]!r}")
    if status not in {s.value for s in DeviceStatus}:
        reasons.append("状态无效 / status must be active, inactive or faulty")
    battery = heartbeat = None
    if row.get("battery"):
        battery = int(row["battery"]) if row["battery"].isdigit() else -1
        if not 0 <= battery <= 100:
            reasons.append("电量应为0-100 / battery must be 0-100")
    if row.get("heartbeat_s"):
        heartbeat = int(row["heartbeat_s"]) if row["heartbeat_s"].isdigit() else 0
        if heartbeat < 1:
            reasons.append("心跳秒数无效 / heartbeat_s must be a positive integer")
    return {"uid": row["uid"], "kind": kind, "status": status, "battery": battery,
            "heartbeat": heartbeat or 3600, "house_code": row["house_code"].upper()}, reasons


def _lookups(session: Session, rows: list[dict[str, Any]], vault: PiiVault | None,
             ids: list[str]) -> tuple[dict[str, tuple[str, int]], dict[str, str],
                                      dict[str, int]]:
    codes = sorted({r["house_code"] for r in rows})
    # a code names its county (code_county_keys): Citus reads those house shards only
    keys = code_county_keys(session, [c for c in codes if len(c) >= 6 and c[:6].isdigit()])
    houses = {r.code: (r.county, r.id) for r in session.execute(text(
        f"SELECT h.county, h.id, h.code FROM house h "
        f"WHERE {county_in('h', keys)} AND h.code = ANY(:codes)"), {"codes": codes})}
    owners = {r.uid: r.county for r in session.execute(text(
        "SELECT uid, county FROM device WHERE uid = ANY(:uids)"),
        {"uids": sorted({r["uid"] for r in rows})})}
    persons: dict[str, int] = {}
    if vault is not None and ids:
        hashes = {vault.lookup_hash(i): i for i in ids}
        for r in session.execute(text("SELECT id, id_hash FROM person WHERE id_hash = ANY(:h)"),
                                 {"h": list(hashes)}):
            persons[hashes[bytes(r.id_hash)]] = r.id
    return houses, owners, persons


def import_devices(session: Session, path: Path, *, vault: PiiVault | None, actor: str,
                   dry_run: bool = False, report_path: Path | None = None
                   ) -> DeviceImportResult:
    """Import ``path``; flushes inside a savepoint, the caller commits."""
    header, rows = read_device_csv(path)
    result = DeviceImportResult(read=len(rows))
    handle = begin_run(session, kind="devices", path=path, actor=actor, dry_run=dry_run,
                       rows_read=len(rows))
    checked = [(line, raw, values, *_check(raw)) for line, raw, values in rows]
    ids = [normalize_id_number(raw["id_number"]) for _, raw, _, _, _ in checked
           if raw.get("id_number")]
    houses, owners, persons = _lookups(session, [c for _, _, _, c, _ in checked], vault, ids)
    good: list[dict[str, Any]] = []
    seen: set[str] = set()
    with RejectsReport(report_path, header) as report:
        for line, raw, values, clean, reasons in checked:
            house = houses.get(clean["house_code"])
            if house is None:
                reasons.append("房屋编码不存在 / no house with this code")
            elif owners.get(clean["uid"], house[0]) != house[0]:
                reasons.append("设备编号已在其他区县登记 / uid registered in another county")
            person_id = None
            if raw.get("id_number"):
                person_id = persons.get(normalize_id_number(raw["id_number"]))
                if person_id is None:
                    reasons.append("佩戴人不存在 / no person with this ID number")
            if clean["uid"] in seen:
                reasons.append("设备编号在文件中重复 / uid repeated in the file")
            if reasons:
                # the wearer's ID number never leaves in full: the report masks it
                cells = [mask_id_number(v) if v and _CANONICAL.get(h.lower()) == "id_number"
                         else v for h, v in zip(header, values, strict=False)]
                report.add(line, cells, reasons)
                continue
            seen.add(clean["uid"])
            assert house is not None
            good.append(clean | {"county": house[0], "house_id": house[1],
                                 "person_id": person_id})
        result.rejected = report.count
        _upsert(session, good, result, path.name)
        result.report_path = None if dry_run else report.finish()
    result.run_id = end_run(session, handle, accepted=result.accepted,
                            rejected=result.rejected, summary=result.summary(),
                            dry_run=dry_run, report_path=result.report_path)
    return result


def _upsert(session: Session, good: list[dict[str, Any]], result: DeviceImportResult,
            source: str) -> None:
    if not good:
        return
    outcomes = session.execute(text("""
        WITH incoming AS (
            SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
                county text, uid text, kind text, house_id bigint, person_id bigint,
                status text, battery smallint, heartbeat int))
        INSERT INTO device AS d (county, uid, kind, house_id, person_id, status, battery_pct,
                                 heartbeat_s, source, updated_at)
        SELECT i.county, i.uid, i.kind, i.house_id, i.person_id, i.status, i.battery,
               i.heartbeat, :source, now() FROM incoming i
        ON CONFLICT (county, uid) DO UPDATE SET kind = excluded.kind,
            house_id = excluded.house_id, person_id = excluded.person_id,
            status = excluded.status,
            battery_pct = coalesce(excluded.battery_pct, d.battery_pct),
            heartbeat_s = excluded.heartbeat_s, updated_at = excluded.updated_at
        WHERE (d.kind, d.house_id, d.person_id, d.status, d.heartbeat_s)
              IS DISTINCT FROM (excluded.kind, excluded.house_id, excluded.person_id,
                                excluded.status, excluded.heartbeat_s)
           OR (excluded.battery_pct IS NOT NULL
               AND excluded.battery_pct IS DISTINCT FROM d.battery_pct)
        RETURNING (xmax = 0) AS added"""),
        {"rows": json.dumps(good), "source": source}).scalars().all()
    result.added = sum(1 for added in outcomes if added)
    result.updated = len(outcomes) - result.added
    result.unchanged = len(good) - len(outcomes)
