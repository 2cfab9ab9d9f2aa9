"""The uncertainty band of Step 2: spread model, its lookup and refusals, the band's parts (downscale/uncertainty.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from unique_core.downscale import evaluate as E
from unique_core.downscale import uncertainty as U
from unique_core.downscale.model import DownscaleConfig
from unique_core.errors import ModelError

CAL = {"model": "finite_ensemble", "steps": [5, 10, 25, 50], "k": [1.0, 2.0, 2.0, 3.0], "a": [0.5, 0.4, 0.4, 0.2]}


def _config(cal=CAL, kind="diffusion"):
    return dataclasses.replace(DownscaleConfig(scheme="s2", kind=kind), spread_calibration=dict(cal) if cal else {})


def test_member_scale__finite_ensemble_factor_by_hand_and_log_step_interpolation():
    cfg = _config()
    # k = 1 (DDIM 5): a reliable ensemble needs no scaling, whatever M
    assert U.member_scale(cfg, 2, 5) == pytest.approx(1.0)
    assert U.member_scale(cfg, 16, 5) == pytest.approx(1.0)
    # k = 2 (DDIM 10), M = 4: sqrt((4 * 4 + 1) / 5)
    assert U.member_scale(cfg, 4, 10) == pytest.approx(np.sqrt(17 / 5))
    # DDIM 50/sqrt(2)... halfway in log steps between 25 (k 2) and 50 (k 3): k = 2.5
    mid = int(round(np.sqrt(25 * 50)))
    k = np.interp(np.log(mid), np.log([25, 50]), [2.0, 3.0])
    assert U.member_scale(cfg, 8, mid) == pytest.approx(np.sqrt((8 * k * k + 1) / 9))
    assert U.gpp_m_factor(cfg, 10) == pytest.approx(0.4)
    # one member, or an uncalibrated model: raw members
    assert U.member_scale(cfg, 1, 10) == 1.0
    assert U.member_scale(_config(None), 4, 10) == 1.0


def test_check_setting__refuses_what_was_not_calibrated_and_allows_one_member():
    cfg = _config()
    for members, steps in ((1, 10), (1, None), (2, 5), (4, 10), (16, 50), (4, 7)):
        U.check_setting(cfg, members, steps)
    U.check_setting(_config(None, kind="regression"), 4, 10)  # a regression model has no band to calibrate
    with pytest.raises(ModelError, match="not calibrated.*--members 1"):
        U.check_setting(_config(None), 4, 10)
    with pytest.raises(ModelError, match="DDIM 5 to 50 steps, not 100"):
        U.check_setting(cfg, 4, 100)
    with pytest.raises(ModelError, match="not 2"):
        U.check_setting(cfg, 4, 2)
    with pytest.raises(ModelError, match="not DDPM"):
        U.check_setting(cfg, 4, None)
    with pytest.raises(ModelError, match="2 to 16 members, not 17"):
        U.check_setting(cfg, 17, 10)
    # the legacy single factor (fitted at one setting) is not a spread model
    with pytest.raises(ModelError, match="not calibrated"):
        U.check_setting(_config({"spread_scale": 1.9, "members": 8, "ddim_steps": 10}), 8, 10)


def test_band__adds_the_members_predictive_variance_and_the_scaled_gpp_m_error():
    members = np.array([[[0.0]], [[2.0]]])  # unbiased variance 2, x (M + 1) / M = 3
    assert U.band(members, None, 0.0)[0, 0] == pytest.approx(np.sqrt(3.0))
    # a sigma_M of 2 scaled by 0.5 adds 1: sqrt(3 + 1) = 2
    assert U.band(members, np.array([[2.0]]), 0.5)[0, 0] == pytest.approx(2.0)
    # GPP_L's own error adds with no factor: sqrt(3 + 1 + 5) = 3
    assert U.band(members, np.array([[2.0]]), 0.5, np.array([[np.sqrt(5.0)]]))[0, 0] == pytest.approx(3.0)
    with pytest.raises(ModelError, match="at least 2 members"):
        U.band(members[:1], None, 0.0)


def test_user_band__holds_the_landsat_models_cross_validation_error_per_30_m_pixel(world, small_region):
    """The band a user sees carries GPP_L's spatial-CV error of each 30 m pixel's classes and the season
    (from assets/models/gpp_landsat), on top of the members and GPP_M's error."""
    from unique_core.gpp import error_model

    table = error_model.error_table(sensor="landsat")
    assert table["global"][1] > 1000 and table != error_model.error_table()  # its own residuals, not GPP_M's
    day = dt.date(2023, 7, 10)
    sig_l = U.landsat_sigma_field(world, small_region, day)
    assert sig_l.shape == small_region.fine.shape and (sig_l > 0).all()
    st = world.static(small_region)
    np.testing.assert_allclose(sig_l, U.cell_sigma(st.fractions, day, table), rtol=1e-6)
    winter = U.landsat_sigma_field(world, small_region, dt.date(2023, 1, 10))
    assert winter[st.land].mean() < sig_l[st.land].mean()  # summer GPP is larger, and so is its error
    cfg = _config()
    model = type("M", (), {"config": cfg})()
    members = np.zeros((4, *sig_l.shape), np.float32)  # no spread: the band is Step 1's errors alone
    got = U.user_band(model, world, small_region, day, members, 10)
    a = U.gpp_m_factor(cfg, 10)
    want = np.sqrt((a * U.sigma_field(world, small_region, day)) ** 2 + sig_l ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_cell_sigma__weights_class_variances_by_land_fractions():
    from unique_core.landcover import KEYS

    table = {"global": [3.0, 1000], "by_pft": {"DBF": [1.0, 1000], "RICE": [2.0, 1000]},
             "by_pft_season": {"DBF": {"JJA": [4.0, 1000]}}}
    frac = np.zeros((len(KEYS), 1, 3))
    frac[KEYS.index("deciduous"), 0, 0] = frac[KEYS.index("paddy"), 0, 0] = 0.5  # half and half
    frac[KEYS.index("deciduous"), 0, 1], frac[KEYS.index("water"), 0, 1] = 0.2, 0.8  # water does not count
    frac[KEYS.index("water"), 0, 2] = 1.0  # no vegetated land: the all-class error
    winter = U.cell_sigma(frac, dt.date(2023, 1, 10), table)[0]
    assert winter == pytest.approx([np.sqrt((1 + 4) / 2), 1.0, 3.0])
    summer = U.cell_sigma(frac, dt.date(2023, 7, 10), table)[0]  # DBF's summer error, RICE's year-round
    assert summer == pytest.approx([np.sqrt((16 + 4) / 2), 4.0, 3.0])


def _synthetic(rng, members, n_blocks, k, tau, per_block=400, s=1.0):
    """Raw members of spread s around a centre whose error is k s per point plus tau per block."""
    ids = np.repeat(np.arange(n_blocks), per_block)
    centre = rng.normal(5, 2, ids.size)
    y = centre + rng.normal(0, k * s, ids.size) + rng.normal(0, tau, n_blocks)[ids]
    raw = centre[None] + rng.normal(0, s, (members, ids.size))
    return raw, y, ids


def test_fit_spread__recovers_k_and_the_block_error_and_holds_for_other_member_counts():
    rng = np.random.default_rng(0)
    sigma_cell = 1.5
    recs = []
    for _ in range(40):
        raw, y, ids = _synthetic(rng, 8, 9, k=1.8, tau=0.9)
        recs.append(E.spread_records(raw, y, ids, np.full(y.size, sigma_cell)))
    k, a = E.fit_spread(recs, 8)
    assert k == pytest.approx(1.8, rel=0.05)
    assert a * sigma_cell == pytest.approx(0.9, rel=0.2)  # the block error, through sigma_M
    assert E.band_spread_skill(recs, k, a, 8) == pytest.approx(1.0, abs=1e-9)  # by construction on the fit
    # fresh 2- and 16-member ensembles, never fitted: the member-count model keeps the band honest
    for m in (2, 16):
        fresh = []
        for _ in range(40):
            raw, y, ids = _synthetic(rng, m, 9, k=1.8, tau=0.9)
            fresh.append(E.spread_records(raw, y, ids, np.full(y.size, sigma_cell)))
        assert E.band_spread_skill(fresh, k, a, m) == pytest.approx(1.0, abs=0.05)
    # the plain (M + 1)/M band of the raw members (k = 1, no GPP_M error) is far too narrow here
    assert E.band_spread_skill(recs, 1.0, 0.0, 8) < 0.6


def test_fit_spread__a_reliable_ensemble_needs_nothing_added():
    rng = np.random.default_rng(1)
    recs = []
    for _ in range(30):
        raw, y, ids = _synthetic(rng, 8, 9, k=1.0, tau=0.0)
        recs.append(E.spread_records(raw, y, ids, np.ones(y.size)))
    k, a = E.fit_spread(recs, 8)
    assert k == pytest.approx(1.0, rel=0.05)
    assert a < 0.1


def test_target_rows__met_and_missed_from_a_report():
    report = {"ordinary": {"rmse_ratios": {"s2/unmix": [0.90, 0.86, 0.94], "s2/gpp_m_bilinear": [0.65, 0.6, 0.7]},
                           "methods": {"unmix": {"truth": {"mae": 1.2}}, "starfm": {"truth": {"mae": 1.0}},
                                       "s2": {"truth": {"mae": 1.1}, "crps": 0.8, "band_spread_skill": 1.3,
                                              "band_spread_skill_ci90": [1.2, 1.4]}}},
              "clear_vs_gpp_l": {"rmse_ratios": {"s2/gpp_m_bilinear": [0.74, 0.7, 0.8]}}}
    rows = {r["target"].split(" (")[0]: r for r in E.target_rows(report)}
    assert not rows["S2 RMSE <= 0.85 x land-cover unmixing"]["met"]
    assert rows["S2 RMSE <= 0.70 x bilinear GPP_M"]["met"]
    assert rows["S2 RMSE <= 0.75 x bilinear GPP_M"]["met"]
    crps = rows["S2 diffusion CRPS / best deterministic peer's MAE < 1"]
    assert crps["value"] == pytest.approx(0.8) and crps["met"]
    assert not rows["S2 diffusion band spread/skill in 0.8-1.2"]["met"]
    assert not any(r["target"].startswith("S3") for r in E.target_rows(report))  # no S3 scored: not judged


def test_finer_build__a_cached_build_serves_coarser_cadences(tmp_path, monkeypatch):
    from unique_core.grid import Region

    monkeypatch.setenv("UNIQUE_CACHE_DIR", str(tmp_path))
    tile = Region("t", 10, 20, 3, 3)
    assert E._finer_build(tile, 2023, 1, 30, 6) is None
    path = E.heldout_path(tile, 2023, 1, 15, 12)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert E._finer_build(tile, 2023, 1, 30, 6) == path  # every 30th day is a 15th day; 6 of its 12 clear dates
    assert E._finer_build(tile, 2023, 1, 20, 6) is None  # every 20th is not
