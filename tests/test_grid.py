import numpy as np
import pytest

from unique_core import grid as G
from unique_core.errors import RegionError
from unique_core.resample import bilinear, coarse_to_fine_nearest, fine_to_coarse


def test_grids_nest__patch_of_150_fine_is_9_coarse():
    r = G.Region("p", 100, 100, 3, 3)
    assert r.fine.shape == (150, 150) and r.coarse.shape == (9, 9)
    assert r.fine.bounds == r.coarse.bounds
    assert G.BLOCK == G.FINE_PER_BLOCK * G.FINE_RES == G.COARSE_PER_BLOCK * G.COARSE_RES


def test_grid__transform_and_centres_agree():
    r = G.get_region("jirisan")
    t = r.fine.transform
    assert t.a == 30.0 and t.e == -30.0
    x0, y0 = t @ (0.5, 0.5)
    assert (x0, y0) == (r.fine.x[0], r.fine.y[0])
    assert r.fine.crs == "EPSG:5179"


def test_named_regions__six_kinds_of_korea_within_limits():
    regions = G.named_regions()
    for name in ("gwangneung", "seoul_edge", "jirisan", "seoraksan", "jeju"):
        assert name in regions
    assert "haenam" in regions or "gimje" in regions
    for r in regions.values():
        assert r.size_km[0] <= 30 and r.size_km[1] <= 30
        assert G.land_fraction(r) >= G.MIN_LAND_FRACTION


def test_region_from_bbox__snaps_to_blocks_and_takes_lonlat():
    r = G.region_from_bbox(127.10, 37.70, 127.20, 37.78, crs="EPSG:4326")
    assert r.fine.width % 50 == 0 and r.fine.height % 50 == 0
    x0, y0, x1, y1 = r.bounds
    assert (x0 - G.FRAME_XMIN) % G.BLOCK == 0 and (G.FRAME_YMAX - y1) % G.BLOCK == 0


@pytest.mark.parametrize("box, crs, message", [
    ((125.0, 35.0, 125.2, 35.2), "EPSG:4326", "at sea or outside the country"),
    ((124.0, 33.0, 124.1, 33.1), "EPSG:4326", "outside Korea"),
    ((127.0, 36.0, 127.6, 36.5), "EPSG:4326", "too large.*at most 30 x 30 km"),
    ((127.2, 37.0, 127.1, 37.1), "EPSG:4326", "empty or inverted"),
    ((1.0e6, 1.8e6, float("nan"), 1.81e6), "EPSG:5179", "non-finite"),
    ((127.1, 37.0, 127.2, 37.1), "EPSG:32652", "unknown CRS"),
    ((500.0, 37.0, 501.0, 37.1), "EPSG:4326", "not in degrees"),
    ((0.0, 0.0, 1000.0, 1000.0), "EPSG:5179", "outside Korea"),
])
def test_region_from_bbox__bad_boxes_say_the_limits(box, crs, message):
    with pytest.raises(RegionError, match=message):
        G.region_from_bbox(*box, crs=crs)


@pytest.mark.parametrize("size_km", [6, 15, 30])
def test_region_around__a_click_becomes_a_box_the_sidebar_reproduces(size_km):
    rng = np.random.default_rng(size_km)
    made = 0
    for lon, lat in zip(rng.uniform(126.0, 129.5, 120), rng.uniform(33.2, 38.5, 120)):
        try:
            r = G.region_around(lon, lat, size_km)
        except RegionError:
            continue  # at sea
        made += 1
        n = round(size_km * 1000 / G.BLOCK)
        assert (r.nbrows, r.nbcols) == (n, n)
        x, y = G.from_lonlat(lon, lat)
        x0, y0, x1, y1 = r.bounds
        assert x0 - G.BLOCK <= x <= x1 + G.BLOCK and y0 - G.BLOCK <= y <= y1 + G.BLOCK  # centred on the click
        back = G.region_from_bbox(*G.lonlat_box(r), crs="EPSG:4326", name="custom")
        assert (back.brow0, back.bcol0, back.nbrows, back.nbcols) == (r.brow0, r.bcol0, r.nbrows, r.nbcols)
    assert made > 30


def test_region_around__sea_and_far_points_are_refused():
    with pytest.raises(RegionError, match="on land"):
        G.region_around(130.6, 34.0)  # the Korea Strait, east of Busan
    with pytest.raises(RegionError, match="outside Korea"):
        G.region_around(110.0, 20.0)


def test_get_region__unknown_name_lists_the_names():
    with pytest.raises(RegionError, match="unknown region 'busan'.*gwangneung"):
        G.get_region("busan")


def test_fine_to_coarse__exact_area_weights():
    w = __import__("unique_core.resample", fromlist=["_W"])._W
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.sum(axis=0) * 50 / 3, 1.0)  # each fine cell's area is fully shared
    a = np.arange(100 * 150, dtype=float).reshape(100, 150)
    c = fine_to_coarse(a)
    assert c.shape == (6, 9)
    # the mean over a whole block is preserved exactly
    np.testing.assert_allclose(c[:3, :3].mean(), a[:50, :50].mean())
    # exact area means of the piecewise-constant 30 m cells: at 10 m a 500 m cell is 50 x 50 cells
    rng = np.random.default_rng(0)
    b = rng.normal(size=(100, 150))
    ten = np.repeat(np.repeat(b, 3, axis=0), 3, axis=1)
    reference = ten.reshape(6, 50, 9, 50).mean(axis=(1, 3))
    np.testing.assert_allclose(fine_to_coarse(b), reference, rtol=1e-10, atol=1e-12)


def test_bilinear__reproduces_a_linear_field_between_grids():
    coarse = G.Grid(500.0, 100, 100, 12, 12)
    fine = G.Region("f", 34, 34, 2, 2).fine  # inside the coarse grid with a margin
    cx, cy = np.meshgrid(coarse.x, coarse.y)
    fx, fy = np.meshgrid(fine.x, fine.y)
    out = bilinear(0.01 * cx - 0.02 * cy, coarse, fine)
    np.testing.assert_allclose(out, 0.01 * fx - 0.02 * fy, rtol=1e-6)


def test_coarse_to_fine_nearest__covers_each_fine_cell_once():
    r = G.Region("n", 200, 200, 1, 2)
    a = np.arange(r.coarse.height * r.coarse.width).reshape(r.coarse.shape)
    up = coarse_to_fine_nearest(a, r.coarse, r.fine)
    assert up.shape == r.fine.shape
    np.testing.assert_allclose(fine_to_coarse(up.astype(float)).round(), a, atol=0.5)
