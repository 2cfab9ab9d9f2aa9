"""The training table of Step 1: one row per site and day, features from `unique_core.features`.

A flux-network folder (layout in unique_core.sources.sitefiles, the same for real data) gives, per
site: the FLUXNET daily file (target GPP and its QC), the ERA5-Land point extract (the
reanalysis meteorology the maps also use), and the MODIS or Landsat extract.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from unique_core import features as F
from unique_core.errors import DataError
from unique_core.io import extracts, fluxnet
from unique_core.io.fluxnet import Partition
from unique_core.qa import landsat_clear, modis_clear

SITE_COLUMNS = ("site_id", "date", "lat", "lon", "igbp", "pft_name", "gpp", "gpp_nt", "gpp_dt", "nee_qc", "qc_pass")


def read_sites(folder: str | Path) -> pd.DataFrame:
    folder = Path(folder)
    path = folder / "sites.csv"
    if not path.exists():
        raise DataError(f"{folder}: no sites.csv (site_id, lat, lon, igbp[, crop]); see docs/real-data.md")
    sites = pd.read_csv(path)
    for c in ("site_id", "lat", "lon", "igbp"):
        if c not in sites:
            raise DataError(f"{path}: column {c!r} is missing")
    crop = sites["crop"].astype("string").fillna("") if "crop" in sites else ""
    sites["pft_name"] = np.where(crop == "rice", "RICE", sites["igbp"])
    unknown = set(sites["pft_name"]) - set(F.PFT_CODES)
    if unknown:
        raise DataError(f"{path}: unknown plant types {sorted(unknown)}; use IGBP codes {', '.join(F.PFT_CODES[:-1])}")
    return sites


def _find(folder: Path, sub: str, site_id: str, pattern: str) -> Path:
    hits = sorted((folder / sub).glob(pattern.format(site=site_id)))
    if not hits:
        raise DataError(f"{folder / sub}: no file for site {site_id} (expected {pattern.format(site=site_id)})")
    return hits[0]


def site_days(folder: str | Path, sensor: F.Sensor, site: pd.Series, *, min_qc: float = 0.8,
              partition: Partition = "NT") -> pd.DataFrame:
    """Features and target of every day of one site (rows with qc_pass False are kept)."""
    folder = Path(folder)
    sid = site["site_id"]
    flux = fluxnet.read_fluxnet(_find(folder, "fluxnet", sid, "*_{site}_*.csv"), min_qc=min_qc,
                                partition=partition, site_id=sid)
    met = extracts.read_era5land_point(_find(folder, "era5land", sid, "{site}_*.csv"))
    met = met.drop_duplicates("date").set_index("date")
    days = pd.Index(flux["date"])
    start, end = days.min(), days.max()
    # meteorology over the file's span (antecedent means need the preceding days)
    span = pd.date_range(start - dt.timedelta(days=30), end).date
    m = met.reindex(span)
    if m.loc[start:end, "tmean"].isna().mean() > 0.2:
        raise DataError(f"{folder / 'era5land'}: ERA5-Land extract of {sid} does not cover {start}..{end}")
    m = m.interpolate(limit_direction="both")
    idx = np.array([span.tolist().index(d) for d in (start, end)])
    at = np.arange(idx[0], idx[1] + 1)
    doy = np.array([d.timetuple().tm_yday for d in span])
    mf = F.met_features({k: m[k].to_numpy() for k in ("tmin", "tmax", "tmean", "vpd", "sw", "precip")}, doy, at)
    full_days = pd.Index(span[at])
    if sensor == "modis":
        sat = extracts.read_modis_extract(_find(folder, "modis", sid, "{site}_*.csv")).drop_duplicates("date")
        sat = sat.set_index("date").reindex(span)
        clear = modis_clear(sat["qa"].fillna(1).astype(int).to_numpy()) & sat[list(extracts.BANDS)].notna().all(axis=1).to_numpy()
        vis = F.vegetation_indices(sat["blue"].to_numpy(), sat["red"].to_numpy(), sat["nir"].to_numpy(), sat["swir1"].to_numpy())
        feats = {}
        for name, v in vis.items():
            feats[name], gap = F.smooth_gapfill(v, clear, at=at)
        feats["vi_gap_days"] = gap
    else:
        sat = extracts.read_landsat_extract(_find(folder, "landsat", sid, "{site}_*.csv")).drop_duplicates("date")
        times = np.array([d.toordinal() for d in sat["date"]])
        clear = landsat_clear(sat["qa"].to_numpy()) & sat[list(extracts.BANDS)].notna().all(axis=1).to_numpy()
        vis = F.vegetation_indices(sat["blue"], sat["red"], sat["nir"], sat["swir1"])
        targets = np.array([d.toordinal() for d in full_days])
        feats = {}
        for name, v in vis.items():
            feats[name], since, until = F.interpolate_acquisitions(times, np.asarray(v), clear, targets)
        feats["days_since_clear"], feats["days_to_clear"] = since, until
    table = pd.DataFrame({**{k: np.asarray(v) for k, v in feats.items()}, **mf}, index=full_days)
    table["pft"] = F.pft_code(site["pft_name"])
    flux = flux.set_index("date")
    out = table.join(flux[["gpp", "gpp_nt", "gpp_dt", "nee_qc", "nee_randunc", "qc_pass"]], how="inner").reset_index(names="date")
    out.insert(0, "site_id", sid)
    out["lat"], out["lon"], out["igbp"], out["pft_name"] = site["lat"], site["lon"], site["igbp"], site["pft_name"]
    return out


def training_table(folder: str | Path, sensor: F.Sensor, *, min_qc: float = 0.8, partition: Partition = "NT",
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """All sites' days (features, target, QC flag and site facts) for `sensor`."""
    sites = read_sites(folder)
    tables = []
    for i, (_, site) in enumerate(sites.iterrows()):
        tables.append(site_days(folder, sensor, site, min_qc=min_qc, partition=partition))
        if progress:
            progress(i + 1, len(sites))
    return pd.concat(tables, ignore_index=True)
