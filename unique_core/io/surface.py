"""Rasters of the land surface (a DEM, a land-cover map) as UNIQUE's static layers, read by windows.

DEM: any GeoTIFF in any CRS; the window that covers the target grid is reprojected bilinearly.
Land cover: any categorical raster (for example the Ministry of Environment's 1 m map or ESA
WorldCover's 10 m map) plus a table `classes.csv` with columns value,class that maps every raster
value to one of UNIQUE's classes (unique_core.landcover.KEYS). The area fraction of each class
inside each 30 m pixel is the area mean of that class's mask (average resampling), exact for
source pixels that nest in 30 m cells and area-weighted otherwise.

Memory is bounded by the region asked for, never by the file: every read is a window of the
source around the target, and land cover is resampled in strips of target rows. A read whose
window would still need more than `MAX_READ_BYTES` is refused with the limit named. The same
module holds the cheap checks every raster reader shares (CRS plausibility, values, a
block-by-block decode that catches truncated files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.windows
from affine import Affine
from rasterio.warp import Resampling, reproject, transform_bounds

from unique_core.errors import DataError
from unique_core.grid import CRS, FINE_RES, Grid
from unique_core.landcover import KEYS, N_CLASSES

MAX_READ_BYTES = 256 * 1024**2  # one window read, decoded; keeps a region's read far under 1 GB
STRIP_ROWS = 32  # target rows per land-cover strip
GDAL_CACHE_MB = 64  # GDAL keeps decoded blocks (5 % of RAM by default): bound it, the reads are windows anyway
DEM_RANGE_M = (-500.0, 9000.0)  # below the Dead Sea shore to above Everest


@dataclass(frozen=True)
class Target:
    """A north-up target grid in any CRS: where a reader puts its values."""

    transform: Affine
    shape: tuple[int, int]
    crs: str

    @classmethod
    def of(cls, grid: "Grid | Target") -> "Target":
        if isinstance(grid, Target):
            return grid
        return cls(grid.transform, grid.shape, CRS)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        h, w = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return (x0, y1 + h * self.transform.e, x0 + w * self.transform.a, y1)


# ------------------------------------------------------------------ shared raster checks
def open_raster(path: Path, what: str):
    """An open rasterio dataset, or DataError naming the file and the fix."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing ({what}); see docs/real-data.md")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: unreadable ({str(exc).splitlines()[0][:160]}); is it a complete GeoTIFF? "
                        "Download it again") from exc
    if src.crs is None:
        src.close()
        raise DataError(f"{path}: no CRS; set it (e.g. gdal_edit.py -a_srs EPSG:5179 {path.name})")
    problem = crs_problem(src)
    if problem:
        src.close()
        raise DataError(f"{path}: {problem}")
    return src


_open = open_raster  # the older name, kept for callers in this package


def crs_problem(src) -> str | None:
    """Why the CRS cannot be right for the raster's own coordinates, or None."""
    left, bottom, right, top = src.bounds
    if src.crs.is_geographic:
        if min(left, right) < -180.5 or max(left, right) > 360.5 or min(bottom, top) < -90.5 or max(bottom, top) > 90.5:
            return (f"the CRS ({src.crs.to_string()[:40]}) is in degrees but the coordinates reach "
                    f"({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}): they are metres. Set the raster's real "
                    "projected CRS (gdal_edit.py -a_srs EPSG:<code>)")
    elif abs(src.res[0]) < 0.01 and max(abs(left), abs(right)) <= 360 and max(abs(bottom), abs(top)) <= 90:
        return (f"the CRS ({src.crs.to_string()[:40]}) is in metres but the pixels are {abs(src.res[0]):.2g} units "
                "wide and the coordinates look like longitudes and latitudes: set EPSG:4326 "
                "(gdal_edit.py -a_srs EPSG:4326)")
    return None


def check_read_size(path: Path, height: int, width: int, dtype, what: str = "window") -> None:
    """Refuse a read that would decode more than MAX_READ_BYTES, naming the limit."""
    need = int(height) * int(width) * np.dtype(dtype).itemsize
    if need > MAX_READ_BYTES:
        raise DataError(f"{path}: reading this {what} ({width} x {height} px of {np.dtype(dtype).name}) would take "
                        f"{need / 1024**2:.0f} MB, more than the {MAX_READ_BYTES // 1024**2} MB limit of one read: "
                        "ask for a smaller region, or give a coarser raster")


def source_window(src, target: Target, margin: int = 2):
    """The window of `src` that covers `target` (plus `margin` source pixels), clipped to the file; None if apart."""
    try:
        sb = transform_bounds(target.crs, src.crs, *target.bounds, densify_pts=21)
    except Exception:  # noqa: BLE001 - a projection that cannot reach the target: no overlap
        return None
    if not all(math.isfinite(v) for v in sb):
        return None
    win = rasterio.windows.from_bounds(*sb, transform=src.transform)
    c0, r0 = math.floor(win.col_off) - margin, math.floor(win.row_off) - margin
    c1, r1 = math.ceil(win.col_off + win.width) + margin, math.ceil(win.row_off + win.height) + margin
    win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
    full = rasterio.windows.Window(0, 0, src.width, src.height)
    try:
        win = win.intersection(full)
    except rasterio.errors.WindowError:
        return None
    if win.width <= 0 or win.height <= 0:
        return None
    return win


@dataclass
class Scan:
    """What a block-by-block decode of a band found (values as stored, nodata left out)."""

    pixels: int
    valid: int
    vmin: float | None
    vmax: float | None
    mean: float | None
    counts: dict[int, int] | None = None  # integer bands with few distinct values: value -> pixels

    @property
    def valid_fraction(self) -> float:
        return self.valid / self.pixels if self.pixels else 0.0


def scan_band(path: Path, *, band: int = 1, nodata: float | None = None, count_values: bool = False,
              max_side: int | None = None) -> Scan:
    """Decode a band block by block (memory: one block), so a truncated file fails here.

    `max_side`: when given and the band is larger, read a decimated view (overviews where the file has
    them) no larger than max_side x max_side instead; the counts then estimate shares, not pixels.
    """
    path = Path(path)
    try:
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(path) as src:
            nd = src.nodata if nodata is None else nodata
            integer = np.issubdtype(np.dtype(src.dtypes[band - 1]), np.integer)
            if max_side and max(src.width, src.height) > max_side:
                f = max(src.width, src.height) / max_side
                shape = (max(1, int(src.height / f)), max(1, int(src.width / f)))
                chunks = [src.read(band, out_shape=shape, resampling=Resampling.nearest)]
            else:
                chunks = (src.read(band, window=w) for _, w in src.block_windows(band))
            n = valid = 0
            vmin, vmax, total = math.inf, -math.inf, 0.0
            counts: dict[int, int] = {}
            for a in chunks:
                n += a.size
                ok = np.isfinite(a) if not integer else np.ones(a.shape, bool)
                if nd is not None and not (isinstance(nd, float) and math.isnan(nd)):
                    ok &= a != nd
                v = a[ok]
                if v.size:
                    valid += v.size
                    vmin, vmax = min(vmin, float(v.min())), max(vmax, float(v.max()))
                    total += float(v.astype(np.float64).sum())
                    if count_values and integer:
                        u, c = np.unique(v, return_counts=True)
                        for uu, cc in zip(u.tolist(), c.tolist()):
                            counts[uu] = counts.get(uu, 0) + cc
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: unreadable or truncated ({str(exc).splitlines()[0][:160]}); download it "
                        "again") from exc
    if valid == 0:
        return Scan(n, 0, None, None, None, counts if count_values else None)
    return Scan(n, valid, vmin, vmax, total / valid, counts if count_values else None)


def bounds_lonlat(path: Path) -> tuple[float, float, float, float]:
    with open_raster(path, "raster") as src:
        return transform_bounds(src.crs, "EPSG:4326", *src.bounds)


# ------------------------------------------------------------------ DEM
def check_dem_values(path: Path, vmin: float | None, vmax: float | None) -> None:
    """DataError when a DEM has no data at all or values that are no elevations (1e30, -3.4e38)."""
    if vmin is None:
        raise DataError(f"{path}: every pixel is nodata: the DEM holds no elevation (download the tile again, or "
                        "check its nodata value)")
    lo, hi = DEM_RANGE_M
    if vmin < lo or vmax > hi:
        bad = vmax if vmax > hi else vmin
        raise DataError(f"{path}: values such as {bad:.3g} are not elevations in metres (expected {lo:.0f} to "
                        f"{hi:.0f} m): if {bad:.3g} marks missing data, set it as nodata "
                        f"(gdal_edit.py -a_nodata {bad:.6g} {path.name})")


def read_dem(path: Path, grid: "Grid | Target") -> np.ndarray:
    """Elevation (m) on `grid`; NaN where the DEM has no data. Reads only the window around the grid."""
    path = Path(path)
    target = Target.of(grid)
    dst = np.full(target.shape, np.nan, np.float32)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_raster(path, "DEM") as src:
        win = source_window(src, target)
        if win is None:
            return dst
        check_read_size(path, win.height, win.width, np.float32)
        try:
            data = src.read(1, window=win).astype(np.float32)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"{path}: could not be read ({str(exc).splitlines()[0][:160]}); the file may be "
                            "truncated: download it again") from exc
        if src.nodata is not None:
            data[data == np.float32(src.nodata)] = np.nan
        data[~np.isfinite(data)] = np.nan
        if np.isfinite(data).any():
            check_dem_values(path, float(np.nanmin(data)), float(np.nanmax(data)))
        reproject(data, dst, src_transform=src.window_transform(win), src_crs=src.crs,
                  dst_transform=target.transform, dst_crs=target.crs, resampling=Resampling.bilinear,
                  src_nodata=np.nan, dst_nodata=np.nan)
    return dst


# ------------------------------------------------------------------ land cover
def read_class_table(path: Path) -> dict[int, str]:
    """value -> UNIQUE class key, from a value,class CSV; DataError naming the file and the fix."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: missing: a table with columns value,class mapping every land-cover value "
                        f"to one of {', '.join(KEYS)}")
    try:
        table = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty: write a header value,class and one row per land-cover value "
                        f"(class one of {', '.join(KEYS)})") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's file
        raise DataError(f"{path}: not a readable CSV ({str(exc).splitlines()[0][:120]}): columns value,class") from exc
    for c in ("value", "class"):
        if c not in table:
            raise DataError(f"{path}: column {c!r} is missing (columns: value,class)")
    if table.empty:
        raise DataError(f"{path}: has a header but no rows: add one row value,class per land-cover value")
    values = pd.to_numeric(table["value"], errors="coerce")
    if values.isna().any() or (values % 1 != 0).any():
        rows = [int(i) + 2 for i in np.nonzero((values.isna() | (values % 1 != 0)).to_numpy())[0][:5]]
        raise DataError(f"{path}: column 'value' must hold integers (lines {rows})")
    bad = sorted(set(table["class"].astype(str)) - set(KEYS))
    if bad:
        raise DataError(f"{path}: unknown classes {bad}; use {', '.join(KEYS)}")
    return {int(v): str(c) for v, c in zip(values, table["class"])}


def read_fractions(path: Path, table: dict[int, str], grid: "Grid | Target") -> np.ndarray:
    """Area fraction of each class (N_CLASSES, H, W) on `grid`; 0 where the map has no data.

    Resampled in strips of STRIP_ROWS target rows, so memory follows the strip, not the file.
    """
    path = Path(path)
    target = Target.of(grid)
    h, w = target.shape
    out = np.zeros((N_CLASSES, h, w), np.float32)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_raster(path, "land-cover map") as src:
        nodata = src.nodata
        for r0 in range(0, h, STRIP_ROWS):
            rows = min(STRIP_ROWS, h - r0)
            strip = Target(target.transform * Affine.translation(0, r0), (rows, w), target.crs)
            win = source_window(src, strip)
            if win is None:
                continue
            check_read_size(path, win.height, win.width, np.float32, "strip of the land-cover map")
            try:
                data = src.read(1, window=win)
            except rasterio.errors.RasterioIOError as exc:
                raise DataError(f"{path}: could not be read ({str(exc).splitlines()[0][:160]}); the file may be "
                                "truncated: download it again") from exc
            present = set(np.unique(data).tolist()) - ({int(nodata)} if nodata is not None else set())
            unknown = sorted(present - set(table))
            if unknown:
                raise DataError(f"{path}: values {unknown[:12]} are not in classes.csv; add a row value,class for "
                                f"each (class one of {', '.join(KEYS)})")
            transform = src.window_transform(win)
            for value, key in table.items():
                mask = data == value
                if not mask.any():
                    continue
                dst = np.zeros((rows, w), np.float32)
                reproject(mask.astype(np.float32), dst, src_transform=transform, src_crs=src.crs,
                          dst_transform=strip.transform, dst_crs=strip.crs, resampling=Resampling.average)
                out[KEYS.index(key), r0:r0 + rows] += dst
    total = out.sum(axis=0)
    out /= np.maximum(total, 1e-6)[None]  # in place: the stack is the largest array here
    out[:, total <= 0] = 0.0
    return out


def resolution_m(path: Path) -> float:
    with open_raster(path, "raster") as src:
        if src.crs.is_geographic:
            return abs(src.res[0]) * 111_000.0
        return abs(src.res[0])


def check_resolution(path: Path, what: str) -> str | None:
    r = resolution_m(path)
    return f"{path}: {what} resolution {r:.0f} m is coarser than the 30 m grid" if r > FINE_RES * 1.01 else None
