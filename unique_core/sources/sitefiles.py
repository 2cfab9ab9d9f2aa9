"""The flux-network folder: the site table and per-site files both sources use, and their writers.

    folder/
      sites.csv                                   site table (SITE_TABLE_COLUMNS)
      fluxnet/FLX_<ID>_FLUXNET2015_FULLSET_DD_<Y0>-<Y1>_1-4.csv   334 columns, -9999 missing
      era5land/<ID>_ERA5-Land_daily.csv           reanalysis at the site (K, J m-2, m)
      modis/<ID>_MOD09GA-061-results.csv          AppEEARS point samples, daily, with state_1km
      landsat/<ID>_LANDSAT_C02_T1_L2.csv          Earth Engine samples, SR_B2..SR_B7 + QA_PIXEL

Real exports from FLUXNET, AppEEARS, Earth Engine and the CDS come in these shapes; the
simulated network (unique_core.world.network) writes the same files with the writers below,
and Step 1 reads either folder with the readers of unique_core.io (fluxnet, extracts).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pandas as pd

from unique_core.atomic import atomic_path
from unique_core.errors import DataError
from unique_core.resources import fluxnet_columns_file

SITE_TABLE_COLUMNS = ("site_id", "name", "lat", "lon", "elevation_m", "igbp", "crop", "first_year", "last_year",
                      "korean")  # site_id, lat, lon and igbp are required; crop "rice" marks paddies

# FLUXNET daily files
MISSING = -9999
TIMESTAMP = "TIMESTAMP"

# per-site satellite extracts: the project's band names and each export's column names
BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
MODIS_PREFIX = "MOD09GA_061_"
MODIS_COLS = {"blue": "sur_refl_b03_1", "green": "sur_refl_b04_1", "red": "sur_refl_b01_1",
              "nir": "sur_refl_b02_1", "swir1": "sur_refl_b06_1", "swir2": "sur_refl_b07_1"}
MODIS_STATE = "state_1km_1"
MODIS_FILL = -28672
LANDSAT_COLS = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir": "SR_B5", "swir1": "SR_B6", "swir2": "SR_B7"}


@functools.lru_cache(maxsize=1)
def fullset_columns() -> tuple[str, ...]:
    """The 334 columns of a real FLUXNET2015 FULLSET daily file, in order."""
    return tuple(fluxnet_columns_file().read_text().strip().split(","))


def file_name(site_id: str, first_year: int, last_year: int, version: str = "1-4") -> str:
    """The FLUXNET2015 FULLSET DD file name of a site and its years."""
    return f"FLX_{site_id}_FLUXNET2015_FULLSET_DD_{first_year}-{last_year}_{version}.csv"


def write_fluxnet_dd(path: str | Path, values: dict[str, np.ndarray], dates: list) -> Path:
    """Write a FULLSET DD file (all 334 columns, in order; -9999 where `values` has none).

    `values` maps FLUXNET column names to arrays over `dates` (NaN becomes -9999).
    """
    columns = fullset_columns()
    unknown = set(values) - set(columns)
    if unknown:
        raise DataError(f"not FLUXNET2015 columns: {sorted(unknown)}")
    n = len(dates)
    table = {c: np.full(n, float(MISSING)) for c in columns if c != TIMESTAMP}
    for c, v in values.items():
        v = np.asarray(v, dtype=float)
        table[c] = np.where(np.isfinite(v), v, MISSING)
    df = pd.DataFrame(table, columns=[c for c in columns if c != TIMESTAMP])
    df.insert(0, TIMESTAMP, [d.strftime("%Y%m%d") for d in dates])
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.5g")
    path = Path(path)
    with atomic_path(path, suffix=".csv") as tmp:
        tmp.write_text(buf.getvalue())
    return path


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    with atomic_path(path, suffix=".csv") as tmp:
        tmp.write_text(buf.getvalue())
    return path


def write_modis_extract(path: str | Path, site_id: str, lat: float, lon: float, dates: list,
                        dn: dict[str, np.ndarray], state: np.ndarray) -> Path:
    """An AppEEARS MOD09GA.061 point sample; dn: scaled integers by band (blue..swir2), MODIS_FILL where missing."""
    df = pd.DataFrame({"ID": site_id, "Category": site_id, "Latitude": lat, "Longitude": lon,
                       "Date": [d.isoformat() for d in dates], "MODIS_Tile": "h28v05"})
    for band, col in MODIS_COLS.items():
        v = np.asarray(dn[band]).astype(float)
        df[MODIS_PREFIX + col] = np.where(v == MODIS_FILL, MODIS_FILL, np.round(v * 0.0001, 4))
    df[MODIS_PREFIX + MODIS_STATE] = np.asarray(state).astype(int)
    return _write_csv(Path(path), df)


def write_landsat_extract(path: str | Path, site_id: str, rows: list[dict]) -> Path:
    """An Earth Engine sample; rows: dicts with date, satellite (LC08/LC09), path, row, SR_B2..SR_B7 (DN), QA_PIXEL."""
    records = []
    for r in rows:
        d = r["date"]
        rec = {"system:index": f"{r['satellite']}_{r['path']:03d}{r['row']:03d}_{d:%Y%m%d}", "site_id": site_id,
               "date": d.isoformat()}
        rec.update({c: int(r[c]) for c in LANDSAT_COLS.values()})
        rec["QA_PIXEL"] = int(r["QA_PIXEL"])
        records.append(rec)
    cols = ["system:index", "site_id", "date", *LANDSAT_COLS.values(), "QA_PIXEL"]
    return _write_csv(Path(path), pd.DataFrame(records, columns=cols))


def write_era5land_point(path: str | Path, dates: list, tmean_c, tmin_c, tmax_c, ea_hpa, sw_wm2, precip_mm) -> Path:
    """Daily ERA5-Land-like values at a site in ERA5 units (K, J m-2 per day, m per day)."""
    ea = np.clip(np.asarray(ea_hpa, float), 1e-3, None)
    # dewpoint from actual vapour pressure (inverse Magnus)
    g = np.log(ea / 6.1078)
    td = 237.3 * g / (17.27 - g)
    df = pd.DataFrame({"date": [d.isoformat() for d in dates],
                       "t2m": np.round(np.asarray(tmean_c) + 273.15, 3),
                       "t2m_min": np.round(np.asarray(tmin_c) + 273.15, 3),
                       "t2m_max": np.round(np.asarray(tmax_c) + 273.15, 3),
                       "d2m": np.round(td + 273.15, 3),
                       "ssrd": np.round(np.asarray(sw_wm2) * 86400.0, 0),
                       "tp": np.round(np.asarray(precip_mm) / 1000.0, 6)})
    return _write_csv(Path(path), df)
