"""ERA5-Land NetCDF (hourly or daily) on UNIQUE's 0.1 degree lattice, as daily meteorology.

Variables (ERA5 short names): t2m and d2m (K), ssrd (J m-2, accumulated from 00 UTC in hourly
files, a daily sum in daily files), tp (m, the same), and optionally t2m_min / t2m_max (or
mn2t / mx2t) in daily files and z (geopotential, m2 s-2) for the reanalysis' terrain.
Conversions: K -> degC, J m-2 per day -> W m-2, m -> mm, VPD from temperature and dewpoint
(Tetens/Magnus). Days are UTC days. ERA5-Land's points lie on multiples of 0.1 degree, the
same lattice the simulated climate uses, so the rest of UNIQUE reads both alike.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from unique_core.errors import DataError
from unique_core.world import climate as clim

REQUIRED = ("t2m", "d2m", "ssrd", "tp")


def _open(path: Path) -> xr.Dataset:
    try:
        ds = xr.open_dataset(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable NetCDF file ({exc}); download it again") from exc
    ren = {}
    if "valid_time" in ds.dims or "valid_time" in ds.coords:
        ren["valid_time"] = "time"
    if "lat" in ds.coords:
        ren["lat"] = "latitude"
    if "lon" in ds.coords:
        ren["lon"] = "longitude"
    return ds.rename(ren)


def inspect(path: str | Path) -> dict:
    """What a file holds: variables, time step, period, lattice coverage; problems found."""
    path = Path(path)
    info: dict = {"file": str(path), "problems": []}
    try:
        ds = _open(path)
    except DataError as exc:
        info["problems"].append(str(exc))
        return info
    missing = [v for v in REQUIRED if v not in ds]
    if missing:
        info["problems"].append(f"{path}: variables {missing} missing (ERA5-Land short names t2m, d2m, ssrd, tp)")
    if "time" not in ds.dims:
        info["problems"].append(f"{path}: no time dimension")
        return info
    t = pd.to_datetime(ds["time"].values)
    step = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(days=1)
    info.update({"variables": sorted(ds.data_vars), "step_hours": step.total_seconds() / 3600,
                 "start": str(t.min().date()), "end": str(t.max().date())})
    lat, lon = ds["latitude"].values, ds["longitude"].values
    if np.abs(np.round(lat * 10) - lat * 10).max() > 1e-3 or np.abs(np.round(lon * 10) - lon * 10).max() > 1e-3:
        info["problems"].append(f"{path}: grid points are not on multiples of 0.1 degree: regrid to ERA5-Land's grid")
    info["bounds_lonlat"] = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    if "units" in ds.get("t2m", xr.DataArray()).attrs and ds["t2m"].attrs["units"] not in ("K", "kelvin"):
        info["problems"].append(f"{path}: t2m in {ds['t2m'].attrs['units']!r}, expected K")
    return info


class RealClimate:
    """Daily meteorology from ERA5-Land files, on the lattice: the same `day(date)` as the simulation."""

    def __init__(self, files: list[Path]):
        if not files:
            raise DataError("no ERA5-Land NetCDF files (era5land/*.nc): see docs/real-data.md")
        self.files = files
        self._days: dict[dt.date, dict[str, np.ndarray]] = {}
        self.orography: np.ndarray | None = None
        for f in files:
            self._load(f)
        if not self._days:
            raise DataError(f"no usable days in {', '.join(str(f) for f in files)}")
        self._add_soil_water()

    def _lattice_index(self, ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        i = np.rint((ds["latitude"].values - clim.LAT0) / clim.STEP).astype(int)
        j = np.rint((ds["longitude"].values - clim.LON0) / clim.STEP).astype(int)
        return i, j

    def _place(self, values: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.full((clim.NLAT, clim.NLON), np.nan, np.float32)
        ii = (i >= 0) & (i < clim.NLAT)
        jj = (j >= 0) & (j < clim.NLON)
        out[np.ix_(i[ii], j[jj])] = values[np.ix_(ii, jj)]
        return out

    def _load(self, path: Path) -> None:
        info = inspect(path)
        if info["problems"]:
            raise DataError("; ".join(info["problems"]))
        ds = _open(path)
        i, j = self._lattice_index(ds)
        if "z" in ds:
            z = ds["z"].isel(time=0) if "time" in ds["z"].dims else ds["z"]
            self.orography = np.nan_to_num(self._place(z.values / 9.80665, i, j), nan=0.0)
        t = pd.to_datetime(ds["time"].values)
        hourly = info["step_hours"] < 23.5
        day_of = np.array([x.date() for x in (t - pd.Timedelta(hours=1) if hourly else t)])  # 00 UTC closes a day
        for d in sorted(set(day_of)):
            sel = np.nonzero(day_of == d)[0]
            sub = ds.isel(time=sel)
            if hourly:
                if len(sel) < 24:
                    continue  # an incomplete day at a file's edge
                t2m = sub["t2m"].values - 273.15
                tmean, tmin, tmax = t2m.mean(0), t2m.min(0), t2m.max(0)
                td = sub["d2m"].values.mean(0) - 273.15
                ssrd = sub["ssrd"].values[-1]  # the accumulation from 00 UTC, read at the next 00 UTC
                tp = sub["tp"].values[-1]
            else:
                tmean = sub["t2m"].values[0] - 273.15
                tmin = (sub["t2m_min"] if "t2m_min" in sub else sub.get("mn2t", sub["t2m"])).values[0] - 273.15
                tmax = (sub["t2m_max"] if "t2m_max" in sub else sub.get("mx2t", sub["t2m"])).values[0] - 273.15
                td = sub["d2m"].values[0] - 273.15
                ssrd, tp = sub["ssrd"].values[0], sub["tp"].values[0]
            ea = clim.saturation_vapour_pressure(td)
            fields = {"tmean": tmean, "tmin": tmin, "tmax": tmax, "ea": ea,
                      "vpd": np.clip(clim.saturation_vapour_pressure(tmean) - ea, 0, None),
                      "sw": ssrd / 86400.0, "precip": tp * 1000.0}
            self._days[d] = {k: self._place(np.asarray(v, np.float32), i, j) for k, v in fields.items()}

    def _add_soil_water(self) -> None:
        days = sorted(self._days)
        stack = {k: np.stack([self._days[d][k] for d in days]) for k in ("precip", "tmean", "sw")}
        beta, _ = clim.soil_water(np.nan_to_num(stack["precip"]), np.nan_to_num(stack["tmean"]),
                                  np.nan_to_num(stack["sw"]))
        lat = clim.lattice_lonlat()[1][:, None]
        for k, d in enumerate(days):
            doy = d.timetuple().tm_yday
            clear = 0.76 * clim.toa_daily_mean(np.broadcast_to(lat, (clim.NLAT, clim.NLON)), np.full((1, 1), doy))
            self._days[d]["beta"] = beta[k].astype(np.float32)
            self._days[d]["sw_clear"] = clear.astype(np.float32)
            ci = np.clip(self._days[d]["sw"] / np.maximum(clear, 1.0), 0, 1)
            self._days[d]["cloud"] = np.clip(((1 - ci) / 0.72), 0, 1).astype(np.float32) ** (1 / 1.4)

    @property
    def dates(self) -> list[dt.date]:
        return sorted(self._days)

    def day(self, date: dt.date) -> dict[str, np.ndarray]:
        if date not in self._days:
            first, last = self.dates[0], self.dates[-1]
            raise DataError(f"no ERA5-Land data for {date} (the files cover {first} to {last}): add the month's "
                            "file to era5land/")
        return self._days[date]

    def covers(self, grid) -> bool:
        """Whether the lattice cells around a grid all have data."""
        w = clim.lattice_weights(grid)
        i0, i1 = int(np.floor(w.fi.min())), int(np.ceil(w.fi.max()))
        j0, j1 = int(np.floor(w.fj.min())), int(np.ceil(w.fj.max()))
        sample = self._days[self.dates[0]]["tmean"]
        return bool(np.isfinite(sample[max(i0, 0):i1 + 1, max(j0, 0):j1 + 1]).all())
