"""ERA5-Land and ERA5 NetCDF (hourly or daily) on UNIQUE's 0.1 degree lattice, as daily meteorology.

Variables (ERA5 short names, or their CF names as xclim and CMIP-style tools write them): t2m
(tas) and d2m (tdps), ssrd (rsds), tp (pr), optionally t2m_min / t2m_max (mn2t / mx2t, tasmin /
tasmax) and z (geopotential, m2 s-2) for the reanalysis' terrain. The CDS forms are handled:
`valid_time` for `time`, an `expver` dimension (ERA5 final 0001 and preliminary ERA5T 0005: the
final value where there is one) or coordinate, packed int16 with scale_factor/add_offset
(decoded), a scalar `number`.

Units come from each variable's `units` attribute, never from a guess: K or degC; J m-2
(accumulated) or W m-2 (a mean flux); m, mm, kg m-2 (accumulated) or kg m-2 s-1 (a rate). A
variable without units is refused, and so are values outside physical ranges after conversion
(temperature -90 to 60 degC, dewpoint -100 to 40 degC, radiation 0 to 500 W m-2 as a daily mean,
precipitation 0 to 2000 mm d-1), naming the variable and the range. Accumulations in hourly
files: ERA5-Land accumulates from 00 UTC (the day's total is read at the next 00 UTC); ERA5
single levels store each hour's own amount (the day's total is the sum); which one a file holds
is told from whether its values ever fall within a day. Conversions: degC, W m-2 daily mean, mm
per day, VPD from temperature and dewpoint (Tetens/Magnus). Days are UTC days. ERA5-Land's points
lie on multiples of 0.1 degree, the same lattice the simulated climate uses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from unique_core.errors import DataError
from unique_core.sources import lattice
from unique_core.sources.physics import saturation_vapour_pressure, soil_water, toa_daily_mean

REQUIRED = ("t2m", "d2m", "ssrd", "tp")
CF_NAMES = {"tas": "t2m", "tdps": "d2m", "tasmin": "t2m_min", "tasmax": "t2m_max", "rsds": "ssrd", "pr": "tp",
            "mn2t": "t2m_min", "mx2t": "t2m_max", "2t": "t2m", "2d": "d2m"}
KELVIN = {"K", "kelvin", "Kelvin", "degK", "deg_K"}
CELSIUS = {"degC", "C", "°C", "celsius", "Celsius", "deg_C", "degrees_Celsius", "degree_Celsius", "deg C"}
J_M2 = {"J m**-2", "J m-2", "J/m2", "J/m^2", "J m^-2", "J m-2 s0"}
W_M2 = {"W m**-2", "W m-2", "W/m2", "W/m^2", "W m^-2"}
METRES = {"m", "m of water equivalent", "metres", "meters"}
MM = {"mm", "kg m-2", "kg m**-2", "kg/m2", "mm d-1", "mm/day", "mm day-1"}
RATE = {"kg m-2 s-1", "kg m**-2 s**-1", "mm s-1", "mm/s", "kg/m2/s"}
RANGES = {"t2m": (-90.0, 60.0, "degC"), "t2m_min": (-90.0, 60.0, "degC"), "t2m_max": (-90.0, 60.0, "degC"),
          "d2m": (-100.0, 40.0, "degC"), "ssrd": (0.0, 500.0, "W m-2 (daily mean)"),
          "tp": (0.0, 2000.0, "mm d-1")}
TEMPERATURES = ("t2m", "t2m_min", "t2m_max", "d2m")


def _open(path: Path) -> xr.Dataset:
    try:
        ds = xr.open_dataset(path)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is the user's file
        raise DataError(f"{path}: not a readable NetCDF file ({str(exc).splitlines()[0][:160]}); download it "
                        "again") from exc
    ren = {}
    if "valid_time" in ds.dims or "valid_time" in ds.coords:
        ren["valid_time"] = "time"
    if "lat" in ds.coords or "lat" in ds.dims:
        ren["lat"] = "latitude"
    if "lon" in ds.coords or "lon" in ds.dims:
        ren["lon"] = "longitude"
    ren.update({k: v for k, v in CF_NAMES.items() if k in ds.data_vars and v not in ds.data_vars})
    ds = ds.rename(ren)
    if "expver" in ds.dims:
        # ERA5 (0001) and the preliminary ERA5T (0005) side by side: the final value where there is one
        parts = [ds.isel(expver=k, drop=True) for k in range(ds.sizes["expver"])]
        merged = parts[0]
        for p in parts[1:]:
            merged = merged.combine_first(p)
        ds = merged
    drop = [c for c in ("expver", "number", "step", "surface", "heightAboveGround") if c in ds.coords
            and c not in ds.dims]
    return ds.drop_vars(drop)


def units_of(ds: xr.Dataset, var: str, path: Path) -> str:
    """The variable's units attribute; DataError when there is none (UNIQUE does not guess units)."""
    u = ds[var].attrs.get("units")
    if not u or not str(u).strip():
        example = {"t2m": "K", "d2m": "K", "t2m_min": "K", "t2m_max": "K", "ssrd": "J m**-2", "tp": "m"}.get(var, "K")
        raise DataError(f"{path}: variable {var} has no units attribute: UNIQUE does not guess (K or degC? J m-2 or "
                        f"W m-2?); set it, e.g. ncatted -a units,{var},o,c,\"{example}\" {path.name}")
    return str(u).strip()


def kind_of(units: str, var: str, path: Path) -> str:
    """What a unit means for a variable: celsius offset, accumulation or flux; DataError if unknown."""
    if var in TEMPERATURES:
        if units in KELVIN:
            return "kelvin"
        if units in CELSIUS:
            return "celsius"
        allowed = "K or degC"
    elif var == "ssrd":
        if units in J_M2:
            return "accumulated_j"
        if units in W_M2:
            return "flux_w"
        allowed = "J m-2 (accumulated) or W m-2"
    elif var == "tp":
        if units in METRES:
            return "accumulated_m"
        if units in MM:
            return "accumulated_mm"
        if units in RATE:
            return "rate_kg"
        allowed = "m, mm or kg m-2 (accumulated) or kg m-2 s-1"
    else:
        return "other"
    raise DataError(f"{path}: variable {var} in {units!r}: UNIQUE reads {allowed}; convert it or fix the units "
                    "attribute")


def check_range(values: np.ndarray, var: str, path: Path, units: str) -> None:
    """DataError naming the variable and the range when converted values are not physical."""
    if var not in RANGES:
        return
    lo, hi, unit = RANGES[var]
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return
    vmin, vmax = float(v.min()), float(v.max())
    slack = {"tp": 0.1, "ssrd": 1.0}.get(var, 1e-6)  # ERA5's own tiny negative amounts (numerical, documented)
    if vmin < lo - slack or vmax > hi + 1e-6:
        hint = ""
        if var in TEMPERATURES and units in KELVIN and vmax < 60:
            hint = " (the units say K but the values look like degC: fix the units attribute)"
        elif var in TEMPERATURES and units in CELSIUS and vmin > 150:
            hint = " (the units say degC but the values look like K: fix the units attribute)"
        raise DataError(f"{path}: {var} from {vmin:.4g} to {vmax:.4g} {unit} after conversion from {units!r}: outside "
                        f"the physical range {lo:g} to {hi:g} {unit}{hint}")


def to_celsius(values: np.ndarray, units: str) -> np.ndarray:
    return np.asarray(values, float) - (273.15 if units in KELVIN else 0.0)


def daily_radiation(values: np.ndarray, kind: str, hourly: bool, accumulated_from_00: bool) -> np.ndarray:
    """Daily mean W m-2 from a day's values (hourly: 24 along axis 0; daily: one)."""
    v = np.asarray(values, float)
    if kind == "flux_w":
        return v.mean(axis=0)
    if not hourly:
        return v[0] / 86400.0
    return (v[-1] if accumulated_from_00 else v.sum(axis=0)) / 86400.0


def daily_precipitation(values: np.ndarray, kind: str, hourly: bool, accumulated_from_00: bool,
                        step_s: float) -> np.ndarray:
    """mm per day from a day's values."""
    v = np.asarray(values, float)
    if kind == "rate_kg":
        return v.mean(axis=0) * 86400.0
    factor = 1000.0 if kind == "accumulated_m" else 1.0
    if not hourly:
        return v[0] * factor
    return (v[-1] if accumulated_from_00 else v.sum(axis=0)) * factor


def _accumulated_from_00(ds: xr.Dataset, var: str) -> bool:
    """True when an hourly accumulation only grows within the day (ERA5-Land), False when it is per hour (ERA5)."""
    a = ds[var].transpose("time", ...).isel(time=slice(0, 72)).values  # three days tell it, and stay small
    if a.shape[0] < 3:
        return True
    t = pd.to_datetime(ds["time"].values[:72])
    same_day = np.array([(x - pd.Timedelta(hours=1)).date() for x in t])
    d = np.diff(a.reshape(a.shape[0], -1), axis=0)
    within = same_day[1:] == same_day[:-1]
    drops = (d[within] < -1e-6 * max(1.0, float(np.nanmax(np.abs(a))))).mean() if within.any() else 0.0
    return bool(drops < 0.01)


def daily_fields(ds: xr.Dataset, path: Path) -> dict[dt.date, dict[str, np.ndarray]]:
    """Each complete UTC day's tmean, tmin, tmax, td (degC), sw (W m-2), precip (mm d-1), range-checked.

    Works on any trailing dimensions (a latitude/longitude grid or a list of points).
    """
    missing = [v for v in REQUIRED if v not in ds]
    if missing:
        raise DataError(f"{path}: variables {missing} missing (ERA5-Land short names t2m, d2m, ssrd, tp, or CF names "
                        "tas, tdps, rsds, pr)")
    if "time" not in ds.dims:
        raise DataError(f"{path}: no time dimension (time or valid_time)")
    ds = ds.sortby("time")  # days are read as contiguous slices of time
    units = {v: units_of(ds, v, path) for v in (*REQUIRED, "t2m_min", "t2m_max") if v in ds}
    kinds = {v: kind_of(u, v, path) for v, u in units.items()}
    t = pd.to_datetime(ds["time"].values)
    step = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(days=1)
    hourly = step.total_seconds() / 3600 < 23.5
    # One convention per product for every accumulated variable; radiation tells it best (it drops to
    # zero each evening when stored per hour, never in a running total), precipitation can be constant.
    running = hourly and _accumulated_from_00(ds, "ssrd" if kinds["ssrd"].startswith("accumulated") else "tp")
    acc = {v: hourly and kinds[v].startswith("accumulated") and running for v in ("ssrd", "tp")}
    day_of = np.array([x.date() for x in (t - pd.Timedelta(hours=1) if hourly else t)])  # 00 UTC closes a day
    per_day = round(86400 / step.total_seconds()) if hourly else 1
    arrays = {v: ds[v].transpose("time", ...) for v in units}  # lazy: one day is read at a time (memory)
    out: dict[dt.date, dict[str, np.ndarray]] = {}
    for d in sorted(set(day_of)):
        sel = np.nonzero(day_of == d)[0]
        if hourly and len(sel) < per_day:
            continue  # an incomplete day at a file's edge
        values = {v: a.isel(time=slice(int(sel[0]), int(sel[-1]) + 1)).values for v, a in arrays.items()}
        sel = np.arange(len(sel))
        temp = to_celsius(values["t2m"][sel], units["t2m"])
        tmean = temp.mean(0)
        tmin = to_celsius(values["t2m_min"][sel], units["t2m_min"]).min(0) if "t2m_min" in values else temp.min(0)
        tmax = to_celsius(values["t2m_max"][sel], units["t2m_max"]).max(0) if "t2m_max" in values else temp.max(0)
        td = to_celsius(values["d2m"][sel], units["d2m"]).mean(0)
        sw = daily_radiation(values["ssrd"][sel], kinds["ssrd"], hourly, acc["ssrd"])
        precip = daily_precipitation(values["tp"][sel], kinds["tp"], hourly, acc["tp"], step.total_seconds())
        out[d] = {"tmean": tmean, "tmin": tmin, "tmax": tmax, "td": td, "sw": sw, "precip": precip}
    if not out:
        raise DataError(f"{path}: no complete day ({per_day} time steps of one UTC day)")
    stack = {k: np.stack([f[k] for f in out.values()]) for k in ("tmean", "tmin", "tmax", "td", "sw", "precip")}
    for var, key in (("t2m", "tmean"), ("t2m_min", "tmin"), ("t2m_max", "tmax"), ("d2m", "td"), ("ssrd", "sw"),
                     ("tp", "precip")):
        check_range(stack[key], var, path, units.get(var, units["t2m"]))
    for f in out.values():  # ERA5's tiny negative amounts become zero once the range is known to be sane
        f["sw"] = np.clip(f["sw"], 0.0, None)
        f["precip"] = np.clip(f["precip"], 0.0, None)
    return out


def inspect(path: str | Path) -> dict:
    """What a file holds: variables, units and their conversion, time step, period, coverage; problems found."""
    path = Path(path)
    info: dict = {"file": str(path), "problems": []}
    try:
        ds = _open(path)
    except DataError as exc:
        info["problems"].append(str(exc))
        return info
    if "time" not in ds.dims:
        info["problems"].append(f"{path}: no time dimension (time or valid_time)")
        return info
    t = pd.to_datetime(ds["time"].values)
    step = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(days=1)
    info.update({"variables": sorted(str(v) for v in ds.data_vars), "step_hours": step.total_seconds() / 3600,
                 "start": str(t.min().date()), "end": str(t.max().date())})
    gridded = "latitude" in ds.dims and "longitude" in ds.dims
    info["gridded"] = gridded
    if "latitude" in ds.coords and "longitude" in ds.coords:
        lat, lon = np.asarray(ds["latitude"].values, float), np.asarray(ds["longitude"].values, float)
        info["bounds_lonlat"] = [float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))]
        if gridded and (np.abs(np.round(lat * 10) - lat * 10).max() > 1e-3
                        or np.abs(np.round(lon * 10) - lon * 10).max() > 1e-3):
            info["problems"].append(f"{path}: grid points are not on multiples of 0.1 degree: regrid to ERA5-Land's "
                                    "grid")
    if not gridded:
        dims = ", ".join(str(d) for d in (ds["t2m"].dims if "t2m" in ds else ds.dims))
        info["problems"].append(f"{path}: dimensions ({dims}): values at points, not on a latitude/longitude grid; "
                                "UNIQUE's maps need gridded ERA5-Land (0.1 degree) over the region")
    try:
        days = daily_fields(ds, path)
    except DataError as exc:
        info["problems"].append(str(exc))
        return info
    conv = {"t2m": "degC", "d2m": "degC", "t2m_min": "degC", "t2m_max": "degC", "ssrd": "W m-2 (daily mean)",
            "tp": "mm d-1"}
    info["units"] = {v: {"from": ds[v].attrs.get("units"), "to": conv[v]} for v in conv if v in ds}
    stack = {k: np.stack([f[k] for f in days.values()]) for k in ("tmean", "td", "sw", "precip")}
    info["daily_means"] = {k: round(float(np.nanmean(v)), 3) for k, v in stack.items()}
    info["days"] = len(days)
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
        i = np.rint((ds["latitude"].values - lattice.LAT0) / lattice.STEP).astype(int)
        j = np.rint((ds["longitude"].values - lattice.LON0) / lattice.STEP).astype(int)
        return i, j

    def _place(self, values: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.full((lattice.NLAT, lattice.NLON), np.nan, np.float32)
        ii = (i >= 0) & (i < lattice.NLAT)
        jj = (j >= 0) & (j < lattice.NLON)
        out[np.ix_(i[ii], j[jj])] = values[np.ix_(ii, jj)]
        return out

    def _load(self, path: Path) -> None:
        info = inspect(path)
        if info["problems"]:
            raise DataError("; ".join(info["problems"]))
        ds = _open(path).transpose("time", "latitude", "longitude", ...)
        i, j = self._lattice_index(ds)
        if "z" in ds:
            z = ds["z"].isel(time=0) if "time" in ds["z"].dims else ds["z"]
            self.orography = np.nan_to_num(self._place(z.values / 9.80665, i, j), nan=0.0)
        for d, f in daily_fields(ds, path).items():
            ea = saturation_vapour_pressure(f["td"])
            fields = {"tmean": f["tmean"], "tmin": f["tmin"], "tmax": f["tmax"], "ea": ea,
                      "vpd": np.clip(saturation_vapour_pressure(f["tmean"]) - ea, 0, None),
                      "sw": f["sw"], "precip": f["precip"]}
            self._days[d] = {k: self._place(np.asarray(v, np.float32), i, j) for k, v in fields.items()}

    def _add_soil_water(self) -> None:
        days = sorted(self._days)
        stack = {k: np.stack([self._days[d][k] for d in days]) for k in ("precip", "tmean", "sw")}
        beta, _ = soil_water(np.nan_to_num(stack["precip"]), np.nan_to_num(stack["tmean"]),
                                  np.nan_to_num(stack["sw"]))
        lat = lattice.lattice_lonlat()[1][:, None]
        for k, d in enumerate(days):
            doy = d.timetuple().tm_yday
            clear = 0.76 * toa_daily_mean(np.broadcast_to(lat, (lattice.NLAT, lattice.NLON)), np.full((1, 1), doy))
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
        w = lattice.lattice_weights(grid)
        i0, i1 = int(np.floor(w.fi.min())), int(np.ceil(w.fi.max()))
        j0, j1 = int(np.floor(w.fj.min())), int(np.ceil(w.fj.max()))
        sample = self._days[self.dates[0]]["tmean"]
        return bool(np.isfinite(sample[max(i0, 0):i1 + 1, max(j0, 0):j1 + 1]).all())
