"""Per-site satellite and reanalysis extracts, in the CSV shapes people export.

- MODIS MOD09GA from AppEEARS point samples: one row per day, columns
  `MOD09GA_061_sur_refl_b0N_1` (AppEEARS writes reflectance already scaled) and
  `MOD09GA_061_state_1km_1` (the raw QA integer); MCD43A4.061 samples (Nadir_Reflectance_BandN
  and BRDF_Albedo_Band_Mandatory_Quality_BandN) too; any product's sample, tidy, with
  `read_appeears_points` (fill values, left raw by AppEEARS, become NaN).
- Landsat Collection 2 Level-2 from Earth Engine (`LANDSAT/LC0N/C02/T1_L2`, sampled at the
  site): `system:index` like LC08_116034_20200105, raw SR_B2..SR_B7 digital numbers and
  QA_PIXEL.
- ERA5-Land at the site: date, t2m / t2m_min / t2m_max / d2m (K), ssrd (J m-2 per day),
  tp (m per day), as ERA5-Land stores them; the reader converts to degC, W m-2, mm and hPa.

Readers return tidy tables with the project's names: blue, green, red, nir, swir1, swir2
(surface reflectance 0-1) and qa. The column names and the writers (which the simulated network
uses) are defined with the folder format in unique_core.sources.sitefiles.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from unique_core.errors import DataError
from unique_core.sources.formats import L2_OFFSET, L2_SCALE
from unique_core.sources.physics import saturation_vapour_pressure
from unique_core.sources.sitefiles import (BANDS, LANDSAT_COLS, MODIS_COLS, MODIS_FILL, MODIS_PREFIX,  # noqa: F401
                                           MODIS_STATE)


def _read(path: Path, needed: list[str], what: str) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        df = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from exc
    for c in needed:
        if c not in df.columns:
            raise DataError(f"{path}: column {c!r} is missing (expected {what})")
    return df


# ------------------------------------------------------------------ MODIS (AppEEARS)
_APPEEARS_COL = re.compile(r"^(?P<product>M[OYC]D\d{2}[A-Z0-9]{1,4})_(?P<ver>\d{3})_(?P<layer>.+)$")
APPEEARS_FILLS = (32767.0, -28672.0, -3000.0, -1000.0, 65535.0, 255.0)


def read_appeears_points(path: str | Path) -> pd.DataFrame:
    """An AppEEARS point-sample CSV of any product, tidy: site_id, date, product, layer, value, fill.

    AppEEARS writes valid values already scaled but leaves fill values raw (32767, -28672, ...):
    those become NaN with `fill` True. Derived columns (_bitmask, _Description, _MODLAND, ...) and
    the pixel indices are left out.
    """
    path = Path(path)
    df = _read(path, ["Date"], "an AppEEARS point-sample CSV (ID/Category, Latitude, Longitude, Date, "
               "<PRODUCT>_<VER>_<layer> columns)")
    layers = [(c, m) for c in df.columns if (m := _APPEEARS_COL.match(c))
              and not re.search(r"(_bitmask|_Description|_MODLAND|_Fill|Line_Y_|Sample_X_)", c)
              and pd.api.types.is_numeric_dtype(df[c])]
    if not layers:
        raise DataError(f"{path}: no <PRODUCT>_<VERSION>_<layer> columns with numbers (e.g. MCD43A4_061_"
                        "Nadir_Reflectance_Band1): is it an AppEEARS point sample?")
    site = df["Category"].astype(str) if "Category" in df else df.get("ID", pd.Series(path.stem, index=df.index))
    dates = pd.to_datetime(df["Date"], errors="coerce")
    if dates.isna().any():
        raise DataError(f"{path}: column Date must be YYYY-MM-DD (line {int(np.nonzero(dates.isna().to_numpy())[0][0]) + 2})")
    frames = []
    for col, m in layers:
        v = df[col].astype(float)
        fill = v.isin(APPEEARS_FILLS) if "Quality" not in col else v.isin((255.0, 65535.0))
        frames.append(pd.DataFrame({"site_id": site.astype(str), "date": dates.dt.date, "product": m.group("product"),
                                    "version": m.group("ver"), "layer": m.group("layer"), "value": v.where(~fill),
                                    "fill": fill}))
    return pd.concat(frames, ignore_index=True)


MCD43_COLS = {"blue": "Nadir_Reflectance_Band3", "green": "Nadir_Reflectance_Band4", "red": "Nadir_Reflectance_Band1",
              "nir": "Nadir_Reflectance_Band2", "swir1": "Nadir_Reflectance_Band6", "swir2": "Nadir_Reflectance_Band7"}


def read_modis_extract(path: str | Path) -> pd.DataFrame:
    """date, blue..swir2 (reflectance, NaN for fill) and qa (state_1km) for each day.

    MOD09GA.061 point samples are read as they are; MCD43A4.061 ones too, with qa made from the
    BRDF mandatory quality (cloudy, state 1, unless every band's quality is 0 or 1).
    """
    path = Path(path)
    header = pd.read_csv(path, nrows=0).columns.tolist() if path.exists() else []
    if any(c.startswith("MCD43A4_061_") for c in header):
        return _read_mcd43_extract(path, header)
    needed = ["Date", "Category"] + [MODIS_PREFIX + c for c in MODIS_COLS.values()] + [MODIS_PREFIX + MODIS_STATE]
    df = _read(path, needed, "an AppEEARS MOD09GA.061 point-sample CSV")
    out = pd.DataFrame({"site_id": df["Category"].astype(str), "date": pd.to_datetime(df["Date"]).dt.date})
    for band, col in MODIS_COLS.items():
        v = df[MODIS_PREFIX + col].astype(float)
        out[band] = v.where((v > -1.0) & (v != MODIS_FILL))
    out["qa"] = df[MODIS_PREFIX + MODIS_STATE].astype(int)
    return out


def _read_mcd43_extract(path: Path, header: list[str]) -> pd.DataFrame:
    prefix = "MCD43A4_061_"
    missing = [c for c in MCD43_COLS.values() if prefix + c not in header]
    if missing:
        have = sorted(c[len(prefix):] for c in header if c.startswith(prefix + "Nadir_Reflectance_Band"))
        raise DataError(f"{path}: an MCD43A4 point sample with {', '.join(have) or 'no bands'} only; UNIQUE needs "
                        f"{', '.join(MCD43_COLS.values())} (request those layers from AppEEARS)")
    df = _read(path, ["Date"], "an AppEEARS MCD43A4.061 point-sample CSV")
    out = pd.DataFrame({"site_id": df["Category"].astype(str) if "Category" in df else path.stem,
                        "date": pd.to_datetime(df["Date"]).dt.date})
    good = pd.Series(True, index=df.index)
    for band, col in MCD43_COLS.items():
        v = df[prefix + col].astype(float)
        out[band] = v.where((v > -1.0) & (v != 32767))
        q = prefix + col.replace("Nadir_Reflectance", "BRDF_Albedo_Band_Mandatory_Quality")
        if q in df:
            good &= df[q].astype(float) <= 1
        good &= out[band].notna()
    out["qa"] = np.where(good, 8, 1).astype(int)  # state_1km: land and clear (bit 3), or cloudy (01)
    return out


# ------------------------------------------------------------------ Landsat (Earth Engine)
def read_landsat_extract(path: str | Path) -> pd.DataFrame:
    """date, satellite, blue..swir2 (reflectance; NaN for fill) and qa (QA_PIXEL) per acquisition."""
    path = Path(path)
    df = _read(path, ["system:index", *LANDSAT_COLS.values(), "QA_PIXEL"],
               "an Earth Engine export of LANDSAT/LC0N/C02/T1_L2 with SR_B2..SR_B7 and QA_PIXEL")
    idx = df["system:index"].astype(str)
    parsed = idx.str.extract(r"(LC0[89])_(\d{6})_(\d{8})")
    if parsed.isna().any().any():
        bad = idx[parsed.isna().any(axis=1)].iloc[0]
        raise DataError(f"{path}: system:index {bad!r} is not like LC08_116034_20200105")
    out = pd.DataFrame({"site_id": df["site_id"].astype(str) if "site_id" in df else path.stem,
                        "date": pd.to_datetime(parsed[2], format="%Y%m%d").dt.date, "satellite": parsed[0]})
    for band, col in LANDSAT_COLS.items():
        dn = df[col].astype(float)
        out[band] = (dn * L2_SCALE + L2_OFFSET).where(dn > 0)
    out["qa"] = df["QA_PIXEL"].astype(int)
    return out


# ------------------------------------------------------------------ ERA5-Land at a site
def era5_to_met(t2m_k, t2m_min_k, t2m_max_k, d2m_k, ssrd_j_day, tp_m_day) -> dict[str, np.ndarray]:
    """ERA5-Land daily values -> degC, hPa, W m-2 and mm (Tetens/Magnus VPD from dewpoint)."""
    tmean = np.asarray(t2m_k, float) - 273.15
    td = np.asarray(d2m_k, float) - 273.15
    ea = saturation_vapour_pressure(td)
    return {"tmean": tmean, "tmin": np.asarray(t2m_min_k, float) - 273.15,
            "tmax": np.asarray(t2m_max_k, float) - 273.15,
            "vpd": np.clip(saturation_vapour_pressure(tmean) - ea, 0, None), "ea": ea,
            "sw": np.asarray(ssrd_j_day, float) / 86400.0, "precip": np.asarray(tp_m_day, float) * 1000.0}


def read_era5land_point(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    df = _read(path, ["date", "t2m", "t2m_min", "t2m_max", "d2m", "ssrd", "tp"], "a daily ERA5-Land point extract")
    met = era5_to_met(df["t2m"], df["t2m_min"], df["t2m_max"], df["d2m"], df["ssrd"], df["tp"])
    out = pd.DataFrame({"date": pd.to_datetime(df["date"]).dt.date, **met})
    return out
