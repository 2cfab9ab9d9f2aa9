"""The simulated world: determinism, tile consistency, physics sanity, sensors."""

import datetime as dt

import numpy as np
import pytest

from tests.conftest import SUMMER, WINTER
from unique_core.errors import DateError
from unique_core.grid import Region
from unique_core.landcover import N_CLASSES, class_index
from unique_core.world import World
from unique_core.world.climate import parse_date
from unique_core.world import model as world_model
from unique_core.sources import HALO_BLOCKS, aggregate_static
from unique_core.world.model import _pad_blocks, _static, _tile_path


def test_static__same_seed_same_bytes_other_seed_differs(small_region):
    a = _static(2026, small_region.fine, False)
    b = _static(2026, small_region.fine, False)
    c = _static(7, small_region.fine, False)
    assert a.elevation.tobytes() == b.elevation.tobytes()
    assert a.fractions.tobytes() == b.fractions.tobytes()
    assert not np.array_equal(a.elevation, c.elevation)


def test_static__region_alone_equals_cut_from_larger(small_region):
    big = Region("big", small_region.brow0 - 1, small_region.bcol0 - 2, 4, 5)
    alone = _static(2026, small_region.fine, False)
    large = _static(2026, big.fine, False)
    rows, cols = small_region.fine.window_in(big.fine)
    for name in ("elevation", "slope", "aspect", "rok", "land", "vigor", "jitter", "parcel"):
        np.testing.assert_array_equal(getattr(alone, name), getattr(large, name)[rows, cols], err_msg=name)
    np.testing.assert_array_equal(alone.fractions, large.fractions[:, rows, cols])


def test_day__region_alone_equals_cut_from_larger(world, small_region):
    big = Region("big2", small_region.brow0 - 2, small_region.bcol0, 4, 3)
    alone = world.day(small_region, SUMMER)
    large = world.day(big, SUMMER)
    rows, cols = small_region.fine.window_in(big.fine)
    np.testing.assert_array_equal(alone.gpp, large.gpp[rows, cols])
    np.testing.assert_array_equal(alone.reflectance, large.reflectance[:, rows, cols])


def test_day__parcel_draws_move_only_the_crops(world, small_region):
    """Replacing the parcels' calendar draws (the S2 floor diagnostic) changes crop pixels and nothing else."""
    st = world.static(small_region)
    own = world.day(small_region, SUMMER)
    np.testing.assert_array_equal(world.day_with_parcels(small_region, SUMMER, st.parcel).gpp, own.gpp)
    crops = st.fractions[[class_index("field"), class_index("paddy")]].sum(0) > 0
    assert crops.any() and (~crops & st.land).any()
    summer_crop = world.day_with_parcels(small_region, SUMMER, 0.1)  # dry fields: one summer crop
    vegetables = world.day_with_parcels(small_region, SUMMER, 0.9)  # dry fields: spring and autumn vegetables
    for d in (summer_crop, vegetables):
        np.testing.assert_array_equal(d.gpp[~crops], own.gpp[~crops])
    dry = (st.fractions[class_index("field")] == 1.0) & (st.elevation < 550)
    assert dry.any()
    # late July: the summer crop is green, the spring vegetables are harvested and the autumn ones unsown
    assert summer_crop.gpp[dry].mean() > 2.0 * vegetables.gpp[dry].mean()


def test_modis__region_alone_equals_cut_from_larger(world, small_region):
    big = Region("big3", small_region.brow0 - 1, small_region.bcol0 - 1, 4, 4)
    alone = world.modis(small_region, SUMMER)
    large = world.modis(big, SUMMER)
    rows, cols = small_region.coarse.window_in(big.coarse)
    for band, values in alone.items():
        np.testing.assert_array_equal(values, large[band][rows, cols], err_msg=band)


def test_static_coarse__disk_cache_equals_direct_aggregation_and_heals(world, small_region):
    fields = ("fractions", "elevation", "class_elevation", "rok", "land", "cos_slope", "south_slope")
    path = _tile_path(world.seed, _pad_blocks(small_region, HALO_BLOCKS))
    path.unlink(missing_ok=True)
    world_model._coarse_box.cache_clear()
    for halo in (0, HALO_BLOCKS):
        box = _pad_blocks(small_region, halo)
        direct = aggregate_static(_static(world.seed, box.fine, False), box.coarse)
        cached = world.static_coarse(small_region, halo_blocks=halo)
        assert cached.grid == direct.grid
        for f in fields:
            np.testing.assert_array_equal(getattr(cached, f), getattr(direct, f), err_msg=f"{f}, halo {halo}")
    assert path.exists()
    # A truncated file is rebuilt, not served and not an error.
    path.write_bytes(path.read_bytes()[:100])
    world_model._coarse_box.cache_clear()
    healed = world.static_coarse(small_region)
    box = small_region
    np.testing.assert_array_equal(healed.fractions,
                                  aggregate_static(_static(world.seed, box.fine, False), box.coarse).fractions)
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == set(fields)


def test_landcover__fractions_are_exact_counts_of_the_5m_map(small_region):
    st = _static(2026, small_region.fine, True)
    sub = st.landcover_5m
    assert sub.shape == (600, 600)
    for k in range(N_CLASSES):
        counts = (sub == k + 1).reshape(100, 6, 100, 6).sum(axis=(1, 3))
        np.testing.assert_array_equal(np.round(st.fractions[k] * 36).astype(int), counts)
    np.testing.assert_allclose(st.fractions.sum(axis=0)[st.rok], 1.0, atol=1e-6)


def test_landcover__class_shares_plausible_in_a_mixed_region(world, mixed_region):
    st = world.static(mixed_region)
    shares = st.fractions.mean(axis=(1, 2))
    forest = shares[[class_index(k) for k in ("deciduous", "coniferous", "mixed")]].sum()
    assert shares[class_index("urban")] > 0.05  # Seoul is there
    assert forest > 0.1  # and its hills are wooded
    assert shares[class_index("water")] > 0.005  # the Han river


def test_dem__realistic_slopes_and_named_peak_height(world):
    from unique_core import korea
    from unique_core.grid import from_lonlat

    jirisan = next(p for p in korea.PEAKS if p.name == "Jirisan")
    x, y = from_lonlat(jirisan.lon, jirisan.lat)
    assert abs(world.terrain._elevation_at(x, y) - jirisan.height_m) < 15
    r = Region("slopes", 238 + 5, 181 + 5, 2, 2)  # inside the Jirisan region
    st = world.static(r)
    assert 10 < np.median(st.slope) < 40  # mountain slopes, degrees
    assert np.percentile(st.slope, 99.9) < 65  # cliffs exist but are rare: no walls of noise


def test_gpp__physics_sanity(world, mixed_region):
    st = world.static(mixed_region)
    summer = world.day(mixed_region, SUMMER)
    winter = world.day(mixed_region, WINTER)
    assert (summer.gpp >= 0).all() and (winter.gpp >= 0).all()
    water = st.fractions[class_index("water")] == 1.0
    assert water.any() and (summer.gpp[water] == 0).all()
    assert winter.gpp[st.land].mean() < 0.3 * summer.gpp[st.land].mean()
    forest = st.fractions[[class_index(k) for k in ("deciduous", "coniferous", "mixed")]].sum(0) == 1.0
    urban = st.fractions[class_index("urban")] == 1.0
    assert summer.gpp[forest].mean() > 3 * summer.gpp[urban].mean()
    assert 4 < summer.gpp[forest].mean() < 15  # gC m-2 d-1, SCIENCE.md ranges
    assert np.isfinite(summer.reflectance).all()


def test_meteorology__lapse_rate_and_seasons(world, small_region):
    summer = world.day(small_region, SUMMER)
    st = world.static(small_region)
    hi, lo = st.elevation.argmax(), st.elevation.argmin()
    dz = st.elevation.flat[hi] - st.elevation.flat[lo]
    dt_ = summer.tmean.flat[lo] - summer.tmean.flat[hi]
    assert dt_ == pytest.approx(0.0065 * dz, rel=0.25)
    winter = world.day(small_region, WINTER)
    assert winter.tmean.mean() < summer.tmean.mean() - 15


def test_landsat__schedule_and_scaling(world, small_region):
    dates = world.landsat_dates(small_region, 2022)
    assert 40 <= len(dates) <= 120  # L8 + L9, one or two paths
    d, sat, path = dates[10]
    scene = world.landsat(small_region, d)
    assert scene is not None and scene["SR_B5"].dtype == np.uint16
    refl = scene["SR_B5"] * 0.0000275 - 0.2
    ok = scene["QA_PIXEL"] != 1
    assert ok.any() and 0 < refl[ok].mean() < 0.8
    missing = next(dd for dd in (d + dt.timedelta(k) for k in range(1, 6)) if dd not in [x[0] for x in dates])
    assert world.landsat(small_region, missing) is None


def test_modis__is_the_aggregate_of_the_30m_surface(world, mixed_region):
    """500 m native reflectance agrees with the area mean of the 30 m reflectance."""
    from unique_core.resample import fine_to_coarse

    fine = world.day(mixed_region, SUMMER)
    coarse = world.day_coarse(mixed_region, SUMMER)
    agg = fine_to_coarse(fine.reflectance)
    ndvi = lambda r: (r[3] - r[2]) / (r[3] + r[2])
    assert np.abs(ndvi(agg) - ndvi(coarse.reflectance)).mean() < 0.03
    np.testing.assert_allclose(coarse.gpp.mean(), fine_to_coarse(fine.gpp).mean(), rtol=0.1)


@pytest.mark.parametrize("text, message", [("2023-13-01", "not a date"), ("yesterday", "not a date"),
                                            ("2014-12-31", "outside the simulated period"),
                                            ("2024-01-01", "outside the simulated period")])
def test_parse_date__bad_dates(text, message):
    with pytest.raises(DateError, match=message):
        parse_date(text)


def test_source_identity_and_period__what_the_protocol_reads(world):
    """World as a DataSource: its period bounds every day it makes; identity follows the seed."""
    assert world.period == (dt.date(2015, 1, 1), dt.date(2023, 12, 31))
    assert world.check_date(dt.date(2023, 12, 31)) == dt.date(2023, 12, 31)
    for outside in (dt.date(2014, 12, 31), dt.date(2024, 1, 1)):
        with pytest.raises(DateError, match="outside the simulated period"):
            world.check_date(outside)
        with pytest.raises(DateError, match="outside the simulated period"):
            world.check("gpp_m", outside, Region("r", 100, 100, 1, 1))
    world.check("dem", None, Region("r", 100, 100, 1, 1))  # a static product needs no date
    assert world.identity != World(7).identity and world.identity == World().identity
    assert world.simulated is True and "seed 2026" in world.name


def test_climate_field__matrix_form_equals_the_sum_of_travelling_modes():
    """Climate._field's two matrix products are the sum over modes of a_k(t) cos(k.x + phase - omega t)."""
    from unique_core.sources.lattice import NLAT, NLON
    from unique_core.world.climate import Climate

    rng = np.random.default_rng(3)
    clim = Climate.__new__(Climate)  # only the lattice's coordinates are used
    clim.x_km, clim.y_km = rng.uniform(0, 600, (NLAT, NLON)), rng.uniform(0, 500, (NLAT, NLON))
    k = 2 * np.pi / rng.uniform(40, 2500, 7)
    ang = rng.uniform(0, 2 * np.pi, 7)
    modes = np.column_stack([k * np.cos(ang), k * np.sin(ang), 450.0 * k * np.cos(ang), rng.uniform(0, 2 * np.pi, 7)])
    t = np.arange(3000.0, 3040.0)  # late days: omega t is large, where rounding would show
    amps = rng.normal(size=(len(t), len(modes)))
    direct = sum(amps[:, j, None, None] * np.cos(kx * clim.x_km + ky * clim.y_km + ph - om * t[:, None, None])
                 for j, (kx, ky, om, ph) in enumerate(modes)) * np.sqrt(2.0 / len(modes))
    field = clim._field(modes, amps, t)
    assert field.shape == (len(t), NLAT, NLON)
    np.testing.assert_allclose(field, direct, rtol=0, atol=1e-9)
    assert np.std(field) > 0.3  # a real field, not zeros
