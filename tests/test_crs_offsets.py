"""GCJ-02 / BD-09 conversion against the widely published point pairs (coordtransform)."""

from __future__ import annotations

import pytest

from cimhouse.crs import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalize_coordinate_system,
    to_cgcs2000,
    wgs84_to_gcj02,
)

# (input lon, lat) -> published output, from the coordtransform test suites
BEIJING = (116.404, 39.915)


def test_forward_formulas_match_published_pairs() -> None:
    assert wgs84_to_gcj02(*BEIJING) == pytest.approx((116.41024449916938, 39.91640428150164),
                                                     abs=1e-12)
    assert gcj02_to_bd09(*BEIJING) == pytest.approx((116.41036949371029, 39.92133699351021),
                                                    abs=1e-12)
    assert bd09_to_gcj02(*BEIJING) == pytest.approx((116.39762729119315, 39.90865673957631),
                                                    abs=1e-12)
    wgs_to_bd = gcj02_to_bd09(*wgs84_to_gcj02(*BEIJING))
    assert wgs_to_bd == pytest.approx((116.41662724378733, 39.922699552216216), abs=1e-9)


def test_inverse_is_exact_where_the_published_one_step_inverse_is_not() -> None:
    published_one_step = (116.39775550083061, 39.91359571849836)
    ours = gcj02_to_wgs84(*BEIJING)
    assert ours == pytest.approx(published_one_step, abs=2e-5)  # same point within ~2 m
    assert wgs84_to_gcj02(*ours) == pytest.approx(BEIJING, abs=1e-9)  # and exact round trip


@pytest.mark.parametrize(("lon", "lat"), [(120.7555, 30.7461), (121.02, 30.70), (118.9, 32.1)])
def test_round_trips_in_jiaxing(lon: float, lat: float) -> None:
    assert gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)) == pytest.approx((lon, lat), abs=1e-9)
    bd = gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    assert to_cgcs2000(*bd, "BD09") == pytest.approx((lon, lat), abs=1e-9)
    assert to_cgcs2000(lon, lat, "CGCS2000") == (lon, lat)
    assert to_cgcs2000(lon, lat, "WGS84") == pytest.approx((lon, lat), abs=1e-7)


def test_outside_china_untouched_and_names() -> None:
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert [normalize_coordinate_system(n) for n in ("", "gcj-02", "百度", "EPSG:4326", "国家2000")] \
        == ["CGCS2000", "GCJ02", "BD09", "WGS84", "CGCS2000"]
    with pytest.raises(ValueError, match="unknown coordinate system"):
        normalize_coordinate_system("Beijing54")
