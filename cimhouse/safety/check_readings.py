"""The checks of one reading, and the two shapes a gateway's batch comes in.

A reading is ``{"device", "metric", "ts", "value"}`` (and, from MQTT, the topic's
``"county"``); :func:`parse_item` checks one, :func:`parse_columns` a columnar batch
(:class:`Columns`), with the same checks in the same order and the same reasons
(:data:`REASONS`). :func:`gateway_body` reads a gateway's body (HTTP, or the MQTT gateway
topic's payload) in either shape::

    {"readings": [{"device": "GAS-1", "metric": "gas_lel", "ts": "...", "value": 3}, ...]}
    {"columns": {"device": ["GAS-1", ...], "metric": ["gas_lel", ...],
                 "ts": ["2026-12-02T08:00:00+08:00", ...], "value": [3, ...]}}

The columnar shape is the compact one for large batches: no key names per reading, and
decoding builds four lists instead of a dict per reading (profiled: the per-reading dict and
its lookups were the largest part of the checks).

Example::

    >>> gateway_body(b'{"columns": {"device": ["GAS-1"], "metric": ["gas_lel"],'
    ...              b' "ts": [1764633600], "value": [3]}}')
    ([], Columns(device=['GAS-1'], metric=['gas_lel'], ts=[1764633600], value=[3], county=None))
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

from cimhouse.safety.rules import METRICS

#: readings from further ahead than this are refused (a gateway with a wrong clock)
MAX_FUTURE = dt.timedelta(minutes=10)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

#: reason code -> "中文 / English" (stored with each reject; the code is the counter's key)
REASONS: dict[str, str] = {
    "not_json": "不是 JSON / payload is not JSON",
    "bad_topic": "主题不符合 cimhouse/{县区}/{设备}/reading / topic outside the scheme",
    "not_object": "不是 JSON 对象 / not a JSON object",
    "device_missing": "缺少设备编号 / device missing",
    "unknown_metric": "未知指标 / unknown metric",
    "metric_not_for_kind": "该类设备不发送此指标 / this kind of device does not send this metric",
    "bad_value": "数值不是有限数 / value is not a finite number",
    "bad_ts": "时间须为带时区的 ISO 时间或 epoch 秒 / ts is not an ISO time with offset or "
              "epoch seconds",
    "ts_out_of_range": "时间超出范围（未来或 2000 年前） / ts out of range (future or before 2000)",
    "bad_columns": "列式批次须有等长的 device、metric、ts、value 四列 / columns must be "
                   "device, metric, ts and value lists of one length",
    "unknown_device": "设备未登记或不在范围内 / unknown device (or outside the scope)",
    "write_failed": "写入失败（内部错误，见日志） / could not be written (internal error, see "
                    "the log)",
}


@dataclass(frozen=True)
class Reject:
    """A refused reading: its position in the batch, the device it named, why."""

    index: int
    device: str | None
    reason: str  # a key of REASONS
    detail: str = ""
    county: str = ""  # the device's, else the MQTT topic's, else unknown


def reason_text(code: str, lang: str = "both") -> str:
    """>>> reason_text("bad_value", "en")
    'value is not a finite number'
    """
    zh, en = REASONS[code].split(" / ", 1)
    return {"zh": zh, "en": en}.get(lang, REASONS[code])


#: a validated reading, a plain tuple (a NamedTuple cost 4x as much to build, per reading):
#: (position in the batch, device uid, the county an MQTT topic names (the device must be
#: there) or None, metric, ts, ts in ISO form for COPY, value)
Reading = tuple[int, str, str | None, str, dt.datetime, str, float]


def _parse_ts(raw: Any) -> dt.datetime | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return dt.datetime.fromtimestamp(raw, dt.UTC) if 0 < raw < 1e11 else None
    if isinstance(raw, str):
        try:
            ts = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        return ts if ts.tzinfo is not None else None
    return None


class Times:
    """``ts`` values checked once per batch: readings of one gateway message mostly share a
    few times, and parsing, range-checking and formatting a time cost more than every other
    check of a reading together (profiled). ``check`` gives (ts, ISO text) or a reason code."""

    def __init__(self, now: dt.datetime) -> None:
        self.latest = now + MAX_FUTURE
        self.known: dict[str, tuple[dt.datetime, str] | str] = {}

    def check(self, raw: Any) -> tuple[dt.datetime, str] | str:
        if isinstance(raw, str):  # only strings are kept: True == 1 as a dict key
            outcome = self.known.get(raw)
            if outcome is None:
                outcome = self.known[raw] = self._check(raw)
            return outcome
        return self._check(raw)

    def _check(self, raw: Any) -> tuple[dt.datetime, str] | str:
        ts = _parse_ts(raw)
        if ts is None:
            return "bad_ts"
        if not EARLIEST <= ts <= self.latest:
            return "ts_out_of_range"
        return ts, ts.isoformat()


def parse_item(index: int, item: Any, times: Times) -> Reading | Reject:
    """One reading's checks, in this order (the first that fails is its reason)."""
    if not isinstance(item, dict):
        return Reject(index, None, "not_object")
    county = item.get("county")
    county = county if isinstance(county, str) and len(county) == 6 else None
    uid, metric, value = item.get("device"), item.get("metric"), item.get("value")
    if not isinstance(uid, str) or not uid.strip() or len(uid) > 100:
        return Reject(index, None, "device_missing", county=county or "")
    uid = uid.strip()
    if not isinstance(metric, str) or metric not in METRICS:  # a list is unhashable
        return Reject(index, uid, "unknown_metric", str(metric)[:20], county or "")
    if not _finite(value):
        return Reject(index, uid, "bad_value", county=county or "")
    ts = times.check(item.get("ts"))
    if isinstance(ts, str):
        return Reject(index, uid, ts, county=county or "")
    return (index, uid, county, metric, ts[0], ts[1], float(value))


#: the largest finite float: an integer beyond it is no value (float() would overflow)
_MAX = sys.float_info.max


def _finite(value: Any) -> TypeGuard[float | int]:
    """A finite number (not a bool).

    >>> _finite(3), _finite(float("nan")), _finite(True), _finite(10 ** 400)
    (True, False, False, False)
    """
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    return kind is int and -_MAX <= value <= _MAX


@dataclass
class Columns:
    """Readings as parallel lists (``county``: one per reading, from MQTT topics, or None)."""

    device: list[Any]
    metric: list[Any]
    ts: list[Any]
    value: list[Any]
    county: list[str] | None = None

    def __len__(self) -> int:
        return len(self.device)

    def extend(self, other: Columns, county: str) -> None:
        """Append ``other``'s readings, each in ``county`` (a message's topic)."""
        self.device += other.device
        self.metric += other.metric
        self.ts += other.ts
        self.value += other.value
        if self.county is None:
            self.county = []
        self.county += [county] * len(other)


def parse_columns(columns: Columns, times: Times, offset: int = 0
                  ) -> tuple[list[Reading], list[Reject]]:
    """:func:`parse_item` for every reading of ``columns`` (positions from ``offset``), in
    one loop without a dict per reading."""
    parsed: list[Reading] = []
    rejects: list[Reject] = []
    counties: list[str | None] = (list(columns.county) if columns.county
                                  else [None] * len(columns))
    uids: dict[str, str] = {}  # raw uid -> stripped, checked: a batch names each device often
    for index, raw, metric, raw_ts, value, county in zip(
            range(offset, offset + len(columns)), columns.device, columns.metric, columns.ts,
            columns.value, counties, strict=True):
        uid = uids.get(raw) if type(raw) is str else None
        if uid is None:
            if type(raw) is not str or not raw.strip() or len(raw) > 100:
                rejects.append(Reject(index, None, "device_missing", county=county or ""))
                continue
            uid = uids[raw] = raw.strip()
        if type(metric) is not str or metric not in METRICS:
            rejects.append(Reject(index, uid, "unknown_metric", str(metric)[:20], county or ""))
            continue
        if not _finite(value):
            rejects.append(Reject(index, uid, "bad_value", county=county or ""))
            continue
        ts = times.check(raw_ts)
        if isinstance(ts, str):
            rejects.append(Reject(index, uid, ts, county=county or ""))
            continue
        parsed.append((index, uid, county, metric, ts[0], ts[1], float(value)))
    return parsed, rejects


def decode_json(payload: bytes) -> Any:
    """JSON by orjson (several times faster than ``json`` on a batch); what orjson refuses
    but ``json`` reads (NaN, Infinity, 1e400, integers beyond 64 bits) is read by ``json``,
    so such a value is one bad reading, not a refused batch. ValueError: no JSON at all."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def gateway_body(payload: bytes) -> tuple[list[Any], Columns | None] | str:
    """A gateway's batch: ``(readings, None)`` or ``([], columns)``, or the reason code why
    the body is neither (``not_json``, ``not_object``, ``bad_columns``)."""
    try:
        return gateway_shape(decode_json(payload))
    except (ValueError, UnicodeDecodeError):
        return "not_json"


def gateway_shape(body: Any) -> tuple[list[Any], Columns | None] | str:
    """:func:`gateway_body` of a decoded body."""
    if not isinstance(body, dict):
        return "not_object"
    readings, columns = body.get("readings"), body.get("columns")
    if isinstance(readings, list) and columns is None:
        return readings, None
    if readings is not None or not isinstance(columns, dict):
        return "not_object"
    lists = [columns.get(name) for name in ("device", "metric", "ts", "value")]
    checked = [v for v in lists if isinstance(v, list)]
    if len(checked) != 4 or len({len(v) for v in checked}) != 1 or len(columns) != 4:
        return "bad_columns"
    return [], Columns(*checked)
