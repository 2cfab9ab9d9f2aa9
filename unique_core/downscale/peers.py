"""Classical peers of the diffusion downscaler, as plain functions of the inputs the models see.

Every peer makes a 30 m GPP map (gC m-2 d-1) for a day from what a user has that day:

- `bilinear`, `nearest`: GPP_M (500 m) upsampled; nearest is the blocky map a user sees today.
- `unmix` (land-cover unmixing): for each 500 m cell, a least-squares fit of GPP_M over the
  cells of a (2 r + 1)^2 neighbourhood on their class fractions gives one GPP per class; the
  30 m fractions times the cell's class GPPs give the fine map. A small ridge pulls each
  class's GPP towards the neighbourhood's mean GPP_M, so classes that barely occur (or are
  collinear) fall back to the local mean instead of exploding. `with_residual` adds back each
  cell's misfit (GPP_M minus its fitted value) to its fine pixels, which keeps the cell means.
- `starfm` (Gao et al. 2006, IEEE TGRS 44(8), eq. 1-7): today's GPP_M plus the GPP_L - GPP_M
  difference of the last clear Landsat date, weighted over spectrally similar pixels of a
  moving window by spectral, temporal and spatial distance.
- `gpp_l_interpolated`: GPP_L on any day from the Landsat indices interpolated in time
  (`unique gpp map --sensor landsat`): two-sided (the clear acquisitions before and after the
  day, for reanalysis) or past-only (the last clear acquisition carried forward, what a
  near-real-time user has).

`run_peer(method, world, region, date)` makes any of them for a region, with the same inputs
the diffusion models get (GPP_M with a one-block halo, the 30 m land-cover fractions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit, prange

from unique_core import features as F
from unique_core.errors import UniqueError
from unique_core.grid import Grid, Region
from unique_core.resample import bilinear as _bilinear
from unique_core.resample import coarse_to_fine_nearest
from unique_core.sources import DataSource

Method = Literal["bilinear", "nearest", "unmix", "unmix_residual", "starfm", "gpp_l_two_sided", "gpp_l_past"]
METHODS: tuple[str, ...] = ("bilinear", "nearest", "unmix", "unmix_residual", "starfm", "gpp_l_two_sided",
                            "gpp_l_past")
UNMIX_RADIUS = 2  # cells: a 5 x 5 neighbourhood (2.5 km), inside the one-block (3 cell) halo
UNMIX_RIDGE = 0.5  # in units of one fully-covered cell; not tuned (the truth is never a tuning input)
STARFM_RADIUS = 25  # px: 750 m, the STARFM code's default maximum search distance
STARFM_CLASSES = 4  # m in the similarity threshold 2 sigma / m
STARFM_SIGMA = 0.1  # gC m-2 d-1: uncertainty of GPP_L and GPP_M in the sample filter and weights


class PeerError(UniqueError):
    """A peer cannot be made with the inputs given."""


# ------------------------------------------------------------------ GPP_M upsampled
def fill_nan(coarse: np.ndarray) -> np.ndarray:
    """Sea cells (NaN) as 0, the convention of `data.upsample`."""
    return np.where(np.isfinite(coarse), coarse, 0.0)


def bilinear(gpp_m: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """GPP_M (on `coarse`, which covers `fine` with a margin) bilinearly at 30 m."""
    return _bilinear(fill_nan(gpp_m), coarse, fine)


def nearest(gpp_m: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """GPP_M at 30 m as blocks: each pixel takes the 500 m cell holding its centre."""
    return coarse_to_fine_nearest(fill_nan(gpp_m), coarse, fine).astype(np.float32)


# ------------------------------------------------------------------ land-cover unmixing
def unmix_coefficients(gpp_m: np.ndarray, frac_coarse: np.ndarray, *, radius: int = UNMIX_RADIUS,
                       ridge: float = UNMIX_RIDGE) -> np.ndarray:
    """Per-cell class GPPs (K, h, w), gC m-2 d-1, from a least-squares fit over each neighbourhood.

    gpp_m (h, w) with NaN where unknown (sea); frac_coarse (K, h, w) class fractions of each
    cell. Cells whose neighbourhood holds no finite GPP_M get NaN coefficients. Minimises
    sum_c (g_c - f_c . b)^2 + ridge * sum_k (b_k - mean_c g_c)^2 over the neighbourhood.
    """
    K, h, w = frac_coarse.shape
    ok = np.isfinite(gpp_m)
    g = np.where(ok, gpp_m, 0.0).astype(np.float64)
    f = np.where(ok[None], frac_coarse, 0.0).astype(np.float64)
    n = 2 * radius + 1
    # neighbourhood sums of f f^T, f g, g and the count, by shifting (edges: the cells that exist)
    pad = lambda a: np.pad(a, [(0, 0)] * (a.ndim - 2) + [(radius, radius), (radius, radius)])
    fp, gp, okp = pad(f), pad(g), pad(ok.astype(np.float64))
    A = np.zeros((h, w, K, K))
    bvec = np.zeros((h, w, K))
    gsum = np.zeros((h, w))
    cnt = np.zeros((h, w))
    for di in range(n):
        for dj in range(n):
            fs = fp[:, di:di + h, dj:dj + w]
            gs = gp[di:di + h, dj:dj + w]
            A += np.einsum("kij,lij->ijkl", fs, fs)
            bvec += np.einsum("kij,ij->ijk", fs, gs)
            gsum += gs
            cnt += okp[di:di + h, dj:dj + w]
    mean = np.where(cnt > 0, gsum / np.maximum(cnt, 1), 0.0)
    A += ridge * np.eye(K)[None, None]
    bvec += ridge * mean[..., None]
    coef = np.linalg.solve(A, bvec[..., None])[..., 0]  # (h, w, K)
    coef[cnt == 0] = np.nan
    return np.moveaxis(coef, -1, 0).astype(np.float32)


def unmix(gpp_m: np.ndarray, frac_coarse: np.ndarray, frac_fine: np.ndarray, coarse: Grid, fine: Grid, *,
          with_residual: bool = False, radius: int = UNMIX_RADIUS, ridge: float = UNMIX_RIDGE) -> np.ndarray:
    """Land-cover unmixing of GPP_M to 30 m (H, W), gC m-2 d-1, clipped at 0.

    gpp_m, frac_coarse on `coarse` (which covers `fine`); frac_fine (K, H, W) on `fine`.
    Each fine pixel uses the coefficients (and, with the residual, the misfit) of the 500 m
    cell that holds its centre.
    """
    if frac_coarse.shape[1:] != gpp_m.shape or frac_fine.shape[1:] != fine.shape:
        raise PeerError(f"unmixing inputs do not line up: GPP_M {gpp_m.shape}, coarse fractions "
                        f"{frac_coarse.shape}, fine fractions {frac_fine.shape} on a {fine.shape} grid")
    coef = unmix_coefficients(gpp_m, frac_coarse, radius=radius, ridge=ridge)
    coef_f = coarse_to_fine_nearest(coef, coarse, fine)  # (K, H, W)
    pred = np.einsum("kij,kij->ij", frac_fine.astype(np.float64), coef_f)
    if with_residual:
        fitted = np.einsum("kij,kij->ij", frac_coarse.astype(np.float64), coef)
        resid = np.where(np.isfinite(gpp_m), gpp_m - fitted, 0.0)
        pred = pred + coarse_to_fine_nearest(resid, coarse, fine)
    fallback = bilinear(gpp_m, coarse, fine)
    return np.clip(np.where(np.isfinite(pred), pred, fallback), 0, None).astype(np.float32)


# ------------------------------------------------------------------ STARFM
@njit(cache=True, parallel=True)
def _starfm(l_k, m_k, m_0, valid, radius, thresh, sigma_lm, sigma_mm, out):
    H, W = l_k.shape
    A = float(radius)
    for i in prange(H):
        for j in range(W):
            c_ok = valid[i, j]
            s_c = abs(l_k[i, j] - m_k[i, j]) if c_ok else 0.0
            t_c = abs(m_k[i, j] - m_0[i, j])
            wsum = 0.0
            acc = 0.0
            for ii in range(max(0, i - radius), min(H, i + radius + 1)):
                for jj in range(max(0, j - radius), min(W, j + radius + 1)):
                    if not valid[ii, jj]:
                        continue
                    if c_ok and abs(l_k[ii, jj] - l_k[i, j]) > thresh:
                        continue  # not spectrally similar to the central pixel
                    s = abs(l_k[ii, jj] - m_k[ii, jj])
                    t = abs(m_k[ii, jj] - m_0[ii, jj])
                    if c_ok and (s > s_c + sigma_lm or t > t_c + sigma_mm):
                        if not (ii == i and jj == j):
                            continue  # Gao et al.'s sample filter (eq. 6, 7)
                    d = np.sqrt((ii - i) ** 2 + (jj - j) ** 2)
                    c = max(s, sigma_lm) * max(t, sigma_mm) * (1.0 + d / A)
                    wgt = 1.0 / c
                    wsum += wgt
                    acc += wgt * (m_0[ii, jj] + l_k[ii, jj] - m_k[ii, jj])
            out[i, j] = acc / wsum if wsum > 0.0 else np.nan


def starfm(m_today: np.ndarray, l_pair: np.ndarray, m_pair: np.ndarray, *, radius: int = STARFM_RADIUS,
           classes: int = STARFM_CLASSES, sigma: float = STARFM_SIGMA) -> np.ndarray:
    """STARFM prediction (H, W), gC m-2 d-1, all inputs on the 30 m grid.

    m_today: GPP_M resampled to 30 m on the day; l_pair, m_pair: GPP_L (NaN where cloudy) and
    GPP_M resampled to 30 m on the pair date. Candidates: clear pixels within `radius` px whose
    pair GPP_L is within 2 sigma(GPP_L) / classes of the central pixel's (Gao et al. eq. 4),
    that pass the sample filter (eq. 6-7), weighted by 1 / (S T D) with S = |L - M| at the
    pair date, T = |M(today) - M(pair)| and D = 1 + d / radius (eq. 2-5). Cloudy central pixels
    (no GPP_L of their own) skip the similarity test; where no clear pixel is in reach, GPP_M.
    """
    valid = np.isfinite(l_pair) & np.isfinite(m_pair) & np.isfinite(m_today)
    thresh = 2.0 * float(np.nanstd(l_pair[valid])) / classes if valid.any() else 0.0
    out = np.empty(m_today.shape, np.float64)
    f64 = lambda a: np.ascontiguousarray(np.where(np.isfinite(a), a, 0.0), dtype=np.float64)
    _starfm(f64(l_pair), f64(m_pair), f64(m_today), valid, int(radius), thresh,
            float(np.sqrt(2.0) * sigma), float(np.sqrt(2.0) * sigma), out)
    out = np.where(np.isfinite(out), out, m_today)
    return np.clip(out, 0, None).astype(np.float32)


# ------------------------------------------------------------------ GPP_L from interpolated indices
Variant = Literal["two_sided", "past"]


def interpolated_indices(times: np.ndarray, vis: dict[str, np.ndarray], clear: np.ndarray, date: dt.date,
                         variant: Variant) -> dict[str, np.ndarray]:
    """Landsat indices and days since/until clear on `date` from acquisitions (times: ordinals).

    `past`: only acquisitions on or before the day (the last clear value carried forward;
    days_to_clear is then 'none within 64 days', as for a near-real-time user).
    """
    t = np.asarray(times)
    keep = usable_views(t, date, variant)
    target = np.array([date.toordinal()])
    out = {}
    if not keep.any():
        shape = clear.shape[1:]
        out = {v: np.full(shape, np.nan, np.float32) for v in F.VI_NAMES}
        out["days_since_clear"] = out["days_to_clear"] = np.full(shape, F.LANDSAT_MAX_GAP + 1.0, np.float32)
        return out
    for v in F.VI_NAMES:
        val, since, until = F.interpolate_acquisitions(t[keep], vis[v][keep], clear[keep], target)
        out[v] = val[0]
    out["days_since_clear"], out["days_to_clear"] = since[0], until[0]
    return out


def usable_views(times: np.ndarray, date: dt.date, variant: Variant) -> np.ndarray:
    """The acquisitions a variant may interpolate from: all of them, or (past) those on or before the day."""
    return times <= date.toordinal() if variant == "past" else np.ones(len(times), bool)


def interpolated_on_views(times: np.ndarray, values: np.ndarray, clear: np.ndarray, date: dt.date,
                          variant: Variant) -> np.ndarray:
    """A field known on the acquisitions' dates (values (K, H, W)), interpolated to `date` per pixel from
    the same clear views and with the same weights as `interpolated_indices` gives the indices.

    S3 feeds GPP_M (upsampled to 30 m) through it: the 500 m signal on the dates its interpolated GPP_L
    was seen, so the network can tell how much GPP_M has changed since (what STARFM pairs for).
    NaN where no clear view lies within 64 days. `values` must be finite where `clear` is.
    """
    t = np.asarray(times)
    keep = usable_views(t, date, variant)
    if not keep.any():
        return np.full(clear.shape[1:], np.nan, np.float32)
    values = np.asarray(values)[keep]
    if not np.isfinite(values[clear[keep]]).all():
        raise ValueError("interpolated_on_views: values must be finite on every clear view (fill them first)")
    return F.interpolate_acquisitions(t[keep], values, clear[keep], np.array([date.toordinal()]))[0][0]


def acquisition_ages(times: np.ndarray, clear: np.ndarray, date: dt.date, variant: Variant
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(days since, days until) the clear views `interpolated_indices` uses on `date`, from the clear masks
    alone (the ages do not depend on the index values): S3's age channels where the indices are not kept."""
    t = np.asarray(times)
    keep = usable_views(t, date, variant)
    if not keep.any():
        none = np.full(clear.shape[1:], F.LANDSAT_MAX_GAP + 1.0, np.float32)
        return none, none.copy()
    _, since, until = F.interpolate_acquisitions(t[keep], np.zeros(clear[keep].shape, np.float32), clear[keep],
                                                 np.array([date.toordinal()]))
    return since[0], until[0]


def gpp_l_from_indices(model, indices: dict[str, np.ndarray], met: dict[str, np.ndarray], pft: np.ndarray,
                       land: np.ndarray) -> np.ndarray:
    """GPP_L (H, W) from interpolated indices, the day's 30 m meteorology and the PFT map (NaN off land)."""
    from unique_core.gpp.maps import predict_on

    return predict_on(model, {**indices, **met, "pft": pft}, land)


# ------------------------------------------------------------------ one entry point
@dataclass
class PeerResult:
    method: str
    region: Region
    date: dt.date
    gpp: np.ndarray  # (H, W) gC m-2 d-1, NaN off land
    info: dict


def run_peer(method: Method, world: DataSource, region: Region, date: dt.date, *, gpp_m_model=None, gpp_l_model=None,
             min_clear: float = 0.3) -> PeerResult:
    """A peer's 30 m map for a region and day, from the shipped Step 1 models (or those given).

    starfm pairs today's GPP_M with the last Landsat date before today on which at least
    `min_clear` of the region's land was clear (within 64 days); PeerError when there is none.
    """
    from unique_core.downscale import data as D
    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model

    if method not in METHODS:
        raise PeerError(f"unknown peer method {method!r}: choose one of {', '.join(METHODS)}")
    maps.check_source_date(world, date)
    st = world.static(region)
    land = st.land
    info: dict = {}
    if method in ("gpp_l_two_sided", "gpp_l_past"):
        model = gpp_l_model or load_model("landsat")
        gap = dt.timedelta(F.LANDSAT_MAX_GAP)
        times, vis, clear = maps.landsat_stack(world, region, date - gap, date + gap)
        idx = interpolated_indices(times, vis, clear, date, "past" if method == "gpp_l_past" else "two_sided")
        met = maps.met_inputs(world, region.fine, st.elevation, date)
        gpp = gpp_l_from_indices(model, idx, met, maps.pft_map(st.fractions), land)
        info["acquisitions"] = int(len(times))
        return PeerResult(method, region, date, gpp, info)
    m_model = gpp_m_model or load_model("modis")
    padded = Region(region.name, region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)
    coarse = region.coarse.pad(3)

    def gpp_m_on(day):
        return maps.gpp_m_map(m_model, world, day, padded).values

    gm = gpp_m_on(date)
    if method == "bilinear":
        out = bilinear(gm, coarse, region.fine)
    elif method == "nearest":
        out = nearest(gm, coarse, region.fine)
    elif method in ("unmix", "unmix_residual"):
        fc = world.static_coarse(region, halo_blocks=1).fractions
        out = unmix(gm, fc, st.fractions, coarse, region.fine, with_residual=method == "unmix_residual")
    else:  # starfm
        from unique_core.qa import landsat_clear

        l_model = gpp_l_model or load_model("landsat")
        pair = None
        for y in reversed(maps.source_years(world, date - dt.timedelta(F.LANDSAT_MAX_GAP), date)):
            for d, _, _ in sorted(world.landsat_dates(region, y), reverse=True):
                if not (date - dt.timedelta(F.LANDSAT_MAX_GAP) <= d < date):
                    continue
                scene = world.landsat(region, d)
                ok = landsat_clear(scene["QA_PIXEL"]) & land
                if ok.sum() >= min_clear * max(land.sum(), 1):
                    pair = (d, scene, ok)
                    break
            if pair:
                break
        if pair is None:
            raise PeerError(f"starfm needs a Landsat date with at least {min_clear:.0%} of the region clear in the "
                            f"{F.LANDSAT_MAX_GAP} days before {date}; there is none: pick a later date or another peer")
        d, scene, ok = pair
        lfeats = D._landsat_features_on_date(world, region, scene, d)
        l_pair = np.where(ok, l_model.predict({f: lfeats[f] for f in l_model.features}), np.nan)
        out = starfm(bilinear(gm, coarse, region.fine), l_pair, bilinear(gpp_m_on(d), coarse, region.fine))
        info["pair_date"] = d.isoformat()
    return PeerResult(method, region, date, np.where(land, out, np.nan).astype(np.float32), info)
