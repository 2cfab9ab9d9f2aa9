"""Features for the Step 1 models: one code path for site tables and map inputs.

Every function works on numpy arrays whose first axis is time and whose other axes are
anything (one site: (T,), a map: (T, H, W)), so the training table and the maps are built
by the same code.

- Vegetation indices (NDVI, EVI, NIRv, LSWI) from surface reflectance, after QA masking.
- MODIS, daily: clear values gap-filled and smoothed with a triangular window of +-8 days
  (MCD43's 16-day window); where none is that close, the nearest clear value within
  16 days; otherwise missing (LightGBM handles missing values).
- Landsat, "tailored to its 16-day resolution": linear interpolation between the last clear
  acquisition before the day and the first after it (within 64 days each side), and the
  days since and until those acquisitions.
- Meteorology: Tmin, Tmax, Tmean (degC), VPD (hPa), SW (W m-2), PAR (MJ m-2 d-1), and
  antecedent means (7-day temperature, radiation and VPD; 30-day precipitation).
- Seasonality (sine and cosine of the day of year) and the plant functional type.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Sensor = Literal["modis", "landsat"]

# Plant functional types the models know (FLUXNET IGBP, with rice apart from other crops)
PFT_CODES = ("ENF", "EBF", "DBF", "MF", "OSH", "SAV", "WSA", "GRA", "WET", "CRO", "RICE")
# Korean land-cover class -> the PFT a model sees for a pixel whose dominant class it is
CLASS_TO_PFT = {"urban": "GRA", "paddy": "RICE", "field": "CRO", "deciduous": "DBF", "coniferous": "ENF",
                "mixed": "MF", "grassland": "GRA", "wetland": "WET", "barren": "OSH", "water": "WET"}

VI_NAMES = ("ndvi", "evi", "nirv", "lswi")
MET_FEATURES = ("tmin", "tmax", "tmean", "vpd", "sw", "par", "precip_30d", "tmean_7d", "sw_7d", "vpd_7d",
                "doy_sin", "doy_cos")
MODIS_FEATURES = (*VI_NAMES, "vi_gap_days", *MET_FEATURES, "pft")
LANDSAT_FEATURES = (*VI_NAMES, "days_since_clear", "days_to_clear", *MET_FEATURES, "pft")
MODIS_WINDOW = 8  # days each side
MODIS_MAX_GAP = 16
LANDSAT_MAX_GAP = 64


def feature_names(sensor: Sensor) -> tuple[str, ...]:
    return MODIS_FEATURES if sensor == "modis" else LANDSAT_FEATURES


def pft_code(pft: str) -> int:
    return PFT_CODES.index(pft)


# ------------------------------------------------------------------ indices
def vegetation_indices(blue, red, nir, swir1) -> dict[str, np.ndarray]:
    """NDVI, EVI, NIRv and LSWI (unitless) from surface reflectance (0-1)."""
    blue, red, nir, swir1 = (np.asarray(a, dtype=np.float32) for a in (blue, red, nir, swir1))
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
        evi = 2.5 * (nir - red) / (nir + 6.0 * red - 7.5 * blue + 1.0)
        lswi = (nir - swir1) / (nir + swir1)
    evi = np.clip(evi, -1.0, 1.5)
    return {"ndvi": ndvi, "evi": evi, "nirv": ndvi * nir, "lswi": lswi}


# ------------------------------------------------------------------ MODIS: daily, gap-filled
def smooth_gapfill(values: np.ndarray, clear: np.ndarray, *, window: int = MODIS_WINDOW,
                   max_gap: int = MODIS_MAX_GAP, at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gap-filled, smoothed daily series and the distance (days) to the nearest clear value.

    values, clear: (T, ...) on consecutive days. `at` (indices into T, default all) selects
    the days to return. Weighted mean of clear values within +-`window` days (triangular
    weights); else the nearest clear value within `max_gap`; else NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    ok = np.asarray(clear, dtype=bool) & np.isfinite(values)
    v = np.where(ok, values, 0.0)
    T = values.shape[0]
    at = np.arange(T) if at is None else np.asarray(at)
    out = np.full((len(at), *values.shape[1:]), np.nan)
    gap = np.full((len(at), *values.shape[1:]), float(max_gap + 1))
    for i, t in enumerate(at):
        lo, hi = max(0, t - max_gap), min(T, t + max_gap + 1)
        dist = np.abs(np.arange(lo, hi) - t).reshape(-1, *([1] * (values.ndim - 1))).astype(float)
        okw = ok[lo:hi]
        w = np.clip(1.0 - dist / (window + 1.0), 0.0, None) * okw
        wsum = w.sum(axis=0)
        smooth = (w * v[lo:hi]).sum(axis=0) / np.where(wsum > 0, wsum, 1.0)
        d_clear = np.where(okw, dist, np.inf).min(axis=0)
        nearest_idx = np.where(okw, dist, np.inf).argmin(axis=0)
        nearest = np.take_along_axis(v[lo:hi], nearest_idx[None], axis=0)[0]
        res = np.where(wsum > 0, smooth, np.where(np.isfinite(d_clear), nearest, np.nan))
        out[i] = res
        gap[i] = np.where(np.isfinite(d_clear), d_clear, max_gap + 1)
    return out.astype(np.float32), gap.astype(np.float32)


# ------------------------------------------------------------------ Landsat: between clear acquisitions
def interpolate_acquisitions(times: np.ndarray, values: np.ndarray, clear: np.ndarray, targets: np.ndarray, *,
                             max_gap: int = LANDSAT_MAX_GAP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate clear acquisitions to target days.

    times (K,) acquisition days (any integer day numbers), values/clear (K, ...), targets (M,).
    Returns (values (M, ...), days since the last clear acquisition, days until the next),
    with NaN values where no clear acquisition lies within `max_gap` days on either side.
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=np.float64)
    ok = np.asarray(clear, dtype=bool) & np.isfinite(values)
    order = np.argsort(times, kind="stable")
    times, values, ok = times[order], values[order], ok[order]
    shape = values.shape[1:]
    M = len(targets)
    out = np.full((M, *shape), np.nan)
    since = np.full((M, *shape), float(max_gap + 1))
    until = np.full((M, *shape), float(max_gap + 1))
    for i, t in enumerate(np.asarray(targets, dtype=float)):
        before = (times <= t) & (times >= t - max_gap)
        after = (times >= t) & (times <= t + max_gap)
        tb = np.where(before.reshape(-1, *([1] * len(shape))) & ok, times.reshape(-1, *([1] * len(shape))), -np.inf)
        ta = np.where(after.reshape(-1, *([1] * len(shape))) & ok, times.reshape(-1, *([1] * len(shape))), np.inf)
        ib = tb.argmax(axis=0)
        ia = ta.argmin(axis=0)
        has_b = np.isfinite(tb.max(axis=0))
        has_a = np.isfinite(ta.min(axis=0))
        t_b = np.take_along_axis(tb, ib[None], 0)[0]
        t_a = np.take_along_axis(ta, ia[None], 0)[0]
        v_b = np.take_along_axis(values, ib[None], 0)[0]
        v_a = np.take_along_axis(values, ia[None], 0)[0]
        with np.errstate(invalid="ignore"):  # -inf/inf placeholders where one side is missing
            span = np.where(has_a & has_b, t_a - t_b, 1.0)
            frac = np.where(span > 0, (t - t_b) / np.where(span > 0, span, 1.0), 0.0)
            both = v_b + frac * (v_a - v_b)
        out[i] = np.where(has_b & has_a, both, np.where(has_b, v_b, np.where(has_a, v_a, np.nan)))
        since[i] = np.where(has_b, t - t_b, max_gap + 1)
        until[i] = np.where(has_a, t_a - t, max_gap + 1)
    return out.astype(np.float32), since.astype(np.float32), until.astype(np.float32)


# ------------------------------------------------------------------ meteorology
def trailing_mean(series: np.ndarray, days: int, at: np.ndarray | None = None) -> np.ndarray:
    """Mean of the `days` days ending on each selected day (fewer at the start), axis 0 = time."""
    s = np.asarray(series, dtype=np.float64)
    c = np.concatenate([np.zeros((1, *s.shape[1:])), np.cumsum(s, axis=0)])
    T = s.shape[0]
    at = np.arange(T) if at is None else np.asarray(at)
    lo = np.maximum(at + 1 - days, 0)
    n = (at + 1 - lo).reshape(-1, *([1] * (s.ndim - 1)))
    return ((c[at + 1] - c[lo]) / n).astype(np.float32)


def met_features(met: dict[str, np.ndarray], doy: np.ndarray, at: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Meteorological and seasonal features from daily series (T, ...) of tmin, tmax, tmean,
    vpd (hPa), sw (W m-2) and precip (mm d-1). `at` selects the days (indices) to return."""
    T = met["tmean"].shape[0]
    at = np.arange(T) if at is None else np.asarray(at)
    sel = lambda a: np.asarray(a, dtype=np.float32)[at]
    doy_at = np.asarray(doy, dtype=float)[at].reshape(-1, *([1] * (np.ndim(met["tmean"]) - 1)))
    ang = 2 * np.pi * (doy_at - 1) / 365.25
    shape = sel(met["tmean"]).shape
    return {"tmin": sel(met["tmin"]), "tmax": sel(met["tmax"]), "tmean": sel(met["tmean"]),
            "vpd": sel(met["vpd"]), "sw": sel(met["sw"]), "par": sel(met["sw"]) * np.float32(0.45 * 0.0864),
            "precip_30d": trailing_mean(met["precip"], 30, at), "tmean_7d": trailing_mean(met["tmean"], 7, at),
            "sw_7d": trailing_mean(met["sw"], 7, at), "vpd_7d": trailing_mean(met["vpd"], 7, at),
            "doy_sin": np.broadcast_to(np.sin(ang), shape).astype(np.float32),
            "doy_cos": np.broadcast_to(np.cos(ang), shape).astype(np.float32)}
