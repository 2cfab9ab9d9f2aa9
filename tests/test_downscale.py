"""Step 2 pieces on CPU: schedule, samplers, a tiny model's training, tiling, conservation, weights."""

import datetime as dt

import numpy as np
import pytest
import torch

from unique_core.downscale import data as D
from unique_core.downscale.infer import (block_mean_error, conserve_block_means, sample_residual)
from unique_core.downscale.model import DownscaleConfig, Downscaler
from unique_core.downscale.schedule import NoiseSchedule
from unique_core.downscale.train import TrainConfig, train
from unique_core.errors import ModelError, UniqueError
from unique_core.grid import Region


def test_schedule__invariants():
    s = NoiseSchedule(1000)
    ab = s.alpha_bar64
    assert (np.diff(ab) < 0).all() and 0.99 < ab[0] <= 1 and ab[-1] < 1e-3
    x0 = torch.randn(2, 1, 8, 8)
    eps = torch.randn(2, 1, 8, 8)
    t = torch.tensor([10, 900])
    xt = s.add_noise(x0, eps, t)
    x0_back, eps_back = s.predict_x0_eps(s.v_target(x0, eps, t), xt, t)
    torch.testing.assert_close(x0_back, x0, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(eps_back, eps, atol=1e-4, rtol=1e-4)
    assert s.timesteps(5) == [999, 749, 500, 250, 0] and len(s.timesteps(None)) == 1000


def test_ddim__with_an_oracle_recovers_the_clean_sample():
    """If the network knew v exactly, deterministic DDIM would land on x0 in any number of steps."""
    s = NoiseSchedule(1000)
    x0 = torch.randn(1, 1, 8, 8)
    noise = torch.randn(1, 1, 8, 8)
    x = s.add_noise(x0, noise, torch.tensor([999]))
    ts = s.timesteps(7)
    for k, t in enumerate(ts):
        tt = torch.tensor([t])
        ab = s._ab(tt)
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
        v = s.v_target(x0, eps, tt)
        x = s.ddim_step(v, t, ts[k + 1] if k + 1 < len(ts) else None, x)
    torch.testing.assert_close(x, x0, atol=1e-4, rtol=1e-4)


def _synthetic_samples(n=6, size=96, seed=0):
    """Samples whose residual is a fixed function of the conditioning (a learnable map)."""
    rng = np.random.default_rng(seed)
    out = []
    tile = Region("t", 10, 10, 2, 2)
    for _ in range(n):
        cond = rng.normal(size=(2, size, size)).astype(np.float32)
        cond = (cond + np.roll(cond, 1, axis=1) + np.roll(cond, 1, axis=2)) / 3
        residual = (0.8 * cond[1] - 0.3 * cond[0]).astype(np.float32)
        mask = rng.random((size, size)) > 0.2
        out.append(D.Sample(tile, dt.date(2021, 5, 1), cond[1:], np.where(mask, residual, 0), mask,
                            cond[0] * D.GPP_SCALE, np.zeros((size, size)), np.zeros((size, size)), np.zeros((12, 12))))
    return out


@pytest.mark.parametrize("kind", ["diffusion", "regression"])
def test_tiny_model__loss_falls_on_cpu(tmp_path, kind):
    cfg = DownscaleConfig(scheme="s1", kind=kind, base=8, mults=(1, 2), channels=("a", "b"))
    samples = _synthetic_samples()
    model, summary = train(cfg, samples, samples[:2], TrainConfig(steps=120, batch=8, crop=32, lr=3e-3,
                                                                  checkpoint_every=60, val_every=60), tmp_path / "ck")
    losses = [h["train_loss"] for h in summary["history"] if "train_loss" in h]
    assert losses[-1] < 0.7 * losses[0]
    # resuming from the checkpoint continues the step count instead of starting over
    _, again = train(cfg, samples, samples[:2], TrainConfig(steps=130, batch=8, crop=32, lr=3e-3,
                                                             checkpoint_every=60, val_every=60), tmp_path / "ck")
    assert again["steps"] == 130 and len(again["history"]) > len(summary["history"])
    # a checkpoint of another model (here: other channels) is refused by name, not loaded into the wrong shapes
    other = DownscaleConfig(scheme="s1", kind=kind, base=8, mults=(1, 2), channels=("a", "b", "c"))
    with pytest.raises(UniqueError, match=r"another model \(channels differ.*rm -r"):
        train(other, samples, samples[:2], TrainConfig(steps=140, batch=8, crop=32), tmp_path / "ck")


def _random_model(scheme="s1", channels=("gpp_m",)):
    torch.manual_seed(0)
    m = Downscaler(DownscaleConfig(scheme=scheme, base=8, mults=(1, 2), channels=channels))
    torch.nn.init.normal_(m.net.out.weight, std=0.1)  # the output layer starts at zero; wake it up
    return m


def test_sampling__same_seed_same_map_other_seed_differs():
    m = _random_model()
    region = Region("r", 100, 100, 2, 2)
    cond = np.random.default_rng(1).normal(size=(1, 100, 100)).astype(np.float32)
    a = sample_residual(m, cond, region.fine, members=2, steps=3, seed=5)
    b = sample_residual(m, cond, region.fine, members=2, steps=3, seed=5)
    c = sample_residual(m, cond, region.fine, members=2, steps=3, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])  # members differ


def test_spread_scale__inflates_deviations_and_keeps_the_mean():
    m = _random_model()
    region = Region("r", 100, 100, 2, 2)
    cond = np.random.default_rng(1).normal(size=(1, 100, 100)).astype(np.float32)
    raw = sample_residual(m, cond, region.fine, members=3, steps=3, seed=5)
    m.config.spread_scale = 1.7
    wide = sample_residual(m, cond, region.fine, members=3, steps=3, seed=5)
    np.testing.assert_allclose(wide.mean(0), raw.mean(0), atol=1e-5)
    np.testing.assert_allclose(wide.std(0), 1.7 * raw.std(0), rtol=1e-4, atol=1e-6)
    single = sample_residual(m, cond, region.fine, members=1, steps=3, seed=5)
    np.testing.assert_allclose(single[0], raw[0], atol=1e-4)  # one member has no spread to scale


def test_tiling__no_seams_across_patch_borders():
    m = _random_model()
    region = Region("r", 100, 100, 6, 6)  # 300 x 300: several overlapping 64 px patches
    yy, xx = np.mgrid[0:300, 0:300] / 300.0
    cond = np.sin(6 * xx + 3 * yy)[None].astype(np.float32)
    out = sample_residual(m, cond, region.fine, members=1, steps=3, seed=1, patch=64, overlap=16)[0]
    step = np.abs(np.diff(out, axis=1)).mean(axis=0)  # mean jump between neighbouring columns
    borders = [s + 64 - 8 for s in range(0, 300 - 64, 48)]  # middles of the overlaps
    assert step[borders].mean() < 1.5 * np.median(step)
    whole = sample_residual(m, cond, region.fine, members=1, steps=3, seed=1, patch=304, overlap=16)[0]
    assert np.corrcoef(out.ravel(), whole.ravel())[0, 1] > 0.8  # tiled ~ untiled, away from context effects


def test_conservation__block_means_match_gpp_m():
    region = Region("r", 100, 100, 2, 3)
    rng = np.random.default_rng(0)
    pred = rng.gamma(4, 2, size=(2, 100, 150)).astype(np.float32)
    gpp_m = rng.gamma(4, 2, size=(6, 9)).astype(np.float32)
    land = np.ones((100, 150), bool)
    assert block_mean_error(pred[0], gpp_m, region, land) > 0.5
    fixed = conserve_block_means(pred, gpp_m, region, land)
    assert block_mean_error(fixed[0], gpp_m, region, land) < 0.05
    assert block_mean_error(fixed[1], gpp_m, region, land) < 0.05
    # the detail inside blocks survives: only smooth corrections were added
    assert np.corrcoef((fixed[0] - pred[0]).ravel(), pred[0].ravel())[0, 1] < 0.2


def test_weights__config_mismatch_is_a_clear_error(tmp_path):
    m = _random_model()
    folder = m.save(tmp_path / "s1")
    back = Downscaler.load(folder)
    for a, b in zip(back.net.state_dict().values(), m.net.state_dict().values()):
        torch.testing.assert_close(a, b)
    import json

    cfg = json.loads((folder / "config.json").read_text())
    cfg["base"] = 16
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="weights do not match config.json"):
        Downscaler.load(folder)
    with pytest.raises(ModelError, match="not a downscaling model"):
        Downscaler.load(tmp_path / "missing")


# ------------------------------------------------------------------ the held-out split
def test_split__test_tiles_keep_their_margin_from_every_seen_tile():
    from unique_core.downscale.split import MARGIN_BLOCKS, gap_blocks, shipped_split, unseen

    split = shipped_split()
    assert len(split.test) >= 10 and len({t.name for t in split.test}) == len(split.test)
    for t in split.test:
        assert min(gap_blocks(t, s) for s in (*split.train, *split.validation)) >= MARGIN_BLOCKS
        assert unseen(t, split, margin=MARGIN_BLOCKS)
    assert not unseen(split.train[0], split)


def test_split__a_test_tile_next_to_a_training_tile_is_refused():
    from unique_core.downscale.split import Split, check_disjoint, shipped_split
    from unique_core.errors import RegionError

    s = shipped_split()
    near = Region("near", s.train[0].brow0 + s.train[0].nbrows + 1, s.train[0].bcol0, 3, 3)
    with pytest.raises(RegionError, match="test tiles need 6 km: move it"):
        check_disjoint(Split(s.train, s.validation, (near,)))


def test_split__shipped_configs_list_train_validation_and_test_bounds():
    import json

    from unique_core.downscale.registry import model_dir
    from unique_core.downscale.split import shipped_split

    expected = shipped_split().to_json()
    for name in ("s1", "s2", "s3", "regression"):
        cfg = json.loads((model_dir(name) / "config.json").read_text())
        assert cfg["tiles"] == expected and cfg["tiles_crs"] == "EPSG:5179"
        assert all(len(b) == 4 and b[0] < b[2] and b[1] < b[3] for k in expected for b in cfg["tiles"][k])


def test_summarise__pooled_rmse_ratios_and_intervals():
    from unique_core import metrics as M
    from unique_core.downscale.evaluate import summarise

    rng = np.random.default_rng(0)
    rows = []
    for tile in ("a", "b", "c"):
        for month in range(1, 13):
            y = rng.random(200) * 10
            for method, noise in (("unmix", 2.0), ("s2", 1.0)):
                p = y + rng.normal(0, noise, y.size)
                row = {"tile": tile, "date": f"2023-{month:02d}-05", "cadence": True, "clear": False,
                       "season": "MAM", "method": method, "seconds": 0.1, "truth": M.pooled(y, p),
                       "truth_by_pft": {"DBF": M.pooled(y, p)}, "ssim": 0.5, "block_mean_error": 0.1,
                       "block_vs_truth": (1.0, 4)}
                rows.append(row)
    out = summarise(rows, members=4)["ordinary"]
    assert out["windows"] == 36 and out["blocks"] == 36
    ratio, lo, hi = out["rmse_ratios"]["s2/unmix"]
    assert ratio == pytest.approx(0.5, abs=0.03) and lo < ratio < hi
    assert out["methods"]["s2"]["crps"] == pytest.approx(out["methods"]["s2"]["truth"]["mae"], abs=1e-3)
    from unique_core.downscale.evaluate import heldout_markdown

    md = heldout_markdown({"ordinary": out, "cadence_days": 5, "year": 2023, "members": 4, "ddim_steps": 10,
                           "split": {"test_names": ["a", "b", "c"]}})
    assert "| S2 diffusion | " in md and f"| S2 diffusion / land-cover unmixing | {ratio:.3f} |" in md


def test_check_spread_setting__refuses_uncalibrated_member_and_step_counts():
    import dataclasses

    from unique_core.downscale.registry import check_spread_setting

    model = Downscaler(DownscaleConfig(scheme="s1", base=8, mults=(1, 2)))
    check_spread_setting(model, 1, 10)  # one member: no band, nothing to calibrate
    with pytest.raises(ModelError, match="not calibrated.*unique downscale calibrate --scheme s1"):
        check_spread_setting(model, 4, 10)
    # the legacy single factor fitted at one setting is not a spread model (downscale/uncertainty.py)
    model.config = dataclasses.replace(model.config, spread_scale=1.9,
                                       spread_calibration={"members": 8, "ddim_steps": 10})
    with pytest.raises(ModelError, match="not calibrated"):
        check_spread_setting(model, 8, 10)
    model.config.spread_calibration = {"model": "finite_ensemble", "steps": [5, 10, 25], "k": [1.4, 1.1, 1.0],
                                       "a": [0.3, 0.3, 0.3]}
    check_spread_setting(model, 4, 10)
    check_spread_setting(model, 16, 7)  # any member count, steps inside the fitted range
    with pytest.raises(ModelError, match="DDIM 5 to 25 steps, not 50"):
        check_spread_setting(model, 4, 50)


def test_error_model__the_towers_random_error_is_taken_out_of_the_residuals(tmp_path):
    """sigma^2 = mean(residual^2) - mean(randunc^2), never below a quarter of the residuals' mean square;
    rows without a random error subtract nothing; a sample without the column keeps the raw RMSE."""
    import pandas as pd

    from unique_core.gpp import error_model as E

    folder = tmp_path / "models"
    (folder / "gpp_landsat").mkdir(parents=True)
    rows = {"date": ["2021-07-01"] * 4 + ["2021-01-05"] * 2, "pft_name": ["DBF"] * 4 + ["ENF"] * 2,
            "gpp": [5.0, 5.0, 5.0, 5.0, 1.0, 1.0], "pred_lightgbm": [7.0, 3.0, 6.0, 4.0, 1.5, 0.5],
            "nee_randunc": [1.0, 1.0, np.nan, 1.0, 0.9, 0.9]}
    pd.DataFrame(rows).to_csv(E.cv_file(folder, "landsat"), index=False)
    t = E.error_table(folder, "landsat")
    # DBF in summer: residuals 2, -2, 1, -1 -> mean square 2.5; noise (1, 1, 0, 1) -> 0.75; sqrt(1.75)
    assert t["by_pft_season"]["DBF"]["JJA"] == [pytest.approx(np.sqrt(1.75)), 4]
    # ENF: mean square 0.25, noise 0.81: the floor, a quarter of 0.25 -> 0.25
    assert t["by_pft"]["ENF"][0] == pytest.approx(0.25)
    assert t["tower_noise_removed"] and t["raw_global"] == pytest.approx(np.sqrt(10.5 / 6))
    assert t["global"][0] == pytest.approx(np.sqrt((10.5 - 3.0 - 1.62) / 6))
    pd.DataFrame(rows).drop(columns="nee_randunc").to_csv(E.cv_file(folder, "landsat"), index=False)
    raw = E.error_table(folder, "landsat")
    assert not raw["tower_noise_removed"] and raw["by_pft_season"]["DBF"]["JJA"][0] == pytest.approx(np.sqrt(2.5))


def test_error_model__table_fallbacks_and_total_band(tmp_path):
    from unique_core.gpp import error_model as E

    table = E.error_table()
    assert table["global"][1] > 1000
    may = dt.date(2023, 5, 1)
    assert E.sigma("RICE", may, table) == table["by_pft_season"]["RICE"]["MAM"][0]
    assert E.sigma("NOPE", may, table) == table["global"][0]  # unknown plant type: the overall error
    members = np.stack([np.zeros((2, 2)), np.full((2, 2), 2.0)])  # s^2 = 2, M = 2: 2 * 3/2 = 3
    band = E.total_std(members, np.full((2, 2), 1.0))
    assert np.allclose(band, 2.0)  # sqrt(3 + 1)
    with pytest.raises(ModelError, match="at least 2 members"):
        E.total_std(members[:1], np.ones((2, 2)))
    with pytest.raises(ModelError, match="cross-validation predictions are missing"):
        E.error_table(tmp_path)


# ------------------------------------------------------------------ S3: temporal fusion
def test_s3_pairs__the_target_scene_is_never_in_its_own_input():
    """The S3 data builder's Landsat input on a target date ignores that date's scene entirely:
    changing the target scene leaves the input unchanged, changing a neighbouring scene does not."""
    t0 = dt.date(2022, 6, 1).toordinal()
    times = np.array([t0 - 16, t0 - 8, t0, t0 + 8, t0 + 24])
    base = np.array([0.30, 0.40, 0.55, 0.60, 0.70], np.float32)
    vis = {v: np.broadcast_to(base[:, None, None], (5, 2, 2)).copy() for v in ("ndvi", "evi", "nirv", "lswi")}
    clear = np.ones((5, 2, 2), bool)
    clear[1, 0, 0] = False  # pixel (0, 0) is cloudy on the scene before: it reaches further back
    day = dt.date.fromordinal(t0)
    for variant in D.VARIANTS:
        ref = D.withheld_indices(times, vis, clear, day, variant)
        assert (ref["days_since_clear"] > 0).all() and (ref["days_to_clear"] > 0).all()  # no view on the day itself
        hot = {v: a.copy() for v, a in vis.items()}
        hot["ndvi"][2] = 5.0  # the target scene
        out = D.withheld_indices(times, hot, clear, day, variant)
        np.testing.assert_array_equal(out["ndvi"], ref["ndvi"])
        moved = {v: a.copy() for v, a in vis.items()}
        moved["ndvi"][0] = 0.0  # the scene 16 days before
        assert not np.array_equal(D.withheld_indices(times, moved, clear, day, variant)["ndvi"], ref["ndvi"])
    gm = np.broadcast_to(np.array([1.0, 2.0, 50.0, 4.0, 5.0], np.float32)[:, None, None], (5, 2, 2)).copy()
    views_m = D.withheld_indices(times, vis, clear, day, "two_sided", gm)["gpp_m_view_vegetation"]
    assert views_m[1, 1] == pytest.approx(3.0) and views_m[0, 0] == pytest.approx(1.0 + 16 / 24 * 3.0)  # not 50
    two = D.withheld_indices(times, vis, clear, day, "two_sided")
    assert two["days_since_clear"][0, 0] == 16 and two["days_since_clear"][1, 1] == 8
    assert two["days_to_clear"][1, 1] == 8 and two["ndvi"][1, 1] == pytest.approx(0.5)  # 0.40 -> 0.60, halfway
    past = D.withheld_indices(times, vis, clear, day, "past")
    assert (past["days_to_clear"] == 65).all() and past["ndvi"][1, 1] == pytest.approx(0.40)
    assert not D.withheld(times, day)[2] and D.withheld(times, day).sum() == 4


def test_s3_cond__channels_fill_and_the_past_variant_has_no_future():
    up = np.full((8, 8), 4.0, np.float32)
    static = np.zeros((len(D.STATIC_CHANNELS), 8, 8), np.float32)
    gl = np.full((8, 8), 6.0, np.float32)
    gl[0, 0] = np.nan  # no clear view within 64 days: GPP_M stands in
    gv = np.full((8, 8), 5.0, np.float32)
    gv[0, 0] = np.nan
    since = np.full((8, 8), 16.0, np.float32)
    until = np.full((8, 8), 8.0, np.float32)
    two = D.s3_cond(up, static, gl, gv, since, until, "two_sided")
    past = D.s3_cond(up, static, gl, gv, since, until, "past")
    assert two.shape == (len(D.channels("s3")), 8, 8) and np.isfinite(two).all()
    views = D.channels("s3").index("gpp_m_view_vegetation")
    assert two[views - 1, 0, 0] == pytest.approx(0.4) and two[views - 1, 1, 1] == pytest.approx(0.6)
    assert two[views, 0, 0] == pytest.approx(0.4) and two[views, 1, 1] == pytest.approx(0.5)
    assert two[-1, 1, 1] == pytest.approx(8 / 64) and np.allclose(past[-1], 65 / 64)
    base = D.s3_base(up, gl, "gpp_l")
    assert base[0, 0] == 4.0 and base[1, 1] == 6.0 and (D.s3_base(up, gl, "gpp_m") == up).all()
    change = D.s3_base(up, gl, "gpp_l_change", gv)  # 6 + (4 - 5): GPP_M's vegetation lost 1 since the views
    assert change[0, 0] == 4.0 and change[1, 1] == pytest.approx(5.0)
    assert D.s3_base(up, gl, "gpp_l_change", gv + 10)[1, 1] == 0.0  # never below zero
    with pytest.raises(ValueError, match="choose one of"):
        D.s3_base(up, gl, "gpp_q")


def test_s3_inputs__gpp_m_on_the_views_is_todays_gpp_m_where_today_is_the_view(world, small_region):
    """On a Landsat date, a pixel clear that day is its own (only) view: S3's channel of GPP_M with the
    views' vegetation (and today's weather) there equals the day's bilinear GPP_M, made independently by
    the daily GPP_M map, in both variants."""
    from unique_core.gpp.maps import gpp_m_map
    from unique_core.gpp.registry import load_model

    m_model, l_model = load_model("modis"), load_model("landsat")
    day = next(d for d, _, _ in world.landsat_dates(small_region, 2023) if d.month in (5, 6))
    gl, gv, since, until = D.s3_inputs(world, small_region, day, "two_sided", l_model, m_model)
    r = small_region
    padded = Region(r.name, r.brow0 - 1, r.bcol0 - 1, r.nbrows + 2, r.nbcols + 2)
    up = D.upsample(gpp_m_map(m_model, world, day, padded).values, r)
    own = (since == 0) & (until == 0)
    assert own.sum() > 100  # some of the region is clear that day
    np.testing.assert_allclose(gv[own], up[own], rtol=1e-4, atol=1e-4)
    seen = since <= 64
    assert np.isfinite(gv[seen]).all() and np.isfinite(gl).any()
    _, past, _, _ = D.s3_inputs(world, small_region, day, "past", l_model, m_model)
    np.testing.assert_allclose(past[own], up[own], rtol=1e-4, atol=1e-4)  # today's view is in the past too


def test_s3_view_vegetation__the_views_indices_with_the_days_weather(world, small_region):
    """GPP_M with a view's vegetation on another day is the daily GPP_M model fed that view date's MODIS
    features (made independently, as the daily map makes them) and the other day's weather; it differs
    from GPP_M on the view's own date by the weather alone."""
    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model

    m_model = load_model("modis")
    views = [dt.date(2023, 5, 2), dt.date(2023, 5, 18)]
    today = dt.date(2023, 6, 11)
    vv = D.view_vegetation(world, small_region, np.array([d.toordinal() for d in views]))
    coarse, up = D.gpp_m_with_view_vegetation(m_model, world, vv, today)
    assert up.shape == (2, *small_region.fine.shape) and coarse.shape == (2, *vv.grid.shape)
    padded = D._padded(small_region)
    for k, view in enumerate(views):
        feats, grid, land = maps.modis_inputs(world, view, padded)
        feats.update(maps.met_inputs(world, grid, vv.elevation, today))
        expected = maps.predict_on(m_model, feats, land)
        np.testing.assert_allclose(coarse[k], expected, rtol=1e-4, atol=1e-4)
        own = maps.gpp_m_map(m_model, world, view, padded).values  # the view's own weather
        assert np.nanmax(np.abs(own - coarse[k])) > 0.1
    only = D.gpp_m_with_view_vegetation(m_model, world, vv, today, np.array([False, True]))[1]
    np.testing.assert_array_equal(only[0], up[1])


def test_s3__a_model_saved_as_safetensors_downscales_a_region_on_cpu(tmp_path, world, small_region):
    """S3 from safetensors on CPU: both variants give finite maps on land and NaN off it, on the grid."""
    from unique_core.downscale.infer import downscale_region
    from unique_core.gpp.registry import load_model

    torch.manual_seed(0)
    Downscaler(DownscaleConfig(scheme="s3", base=8, mults=(1, 2), base_map="gpp_l")).save(tmp_path / "s3")
    model = Downscaler.load(tmp_path / "s3")
    assert model.config.scheme == "s3" and model.config.in_channels == len(D.channels("s3")) + 1
    land = world.static(small_region).land
    day = dt.date(2023, 6, 1)
    for variant in ("two_sided", "past"):
        res = downscale_region(model, world, small_region, day, load_model("modis"), members=1, steps=2,
                               variant=variant)
        assert res.mean.shape == small_region.fine.shape
        assert np.isfinite(res.mean[land]).all() and np.isnan(res.mean[~land]).all() and (res.mean[land] >= 0).all()
    with pytest.raises(ValueError, match="variant"):
        downscale_region(model, world, small_region, day, load_model("modis"), variant="future")


def test_registry__a_model_trained_on_other_channels_is_refused_with_the_fix(tmp_path):
    """A model folder from before a scheme's channels changed (S3 without GPP_M on the views) fails to
    load with the channels it has, those this code makes, and the command that retrains it."""
    from unique_core.downscale import registry
    from unique_core.errors import ModelError

    old = tuple("gpp_m_views" if c == "gpp_m_view_vegetation" else c for c in D.channels("s3"))  # S3 data v2
    Downscaler(DownscaleConfig(scheme="s3", base=8, mults=(1, 2), channels=old)).save(tmp_path / "old")
    with pytest.raises(ModelError, match=r"gpp_m_view_vegetation.*unique downscale train --scheme s3"):
        registry.load("s3", tmp_path / "old")
    Downscaler(DownscaleConfig(scheme="s3", base=8, mults=(1, 2))).save(tmp_path / "new")
    assert registry.load("s3", tmp_path / "new").config.channels == D.channels("s3")


def test_s3__the_shipped_weights_load_on_cpu_and_saw_only_training_boxes():
    """The shipped S3 loads from safetensors on CPU with S3's channels, and every box it trained or was
    validated on lies inside a training or validation tile (never near a test tile)."""
    import json

    from unique_core.downscale import registry
    from unique_core.downscale.split import shipped_split

    model = registry.load("s3")
    assert model.config.scheme == "s3" and model.config.channels == D.channels("s3")
    assert next(model.net.parameters()).device.type == "cpu"
    card = json.loads((registry.model_dir("s3") / "card.json").read_text())
    split = shipped_split()
    seen = (*split.train, *split.validation)
    for name in card["training_boxes"] + card["validation_boxes"]:
        b, r, c = name.split("_")[:3]
        nb = int(c.split("x")[0])
        box = Region("box", int(b[1:]), int(r), nb, nb)
        assert any(t.brow0 <= box.brow0 and box.brow0 + nb <= t.brow0 + t.nbrows and t.bcol0 <= box.bcol0
                   and box.bcol0 + nb <= t.bcol0 + t.nbcols for t in seen)


def _gpp_m_with_halo(world, region, day):
    from unique_core.gpp.maps import gpp_m_map
    from unique_core.gpp.registry import load_model

    halo = Region(region.name, region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)
    return gpp_m_map(load_model("modis"), world, day, halo).values


def test_s2_unmix__the_base_is_land_cover_unmixing_and_also_a_channel(world, small_region):
    """S2 on the unmixing base: the base is the unmix peer's map on the same inputs, the network sees it
    right after GPP_M, and the bilinear S2's conditioning is what it was."""
    from unique_core.downscale import peers as P

    gm = _gpp_m_with_halo(world, small_region, dt.date(2023, 6, 1))
    frac_c = world.static_coarse(small_region, halo_blocks=1).fractions
    frac_f = world.static(small_region).fractions
    base = D.s2_base(gm, small_region, "unmix", frac_c, frac_f)
    np.testing.assert_array_equal(base, P.unmix(gm, frac_c, frac_f, small_region.coarse.pad(3), small_region.fine))
    up = D.upsample(gm, small_region)
    assert np.abs(base - up).max() > 0.5  # the class fractions move it away from bilinear GPP_M
    static = D.static_channels(world, small_region)
    cond = D.s2_cond(up, base, static, "unmix")
    cfg = DownscaleConfig(scheme="s2", base_map="unmix")
    assert cfg.channels[:2] == ("gpp_m", "unmix") and len(cond) == len(cfg.channels) == len(D.channels("s2")) + 1
    np.testing.assert_allclose(cond[1], base / D.GPP_SCALE, rtol=1e-6)
    np.testing.assert_array_equal(cond[2:], static)
    np.testing.assert_array_equal(D.s2_cond(up, up, static, "gpp_m"),
                                  np.concatenate([(up / D.GPP_SCALE)[None], static]).astype(np.float32))
    with pytest.raises(ValueError, match="S1 base map 'unmix'"):
        DownscaleConfig(scheme="s1", base_map="unmix")
    with pytest.raises(ValueError, match="S2 base map 'gpp_l': choose one of gpp_m, unmix"):
        D.s2_base(gm, small_region, "gpp_l")
    with pytest.raises(ValueError, match="class fractions"):
        D.s2_base(gm, small_region, "unmix")


def test_s2_unmix__a_region_and_its_days_give_the_same_map(tmp_path, world, small_region):
    """An S2 on the unmixing base from safetensors: the daily product (downscale_region) and the
    year-of-days path (downscale_days) agree; a network that adds nothing returns the unmixing map."""
    from unique_core.downscale import peers as P
    from unique_core.downscale import registry
    from unique_core.downscale.infer import downscale_days, downscale_region
    from unique_core.gpp.registry import load_model

    day = dt.date(2023, 6, 1)
    land = world.static(small_region).land
    gm = _gpp_m_with_halo(world, small_region, day)
    static = D.static_channels(world, small_region)
    torch.manual_seed(0)
    m = Downscaler(DownscaleConfig(scheme="s2", base=8, mults=(1, 2), base_map="unmix"))
    torch.nn.init.normal_(m.net.out.weight, std=0.1)
    m.save(tmp_path / "s2u")
    model = registry.load("s2", tmp_path / "s2u")  # its channels are the ones this code makes for it
    assert model.config.base_map == "unmix"
    one = downscale_region(model, world, small_region, day, load_model("modis"), members=1, steps=2)
    days, _ = downscale_days(model, gm[None], static, small_region, land, members=1, steps=2, world=world, dates=[day])
    assert np.isfinite(one.mean[land]).all()
    np.testing.assert_allclose(days[0][land], one.mean[land], atol=1e-3)  # ONNX Runtime against torch
    with pytest.raises(ValueError, match="needs the data source"):
        downscale_days(model, gm[None], static, small_region, land, members=1, steps=2)

    flat = Downscaler(DownscaleConfig(scheme="s2", kind="regression", base=8, mults=(1, 2), base_map="unmix"))
    torch.nn.init.zeros_(flat.net.out.weight)
    torch.nn.init.zeros_(flat.net.out.bias)
    unmixed = P.unmix(gm, world.static_coarse(small_region, halo_blocks=1).fractions,
                      world.static(small_region).fractions, small_region.coarse.pad(3), small_region.fine)
    got = downscale_region(flat, world, small_region, day, load_model("modis"), members=1)
    np.testing.assert_allclose(got.mean[land], unmixed[land], atol=1e-5)
