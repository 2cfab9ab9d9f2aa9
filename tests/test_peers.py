"""Classical peers of the downscaler (unique_core/downscale/peers.py) on small seeded cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from unique_core.downscale import peers as P
from unique_core.grid import Region
from unique_core.resample import fine_to_coarse

# a 3 x 3 block box (150 px, 9 x 9 cells) and the same box with a one-block halo
INNER = Region("inner", 100, 150, 3, 3)
OUTER = Region("outer", 99, 149, 5, 5)


def _fractions(rng, k: int, grid_shape) -> np.ndarray:
    """Field-like fractions: a few classes per 5 x 5 px parcel, summing to 1."""
    h, w = grid_shape
    raw = rng.random((k, h // 5, w // 5)) ** 3
    raw = np.repeat(np.repeat(raw, 5, axis=1), 5, axis=2)
    return (raw / raw.sum(axis=0)).astype(np.float64)


def test_unmix__recovers_known_class_means_exactly():
    rng = np.random.default_rng(0)
    means = np.array([2.0, 11.0, 6.0, 0.5])
    frac_outer = _fractions(rng, 4, OUTER.fine.shape)
    gpp_fine = np.einsum("k,kij->ij", means, frac_outer)
    gpp_m = fine_to_coarse(gpp_fine)  # exact 500 m area means, like GPP_M of a linear world
    frac_c = fine_to_coarse(frac_outer)
    rows, cols = INNER.fine.window_in(OUTER.fine)
    frac_inner = frac_outer[:, rows, cols]
    coef = P.unmix_coefficients(gpp_m, frac_c, ridge=1e-9)
    assert np.allclose(coef[:, 3:-3, 3:-3], means[:, None, None], atol=1e-3)
    pred = P.unmix(gpp_m, frac_c, frac_inner, OUTER.coarse, INNER.fine, ridge=1e-9)
    assert np.allclose(pred, gpp_fine[rows, cols], atol=1e-3)
    # bilinear GPP_M cannot do that: its error is large on the same case
    assert np.abs(P.bilinear(gpp_m, OUTER.coarse, INNER.fine) - gpp_fine[rows, cols]).max() > 1.0


def test_unmix__ridge_falls_back_to_the_local_mean_for_one_class():
    rng = np.random.default_rng(1)
    frac = np.zeros((3, *OUTER.fine.shape))
    frac[0] = 1.0  # one class everywhere: its GPP is the neighbourhood's, the others are never seen
    gpp_m = 5.0 + rng.normal(0, 1, OUTER.coarse.shape)
    frac_c = fine_to_coarse(frac)
    rows, cols = INNER.fine.window_in(OUTER.fine)
    with_res = P.unmix(gpp_m, frac_c, frac[:, rows, cols], OUTER.coarse, INNER.fine, with_residual=True)
    # with the residual, a pure pixel takes its own cell's GPP_M: the blocky nearest map
    assert np.allclose(with_res, P.nearest(gpp_m, OUTER.coarse, INNER.fine), atol=1e-4)
    coef = P.unmix_coefficients(gpp_m, frac_c)
    assert np.all(np.isfinite(coef))  # classes that never occur do not make the system singular


def test_unmix__misaligned_inputs_are_a_clear_error():
    with pytest.raises(P.PeerError, match="do not line up"):
        P.unmix(np.zeros((15, 15)), np.zeros((3, 14, 15)), np.zeros((3, 150, 150)), OUTER.coarse, INNER.fine)


def test_starfm__uniform_fields_give_today_plus_the_pair_difference():
    shape = (40, 40)
    out = P.starfm(np.full(shape, 7.0), np.full(shape, 4.0), np.full(shape, 3.0), radius=5)
    assert np.allclose(out, 7.0 + 4.0 - 3.0)


def test_starfm__similar_pixels_carry_each_field_through_a_coarse_change():
    # two crops in a checkerboard of 4 px fields; the coarse signal rises by 1.5 everywhere
    i, j = np.indices((40, 40))
    l_pair = np.where(((i // 4) + (j // 4)) % 2 == 0, 2.0, 10.0)
    m_pair = np.full((40, 40), 6.0)
    out = P.starfm(m_pair + 1.5, l_pair, m_pair, radius=6)
    assert np.allclose(out, l_pair + 1.5)  # each field keeps its own level: no blur across fields


def test_starfm__cloudy_pixels_borrow_from_clear_neighbours_and_all_cloud_is_gpp_m():
    i, j = np.indices((30, 30))
    l_pair = np.full((30, 30), 5.0)
    l_pair[10:15, 10:15] = np.nan
    out = P.starfm(np.full((30, 30), 6.0), l_pair, np.full((30, 30), 4.0), radius=8)
    assert np.allclose(out[12, 12], 7.0)
    none = P.starfm(np.full((30, 30), 6.0), np.full((30, 30), np.nan), np.full((30, 30), 4.0))
    assert np.allclose(none, 6.0)


def test_interpolated_indices__two_sided_and_past_only_by_hand():
    t0 = dt.date(2023, 5, 1).toordinal()
    times = np.array([t0, t0 + 10])
    vis = {v: np.array([[[0.2]], [[0.6]]], np.float32) for v in ("ndvi", "evi", "nirv", "lswi")}
    clear = np.ones((2, 1, 1), bool)
    day = dt.date.fromordinal(t0 + 5)
    two = P.interpolated_indices(times, vis, clear, day, "two_sided")
    past = P.interpolated_indices(times, vis, clear, day, "past")
    assert two["ndvi"][0, 0] == pytest.approx(0.4) and two["days_to_clear"][0, 0] == 5
    assert past["ndvi"][0, 0] == pytest.approx(0.2)
    assert past["days_since_clear"][0, 0] == 5 and past["days_to_clear"][0, 0] == 65
    early = P.interpolated_indices(times, vis, clear, dt.date.fromordinal(t0 - 3), "past")
    assert np.isnan(early["ndvi"][0, 0])


def test_run_peer__unknown_method_is_a_clear_error(world, small_region):
    with pytest.raises(P.PeerError, match="unknown peer method 'kriging'"):
        P.run_peer("kriging", world, small_region, dt.date(2023, 6, 1))


def test_run_peer__unmixing_keeps_gpp_m_block_means(world, small_region):
    from unique_core.downscale.infer import block_mean_error

    day = dt.date(2023, 6, 1)
    res = P.run_peer("unmix_residual", world, small_region, day)
    land = world.static(small_region).land
    assert res.gpp.shape == small_region.fine.shape and np.isfinite(res.gpp[land]).all()
    bil = P.run_peer("bilinear", world, small_region, day)
    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model

    padded = Region("p", small_region.brow0 - 1, small_region.bcol0 - 1, 4, 4)
    gm = maps.gpp_m_map(load_model("modis"), world, day, padded).values[3:-3, 3:-3]
    # the residual keeps each cell's level, so 1.5 km block means stay close to GPP_M's
    err = block_mean_error(np.where(land, res.gpp, 0), gm, small_region, land)
    assert err < 0.3
    assert np.nanstd(res.gpp) > np.nanstd(bil.gpp)  # and it adds 30 m detail that bilinear lacks


def _stack(days, values, clear=None):
    """A hand-made Landsat stack: one pixel per scene, the same value for every index."""
    t0 = dt.date(2023, 5, 1).toordinal()
    times = np.array([t0 + d for d in days])
    vis = {v: np.array(values, np.float32).reshape(-1, 1, 1) for v in ("ndvi", "evi", "nirv", "lswi")}
    ok = np.ones((len(days), 1, 1), bool) if clear is None else np.array(clear, bool).reshape(-1, 1, 1)
    return t0, times, vis, ok


def test_acquisition_ages__match_the_interpolation_they_stand_for():
    """The ages S3 reads from clear masks alone equal those interpolated_indices reports, per pixel."""
    t0, times, vis, clear = _stack([0, 8, 16, 40], [0.2, 0.3, 0.5, 0.7], [True, False, True, True])
    for offset in (-70, 0, 3, 12, 30, 100):
        day = dt.date.fromordinal(t0 + offset)
        for variant in ("two_sided", "past"):
            ref = P.interpolated_indices(times, vis, clear, day, variant)
            since, until = P.acquisition_ages(times, clear, day, variant)
            assert since[0, 0] == ref["days_since_clear"][0, 0] and until[0, 0] == ref["days_to_clear"][0, 0]
    since, until = P.acquisition_ages(times, clear, dt.date.fromordinal(t0 + 12), "two_sided")
    assert since[0, 0] == 12 and until[0, 0] == 4  # the cloudy scene on day 8 is not a view


def test_interpolated_on_views__same_views_and_weights_as_the_indices():
    """GPP_M on the views (S3's change channel) is interpolated from exactly the clear views, and with
    the weights, the indices are: feeding the index values themselves gives the interpolated index."""
    t0, times, vis, clear = _stack([0, 8, 16, 40], [0.2, 0.3, 0.5, 0.7], [True, False, True, True])
    for offset in (-70, 0, 3, 12, 30, 100):
        day = dt.date.fromordinal(t0 + offset)
        for variant in ("two_sided", "past"):
            ref = P.interpolated_indices(times, vis, clear, day, variant)["ndvi"]
            got = P.interpolated_on_views(times, vis["ndvi"], clear, day, variant)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_allclose(got[np.isfinite(got)], ref[np.isfinite(ref)], rtol=1e-6)
    # day 12: halfway... from day 0 (day 8 is cloudy) to day 16: 0.2 + 12/16 * (0.5 - 0.2)
    gm = np.array([1.0, 100.0, 5.0, 9.0], np.float32).reshape(-1, 1, 1)
    assert P.interpolated_on_views(times, gm, clear, dt.date.fromordinal(t0 + 12), "two_sided")[0, 0] == \
        pytest.approx(1.0 + 0.75 * 4.0)
    assert P.interpolated_on_views(times, gm, clear, dt.date.fromordinal(t0 + 12), "past")[0, 0] == 1.0
    gm[0] = np.nan
    with pytest.raises(ValueError, match="finite on every clear view"):
        P.interpolated_on_views(times, gm, clear, dt.date.fromordinal(t0 + 12), "two_sided")


def test_past_only__no_scene_after_the_day_changes_it():
    """Past-only interpolation (gpp_l_past and S3's past variant) is blind to every scene after the day."""
    t0, times, vis, clear = _stack([0, 10, 20], [0.2, 0.4, 0.6])
    day = dt.date.fromordinal(t0 + 15)
    before = P.interpolated_indices(times, vis, clear, day, "past")
    later = {v: a.copy() for v, a in vis.items()}
    later["ndvi"][2] = 0.95  # the scene on day 20 changes
    after = P.interpolated_indices(times, later, clear, day, "past")
    assert after["ndvi"][0, 0] == before["ndvi"][0, 0] == pytest.approx(0.4)
    two = P.interpolated_indices(times, later, clear, day, "two_sided")
    assert two["ndvi"][0, 0] != P.interpolated_indices(times, vis, clear, day, "two_sided")["ndvi"][0, 0]
