"""What a source hands to the rest of the system: static layers and a day's fields on a `Grid`.

Plain dataclasses of numpy arrays. The simulated world and a real-data folder fill the same
ones (a real folder leaves the simulation-only parts, such as stand vigour, at neutral values),
so Step 1, Step 2 and the product service read either the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from unique_core.grid import Grid
from unique_core.resample import fine_to_coarse

HALO_BLOCKS = 1  # a MODIS day is made with one 1.5 km block of halo around the region (sensor blur)


@dataclass
class Static:
    """Static layers of a region at 30 m."""

    grid: Grid
    elevation: np.ndarray  # m
    slope: np.ndarray  # degrees
    aspect: np.ndarray  # degrees clockwise from north (downslope)
    rok: np.ndarray  # bool: on the South Korean side of the border (real data: inside the maps)
    land: np.ndarray  # bool: land
    fractions: np.ndarray  # (N_CLASSES, H, W) share of each class
    vigor: np.ndarray  # canopy vigour multiplier (stand/parcel scale; 1 for real data)
    jitter: np.ndarray  # days: stand-scale shift of spring phenology (0 for real data)
    parcel: np.ndarray  # uniform 0-1 per field parcel (crop calendars; 0.5 for real data)
    landcover_5m: np.ndarray | None = None  # (6H, 6W) class ids, when asked for (simulation only)

    @property
    def landcover(self) -> np.ndarray:
        """Dominant class id per 30 m pixel (0 outside South Korea)."""
        return np.where(self.rok, self.fractions.argmax(axis=0) + 1, 0).astype(np.uint8)


COARSE_FIELDS = ("fractions", "elevation", "class_elevation", "rok", "land", "cos_slope", "south_slope")


@dataclass
class StaticCoarse:
    """Static aggregates on a 500 m grid (exact area means of the 30 m layers)."""

    grid: Grid
    fractions: np.ndarray  # (N_CLASSES, h, w)
    elevation: np.ndarray  # mean elevation (m)
    class_elevation: np.ndarray  # (N_CLASSES, h, w) mean elevation of each class (m)
    rok: np.ndarray  # share on the South Korean side
    land: np.ndarray  # share of land
    cos_slope: np.ndarray
    south_slope: np.ndarray  # mean of sin(slope) * -cos(aspect)


@dataclass
class Day:
    """One day of the surface on a grid (30 m or 500 m)."""

    grid: Grid
    date: dt.date
    gpp: np.ndarray  # true GPP, gC m-2 d-1 (the simulation's truth: for scoring only)
    reflectance: np.ndarray  # (6, H, W) surface reflectance: blue, green, red, nir, swir1, swir2
    fpar: np.ndarray
    tmin: np.ndarray  # degC
    tmax: np.ndarray  # degC
    tmean: np.ndarray  # degC
    vpd: np.ndarray  # hPa
    sw: np.ndarray  # W m-2 (daily mean, terrain-shaded)
    par: np.ndarray  # MJ m-2 d-1
    precip: np.ndarray  # mm d-1
    cloud: np.ndarray  # cloud cover fraction
    sw_reanalysis: np.ndarray  # W m-2, the 0.1 degree value interpolated (no terrain shading)

    @property
    def ndvi(self) -> np.ndarray:
        red, nir = self.reflectance[2], self.reflectance[3]
        return ((nir - red) / np.maximum(nir + red, 1e-6)).astype(np.float32)


def aggregate_static(st: Static, coarse: Grid) -> StaticCoarse:
    """Exact 500 m area means of a region's 30 m static layers."""
    F = fine_to_coarse(st.fractions)
    fz = fine_to_coarse(st.fractions * st.elevation[None])
    class_z = np.where(F > 1e-6, fz / np.maximum(F, 1e-12), fine_to_coarse(st.elevation)[None])
    s = np.radians(st.slope)
    return StaticCoarse(coarse, F.astype(np.float32), fine_to_coarse(st.elevation), class_z.astype(np.float32),
                        fine_to_coarse(st.rok.astype(np.float32)), fine_to_coarse(st.land.astype(np.float32)),
                        fine_to_coarse(np.cos(s)), fine_to_coarse(np.sin(s) * -np.cos(np.radians(st.aspect))))


def pad_coarse(sc: StaticCoarse, n: int) -> StaticCoarse:
    """The aggregates grown by n cells of sea on every side (beyond the frame there is only sea)."""
    pad = lambda a, v: np.pad(a, [(0, 0)] * (a.ndim - 2) + [(n, n), (n, n)], constant_values=v)
    return StaticCoarse(sc.grid.pad(n), pad(sc.fractions, 0), pad(sc.elevation, 0), pad(sc.class_elevation, 0),
                        pad(sc.rok, 0), pad(sc.land, 0), pad(sc.cos_slope, 1), pad(sc.south_slope, 0))


def crop_coarse(sc: StaticCoarse, n: int, grid: Grid) -> StaticCoarse:
    """The aggregates with n cells cut from every side (the inverse of pad_coarse), on `grid`."""
    return StaticCoarse(grid, **{f: getattr(sc, f)[..., n:-n, n:-n] for f in COARSE_FIELDS})
