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
from unique_core.downscale.infer import block_mean_error, conserve_block_means, sample_residual
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


def test_windows(world, tiles: list[Region], year: int, n: int, seed: int = 0) -> list[Window]:
    """`n` block-aligned 150 px windows from the tiles' clear dates of `year` (seeded)."""
    samples = D.load_samples(world, tiles, [year], "s2")
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
                          st.land, gm, pft))
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
    cond = w.cond_s2 if model.config.scheme == "s2" else w.cond_s2[:1]
    n = 1 if model.config.kind == "regression" else members
    res = sample_residual(model, cond, w.region.fine, members=n, steps=steps, seed=seed, sampler=sampler)
    pred = np.clip(w.gpp_m_up[None] + model.config.res_scale * res, 0, None)
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


def calibrate_spread(model, windows: list[Window], *, members: int = 8, steps: int | None = 10, seed: int = 0) -> dict:
    """The factor that makes the raw ensemble's spread match its skill against GPP_L on `windows`.

    Meant for the validation tiles of the training years (never the test year). Spread and
    skill are defined as in `evaluate` (mean ensemble standard deviation and RMSE of the
    ensemble mean over each window's clear land pixels, averaged over windows), so the
    calibrated spread-skill ratio on these windows is 1.
    """
    raw = copy.copy(model)  # shares the network; only its config (spread 1) is its own
    raw.config = dataclasses.replace(model.config, spread_scale=1.0)
    spreads, skills = [], []
    for k, w in enumerate(windows):
        ens = predict_window(raw.config.scheme, {raw.config.scheme: raw}, w, members=members, steps=steps, seed=seed + k)
        cl = np.isfinite(w.gpp_l) & w.land
        if cl.any():
            spreads.append(ens.std(axis=0)[cl].mean())
            skills.append(np.sqrt(np.mean((ens.mean(axis=0)[cl] - w.gpp_l[cl]) ** 2)))
    spread, skill = float(np.mean(spreads)), float(np.mean(skills))
    return {"spread_scale": round(skill / spread, 4), "rmse": round(skill, 4), "raw_spread": round(spread, 4),
            "raw_spread_skill": round(spread / skill, 4), "windows": len(spreads), "members": members,
            "ddim_steps": steps}
