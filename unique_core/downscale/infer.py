"""Downscaling a region: tiles, seamless blending, ensembles, optional block-mean conservation.

A region is cut into overlapping patches (160 px, 32 px overlap, like torchgeo's grid
sampler); each patch is sampled and the patches are blended with weights that taper to zero
over the overlap. The initial noise (and, for DDPM, every step's noise) is a function of the
pixel's frame position, member and step, so two overlapping patches start from the same
noise where they overlap, and a region sampled alone equals the same region cut out of a
larger run up to the patch boundaries' context.

Ensembles: N members from N noise seeds -> mean and standard deviation maps.
Conservation (optional): the mean of the 30 m map over each 1.5 km block is brought to
GPP_M's (smooth additive corrections, iterated), so the fine map stays consistent with its
500 m input.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch

from unique_core.downscale import data as D
from unique_core.downscale.model import Downscaler
from unique_core.downscale.uncertainty import band, check_setting, member_scale, user_band
from unique_core.grid import BLOCK, FINE_PER_BLOCK, Grid, Region
from unique_core.resample import bilinear
from unique_core.sources import DataSource
from unique_core.world import noise

PATCH = 160
OVERLAP = 32


def _starts(n: int, size: int, overlap: int) -> list[int]:
    if n <= size:
        return [0]
    starts = list(range(0, n - size + 1, size - overlap))
    if starts[-1] + size < n:
        starts.append(n - size)
    return starts


def _taper(size: int, overlap: int) -> np.ndarray:
    ramp = np.minimum(1.0, (np.arange(size) + 0.5) / overlap)
    w1 = np.minimum(ramp, ramp[::-1])
    return np.outer(w1, w1).astype(np.float32)


class GlobalNoise:
    """Standard-normal noise at frame positions: the same pixel, member and step give the same draw."""

    def __init__(self, grid: Grid, seed: int):
        self.grid = grid
        self.seed = seed

    def field(self, member: int, step: int) -> np.ndarray:
        s = noise.derive_seed(self.seed, f"downscale.noise.{member}.{step}")
        return noise.white(self.grid, s)


def sample_residual(model: Downscaler, cond: np.ndarray, grid: Grid, *, members: int = 1, steps: int | None = 10,
                    sampler: Literal["ddim", "ddpm"] = "ddim", seed: int = 0, patch: int = PATCH,
                    overlap: int = OVERLAP, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Residual samples (members, H, W), network units, for conditioning (C, H, W) on `grid`."""
    C, H, W = cond.shape
    div = model.divisor
    ph = min(patch, -(-H // div) * div)
    pw = min(patch, -(-W // div) * div)
    # pad the canvas (reflect) so every patch is whole and divisible
    Hp, Wp = max(H, ph), max(W, pw)
    padded = np.pad(cond, ((0, 0), (0, Hp - H), (0, Wp - W)), mode="reflect") if (Hp, Wp) != (H, W) else cond
    canvas_grid = Grid(grid.res, grid.row0, grid.col0, Hp, Wp)
    gnoise = GlobalNoise(canvas_grid, seed)
    noise_cache: dict[tuple[int, int], np.ndarray] = {}

    def field(member, step):
        key = (member, step)
        if key not in noise_cache:
            noise_cache[key] = gnoise.field(member, step)
        return noise_cache[key]

    acc = np.zeros((members, Hp, Wp), np.float32)
    wsum = np.zeros((Hp, Wp), np.float32)
    weight = _taper(ph, overlap) if (Hp > ph or Wp > pw) else np.ones((ph, pw), np.float32)
    if weight.shape != (ph, pw):
        weight = np.ones((ph, pw), np.float32)
    rows, cols = _starts(Hp, ph, overlap), _starts(Wp, pw, overlap)
    total, done = len(rows) * len(cols), 0
    model.eval()
    for i in rows:
        for j in cols:
            c = torch.from_numpy(np.ascontiguousarray(padded[:, i:i + ph, j:j + pw]))[None].repeat(members, 1, 1, 1)
            c = c.contiguous(memory_format=torch.channels_last)

            def noise_fn(k, shape, i=i, j=j):
                return torch.from_numpy(np.stack([field(m, k)[i:i + ph, j:j + pw] for m in range(members)])[:, None])

            with torch.inference_mode():
                x = model.sample(c, noise_fn, steps=steps, sampler=sampler)[:, 0].numpy()
            acc[:, i:i + ph, j:j + pw] += x * weight
            wsum[i:i + ph, j:j + pw] += weight
            done += 1
            if progress:
                progress(done, total)
            if sampler == "ddpm":
                noise_cache.clear()
    out = (acc / np.maximum(wsum, 1e-6))[:, :H, :W]
    # calibrated spread (downscale/uncertainty.py): members' deviations from their mean, scaled
    scale = model.config.spread_scale * (member_scale(model.config, members, steps) if sampler == "ddim" else 1.0)
    if members > 1 and scale != 1.0:
        mean = out.mean(axis=0, keepdims=True)
        out = mean + scale * (out - mean)
    return out


def sample_day(model: Downscaler, cond: np.ndarray, grid: Grid, *, members: int = 1, steps: int | None = 10,
               sampler: Literal["ddim", "ddpm"] = "ddim", seed: int = 0, engine=None,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """`sample_residual`'s samples (members, H, W), with a diffusion model's DDIM steps run by an
    inference engine (`engine`, or this process's `engine.shared_engine`: ONNX Runtime on the CPU).

    The patches, noise, blending and calibrated spread are `sample_residual`'s, so the maps are
    equal within float rounding (tested); the members and patches go through the network in
    batches (`sample_residual_days` with one day). DDPM and the regression baseline keep
    `sample_residual`'s torch loop.
    """
    if sampler != "ddim" or model.config.kind != "diffusion":
        return sample_residual(model, cond, grid, members=members, steps=steps, sampler=sampler, seed=seed,
                               progress=progress)
    from unique_core.downscale.engine import shared_engine

    eng = engine or shared_engine(model)
    static = cond[1:] if len(cond) > 1 else None
    return sample_residual_days(model, cond[:1], static, grid, engine=eng, members=members, steps=steps, seed=seed,
                                progress=progress)[0]


def _block_means(gpp_m: np.ndarray, nb_r: int, nb_c: int) -> np.ndarray:
    """Mean of the finite 500 m cells of each 1.5 km block (NaN for blocks at sea)."""
    cells = gpp_m.reshape(nb_r, 3, nb_c, 3)
    n = np.isfinite(cells).sum(axis=(1, 3))
    total = np.where(np.isfinite(cells), cells, 0.0).sum(axis=(1, 3))
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def conserve_block_means(pred: np.ndarray, gpp_m: np.ndarray, region: Region, land: np.ndarray,
                         iterations: int = 6) -> np.ndarray:
    """Bring each 1.5 km block's mean over land to GPP_M's mean over that block's land cells.

    pred (N, H, W) gC m-2 d-1 on region.fine; gpp_m (h, w) on region.coarse (NaN at sea).
    Corrections are smooth (bilinear between block centres) and iterated.
    """
    nb_r, nb_c = region.nbrows, region.nbcols
    target = _block_means(gpp_m, nb_r, nb_c) if np.isfinite(gpp_m).any() else None
    if target is None:
        return pred
    bgrid = Grid(BLOCK, region.brow0, region.bcol0, nb_r, nb_c)
    out = pred.copy()
    lm = land.reshape(nb_r, FINE_PER_BLOCK, nb_c, FINE_PER_BLOCK)
    n_land = lm.sum(axis=(1, 3))
    for _ in range(iterations):
        vals = np.where(land[None], out, 0.0).reshape(len(out), nb_r, FINE_PER_BLOCK, nb_c, FINE_PER_BLOCK)
        bm = vals.sum(axis=(2, 4)) / np.maximum(n_land, 1)
        diff = np.where((n_land > 0) & np.isfinite(target), target - bm, 0.0)
        out = out + bilinear(diff, bgrid, region.fine)
    return out


def block_mean_error(pred: np.ndarray, gpp_m: np.ndarray, region: Region, land: np.ndarray) -> float:
    """RMS difference (gC m-2 d-1) between block means of a 30 m map and of GPP_M, over land blocks."""
    nb_r, nb_c = region.nbrows, region.nbcols
    target = _block_means(gpp_m, nb_r, nb_c)
    lm = land.reshape(nb_r, FINE_PER_BLOCK, nb_c, FINE_PER_BLOCK)
    n_land = lm.sum(axis=(1, 3))
    bm = np.where(land, pred, 0.0).reshape(nb_r, FINE_PER_BLOCK, nb_c, FINE_PER_BLOCK).sum(axis=(1, 3)) / np.maximum(n_land, 1)
    ok = (n_land > 0.5 * FINE_PER_BLOCK ** 2) & np.isfinite(target)
    return float(np.sqrt(np.mean((bm[ok] - target[ok]) ** 2))) if ok.any() else float("nan")


@dataclass
class DownscaleResult:
    region: Region
    date: dt.date
    mean: np.ndarray  # gC m-2 d-1 (NaN off land)
    std: np.ndarray | None  # ensemble standard deviation, when members > 1
    gpp_m_up: np.ndarray  # the bilinear baseline on the same grid
    gpp_m: np.ndarray  # 500 m GPP_M with a one-block halo
    land: np.ndarray
    members: int
    steps: int | None
    seconds: float
    conservation_rmse: float  # block-mean RMS difference from GPP_M after any conservation


def downscale_region(model: Downscaler, world: DataSource, region: Region, date: dt.date, gpp_m_model, *,
                     members: int = 1, steps: int | None = 10, sampler: Literal["ddim", "ddpm"] = "ddim", seed: int = 0,
                     conserve: bool = False, progress: Callable[[str, int, int], None] | None = None,
                     variant: Literal["two_sided", "past"] = "two_sided", gpp_l_model=None) -> DownscaleResult:
    """S1/S2/S3 (or the regression baseline) over a region on a date, from the GPP_M model's map.

    S3 also takes the day's GPP_L from Landsat indices interpolated in time (`variant`: two-sided,
    the acquisitions before and after the day; past, only those on or before it) and the ages of
    the clear views, as the gpp_l_two_sided / gpp_l_past peers make them (`gpp_l_model`: the
    shipped Landsat model unless given); its residual is added to that GPP_L.
    """
    from unique_core.gpp.maps import gpp_m_map

    t0 = time.time()
    check_setting(model.config, members, steps if sampler == "ddim" else None)
    if variant not in D.VARIANTS:
        raise ValueError(f"S3 variant {variant!r}: choose two_sided or past")
    padded = Region(region.name, region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)
    gm = gpp_m_map(gpp_m_model, world, date, padded,
                   (lambda i, n: progress("MODIS inputs", i, n)) if progress else None).values
    up = D.upsample(gm, region)
    base = up
    if model.config.scheme == "s3":
        if gpp_l_model is None:
            from unique_core.gpp.registry import load_model

            gpp_l_model = load_model("landsat")
        if progress:
            progress("Landsat inputs", 0, 1)
        gl, gv, since, until = D.s3_inputs(world, region, date, variant, gpp_l_model, gpp_m_model)
        cond = D.s3_cond(up, D.static_channels(world, region), gl, gv, since, until, variant)
        base = D.s3_base(up, gl, model.config.base_map, gv)
    else:
        base = D.s2_base(gm, region, model.config.base_map, *D.base_fractions(world, region, model.config.base_map),
                         up=up)
        cond = D.s2_cond(up, base, D.static_channels(world, region) if model.config.scheme == "s2" else None,
                         model.config.base_map)
    res = sample_day(model, cond, region.fine, members=members, steps=steps, sampler=sampler, seed=seed,
                     progress=(lambda i, n: progress("sampling", i, n)) if progress else None)
    pred = np.clip(base[None] + model.config.res_scale * res, 0.0, None)
    land = world.static(region).land
    inner = gm[3:-3, 3:-3]
    if conserve:
        pred = np.clip(conserve_block_means(pred, inner, region, land), 0.0, None)
    mean = pred.mean(axis=0)
    # the band a user sees: the members' spread plus GPP_M's own error (downscale/uncertainty.py)
    std = user_band(model, world, region, date, pred, steps) if members > 1 else None
    err = block_mean_error(mean, inner, region, land)
    mean = np.where(land, mean, np.nan).astype(np.float32)
    if std is not None:
        std = np.where(land, std, np.nan).astype(np.float32)
    return DownscaleResult(region, date, mean, std, np.where(land, up, np.nan).astype(np.float32), gm, land,
                           members, steps, time.time() - t0, err)


# ------------------------------------------------------------------ many days at once (the region-year)
def sample_residual_days(model: Downscaler, up: np.ndarray, static: np.ndarray | None, grid: Grid, *, engine=None,
                         members: int = 1, steps: int | None = 10, seed: int = 0, patch: int = PATCH,
                         overlap: int = OVERLAP, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Residual samples (T, members, H, W), network units, for T days of one region, DDIM only.

    `up` (T, H, W) is the upsampled GPP_M of each day in network units (/ gpp_scale), or
    (T, D, H, W) all the channels that change by day (`data.s2_daily`), `static` (S, H, W) the other
    conditioning channels, shared by all days (S2's static layers; S3's also hold its day's Landsat
    channels, so S3 passes one day; None for S1). The patches, their
    blending, the frame-anchored noise and the spread calibration are those of
    `sample_residual`, so day t equals `sample_residual` on that day's conditioning (up to
    float rounding); what changes is that the days and members of a patch (and several
    patches) go through the network together, in batches of `engine.batch`, on the engine's
    device, and that the noise and static channels are made once for all days.
    """
    from unique_core.downscale.engine import make_engine, quiet_torch_threads

    engine = engine or make_engine(model, device="cpu", engine="torch")
    if up.ndim == 3:
        up = up[:, None]
    T, nd, H, W = up.shape
    div = model.divisor
    ph = min(patch, -(-H // div) * div)
    pw = min(patch, -(-W // div) * div)
    Hp, Wp = max(H, ph), max(W, pw)
    pad = ((0, 0), (0, Hp - H), (0, Wp - W))
    if (Hp, Wp) != (H, W):  # reflect, as sample_residual pads its canvas
        up = np.pad(up, ((0, 0), *pad), mode="reflect")
        static = np.pad(static, pad, mode="reflect") if static is not None else None
    up = up.astype(np.float32, copy=False)
    gnoise = GlobalNoise(Grid(grid.res, grid.row0, grid.col0, Hp, Wp), seed)
    x0 = np.stack([gnoise.field(m, -1) for m in range(members)])  # DDIM: only the initial noise
    weight = _taper(ph, overlap) if (Hp > ph or Wp > pw) else np.ones((ph, pw), np.float32)
    if weight.shape != (ph, pw):
        weight = np.ones((ph, pw), np.float32)
    rows, cols = _starts(Hp, ph, overlap), _starts(Wp, pw, overlap)
    items = [(i, j, t, m) for i in rows for j in cols for t in range(T) for m in range(members)]
    acc = np.zeros((T, members, Hp, Wp), np.float32)
    wsum = np.zeros((Hp, Wp), np.float32)
    for i in rows:
        for j in cols:
            wsum[i:i + ph, j:j + pw] += weight
    ts = model.schedule.timesteps(steps)
    diffusion = model.config.kind == "diffusion"
    model.eval()
    with quiet_torch_threads(engine):  # no idle torch threads spinning beside the engine's
        for b0 in range(0, len(items), engine.batch):
            batch = items[b0:b0 + engine.batch]
            cond = np.empty((len(batch), model.config.in_channels - (1 if diffusion else 0), ph, pw), np.float32)
            for n, (i, j, t, m) in enumerate(batch):
                cond[n, :nd] = up[t, :, i:i + ph, j:j + pw]
                if static is not None:
                    cond[n, nd:] = static[:, i:i + ph, j:j + pw]
            c = engine.to_device(cond)
            with torch.inference_mode():
                if diffusion:
                    x = engine.to_device(np.stack([x0[m, i:i + ph, j:j + pw] for i, j, t, m in batch])[:, None])
                    for k, t in enumerate(ts):
                        v = engine(torch.cat([x, c], dim=1), t)
                        x = model.schedule.ddim_step(v.float(), t, ts[k + 1] if k + 1 < len(ts) else None, x)
                else:
                    x = engine(c, 0)
            out = x[:, 0].float().cpu().numpy()
            for n, (i, j, t, m) in enumerate(batch):
                acc[t, m, i:i + ph, j:j + pw] += out[n] * weight
            if progress:
                progress(min(b0 + engine.batch, len(items)), len(items))
    out = (acc / np.maximum(wsum, 1e-6))[:, :, :H, :W]
    scale = model.config.spread_scale * member_scale(model.config, members, steps)
    if members > 1 and scale != 1.0:  # calibrated spread, as in sample_residual
        mean = out.mean(axis=1, keepdims=True)
        out = mean + scale * (out - mean)
    return out


def downscale_days(model: Downscaler, gpp_m_padded: np.ndarray, static: np.ndarray | None, region: Region,
                   land: np.ndarray, *, engine=None, members: int = 1, steps: int | None = 10, seed: int = 0,
                   conserve: bool = False, progress: Callable[[int, int], None] | None = None,
                   world=None, dates: list[dt.date] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean and spread (T, H, W) gC m-2 d-1 (NaN off land) for T days of GPP_M on a region.

    With `world` and the T `dates`, the spread is the band a user sees (`uncertainty.user_band`,
    Step 1's errors included, made once per season); without, the members' calibrated spread alone.

    `gpp_m_padded` (T, h + 6, w + 6): 500 m GPP_M of each day with a one-block halo, as
    `downscale_region` makes it; `static` from `data.static_channels` (S2) or None (S1). Day t
    is `downscale_region` on that day, sampled in batches (see `sample_residual_days`).
    """
    check_setting(model.config, members, steps)
    up = np.stack([D.upsample(g, region) for g in gpp_m_padded]).astype(np.float32)
    bmap = model.config.base_map
    if bmap != "gpp_m" and world is None:
        raise ValueError(f"downscale_days: {model.config.scheme.upper()} on the {bmap} base "
                         "needs the data source (world=) for the 500 m class fractions")
    fractions = D.base_fractions(world, region, bmap)  # read once for all days
    base = np.stack([D.s2_base(g, region, bmap, *fractions, up=u) for g, u in zip(gpp_m_padded, up)])
    daily = np.stack([D.s2_daily(u, b, bmap) for u, b in zip(up, base)])
    res = sample_residual_days(model, daily, static, region.fine, engine=engine,
                               members=members, steps=steps, seed=seed, progress=progress)
    pred = np.clip(base[:, None] + model.config.res_scale * res, 0.0, None)
    del res
    if conserve:
        for t in range(len(pred)):
            pred[t] = np.clip(conserve_block_means(pred[t], gpp_m_padded[t][3:-3, 3:-3], region, land), 0.0, None)
    mean = np.where(land[None], pred.mean(axis=1), np.nan).astype(np.float32)
    std = None
    if members > 1:
        if dates is None or world is None:  # the members' calibrated spread alone
            std = np.stack([band(p, None, 0.0) for p in pred])
        else:
            from unique_core.downscale.uncertainty import step1_sigma
            from unique_core.gpp.error_model import SEASONS, total_std

            if len(dates) != len(pred):
                raise ValueError(f"downscale_days: {len(dates)} dates for {len(pred)} days of GPP_M")
            by_season: dict = {}  # Step 1's errors depend on the day only through its season
            for d in dates:
                if SEASONS[d.month] not in by_season:
                    by_season[SEASONS[d.month]] = step1_sigma(model, world, region, d, steps)
            std = np.stack([total_std(p, by_season[SEASONS[d.month]]) for p, d in zip(pred, dates)])
        std = np.where(land[None], std, np.nan).astype(np.float32)
    return mean, std
