"""A real DEM and land-cover map as UNIQUE's static layers on the project grid.

DEM: any GeoTIFF in any CRS, reprojected bilinearly onto the 30 m grid.
Land cover: any categorical raster (for example the Ministry of Environment's 1 m map or ESA
WorldCover's 10 m map) plus a table `classes.csv` with columns value,class that maps every raster
value to one of UNIQUE's classes (unique_core.landcover.KEYS). The area fraction of each class
inside each 30 m pixel is the area mean of that class's mask (average resampling), exact for
source pixels that nest in 30 m cells and area-weighted otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.warp import Resampling, reproject, transform_bounds

from unique_core.errors import DataError
from unique_core.grid import CRS, FINE_RES, Grid
from unique_core.landcover import KEYS, N_CLASSES


def _open(path: Path, what: str):
    if not path.exists():
        raise DataError(f"{path}: missing ({what}); see docs/real-data.md")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: unreadable ({exc}); is it a GeoTIFF?") from exc
    if src.crs is None:
        src.close()
        raise DataError(f"{path}: no CRS; set it (e.g. gdal_edit.py -a_srs EPSG:5179 {path.name})")
    return src


def bounds_lonlat(path: Path) -> tuple[float, float, float, float]:
    with _open(path, "raster") as src:
        return transform_bounds(src.crs, "EPSG:4326", *src.bounds)


def read_dem(path: Path, grid: Grid) -> np.ndarray:
    """Elevation (m) on `grid`; NaN where the DEM has no data."""
    with _open(path, "DEM") as src:
        dst = np.full(grid.shape, np.nan, np.float32)
        try:
            reproject(rasterio.band(src, 1), dst, dst_transform=grid.transform, dst_crs=CRS,
                      resampling=Resampling.bilinear, src_nodata=src.nodata, dst_nodata=np.nan)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"{path}: could not be read ({exc}); the file may be truncated") from exc
    return dst


def read_class_table(path: Path) -> dict[int, str]:
    if not path.exists():
        raise DataError(f"{path}: missing: a table with columns value,class mapping every land-cover value "
                        f"to one of {', '.join(KEYS)}")
    table = pd.read_csv(path)
    for c in ("value", "class"):
        if c not in table:
            raise DataError(f"{path}: column {c!r} is missing (columns: value,class)")
    bad = sorted(set(table["class"]) - set(KEYS))
    if bad:
        raise DataError(f"{path}: unknown classes {bad}; use {', '.join(KEYS)}")
    return {int(v): str(c) for v, c in zip(table["value"], table["class"])}


def read_fractions(path: Path, table: dict[int, str], grid: Grid) -> np.ndarray:
    """Area fraction of each class (N_CLASSES, H, W) on `grid`; 0 where the map has no data."""
    with _open(path, "land-cover map") as src:
        # read the source window that covers the grid (plus a margin), in the source's CRS
        left, bottom, right, top = grid.bounds
        sb = rasterio.warp.transform_bounds(CRS, src.crs, left - 60, bottom - 60, right + 60, top + 60)
        window = rasterio.windows.from_bounds(*sb, transform=src.transform).round_offsets().round_lengths()
        window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        data = src.read(1, window=window)
        transform = src.window_transform(window)
        nodata = src.nodata
        src_crs = src.crs
    present = set(np.unique(data).tolist()) - ({int(nodata)} if nodata is not None else set())
    unknown = sorted(present - set(table))
    if unknown:
        raise DataError(f"{path}: values {unknown[:12]} are not in classes.csv; add a row value,class for each "
                        f"(class one of {', '.join(KEYS)})")
    out = np.zeros((N_CLASSES, *grid.shape), np.float32)
    valid = np.zeros(grid.shape, np.float32)
    vmask = (data != nodata).astype(np.float32) if nodata is not None else np.ones(data.shape, np.float32)
    reproject(vmask, valid, src_transform=transform, src_crs=src_crs, dst_transform=grid.transform, dst_crs=CRS,
              resampling=Resampling.average)
    for value, key in table.items():
        mask = (data == value).astype(np.float32)
        if not mask.any():
            continue
        dst = np.zeros(grid.shape, np.float32)
        reproject(mask, dst, src_transform=transform, src_crs=src_crs, dst_transform=grid.transform, dst_crs=CRS,
                  resampling=Resampling.average)
        out[KEYS.index(key)] += dst
    total = out.sum(axis=0)
    return np.where(total[None] > 0, out / np.maximum(total, 1e-6)[None], 0.0).astype(np.float32)


def resolution_m(path: Path) -> float:
    with _open(path, "raster") as src:
        if src.crs.is_geographic:
            return abs(src.res[0]) * 111_000.0
        return abs(src.res[0])


def check_resolution(path: Path, what: str) -> str | None:
    r = resolution_m(path)
    return f"{path}: {what} resolution {r:.0f} m is coarser than the 30 m grid" if r > FINE_RES * 1.01 else None
