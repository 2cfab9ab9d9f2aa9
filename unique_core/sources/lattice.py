"""The 0.1 degree reanalysis lattice both sources put their daily meteorology on.

ERA5-Land's points lie on multiples of 0.1 degree; the simulated climate is made on the same
points, so the maps read either source's `climate.day(date)` fields with one interpolation.
The lattice covers 124.4-131.2 E, 32.9-38.8 N (69 x 60 points, rows south to north).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from unique_core.grid import COARSE_RES, Grid
from unique_core.resample import bilinear

LON0, LAT0, STEP = 124.4, 32.9, 0.1  # degrees: the first point and the spacing
NLON, NLAT = 69, 60


def lattice_lonlat() -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes (degrees) of the lattice points, 1-D, west to east and south to north."""
    return LON0 + STEP * np.arange(NLON), LAT0 + STEP * np.arange(NLAT)


@dataclass(frozen=True)
class LatticeWeights:
    """Where each cell of a grid falls on the lattice (fractional indices)."""

    fi: np.ndarray  # fractional row (latitude) index
    fj: np.ndarray  # fractional column (longitude) index


def lattice_weights(grid: Grid) -> LatticeWeights:
    """Fractional lattice indices of every cell centre of `grid`.

    Lon/lat are computed exactly at 500 m frame cells and interpolated bilinearly to finer
    grids (an error far below a metre), which keeps the result independent of the grid's cut.
    """
    if grid.res >= COARSE_RES:
        lon, lat = grid.lonlat()
    else:
        ratio = COARSE_RES / grid.res
        r0 = int(np.floor(grid.row0 / ratio)) - 1
        c0 = int(np.floor(grid.col0 / ratio)) - 1
        r1 = int(np.ceil((grid.row0 + grid.height) / ratio)) + 1
        c1 = int(np.ceil((grid.col0 + grid.width) / ratio)) + 1
        coarse = Grid(COARSE_RES, r0, c0, r1 - r0, c1 - c0)
        clon, clat = coarse.lonlat()
        lon, lat = bilinear(np.stack([clon, clat]), coarse, grid)
    return LatticeWeights(((lat - LAT0) / STEP).astype(np.float32), ((lon - LON0) / STEP).astype(np.float32))


@functools.lru_cache(maxsize=8)
def cached_weights(grid: Grid) -> LatticeWeights:
    """lattice_weights, kept for the last few grids (a map reads 30 days of fields on one grid)."""
    return lattice_weights(grid)


def interpolate(field: np.ndarray, w: LatticeWeights) -> np.ndarray:
    """Bilinear interpolation of a lattice field (..., NLAT, NLON) at the cells of `w`."""
    fi = np.clip(w.fi, 0, NLAT - 1.001)
    fj = np.clip(w.fj, 0, NLON - 1.001)
    i0 = fi.astype(np.int32)
    j0 = fj.astype(np.int32)
    a = fi - i0
    b = fj - j0
    f00 = field[..., i0, j0]
    f01 = field[..., i0, j0 + 1]
    f10 = field[..., i0 + 1, j0]
    f11 = field[..., i0 + 1, j0 + 1]
    return ((1 - a) * ((1 - b) * f00 + b * f01) + a * ((1 - b) * f10 + b * f11)).astype(np.float32)
