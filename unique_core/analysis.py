"""GPP by plant functional type: time series, seasonal and annual totals, and map metrics.

A pixel's GPP is attributed to each plant type in proportion to that type's share of the
pixel (fractional cover from the 5 m land-cover map): the mean GPP of a type over a region
is sum(f_type * GPP) / sum(f_type). Totals multiply by the type's area (sum of f_type times
the pixel area).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Literal

import numpy as np
import pandas as pd

from unique_core.errors import DataError
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


def product_pft_areas_km2(service, product: str, region: Region) -> dict[str, float]:
    """Area (km2) of each plant type in a region, on the product's own grid (500 m or 30 m)."""
    if product in ("gpp_m", "gpp_true_500m"):
        return pft_areas_km2(pft_weights(service.world.static_coarse(region).fractions), 500.0)
    return pft_areas_km2(pft_weights(np.asarray(service.get("fractions", None, region).values)), 30.0)


def timeseries(service, product: str, region: Region, start: dt.date, end: dt.date, *,
               dates: list[dt.date] | None = None, params: dict | None = None,
               progress: Progress = None) -> pd.DataFrame:
    """Mean GPP (gC m-2 d-1) by PFT, one row per date: columns date, <PFTs...>, all.

    gpp_m and gpp_true_500m: every day (vectorised at 500 m). Other products: the given
    `dates` (default: every 8th day and the last day; gpp_l: the Landsat dates), each loaded
    from the product cache or computed. `totals` makes such a series daily before summing.
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
    # every 8th day and the last one, so the series spans the range asked for (its totals cover it)
    days = dates or sorted({start + dt.timedelta(k) for k in range(0, (end - start).days + 1, 8)} | {end})
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
    from unique_core import cache

    df = cache.read_csv(path, ("date",))  # unreadable: quarantined, and made again below
    if df is not None:
        dates = pd.to_datetime(df["date"], errors="coerce")
        if len(df) == (end - start).days + 1 and dates.notna().all():
            df["date"] = dates.dt.date
            return df
        cache.quarantine(path, f"series of {len(df)} rows for {(end - start).days + 1} days (a cut write?)")
    stack, days = gpp_m_series(model, service.world, region, start, end,
                               (lambda i, n: progress("MODIS days", i, n)) if progress else None)
    weights = pft_weights(service.world.static_coarse(region).fractions)
    df = pd.DataFrame([{"date": d, **pft_means(stack[k], weights)} for k, d in enumerate(days)])
    write_text(path, df.to_csv(index=False))
    return df


MAX_GAP_DAYS = 40  # our choice: fusion accuracy drops sharply at a 40-day gap (SCIENCE.md)
Sampled = Literal["interpolate", "refuse"]


def daily_series(series: pd.DataFrame, *, sampled: Sampled = "interpolate", max_gap_days: int = MAX_GAP_DAYS,
                 name: str = "the series") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The series on every day from its first to its last date, and which values were measured.

    Returns (daily, measured): `daily` has one row per day (column `date` as datetime64) with the
    value columns; `measured` is a boolean frame of the same shape, True where the value came
    from the input and not from interpolation. A series with missing days is interpolated
    linearly in time between its samples (`sampled="interpolate"`, our choice: GPP varies
    smoothly over a few days, and the 8-day and Landsat sampling of the maps is that fine); it
    is never extrapolated beyond its first or last date. `sampled="refuse"` raises instead.
    Gaps longer than `max_gap_days` are refused either way.
    """
    if series.empty:
        raise DataError(f"{name} has no dates: choose a date range with at least one day")
    df = series.copy()
    df["date"] = pd.to_datetime(df["date"])
    if df["date"].duplicated().any():
        dup = df.loc[df["date"].duplicated(), "date"].iloc[0].date()
        raise DataError(f"{name} has {dup} twice: give each date once")
    df = df.sort_values("date").set_index("date")
    values = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    df = df[values].astype(float)
    days = pd.date_range(df.index[0], df.index[-1], freq="D")
    if len(days) != len(df):
        if sampled == "refuse":
            raise DataError(f"{name} has {len(df)} dates between {days[0].date()} and {days[-1].date()}, not one "
                            "per day: totals need daily values; ask for a daily product (gpp_m, gpp_true_500m) "
                            "or let the totals interpolate the samples (sampled='interpolate')")
        gaps = np.diff(df.index.values).astype("timedelta64[D]").astype(int)
        k = int(np.argmax(gaps))
        if gaps[k] > max_gap_days:
            raise DataError(f"{name} has a gap of {gaps[k]} days ({df.index[k].date()} to {df.index[k + 1].date()}), "
                            f"too long to interpolate (at most {max_gap_days}): ask for more dates in that gap "
                            "or a daily product (gpp_m, gpp_true_500m)")
    measured = df.reindex(days).notna()
    daily = df.reindex(days).interpolate(method="time", limit_area="inside")
    daily.index.name = "date"
    measured.index.name = "date"
    return daily.reset_index(), measured.reset_index()


def _periods(first: pd.Timestamp, last: pd.Timestamp) -> list[tuple[str, str, pd.Timestamp, pd.Timestamp]]:
    """(kind, name, start, end) of every meteorological season and calendar year touching the span."""
    out = []
    for year in range(first.year, last.year + 2):
        for season, months in SEASONS.items():
            y0 = year - 1 if season == "DJF" else year
            start = pd.Timestamp(y0, months[0], 1)
            end = pd.Timestamp(year, months[-1], 1) + pd.offsets.MonthEnd(0)
            label = f"DJF {year - 1}-{str(year)[-2:]}" if season == "DJF" else f"{season} {year}"
            if start <= last and end >= first:
                out.append(("season", label, start, end))
        start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
        if start <= last and end >= first:
            out.append(("year", str(year), start, end))
    return sorted(out, key=lambda p: (p[2], p[0] != "season"))


def _name(label: str, covered_from: pd.Timestamp, covered_to: pd.Timestamp, days: int, length: int) -> str:
    if days == length:
        return f"{label} ({length} days)"
    return f"part of {label}: {covered_from.date()} to {covered_to.date()} ({days} of {length} days)"


def year_periods(year: int) -> list[tuple[str, str, dt.date, dt.date]]:
    """The periods of one calendar year, as `totals` names them: (code, name, first day, last day).

    A calendar year holds every day of MAM, JJA and SON but only two parts of winter (DJF runs
    from December of the year before): code "JF" is January-February, named "part of DJF
    2022-23: ...", and "D" is December, "part of DJF 2023-24: ...". Never is a part called a
    season. The year, JF, MAM, JJA, SON and D together cover every day once. The region-year
    cube's maps (cube.cube_maps) are made for exactly these periods, so a map and the totals'
    row of the same name sum the same days.
    """
    first, last = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    out = []
    for kind, label, start, end in _periods(first, last):
        a, b = max(start, first), min(end, last)
        days = int((b - a).days) + 1
        if kind == "year":
            code = "year"
        elif label.startswith("DJF"):
            code = "JF" if a == first else "D"
        else:
            code = label.split()[0]
        out.append((code, _name(label, a, b, days, int((end - start).days) + 1), a.date(), b.date()))
    return out


def totals(series: pd.DataFrame, areas_km2: dict[str, float], *, sampled: Sampled = "interpolate",
           max_gap_days: int = MAX_GAP_DAYS, name: str = "the series") -> pd.DataFrame:
    """Seasonal and annual totals per PFT from daily values: gC m-2 and tonnes of carbon.

    `series`: mean GPP (gC m-2 d-1) per PFT column against `date`. A series sampled on some days
    is first made daily by `daily_series` (linear interpolation between samples, or refused with
    `sampled="refuse"`); the total of a period is the sum of its daily values (gC m-2), times the
    PFT's area for tonnes (1 gC m-2 over 1 km2 = 1 t C). Periods are the meteorological seasons
    (DJF runs from December of the year before) and calendar years the series touches, named
    for what they cover: "JJA 2023 (92 days)", "2023 (365 days)", or, where the series covers
    only part of one, "part of 2023: 2023-07-01 to 2023-07-10 (10 of 365 days)", whose total is
    only that part's. When the series is not exactly one of them, a last row covers its whole span.
    Columns: period, kind (season / year / span), start, end, days, period_days, complete,
    sampled_days (days with a measured value), pft, gpp_gC_m2, area_km2, carbon_t.
    """
    daily, measured = daily_series(series, sampled=sampled, max_gap_days=max_gap_days, name=name)
    first, last = daily["date"].iloc[0], daily["date"].iloc[-1]
    if "all" in daily.columns and "all" not in areas_km2:  # the vegetated area as a whole
        areas_km2 = {**areas_km2, "all": float(sum(areas_km2.values()))}
    pfts = [c for c in daily.columns if c in areas_km2]
    periods = _periods(first, last)
    if not any(s == first and e == last for _, _, s, e in periods):
        n = len(daily)
        periods.append(("span", f"{first.date()} to {last.date()} ({n} days)", first, last))
    rows = []
    for kind, label, start, end in periods:
        inside = (daily["date"] >= start) & (daily["date"] <= end)
        part = daily[inside]
        length = int((end - start).days) + 1
        days = len(part)
        period = label if kind == "span" else _name(label, part["date"].iloc[0], part["date"].iloc[-1], days, length)
        for p in pfts:
            gc = float(part[p].sum(min_count=1))
            rows.append({"period": period, "kind": kind, "start": part["date"].iloc[0].date(),
                         "end": part["date"].iloc[-1].date(), "days": days, "period_days": length,
                         "complete": days == length, "sampled_days": int(measured.loc[inside, p].sum()), "pft": p,
                         "gpp_gC_m2": round(gc, 1), "area_km2": round(areas_km2[p], 2),
                         "carbon_t": round(gc * areas_km2[p], 1)})
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
