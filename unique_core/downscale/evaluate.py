"""Evaluation of Step 2 on a test year: the table of docs/step2.md.

Windows of 150 x 150 pixels (4.5 km, 9 x 9 MODIS cells, the paper's patch), aligned to the
1.5 km blocks, are cut from the test tiles' clear Landsat-like dates. Every method is scored
against GPP_L on the window's clear pixels (as the paper did) and against the simulated
true GPP on all its land pixels (which the paper could not do):

  RMSE, r and bias (gC m-2 d-1), pooled over pixels; the same per plant type;
  SSIM against the truth; for ensembles, CRPS and the spread-skill ratio
  (mean ensemble std / RMSE of the ensemble mean); the block-mean conservation error.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from unique_core.downscale import data as D
from unique_core.downscale.infer import block_mean_error, conserve_block_means, sample_day
from unique_core.features import CLASS_TO_PFT
from unique_core.gpp.cv import metrics
from unique_core.grid import Region
from unique_core.landcover import KEYS

PAPER = {"gpp_m_bilinear": 2.85, "s1": 3.36, "s2": 2.24}  # RMSE against GPP_L, EGU26-4160
WINDOW = 150


@dataclass
class Window:
    region: Region
    date: dt.date
    cond_s2: np.ndarray  # (15, 150, 150)
    gpp_m_up: np.ndarray
    gpp_l: np.ndarray  # NaN off clear pixels
    truth: np.ndarray
    land: np.ndarray
    gpp_m: np.ndarray  # (9, 9) 500 m
    pft: np.ndarray  # analysis PFT name per pixel (dominant vegetated class)
    base: np.ndarray | None = None  # the map the residual is added to when not GPP_M (S3: interpolated GPP_L)


def test_windows(world, tiles: list[Region], year: int, n: int, seed: int = 0, base_map: str = "gpp_m"
                 ) -> list[Window]:
    """`n` block-aligned 150 px windows from the tiles' clear dates of `year` (seeded), with S2's
    conditioning and base for `base_map` (the same windows for every base map)."""
    samples = D.load_samples(world, tiles, [year], "s2", base_map)
    rng = np.random.default_rng(seed)
    out = []
    order = rng.permutation(len(samples))
    for k in order:
        s = samples[k]
        nb = s.tile.nbrows // 3
        bi, bj = 3 * int(rng.integers(0, nb)), 3 * int(rng.integers(0, s.tile.nbcols // 3))
        i, j = bi * 50, bj * 50
        sl = (slice(i, i + WINDOW), slice(j, j + WINDOW))
        if s.mask[sl].mean() < 0.25:
            continue
        region = s.tile.subregion(bi, bj, 3, 3, name=f"{s.tile.name}-{s.date}")
        st = world.static(region)
        frac = st.fractions.copy()
        frac[[KEYS.index("water"), KEYS.index("barren")]] = -1
        pft = np.array([CLASS_TO_PFT[KEYS[c]] if KEYS[c] != "paddy" else "RICE" for c in range(len(KEYS))])[frac.argmax(0)]
        coarse = s.gpp_m[3:-3, 3:-3]  # drop the one-block halo
        gm = coarse[bi * 3: bi * 3 + 9, bj * 3: bj * 3 + 9]  # 3 blocks = 9 cells
        out.append(Window(region, s.date, s.cond_window(*sl), s.gpp_m_up[sl], s.gpp_l[sl], s.truth[sl],
                          st.land, gm, pft, base=None if s.base is None else s.base[sl]))
        if len(out) >= n:
            break
    return out


def _ssim(a: np.ndarray, b: np.ndarray, data_range: float = 15.0) -> float:
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    f = lambda x: ndimage.gaussian_filter(x, 1.5)
    mu_a, mu_b = f(a), f(b)
    va, vb, cov = f(a * a) - mu_a ** 2, f(b * b) - mu_b ** 2, f(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
    return float(s[6:-6, 6:-6].mean())


def _crps(members: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-pixel ensemble CRPS (energy form): E|X - y| - 0.5 E|X - X'|."""
    m = members
    term1 = np.abs(m - y[None]).mean(axis=0)
    term2 = np.abs(m[:, None] - m[None, :]).mean(axis=(0, 1))
    return term1 - 0.5 * term2


def predict_window(method: str, models: dict, w: Window, *, members: int, steps: int | None, seed: int,
                   sampler: str = "ddim") -> np.ndarray:
    """Ensemble (or single) predictions (N, 150, 150) in gC m-2 d-1."""
    if method == "gpp_m_bilinear":
        return w.gpp_m_up[None]
    name = method.replace("_conserved", "")
    model = models[name]
    if model.config.scheme != "s3" and (model.config.base_map != "gpp_m") != (w.base is not None):
        raise ValueError(f"{name}: an {model.config.scheme.upper()} on the {model.config.base_map} base needs windows "
                         f"made for it (test_windows(..., base_map={model.config.base_map!r}))")
    cond = w.cond_s2 if model.config.scheme in ("s2", "s3") else w.cond_s2[:1]  # S3 windows hold S3's channels
    n = 1 if model.config.kind == "regression" else members
    res = sample_day(model, cond, w.region.fine, members=n, steps=steps, seed=seed, sampler=sampler)
    pred = np.clip((w.gpp_m_up if w.base is None else w.base)[None] + model.config.res_scale * res, 0, None)
    if method.endswith("_conserved"):
        pred = np.clip(conserve_block_means(pred, w.gpp_m, w.region, w.land), 0, None)
    return pred


def evaluate(models: dict, windows: list[Window], *, members: int = 8, steps: int | None = 10, seed: int = 0,
             methods: tuple[str, ...] = ("gpp_m_bilinear", "regression", "s1", "s2", "s2_conserved"),
             progress=None) -> dict:
    """Scores of each method on the windows (see the module docstring)."""
    out = {}
    for mi, method in enumerate(methods):
        base = method.replace("_conserved", "")
        if base not in ("gpp_m_bilinear",) and base not in models:
            continue
        t0 = time.time()
        y_l, y_t, p_l, p_t, pfts, ssims, crps_t, crps_l, spreads, cons = [], [], [], [], [], [], [], [], [], []
        for k, w in enumerate(windows):
            ens = predict_window(method, models, w, members=members, steps=steps, seed=seed + k)
            mean = ens.mean(axis=0)
            cl = np.isfinite(w.gpp_l) & w.land
            y_l.append(w.gpp_l[cl]); p_l.append(mean[cl])
            y_t.append(w.truth[w.land]); p_t.append(mean[w.land]); pfts.append(w.pft[w.land])
            ssims.append(_ssim(np.where(w.land, mean, 0), np.where(w.land, w.truth, 0)))
            cons.append(block_mean_error(mean, w.gpp_m, w.region, w.land))
            if len(ens) == 1:  # the CRPS of a point forecast is its absolute error
                crps_t.append(np.abs(mean[w.land] - w.truth[w.land]).mean())
                crps_l.append(np.abs(mean[cl] - w.gpp_l[cl]).mean() if cl.any() else np.nan)
            else:
                crps_t.append(_crps(ens[:, w.land], w.truth[w.land]).mean())
                crps_l.append(_crps(ens[:, cl], w.gpp_l[cl]).mean() if cl.any() else np.nan)
                spreads.append((ens.std(axis=0)[cl].mean(), np.sqrt(np.mean((mean[cl] - w.gpp_l[cl]) ** 2)) if cl.any() else np.nan,
                                ens.std(axis=0)[w.land].mean(), np.sqrt(np.mean((mean[w.land] - w.truth[w.land]) ** 2))))
            if progress:
                progress(method, k + 1, len(windows))
        yl, pl, yt, pt, pf = (np.concatenate(a) for a in (y_l, p_l, y_t, p_t, pfts))
        res = {"vs_gpp_l": metrics(yl, pl), "vs_truth": metrics(yt, pt), "ssim_vs_truth": round(float(np.mean(ssims)), 4),
               "conservation_rmse": round(float(np.nanmean(cons)), 4),
               "by_pft_vs_truth": {p: metrics(yt[pf == p], pt[pf == p]) for p in np.unique(pf) if (pf == p).sum() > 100},
               "seconds": round(time.time() - t0, 1)}
        res["crps_vs_truth"] = round(float(np.nanmean(crps_t)), 4)
        res["crps_vs_gpp_l"] = round(float(np.nanmean(crps_l)), 4)
        if spreads:
            sp = np.array(spreads, dtype=float)
            res["spread_skill_vs_gpp_l"] = round(float(np.nanmean(sp[:, 0]) / np.nanmean(sp[:, 1])), 3)
            res["spread_skill_vs_truth"] = round(float(np.nanmean(sp[:, 2]) / np.nanmean(sp[:, 3])), 3)
            scale = models[base].config.spread_scale
            res["spread_scale"] = scale
            res["spread_skill_vs_gpp_l_uncalibrated"] = round(res["spread_skill_vs_gpp_l"] / scale, 3)
        out[method] = res
    base = out.get("gpp_m_bilinear", {}).get("vs_gpp_l", {}).get("rmse")
    for method, res in out.items():
        r = res["vs_gpp_l"]["rmse"]
        res["rmse_ratio_to_bilinear"] = round(r / base, 3) if base else None
        key = method if method in PAPER else None
        res["paper_rmse_vs_gpp_l"] = PAPER.get(key) if key else None
        res["paper_ratio_to_gpp_m"] = round(PAPER[key] / PAPER["gpp_m_bilinear"], 3) if key else None
    return out


def rmse_against_steps(model, windows: list[Window], steps_list=(5, 10, 25, 50, None), members: int = 2,
                       seed: int = 0, progress=None) -> list[dict]:
    """RMSE (against GPP_L and truth) of the ensemble mean for DDIM with K steps and full DDPM (None)."""
    rows = []
    for steps in steps_list:
        t0 = time.time()
        yl, pl, yt, pt = [], [], [], []
        for k, w in enumerate(windows):
            ens = predict_window(model.config.scheme, {model.config.scheme: model}, w, members=members,
                                 steps=steps, seed=seed + k, sampler="ddpm" if steps is None else "ddim")
            mean = ens.mean(axis=0)
            cl = np.isfinite(w.gpp_l) & w.land
            yl.append(w.gpp_l[cl]); pl.append(mean[cl]); yt.append(w.truth[w.land]); pt.append(mean[w.land])
            if progress:
                progress(str(steps), k + 1, len(windows))
        rows.append({"sampler": "ddpm" if steps is None else "ddim", "steps": steps or 1000,
                     "rmse_vs_gpp_l": metrics(np.concatenate(yl), np.concatenate(pl))["rmse"],
                     "rmse_vs_truth": metrics(np.concatenate(yt), np.concatenate(pt))["rmse"],
                     "seconds_per_window": round((time.time() - t0) / len(windows), 2)})
    return rows


CALIBRATION_STEPS = (5, 10, 25, 50)  # DDIM step counts the spread model is fitted at (the app's choices)
CALIBRATION_MEMBERS = 8


def _block_ids(shape: tuple[int, int]) -> np.ndarray:
    """The 1.5 km block (0..) of each pixel of a block-aligned window."""
    from unique_core.grid import FINE_PER_BLOCK as B

    i, j = np.indices(shape)
    return (i // B) * (shape[1] // B) + j // B


def _block_mean(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each point's block mean of values (..., n) over the points ids (n,) of its block."""
    out = np.empty_like(values, dtype=np.float64)
    for b in np.unique(ids):
        sel = ids == b
        out[..., sel] = values[..., sel].mean(axis=-1, keepdims=True)
    return out


def spread_records(raw: np.ndarray, y: np.ndarray, ids: np.ndarray, sigma: np.ndarray) -> dict:
    """Sums over one window's reference pixels that the spread model is fitted from.

    raw (M, n) unscaled members, y (n,) the reference (GPP_L), ids (n,) 1.5 km block of each
    point, sigma (n,) GPP_M's cell error. `se_within` and `se_block` split the squared error
    of the ensemble mean into its part within blocks and its block means; `var` and
    `var_within` are the members' unbiased variances, in all and within blocks.
    """
    e = raw.mean(axis=0) - y
    eb = _block_mean(e, ids)
    dev = raw - _block_mean(raw, ids)
    return {"n": int(y.size), "se_within": float(((e - eb) ** 2).sum()), "se_block": float((eb ** 2).sum()),
            "var": float(raw.var(axis=0, ddof=1).sum()), "var_within": float(dev.var(axis=0, ddof=1).sum()),
            "sigma2": float((sigma.astype(np.float64) ** 2).sum())}


def fit_spread(recs: list[dict], members: int) -> tuple[float, float]:
    """(k, a) of the spread model (downscale/uncertainty.py) from spread_records of M-member ensembles.

    k^2 s^2 is the part of the error within 1.5 km blocks that the members' sampling noise
    (s^2 / M within blocks) does not explain; a^2 sigma_M^2 is what is left of the whole
    error once the calibrated members' band (k^2 + 1/M) s^2 is taken off, so the band's
    spread/skill is 1 on the fitting windows.
    """
    t = {k: sum(r[k] for r in recs) for k in ("se_within", "se_block", "var", "var_within", "sigma2")}
    k2 = max((t["se_within"] - t["var_within"] / members) / t["var"], 0.0)
    a2 = max((t["se_within"] + t["se_block"] - (k2 + 1 / members) * t["var"]) / t["sigma2"], 0.0)
    return float(np.sqrt(k2)), float(np.sqrt(a2))


def band_spread_skill(recs: list[dict], k: float, a: float, members: int) -> float:
    """Spread/skill of the band sqrt((k^2 + 1/M) s^2 + a^2 sigma_M^2) on spread_records of M-member ensembles."""
    t = {key: sum(r[key] for r in recs) for key in ("se_within", "se_block", "var", "sigma2")}
    return float(np.sqrt(((k * k + 1 / members) * t["var"] + a * a * t["sigma2"]) / (t["se_within"] + t["se_block"])))


def calibrate_spread(model, windows: list[Window], world, *, members: int = CALIBRATION_MEMBERS,
                     steps: tuple[int, ...] = CALIBRATION_STEPS, seed: int = 0, progress=None) -> dict:
    """The spread model (k, a per DDIM step count) of a diffusion model, against GPP_L on `windows`.

    Meant for the validation tiles of the training years (never the test tiles or year, never
    the truth). For each step count, `members` raw members per window are fitted (fit_spread);
    the band is then checked on disjoint subsets of 2 and 4 of the same members, which tests
    the member-count model (MSE(M) = k^2 s^2 + s^2 / M) on ensembles it was not fitted to.
    Returns what config.json's `spread_calibration` holds.
    """
    from unique_core.downscale.uncertainty import MEMBERS_RANGE, cell_sigma
    from unique_core.gpp import error_model
    from unique_core.resample import coarse_to_fine_nearest

    raw = copy.copy(model)  # shares the network; only its config (no spread model: raw members) is its own
    raw.config = dataclasses.replace(model.config, spread_scale=1.0, spread_calibration={})
    table = error_model.error_table()
    sigmas = []
    for w in windows:
        sc = world.static_coarse(w.region)
        sigmas.append(coarse_to_fine_nearest(cell_sigma(sc.fractions, w.date, table), sc.grid, w.region.fine))
    ks, as_, checks, raw_ratio = [], [], {}, []
    for si, K in enumerate(steps):
        recs, subsets = [], {m: [] for m in (2, 4) if m < members}
        for wi, w in enumerate(windows):
            cl = np.isfinite(w.gpp_l) & w.land
            if cl.sum() < 100:
                continue
            ens = predict_window(raw.config.scheme, {raw.config.scheme: raw}, w, members=members, steps=K,
                                 seed=seed + wi)[:, cl]
            ids, y, sig = _block_ids(w.land.shape)[cl], w.gpp_l[cl], sigmas[wi][cl]
            recs.append(spread_records(ens, y, ids, sig))
            for m in subsets:
                subsets[m] += [spread_records(ens[g * m:(g + 1) * m], y, ids, sig) for g in range(members // m)]
            if progress:
                progress(f"DDIM {K}", wi + 1, len(windows))
        k, a = fit_spread(recs, members)
        ks.append(round(k, 4)); as_.append(round(a, 4))
        t = {key: sum(r[key] for r in recs) for key in ("se_within", "se_block", "var")}
        raw_ratio.append(round(float(np.sqrt(t["var"] * (members + 1) / members / (t["se_within"] + t["se_block"]))), 4))
        checks[str(K)] = {str(m): round(band_spread_skill(r, k, a, m), 3) for m, r in {**subsets, members: recs}.items()}
    n = sum(r["n"] for r in recs)
    return {"model": "finite_ensemble", "steps": list(steps), "k": ks, "a": as_, "members_range": list(MEMBERS_RANGE),
            "fit_members": members, "windows": len(recs), "pixels": n, "reference": "GPP_L on clear land pixels",
            "raw_spread_skill": raw_ratio, "band_spread_skill_by_members": checks}


# ====================================================================== held-out evaluation
# Test tiles that nothing trained, tuned or calibrated on (downscale/split.py), two kinds of
# 2023 day: (a) Landsat-clear dates, scored against GPP_L on clear pixels and against the
# truth; (b) every CADENCE-th day of the year whatever the clouds, against the truth (the
# headline). Each test tile is one 150 x 150 px window.
CADENCE = 5
MAX_CLEAR = 12  # Landsat-clear dates scored per test tile (evenly spread; a tile has 30-60 in 2023)
DATA_RANGE = 20.0  # gC m-2 d-1: SSIM's data range (above the peak daily GPP of every class)
HELDOUT_VERSION = "1"
PEERS = ("gpp_m_bilinear", "gpp_m_nearest", "unmix", "unmix_residual", "starfm", "gpp_l_two_sided", "gpp_l_past")
LEARNED = ("regression", "s1", "s2", "s2_conserved", "s3", "s3_past")


def _model_name(method: str) -> str:
    """The shipped model a learned method samples: s2_conserved -> s2, s3_past (S3's past-only variant) -> s3."""
    return "s3" if method == "s3_past" else method.replace("_conserved", "")
SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
           9: "SON", 10: "SON", 11: "SON"}


def heldout_path(tile: Region, year: int, seed: int, cadence: int = CADENCE, max_clear: int = MAX_CLEAR):
    from unique_core.config import cache_dir

    return (cache_dir() / f"downscale-heldout-s{seed}-v{HELDOUT_VERSION}"
            / f"{tile.key}_{year}_c{cadence}m{max_clear}.npz")


def select_clear_days(clear_days: list, max_clear: int) -> list:
    """At most `max_clear` of the clear dates, evenly spread over the year (all when fewer)."""
    if len(clear_days) <= max_clear:
        return list(clear_days)
    pick = np.unique(np.round(np.linspace(0, len(clear_days) - 1, max_clear)).astype(int))
    return [clear_days[k] for k in pick]


def build_heldout(world, tile: Region, year: int, models=None, cadence: int = CADENCE, max_clear: int = MAX_CLEAR):
    """Inputs and references of one test tile and year (cached npz): returns the path.

    GPP_M (500 m, one-block halo) on every day from 64 days before the year to its end; every
    Landsat acquisition's indices and clear mask; GPP_L on each acquisition's clear land pixels;
    and for each evaluation day (the cadence days and the clear dates): the truth and GPP_L
    from indices interpolated to the day (two-sided and past-only).
    """
    from unique_core.downscale import peers as P
    from unique_core.features import LANDSAT_MAX_GAP
    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model
    from unique_core.world import climate as clim

    path = heldout_path(tile, year, world.seed, cadence, max_clear)
    if path.exists():
        return path
    finer = _finer_build(tile, year, world.seed, cadence, max_clear)
    if finer is not None:
        return finer
    m_model, l_model = models or (load_model("modis"), load_model("landsat"))
    start = max(dt.date(year, 1, 1) - dt.timedelta(LANDSAT_MAX_GAP), dt.date(clim.FIRST_YEAR, 1, 1))
    end = dt.date(year, 12, 31)
    padded = Region(tile.name, tile.brow0 - 1, tile.bcol0 - 1, tile.nbrows + 2, tile.nbcols + 2)
    gm, days = maps.gpp_m_series(m_model, world, padded, start, end)
    st = world.static(tile)
    land = st.land
    pft_codes = maps.pft_map(st.fractions)
    times, vis, clear = maps.landsat_stack(world, tile, start, end)
    clear = clear & land[None]
    share = clear.reshape(len(times), -1).sum(1) / max(land.sum(), 1)
    clear_days = select_clear_days([dt.date.fromordinal(int(t)) for t, s in zip(times, share)
                                    if s >= D.MIN_CLEAR and t >= dt.date(year, 1, 1).toordinal()], max_clear)
    cadence_days = [dt.date(year, 1, 1) + dt.timedelta(k) for k in range(0, 365, cadence)]
    eval_days = sorted(set(cadence_days) | set(clear_days))
    # GPP_L is needed on the scored clear dates and on each day's STARFM pair date
    usable = {int(t) for t, s in zip(times, share) if s >= D.MIN_CLEAR}
    needed = {d.toordinal() for d in clear_days}
    for d in eval_days:
        before = [t for t in usable if d.toordinal() - LANDSAT_MAX_GAP <= t < d.toordinal()]
        if before:
            needed.add(max(before))
    gpp_l_acq = np.full(clear.shape, np.nan, np.float32)
    for k, t in enumerate(times):
        if int(t) not in needed:
            continue
        d = dt.date.fromordinal(int(t))
        idx = P.interpolated_indices(times[k:k + 1], {v: a[k:k + 1] for v, a in vis.items()}, clear[k:k + 1], d,
                                     "two_sided")
        met = maps.met_inputs(world, tile.fine, st.elevation, d)
        gpp_l_acq[k] = np.where(clear[k], P.gpp_l_from_indices(l_model, idx, met, pft_codes, clear[k]), np.nan)
    truth, two, past = [], [], []
    for d in eval_days:
        truth.append(world.day(tile, d).gpp.astype(np.float16))
        met = maps.met_inputs(world, tile.fine, st.elevation, d)
        for out, variant in ((two, "two_sided"), (past, "past")):
            idx = P.interpolated_indices(times, vis, clear, d, variant)
            out.append(P.gpp_l_from_indices(l_model, idx, met, pft_codes, land).astype(np.float16))
    arrays = {"series_days": np.array([d.toordinal() for d in days]), "gpp_m": gm.astype(np.float32),
              "acq_days": times, "acq_clear": clear, "acq_gpp_l": gpp_l_acq.astype(np.float16),
              "eval_days": np.array([d.toordinal() for d in eval_days]),
              "is_cadence": np.array([d in set(cadence_days) for d in eval_days]),
              "is_clear": np.array([d in set(clear_days) for d in eval_days]),
              "truth": np.stack(truth), "gpp_l_two_sided": np.stack(two), "gpp_l_past": np.stack(past),
              "tile": np.array([tile.brow0, tile.bcol0, tile.nbrows, tile.nbcols])}
    path.parent.mkdir(parents=True, exist_ok=True)
    from unique_core.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def _finer_build(tile: Region, year: int, seed: int, cadence: int, max_clear: int):
    """A cached build whose cadence divides `cadence` and with at least `max_clear` clear dates (or None).

    Its cadence days include every `cadence`-th day, and score_tile picks the days it scores.
    """
    for c in range(cadence, 0, -1):
        for m in range(MAX_CLEAR, max_clear - 1, -1):
            path = heldout_path(tile, year, seed, c, m)
            if cadence % c == 0 and path.exists():
                return path
    return None


def _pft_names(fractions: np.ndarray) -> np.ndarray:
    frac = fractions.copy()
    frac[[KEYS.index("water"), KEYS.index("barren")]] = -1
    lut = np.array([CLASS_TO_PFT[k] if k != "paddy" else "RICE" for k in KEYS])
    names = lut[frac.argmax(0)]
    return np.where(names == "GRA", np.where(fractions[KEYS.index("urban")] > 0.5, "URB", "GRA"), names)


def _starfm_pair(z, d: dt.date, before: bool = True):
    """Index of the last acquisition strictly before `d` (within 64 days) with enough clear land."""
    from unique_core.features import LANDSAT_MAX_GAP

    land_n = max(int(z["land"].sum()), 1)
    best = None
    for k, t in enumerate(z["acq_days"]):
        if d.toordinal() - LANDSAT_MAX_GAP <= t < d.toordinal() and z["acq_clear"][k].sum() >= D.MIN_CLEAR * land_n:
            best = k if best is None or t > z["acq_days"][best] else best
    return best


def score_tile(world, tile: Region, year: int, models: dict, *, members: int = 8, steps: int = 10, seed: int = 0,
               methods: tuple[str, ...] = PEERS + LEARNED, cadence: int = CADENCE, max_clear: int = MAX_CLEAR,
               progress=None) -> list[dict]:
    """Per-window scores (sufficient sums) of every method on one test tile's evaluation days."""
    from unique_core import metrics as M
    from unique_core.downscale import peers as P

    from unique_core.downscale import uncertainty as U

    path = build_heldout(world, tile, year, cadence=cadence, max_clear=max_clear)
    with np.load(path) as f:
        z = {k: f[k] for k in f.files}
    # the days scored: every `cadence`-th day and `max_clear` of the clear dates (a finer build holds more)
    doy = np.array([dt.date.fromordinal(int(t)).timetuple().tm_yday - 1 for t in z["eval_days"]])
    z["is_cadence"] = z["is_cadence"] & (doy % cadence == 0)
    clear_days = select_clear_days([int(t) for t, c in zip(z["eval_days"], z["is_clear"]) if c], max_clear)
    z["is_clear"] = np.isin(z["eval_days"], clear_days)
    st = world.static(tile)
    land = st.land
    z["land"] = land
    pft = _pft_names(st.fractions)
    static = D.static_channels(world, tile)
    coarse = tile.coarse.pad(3)
    frac_c = world.static_coarse(tile, halo_blocks=1).fractions
    sidx = {int(t): k for k, t in enumerate(z["series_days"])}
    acq_up = None
    rng = np.random.default_rng(seed)
    rows = []
    for e, t in enumerate(z["eval_days"]):
        if not (z["is_cadence"][e] or z["is_clear"][e]):
            continue
        d = dt.date.fromordinal(int(t))
        sigma_m = sigma_l = None
        gm = z["gpp_m"][sidx[int(t)]]
        up = P.bilinear(gm, coarse, tile.fine)
        truth = z["truth"][e].astype(np.float32)
        acq = np.flatnonzero(z["acq_days"] == t)
        gpp_l = (z["acq_gpp_l"][acq[0]].astype(np.float32) if len(acq) and z["is_clear"][e]
                 else np.full(land.shape, np.nan, np.float32))
        cl = np.isfinite(gpp_l) & land
        inner = gm[3:-3, 3:-3]
        preds: dict[str, np.ndarray] = {}
        for method in methods:
            ens = None
            t0 = time.time()
            if method == "gpp_m_bilinear":
                p = up
            elif method == "gpp_m_nearest":
                p = P.nearest(gm, coarse, tile.fine)
            elif method in ("unmix", "unmix_residual"):
                p = P.unmix(gm, frac_c, st.fractions, coarse, tile.fine, with_residual=method == "unmix_residual")
            elif method == "starfm":
                k = _starfm_pair(z, d)
                if k is None:
                    p = up  # no usable pair within 64 days: STARFM has nothing to add to GPP_M
                else:
                    m_pair = P.bilinear(z["gpp_m"][sidx[int(z["acq_days"][k])]], coarse, tile.fine)
                    p = P.starfm(up, z["acq_gpp_l"][k].astype(np.float32), m_pair)
            elif method in ("gpp_l_two_sided", "gpp_l_past"):
                p = z[method][e].astype(np.float32)
                p = np.where(np.isfinite(p), p, up)  # no clear view within 64 days: GPP_M
            else:
                name = _model_name(method)
                if name not in models:
                    continue
                if method == "s2_conserved" and "s2" in preds:
                    ens = np.clip(conserve_block_means(preds["s2_ens"], inner, tile, land), 0, None)
                else:
                    model = models[name]
                    base = up
                    if model.config.scheme == "s3":  # the day's interpolated GPP_L of the variant and its view ages
                        variant = "past" if method == "s3_past" else "two_sided"
                        gl = z[f"gpp_l_{variant}"][e].astype(np.float32)
                        since, until = P.acquisition_ages(z["acq_days"], z["acq_clear"], d, variant)
                        if acq_up is None:  # GPP_M (30 m) on each acquisition's date, for S3's views channel
                            acq_up = np.stack([P.bilinear(z["gpp_m"][sidx[int(a)]], coarse, tile.fine)
                                               for a in z["acq_days"]]).astype(np.float32)
                        gv = P.interpolated_on_views(z["acq_days"], acq_up, z["acq_clear"], d, variant)
                        cond = D.s3_cond(up, static, gl, gv, since, until, variant)
                        base = D.s3_base(up, gl, model.config.base_map, gv)
                    else:
                        base = D.s2_base(gm, tile, model.config.base_map, frac_c, st.fractions, up=up)
                        cond = D.s2_cond(up, base, static if model.config.scheme == "s2" else None,
                                         model.config.base_map)
                    n = 1 if model.config.kind == "regression" else members
                    res = sample_day(model, cond.astype(np.float32), tile.fine, members=n, steps=steps,
                                     seed=seed + int(t))
                    ens = np.clip(base[None] + model.config.res_scale * res, 0, None)
                    if method == "s2":
                        preds["s2_ens"] = ens
                    if method == "s2_conserved":
                        ens = np.clip(conserve_block_means(ens, inner, tile, land), 0, None)
                p = ens.mean(axis=0)
            preds[method] = p
            row = {"tile": tile.name, "date": d.isoformat(), "cadence": bool(z["is_cadence"][e]),
                   "clear": bool(z["is_clear"][e]), "season": SEASONS[d.month], "method": method,
                   "seconds": time.time() - t0}
            row["truth"] = M.pooled(truth[land], p[land])
            row["truth_by_pft"] = {q: M.pooled(truth[land & (pft == q)], p[land & (pft == q)])
                                   for q in np.unique(pft[land])}
            row["ssim"] = M.ssim(p, truth, land, data_range=DATA_RANGE)
            row["block_mean_error"] = block_mean_error(p, inner, tile, land)
            # block means at 1.5 km against the truth's: what GPP_M gets right
            row["block_vs_truth"] = _block_rmse(p, truth, land)
            if cl.any():
                row["gpp_l"] = M.pooled(gpp_l[cl], p[cl])
            if ens is not None and len(ens) > 1:
                # the band a user sees (downscale/uncertainty.py), from the model that made the members
                model = models[_model_name(method)]
                a = U.gpp_m_factor(model.config, steps)
                if sigma_m is None and a > 0:
                    sigma_m = U.sigma_field(world, tile, d)
                if sigma_l is None:
                    sigma_l = U.landsat_sigma_field(world, tile, d)
                bd = U.band(ens, sigma_m, a, sigma_l)  # what a user sees: for the truth
                bd_ref = U.band(ens, sigma_m, a)  # without GPP_L's own error: for GPP_L, the reference
                row["band_truth"] = [float((bd[land].astype(np.float64) ** 2).sum()), row["truth"]["se"],
                                     int(land.sum())]
                row["crps_band_truth"] = float(M.crps_normal(p[land], bd[land], truth[land]).sum())
                row["crps_truth"] = float(M.crps_ensemble(ens[:, land], truth[land]).sum())
                row["spread_truth"] = M.spread_terms(ens[:, land], truth[land])
                sub = rng.choice(int(land.sum()), size=min(500, int(land.sum())), replace=False)
                row["rank_truth"] = M.rank_histogram(ens[:, land][:, sub], truth[land][sub], rng).tolist()
                row["pit_band_truth"] = M.pit_histogram(p[land][sub], bd[land][sub], truth[land][sub],
                                                        len(ens) + 1).tolist()
                if cl.any():
                    row["band_gpp_l"] = [float((bd_ref[cl].astype(np.float64) ** 2).sum()), row["gpp_l"]["se"],
                                         int(cl.sum())]
                    row["crps_gpp_l"] = float(M.crps_ensemble(ens[:, cl], gpp_l[cl]).sum())
                    row["spread_gpp_l"] = M.spread_terms(ens[:, cl], gpp_l[cl])
            rows.append(row)
        if progress:
            progress(tile.name, e + 1, len(z["eval_days"]))
    return rows


def _block_rmse(p: np.ndarray, truth: np.ndarray, land: np.ndarray) -> tuple[float, int]:
    """(sum of squared differences, blocks) of 1.5 km land means of p and the truth."""
    from unique_core.grid import FINE_PER_BLOCK as B

    H, W = p.shape
    lm = land.reshape(H // B, B, W // B, B)
    n = lm.sum(axis=(1, 3))
    f = lambda a: np.where(land, a, 0).reshape(H // B, B, W // B, B).sum(axis=(1, 3)) / np.maximum(n, 1)
    ok = n > 0.5 * B * B
    return float(((f(p) - f(truth))[ok] ** 2).sum()), int(ok.sum())


ROWS_VERSION = "2"  # the layout of the cached rows (v2: per method group, with the user's band)


def _method_groups(methods: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Methods scored together: a model and its block-conserved variant share the members."""
    groups: dict[str, list[str]] = {}
    for m in methods:
        groups.setdefault(_model_name(m), []).append(m)
    return [tuple(g) for g in groups.values()]


def _score_tile_job(args):
    """Rows of one tile and one method group, cached per setting and model files (a rerun resumes)."""
    import hashlib
    import json

    import torch

    from unique_core.atomic import write_text
    from unique_core.config import cache_dir
    from unique_core.downscale import registry
    from unique_core.world import World

    torch.set_num_threads(1)
    tile, year, names, members, steps, seed, methods, cadence, max_clear = args
    base = _model_name(methods[0])
    names = [n for n in names if n == base]
    files = [registry.model_dir(n) / f for n in names for f in ("weights.safetensors", "config.json")]
    key = hashlib.sha256(json.dumps([ROWS_VERSION, tile.key, year, names, members, steps, seed, methods, cadence,
                                     max_clear, [f.stat().st_mtime_ns for f in files if f.exists()]]
                                    ).encode()).hexdigest()[:16]
    path = cache_dir() / f"downscale-heldout-s{World().seed}-v{HELDOUT_VERSION}" / f"rows_{tile.key}_{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    models = {n: registry.load(n) for n in names}
    rows = score_tile(World(), tile, year, models, members=members, steps=steps, seed=seed, methods=methods,
                      cadence=cadence, max_clear=max_clear)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(rows))
    return rows


def score_heldout(tiles, year: int, model_names: tuple[str, ...], *, members: int, steps: int, seed: int = 0,
                  methods: tuple[str, ...] = PEERS + LEARNED, cadence: int = CADENCE, max_clear: int = MAX_CLEAR,
                  workers: int = 1, progress=None) -> list[dict]:
    """score_tile over the tiles and method groups, in `workers` processes (one torch thread each)."""
    jobs = [(t, year, model_names, members, steps, seed, g, cadence, max_clear)
            for t in tiles for g in _method_groups(methods)]
    rows: list[dict] = []
    if workers <= 1:
        for k, job in enumerate(jobs):
            rows += _score_tile_job(job)
            if progress:
                progress("tile-methods", k + 1, len(jobs))
        return rows
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing as mp

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_score_tile_job, j) for j in jobs]
        for k, fut in enumerate(as_completed(futures)):
            rows += fut.result()
            if progress:
                progress("tile-methods", k + 1, len(jobs))
    return rows


def _sum(dicts):
    out = {k: 0.0 for k in ("n", "se", "ae", "e", "y", "p", "yy", "pp", "yp")}
    for d in dicts:
        for k in out:
            out[k] += d[k]
    return out


def _round(d: dict, nd: int = 3) -> dict:
    return {k: (round(v, nd) if isinstance(v, float) else v) for k, v in d.items()}


def _band_ci(rows: list[dict], key: str, seed: int, n_boot: int = 400) -> list[float]:
    """90 % block-bootstrap interval ((test tile, month) blocks) of the band's pooled spread/skill."""
    from unique_core import metrics as M

    values = np.array([r[key][:2] for r in rows], dtype=np.float64)
    blocks = np.array([f"{r['tile']}:{r['date'][:7]}" for r in rows])
    lo, hi = M.block_bootstrap(values, blocks, lambda v: float(np.sqrt(v[:, 0].sum() / v[:, 1].sum())),
                               n_boot=n_boot, seed=seed)
    return [round(lo, 3), round(hi, 3)]


def summarise(rows: list[dict], *, members: int, n_boot: int = 400, seed: int = 0) -> dict:
    """Tables of the held-out evaluation from score_tile rows, with block-bootstrap intervals.

    Blocks are (test tile, month): whole blocks of windows are resampled, so the intervals
    carry the spatial and day-to-day correlation of the errors. Intervals are 90 %.
    """
    from unique_core import metrics as M

    out: dict = {}
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for kind, ref in (("ordinary", "truth"), ("clear", "truth"), ("clear_vs_gpp_l", "gpp_l")):
        sel = [r for r in rows if (r["cadence"] if kind == "ordinary" else r["clear"]) and ref in r]
        if not sel:
            continue
        windows = sorted({(r["tile"], r["date"]) for r in sel})
        wi = {w: k for k, w in enumerate(windows)}
        SE = np.zeros((len(windows), len(methods)))
        N = np.zeros_like(SE)
        for r in sel:
            SE[wi[(r["tile"], r["date"])], methods.index(r["method"])] = r[ref]["se"]
            N[wi[(r["tile"], r["date"])], methods.index(r["method"])] = r[ref]["n"]
        blocks = np.array([f"{t}:{d[:7]}" for t, d in windows])
        labels = np.unique(blocks)
        index = [np.flatnonzero(blocks == b) for b in labels]
        rng = np.random.default_rng(seed)
        boot = []
        for _ in range(n_boot):
            idx = np.concatenate([index[k] for k in rng.integers(0, len(labels), len(labels))])
            boot.append(np.sqrt(SE[idx].sum(0) / np.maximum(N[idx].sum(0), 1)))
        boot = np.array(boot)  # (n_boot, methods)
        table = {}
        for m in methods:
            rs = [r for r in sel if r["method"] == m]
            if not rs:
                continue
            j = methods.index(m)
            s = M.from_pooled(_sum(r[ref] for r in rs))
            s["rmse_ci90"] = [round(float(v), 3) for v in np.percentile(boot[:, j], [5, 95])]
            res = {"windows": len(rs), ref: _round(s)}
            crps_key, spread_key = ("crps_truth", "spread_truth") if ref == "truth" else ("crps_gpp_l", "spread_gpp_l")
            if all(crps_key in r for r in rs):
                res["crps"] = round(sum(r[crps_key] for r in rs) / sum(r[ref]["n"] for r in rs), 4)
                v, se, n = (sum(r[spread_key][i] for r in rs) for i in range(3))
                res["spread_skill"] = round(M.spread_skill_pooled(v, se, n, members), 3)
                band_key = "band_truth" if ref == "truth" else "band_gpp_l"
                if all(band_key in r for r in rs):  # the band a user sees: members' spread and GPP_M's error
                    bv, bse, bn = (sum(r[band_key][i] for r in rs) for i in range(3))
                    res["band_spread_skill"] = round(float(np.sqrt(bv / bse)), 3)
                    res["band_spread_skill_ci90"] = _band_ci(rs, band_key, seed)
                if ref == "truth":
                    res["rank_histogram"] = np.sum([r["rank_truth"] for r in rs], axis=0).tolist()
                    if all("pit_band_truth" in r for r in rs):
                        res["band_pit_histogram"] = np.sum([r["pit_band_truth"] for r in rs], axis=0).tolist()
                        res["band_crps"] = round(sum(r["crps_band_truth"] for r in rs) / sum(r[ref]["n"] for r in rs), 4)
            else:
                res["crps"] = round(s["mae"], 4)  # the CRPS of a point forecast is its absolute error
            if ref == "truth":
                res["ssim"] = round(float(np.mean([r["ssim"] for r in rs])), 4)
                bse, bn = (sum(r["block_vs_truth"][i] for r in rs) for i in range(2))
                res["block_rmse_vs_truth_1p5km"] = round(float(np.sqrt(bse / max(bn, 1))), 3)
                res["block_mean_error_vs_gpp_m"] = round(float(np.nanmean([r["block_mean_error"] for r in rs])), 3)
                pfts = sorted({q for r in rs for q in r["truth_by_pft"]})
                res["by_pft"] = {q: _round(M.from_pooled(_sum(r["truth_by_pft"][q] for r in rs if q in r["truth_by_pft"])))
                                 for q in pfts}
                res["by_season"] = {q: _round(M.from_pooled(_sum(r["truth"] for r in rs if r["season"] == q)))
                                    for q in ("DJF", "MAM", "JJA", "SON") if any(r["season"] == q for r in rs)}
                res["by_tile"] = {q: _round(M.from_pooled(_sum(r["truth"] for r in rs if r["tile"] == q)))
                                  for q in sorted({r["tile"] for r in rs})}
            res["seconds_per_window"] = round(float(np.mean([r["seconds"] for r in rs])), 3)
            table[m] = res
        ratios = {}
        for a in ("s2", "s2_conserved", "s3", "s3_past", "s1", "regression"):
            for b in ("gpp_m_bilinear", "unmix", "unmix_residual", "starfm", "gpp_l_two_sided", "gpp_l_past"):
                if ref == "gpp_l" and b.startswith("gpp_l"):
                    continue  # on its own date the interpolation returns the clear pixel's GPP_L
                if a in methods and b in methods and a in table and b in table:
                    ja, jb = methods.index(a), methods.index(b)
                    val = table[a][ref]["rmse"] / table[b][ref]["rmse"]
                    lo, hi = np.percentile(boot[:, ja] / boot[:, jb], [5, 95])
                    ratios[f"{a}/{b}"] = [round(float(val), 3), round(float(lo), 3), round(float(hi), 3)]
        out[kind] = {"windows": len(windows), "blocks": len(labels), "reference": ref, "methods": table,
                     "rmse_ratios": ratios}
    return out


def evaluate_heldout(*, year: int = 2023, members: int = 4, steps: int = 10, cadence: int = CADENCE,
                     max_clear: int = MAX_CLEAR, tiles: tuple[str, ...] | None = None, methods: tuple[str, ...] = PEERS + LEARNED,
                     workers: int = 1, seed: int = 0, progress=None, note=None) -> dict:
    """`unique downscale evaluate`: the shipped models and the peers on the held-out test tiles.

    tiles: names from split.TEST_SITES (default all). Returns the report (also the content of
    assets/models/downscale_evaluation.json): the split, the settings, and `summarise` tables
    for ordinary days (every `cadence`-th day, against the truth: the headline), Landsat-clear
    dates against the truth, and the same dates against GPP_L on clear pixels.
    """
    from unique_core.downscale import registry
    from unique_core.downscale.split import shipped_split
    from unique_core.errors import ModelError, RegionError

    split = shipped_split()
    chosen = split.test
    if tiles:
        names = {t.name: t for t in split.test}
        unknown = [n for n in tiles if n not in names]
        if unknown:
            raise RegionError(f"unknown test tile(s) {', '.join(unknown)}: choose from {', '.join(names)}")
        chosen = tuple(names[n] for n in tiles)
    model_names = []
    for name in dict.fromkeys(_model_name(m) for m in methods if m not in PEERS):
        try:
            registry.load(name)
            model_names.append(name)
        except ModelError as exc:
            if note:
                note(str(exc))
    t0 = time.time()
    rows = score_heldout(chosen, year, tuple(model_names), members=members, steps=steps, seed=seed, methods=methods,
                         cadence=cadence, max_clear=max_clear, workers=workers, progress=progress)
    return heldout_report(rows, year=year, members=members, steps=steps, cadence=cadence, max_clear=max_clear,
                          seed=seed, seconds=time.time() - t0)


def heldout_report(rows: list[dict], *, year: int, members: int, steps: int, cadence: int,
                   max_clear: int = MAX_CLEAR, seed: int = 0, seconds: float | None = None) -> dict:
    """The report of evaluate_heldout from score_tile rows (of the tiles named in the rows)."""
    from unique_core.downscale.split import TEST_SITES, shipped_split

    split = shipped_split()
    names = set(r["tile"] for r in rows)
    chosen = [t for t in split.test if t.name in names]
    report = {"year": year, "window_px": WINDOW, "members": members, "ddim_steps": steps, "cadence_days": cadence,
            "max_clear_dates_per_tile": max_clear,
            "split": {**split.to_json(), "test_all": split.to_json()["test"], "test": [list(t.bounds) for t in chosen],
                      "test_names": [t.name for t in chosen],
                      "test_landscapes": {n: land for n, land, _, _ in TEST_SITES if n in names}},
            "bootstrap": "90 % intervals, 400 resamples of (test tile, month) blocks of windows",
            "seconds": round(seconds, 1) if seconds is not None else None,
            **summarise(rows, members=members, seed=seed)}
    # the layout the Models page and the model cards read: the held-out Landsat-clear dates
    report["methods"] = legacy_methods(report)
    report["windows"] = report.get("clear", {}).get("windows", 0)
    return report


def legacy_methods(report: dict) -> dict:
    """The held-out clear-date scores in the per-method layout the Models page reads (`methods`)."""
    clear, vs_l = report.get("clear", {}).get("methods", {}), report.get("clear_vs_gpp_l", {}).get("methods", {})
    base = vs_l.get("gpp_m_bilinear", {}).get("gpp_l", {}).get("rmse")
    out = {}
    for m, r in clear.items():
        l = vs_l.get(m, {})
        row = {"vs_gpp_l": l.get("gpp_l", {}), "vs_truth": r["truth"], "ssim_vs_truth": r["ssim"],
               "crps_vs_truth": r["crps"], "conservation_rmse": r["block_mean_error_vs_gpp_m"],
               "by_pft_vs_truth": r["by_pft"],
               "rmse_ratio_to_bilinear": round(l["gpp_l"]["rmse"] / base, 3) if base and "gpp_l" in l else None,
               "paper_rmse_vs_gpp_l": PAPER.get(m), "paper_ratio_to_gpp_m":
                   round(PAPER[m] / PAPER["gpp_m_bilinear"], 3) if m in PAPER else None}
        if "spread_skill" in r:
            row["spread_skill_vs_truth"] = r["spread_skill"]
        if "spread_skill" in l:
            row["spread_skill_vs_gpp_l"] = l["spread_skill"]
        out[m] = row
    return out


HELDOUT_LABELS = {"gpp_m_bilinear": "GPP_M bilinear", "gpp_m_nearest": "GPP_M nearest (blocks)",
                  "unmix": "land-cover unmixing", "unmix_residual": "unmixing + residual",
                  "starfm": "STARFM (last clear pair)", "gpp_l_two_sided": "GPP_L interpolated, two-sided",
                  "gpp_l_past": "GPP_L interpolated, past-only", "regression": "regression UNet (S2 inputs)",
                  "s1": "S1 diffusion", "s2": "S2 diffusion", "s2_conserved": "S2 + block-mean conservation",
                  "s3": "S3 diffusion (two-sided Landsat)", "s3_past": "S3 diffusion (past-only Landsat)"}


CLEAR_VS_GPP_L_NOTE = ("S3's Landsat inputs hold the date's own scene (past-only and two-sided alike use the "
                       "acquisition of the day itself), so on these dates it reproduces that scene's GPP_L: "
                       "its score here is no test of it. The band here leaves out GPP_L's own error, GPP_L "
                       "being the reference.")


def heldout_markdown(report: dict) -> str:
    """The tables of docs/step2.md's held-out section, from an evaluate_heldout report."""
    f = lambda v, fmt=".3f": "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, fmt)
    md = []
    titles = {"ordinary": "Ordinary days (every {c}th day of {y}, whatever the clouds), against the truth",
              "clear": "Landsat-clear dates of {y}, against the truth",
              "clear_vs_gpp_l": "Landsat-clear dates of {y}, against GPP_L on clear pixels (the paper's yardstick)"}
    for kind in ("ordinary", "clear", "clear_vs_gpp_l"):
        if kind not in report:
            continue
        k = report[kind]
        ref = k["reference"]
        md.append(f"### {titles[kind].format(c=report['cadence_days'], y=report['year'])}\n")
        md.append(f"{k['windows']} windows of 150 x 150 px on {len(report['split']['test_names'])} test tiles "
                  f"({k['blocks']} tile-month blocks for the bootstrap); ensembles of {report['members']} members, "
                  f"DDIM {report['ddim_steps']}.\n")
        if kind == "clear_vs_gpp_l":
            md.append(CLEAR_VS_GPP_L_NOTE + "\n")
        head = "| method | RMSE | 90 % CI | MAE | r | bias | CRPS |"
        sep = "| --- | --- | --- | --- | --- | --- | --- |"
        if ref == "truth":
            head += " SSIM | block RMSE 1.5 km | spread/skill (members) | band spread/skill (90 % CI) | band CRPS |"
            sep += " --- | --- | --- | --- | --- |"
        else:
            head += " spread/skill (members) | band spread/skill (90 % CI) |"
            sep += " --- | --- |"
        md += [head, sep]
        for m, r in k["methods"].items():
            s = r[ref]
            if kind == "clear_vs_gpp_l" and m in ("gpp_l_two_sided", "gpp_l_past"):
                continue  # on its own date the interpolation returns the clear pixel's GPP_L: no test
            row = (f"| {HELDOUT_LABELS.get(m, m)} | {f(s['rmse'])} | {f(s['rmse_ci90'][0])}-{f(s['rmse_ci90'][1])} | "
                   f"{f(s['mae'])} | {f(s['r'])} | {f(s['bias'], '+.3f')} | {f(r['crps'])} |")
            if ref == "truth":
                row += (f" {f(r['ssim'])} | {f(r['block_rmse_vs_truth_1p5km'])} | {f(r.get('spread_skill'), '.2f')} | "
                        f"{_band_cell(r)} | {f(r.get('band_crps'))} |")
            else:
                row += f" {f(r.get('spread_skill'), '.2f')} | {_band_cell(r)} |"
            md.append(row)
        md.append("")
        if k["rmse_ratios"]:
            md += ["RMSE ratios (90 % block-bootstrap interval):", "",
                   "| ratio | value | 90 % CI |", "| --- | --- | --- |"]
            for key, (v, lo, hi) in k["rmse_ratios"].items():
                a, b = key.split("/")
                md.append(f"| {HELDOUT_LABELS.get(a, a)} / {HELDOUT_LABELS.get(b, b)} | {v:.3f} | {lo:.3f}-{hi:.3f} |")
            md.append("")
        if ref == "truth":
            for part, title in (("by_pft", "plant type"), ("by_season", "season"), ("by_tile", "test tile")):
                cols = sorted({c for r in k["methods"].values() for c in r[part]}) if part != "by_season" else \
                    [c for c in ("DJF", "MAM", "JJA", "SON") if any(c in r[part] for r in k["methods"].values())]
                md += [f"RMSE against the truth by {title}:", "", "| method | " + " | ".join(cols) + " |",
                       "| --- |" + " --- |" * len(cols)]
                for m, r in k["methods"].items():
                    md.append(f"| {HELDOUT_LABELS.get(m, m)} | " + " | ".join(f(r[part].get(c, {}).get("rmse")) for c in cols) + " |")
                md.append("")
            ranks = {m: r["rank_histogram"] for m, r in k["methods"].items() if "rank_histogram" in r}
            for m, h in ranks.items():
                tot = sum(h)
                md.append(f"Rank histogram of the truth among {HELDOUT_LABELS.get(m, m)}'s members (share per rank, "
                          f"flat = {1 / len(h):.2f}): " + ", ".join(f"{c / tot:.2f}" for c in h) + ".\n")
                pit = k["methods"][m].get("band_pit_histogram")
                if pit:
                    md.append(f"PIT histogram of the truth in {HELDOUT_LABELS.get(m, m)}'s band (normal, share per "
                              f"bin, flat = {1 / len(pit):.2f}): " + ", ".join(f"{c / sum(pit):.2f}" for c in pit)
                              + ".\n")
    targets = target_rows(report)
    if targets:
        md += ["### Targets (issue 11), held-out test tiles\n", "| target | measured | 90 % CI | met |",
               "| --- | --- | --- | --- |"]
        for t in targets:
            ci = f"{t['ci'][0]:.3f}-{t['ci'][1]:.3f}" if t.get("ci") else ""
            md.append(f"| {t['target']} | {t['value']:.3f} | {ci} | {'met' if t['met'] else 'missed'} |")
        md.append("")
    return "\n".join(md)


def _band_cell(r: dict) -> str:
    """'1.02 (0.95-1.10)' for a method with a band, '' otherwise."""
    if r.get("band_spread_skill") is None:
        return ""
    lo, hi = r["band_spread_skill_ci90"]
    return f"{r['band_spread_skill']:.2f} ({lo:.2f}-{hi:.2f})"


def target_rows(report: dict) -> list[dict]:
    """The issue's targets that a report can judge: [{target, value, ci, met}] (ratios of RMSE unless said)."""
    out = []
    ordi, gl = report.get("ordinary", {}), report.get("clear_vs_gpp_l", {})
    tab = ordi.get("methods", {})

    def ratio(kind: dict, a: str, b: str, limit: float, text: str, strict: bool = False):
        r = kind.get("rmse_ratios", {}).get(f"{a}/{b}")
        if r:
            out.append({"target": text, "value": r[0], "ci": r[1:], "met": r[0] < limit if strict else r[0] <= limit})

    ratio(ordi, "s2", "unmix", 0.85, "S2 RMSE <= 0.85 x land-cover unmixing (ordinary days, truth)")
    ratio(ordi, "s2", "gpp_m_bilinear", 0.70, "S2 RMSE <= 0.70 x bilinear GPP_M (ordinary days, truth)")
    ratio(ordi, "s3", "gpp_l_two_sided", 0.85, "S3 RMSE <= 0.85 x two-sided interpolated GPP_L (ordinary days)")
    ratio(ordi, "s3_past", "gpp_l_past", 0.85, "S3 past-only RMSE <= 0.85 x past-only interpolated GPP_L")
    ratio(ordi, "s3", "unmix", 0.70, "S3 RMSE <= 0.70 x land-cover unmixing (ordinary days)")
    ratio(ordi, "s3", "starfm", 1.0, "S3 RMSE < STARFM (ordinary days)", strict=True)
    ratio(gl, "s2", "gpp_m_bilinear", 0.75, "S2 RMSE <= 0.75 x bilinear GPP_M (Landsat-clear dates, GPP_L)")
    peers = [m for m in PEERS if m in tab]
    for m in ("s2", "s3", "s3_past"):
        if m in tab and peers and "crps" in tab[m]:
            best = min(tab[p]["truth"]["mae"] for p in peers)
            out.append({"target": f"{HELDOUT_LABELS.get(m, m)} CRPS / best deterministic peer's MAE < 1 "
                                  "(ordinary days)", "value": round(tab[m]["crps"] / best, 3), "met": tab[m]["crps"] < best})
        if m in tab and tab[m].get("band_spread_skill") is not None:
            v = tab[m]["band_spread_skill"]
            out.append({"target": f"{HELDOUT_LABELS.get(m, m)} band spread/skill in 0.8-1.2 (ordinary days, truth)",
                        "value": v, "ci": tab[m]["band_spread_skill_ci90"], "met": 0.8 <= v <= 1.2})
    return out


def heldout_rows(report: dict, kind: str) -> list[dict]:
    """One row per method of a held-out table (`ordinary`, `clear`, `clear_vs_gpp_l`) for the Models page."""
    k = report.get(kind)
    if not k:
        return []
    ref, rows = k["reference"], []
    for m, r in k["methods"].items():
        if kind == "clear_vs_gpp_l" and m in ("gpp_l_two_sided", "gpp_l_past"):
            continue  # on its own date the interpolation returns the clear pixel's GPP_L: no test
        s = r[ref]
        row = {"method": HELDOUT_LABELS.get(m, m), "RMSE": s["rmse"], "RMSE 90 % CI": "{:.3f}-{:.3f}".format(*s["rmse_ci90"]),
               "MAE": s["mae"], "r": s["r"], "bias": s["bias"], "CRPS": r["crps"]}
        if ref == "truth":
            row |= {"SSIM": r["ssim"], "block RMSE 1.5 km": r["block_rmse_vs_truth_1p5km"]}
        row |= {"spread/skill (members)": r.get("spread_skill"), "band spread/skill": r.get("band_spread_skill"),
                "band 90 % CI": _band_cell(r).partition(" ")[2].strip("()") or None}
        rows.append(row)
    return rows
