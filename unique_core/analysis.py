"""GPP by plant functional type: time series, seasonal and annual totals, and map metrics.

A pixel's GPP is attributed to each plant type in proportion to that type's share of the
pixel (fractional cover from the 5 m land-cover map): the mean GPP of a type over a region
is sum(f_type * GPP) / sum(f_type). Totals multiply by the type's area (sum of f_type times
the pixel area).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import numpy as np
import pandas as pd

from unique_core.gpp.cv import metrics
from unique_core.grid import Region
from unique_core.landcover import KEYS, PFTS, analysis_pft
from unique_core.products import mean_layer

Progress = Callable[[str, int, int], None] | None
SEASONS = {"DJF": (12, 1, 2), "MAM": (3, 4, 5), "JJA": (6, 7, 8), "SON": (9, 10, 11)}


def pft_weights(fractions: np.ndarray) -> dict[str, np.ndarray]:
    """Share of each analysis PFT in each pixel, from class fractions (N_CLASSES, H, W)."""
    out: dict[str, np.ndarray] = {}
    for k, key in enumerate(KEYS):
        pft = analysis_pft(key)
        if pft is None:
            continue
        out[pft] = out.get(pft, 0) + fractions[k]
    return {p: out[p] for p in PFTS if p in out}


def pft_means(gpp: np.ndarray, weights: dict[str, np.ndarray]) -> dict[str, float]:
    """Area-weighted mean GPP of each PFT (NaN pixels left out), and 'all' for the vegetated area."""
    ok = np.isfinite(gpp)
    g = np.where(ok, gpp, 0.0)
    out = {}
    for p, w in weights.items():
        ww = np.where(ok, w, 0.0)
        s = ww.sum()
        out[p] = float((ww * g).sum() / s) if s > 0 else np.nan
    total = sum(np.where(ok, w, 0.0) for w in weights.values())
    out["all"] = float((total * g).sum() / total.sum()) if np.sum(total) > 0 else np.nan
    return out


def pft_areas_km2(weights: dict[str, np.ndarray], pixel_m: float) -> dict[str, float]:
    return {p: float(w.sum() * pixel_m ** 2 / 1e6) for p, w in weights.items()}


def timeseries(service, product: str, region: Region, start: dt.date, end: dt.date, *,
               dates: list[dt.date] | None = None, params: dict | None = None,
               progress: Progress = None) -> pd.DataFrame:
    """Mean GPP (gC m-2 d-1) by PFT, one row per date: columns date, <PFTs...>, all.

    gpp_m and gpp_true_500m: every day (vectorised at 500 m). Other products: the given
    `dates` (default: every 8th day), each loaded from the product cache or computed.
    """
    world = service.world
    if product == "gpp_m":
        return _gpp_m_timeseries(service, region, start, end, progress)
    if product == "gpp_true_500m" and service.simulated:
        sc = world.static_coarse(region)
        weights = pft_weights(sc.fractions)
        days = [start + dt.timedelta(k) for k in range((end - start).days + 1)]
        rows = []
        for k, d in enumerate(days):
            day = world.day_coarse(region, d, static=sc)
            rows.append({"date": d, **pft_means(np.where(sc.land > 0.5, day.gpp, np.nan), weights)})
            if progress:
                progress("true GPP days", k + 1, len(days))
        return pd.DataFrame(rows)
    days = dates or [start + dt.timedelta(k) for k in range(0, (end - start).days + 1, 8)]
    if product == "gpp_l" and dates is None:
        days = [d for y in range(start.year, end.year + 1) for d, _, _ in world.landsat_dates(region, y)
                if start <= d <= end]
    fine = service.get("fractions", None, region)
    weights = pft_weights(np.asarray(fine.values))
    rows = []
    for k, d in enumerate(days):
        da = service.get(product, d, region, params)
        values = np.asarray(mean_layer(da).values, dtype=float)
        rows.append({"date": d, **pft_means(values, weights)})
        if progress:
            progress(f"{product} maps", k + 1, len(days))
    return pd.DataFrame(rows)


def _gpp_m_timeseries(service, region: Region, start: dt.date, end: dt.date, progress: Progress) -> pd.DataFrame:
    """Daily GPP_M by PFT, vectorised at 500 m, kept in the product cache (keyed by the model's hash)."""
    from unique_core.atomic import write_text
    from unique_core.gpp.maps import gpp_m_series
    from unique_core.gpp.registry import load_model

    model = load_model("modis")
    source = service.world.seed if service.simulated else service.world.identity
    path = service.root / "series" / f"gpp_m_{region.key}_{start}_{end}_{model.digest}_{source}.csv"
    if path.exists():
        df = pd.read_csv(path)
        df["date"] = pd.to_datetime(df["date"]).dt.date
        return df
    stack, days = gpp_m_series(model, service.world, region, start, end,
                               (lambda i, n: progress("MODIS days", i, n)) if progress else None)
    weights = pft_weights(service.world.static_coarse(region).fractions)
    df = pd.DataFrame([{"date": d, **pft_means(stack[k], weights)} for k, d in enumerate(days)])
    write_text(path, df.to_csv(index=False))
    return df


def totals(series: pd.DataFrame, areas_km2: dict[str, float]) -> pd.DataFrame:
    """Seasonal and annual totals per PFT: gC m-2 (sum of daily means) and tonnes of carbon.

    The series must be daily; seasons are meteorological (DJF, MAM, JJA, SON) within each year.
    """
    df = series.copy()
    df["date"] = pd.to_datetime(df["date"])
    df["year"] = df["date"].dt.year
    season_of = {m: s for s, months in SEASONS.items() for m in months}
    df["season"] = df["date"].dt.month.map(season_of)
    pfts = [c for c in series.columns if c in areas_km2]
    rows = []
    for (year, season), g in list(df.groupby(["year", "season"])) + [((y, "year"), g) for y, g in df.groupby("year")]:
        for p in pfts:
            gc = float(g[p].sum())
            rows.append({"year": int(year), "period": season, "pft": p, "days": int(g[p].notna().sum()),
                         "gpp_gC_m2": round(gc, 1), "area_km2": round(areas_km2[p], 2),
                         "carbon_t": round(gc * areas_km2[p], 1)})  # 1 gC m-2 over 1 km2 = 1 t C
    return pd.DataFrame(rows)


def map_metrics(pred: np.ndarray, reference: np.ndarray, weights: dict[str, np.ndarray] | None = None,
                min_share: float = 0.5) -> dict:
    """RMSE, r and bias of a map against a reference, overall and per PFT (pixels where that PFT
    covers at least `min_share`)."""
    ok = np.isfinite(pred) & np.isfinite(reference)
    out = {"overall": metrics(reference[ok], pred[ok])}
    if weights:
        out["by_pft"] = {p: metrics(reference[ok & (w >= min_share)], pred[ok & (w >= min_share)])
                         for p, w in weights.items() if np.sum(ok & (w >= min_share)) >= 10}
    return out


COMPARE_PRODUCTS = ("gpp_m", "s1", "s2", "gpp_l", "gpp_true")


def comparison(service, date: dt.date, region: Region, params: dict | None = None, *,
               available: tuple[str, ...] = COMPARE_PRODUCTS) -> dict:
    """Maps of GPP_M (shown at 30 m), S1, S2, GPP_L and the truth on the region's 30 m grid,
    their ensemble spreads, and metrics of each against GPP_L and the truth (overall, per PFT).

    Only products in `available` are loaded (the caller decides what may be computed).
    """
    from unique_core.resample import coarse_to_fine_nearest

    maps: dict[str, np.ndarray] = {}
    spread: dict[str, np.ndarray] = {}
    for p in available:
        da = service.get(p, date, region, params if p in ("s1", "s2") else None)
        if p == "gpp_m":
            maps["GPP_M (500 m)"] = coarse_to_fine_nearest(np.asarray(da.values), region.coarse, region.fine)
        elif "band" in da.dims:
            maps[p.upper()] = np.asarray(da.sel(band="mean").values)
            spread[p.upper()] = np.asarray(da.sel(band="std").values)
        else:
            maps[{"gpp_l": "GPP_L", "gpp_true": "Truth (simulated)"}[p]] = np.asarray(da.values)
    weights = pft_weights(np.asarray(service.get("fractions", None, region).values))
    rows = []
    for ref in ("GPP_L", "Truth (simulated)"):
        if ref not in maps:
            continue
        for name, m in maps.items():
            if name == ref:
                continue
            mm = map_metrics(m, maps[ref], weights)
            rows.append({"map": name, "against": ref, "pft": "all", **mm["overall"]})
            rows += [{"map": name, "against": ref, "pft": p, **v} for p, v in mm.get("by_pft", {}).items()]
    return {"maps": maps, "spread": spread, "metrics": pd.DataFrame(rows)}
