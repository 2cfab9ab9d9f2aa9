"""MODIS MOD09GA (or MCD43A4) GeoTIFFs from a folder: discovery by day, scale factors, reprojection.

Files carry the day in their name, as AppEEARS writes it (MOD09GA.A2023196... , year and day
of year) or as an ISO date (2023-07-15), and the band (sur_refl_b01 ... sur_refl_b07,
state_1km). They are usually in MODIS sinusoidal; any CRS is reprojected onto the 500 m
grid: reflectance by area average (fill left out), state_1km by nearest neighbour.
Reflectance must be the scaled integers of the product (scale 0.0001); a file without a
scale factor is used as 0.0001 with a warning naming it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import Resampling, reproject

from unique_core.errors import DataError
from unique_core.grid import CRS, Grid

BANDS = ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b04", "sur_refl_b06", "sur_refl_b07")
STATE = "state_1km"
SCALE = 0.0001
FILL = -28672
_DOY = re.compile(r"A(\d{4})(\d{3})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_BAND = re.compile(r"(sur_refl_b0[1-7]|state_1km)")


@dataclass
class ModisDay:
    date: dt.date
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems


def _date_of(name: str) -> dt.date | None:
    m = _DOY.search(name)
    if m:
        return dt.date(int(m.group(1)), 1, 1) + dt.timedelta(int(m.group(2)) - 1)
    m = _ISO.search(name)
    if m:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return None


def discover(folder: str | Path) -> dict[dt.date, ModisDay]:
    folder = Path(folder)
    days: dict[dt.date, ModisDay] = {}
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in (".tif", ".tiff", ".hdf"):
            continue
        date = _date_of(f.name)
        band = _BAND.search(f.name)
        if date is None:
            continue
        day = days.setdefault(date, ModisDay(date))
        if f.suffix.lower() == ".hdf":
            day.problems.append(f"{f}: HDF4 files are not read here (the GDAL of the rasterio wheel has no HDF4 "
                                "driver): export GeoTIFFs from AppEEARS, or convert each band with gdal_translate "
                                "HDF4_EOS:EOS_GRID:\"<file>\":MODIS_Grid_500m_2D:sur_refl_b01_1 <out>.tif")
            continue
        if band:
            day.files[band.group(1)] = f
    for day in days.values():
        missing = [b for b in (*BANDS, STATE) if b not in day.files]
        if missing:
            day.problems.append(f"MODIS {day.date}: no file for {', '.join(missing)}")
        for b, f in day.files.items():
            try:
                with rasterio.open(f) as src:
                    if src.crs is None:
                        day.problems.append(f"{f}: no CRS; MODIS tiles are in the sinusoidal projection (SR-ORG:6974)")
                    if b != STATE and (src.scales[0] == 1.0 and "scale_factor" not in src.tags(1)):
                        day.warnings.append(f"{f}: no scale factor recorded; using MOD09GA's {SCALE}")
            except rasterio.errors.RasterioIOError as exc:
                day.problems.append(f"{f}: unreadable or truncated ({exc}); download it again")
    return days


def read_day(day: ModisDay, grid: Grid) -> dict[str, np.ndarray]:
    """Scaled-integer bands (int16) and state_1km (uint16) on a 500 m grid, like the simulated MODIS."""
    if not day.usable:
        raise DataError("; ".join(day.problems))
    out: dict[str, np.ndarray] = {}
    for b in (*BANDS, STATE):
        path = day.files[b]
        try:
            with rasterio.open(path) as src:
                if b == STATE:
                    dst = np.zeros(grid.shape, np.float64)
                    reproject(rasterio.band(src, 1), dst, dst_transform=grid.transform, dst_crs=CRS,
                              resampling=Resampling.nearest)
                    out[b] = dst.astype(np.uint16)
                else:
                    data = src.read(1).astype(np.float64)
                    scale = src.scales[0] if src.scales[0] != 1.0 else float(src.tags(1).get("scale_factor", SCALE))
                    data = np.where(data == FILL, np.nan, data * scale / SCALE)
                    dst = np.full(grid.shape, np.nan)
                    reproject(data, dst, src_transform=src.transform, src_crs=src.crs, dst_transform=grid.transform,
                              dst_crs=CRS, resampling=Resampling.average, src_nodata=np.nan, dst_nodata=np.nan)
                    out[b] = np.where(np.isfinite(dst), np.round(dst), FILL).astype(np.int16)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"{path}: unreadable or truncated ({exc}); download it again") from exc
    return out
