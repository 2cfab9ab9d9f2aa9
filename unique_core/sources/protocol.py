"""The protocol every source of data implements: the simulated World and a real-data folder.

Step 1 maps (unique_core.gpp.maps), Step 2 (unique_core.downscale) and the product service
(unique_core.products) read a source only through these members. A member a source cannot
offer raises a UniqueError saying why (real data has no true GPP, and is made per region,
never for the whole country); it is never missing.

`missing_members(obj)` lists the members an object lacks without calling anything (the
members `climate` and `terrain` may be lazy and costly, so `isinstance` is not used on it).
"""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Callable, Protocol

import numpy as np

from unique_core.grid import Grid, Region
from unique_core.sources.fields import Day, Static, StaticCoarse


class Meteorology(Protocol):
    """Daily meteorology on the 0.1 degree lattice (unique_core.sources.lattice)."""

    def day(self, date: dt.date) -> dict[str, np.ndarray]:
        """{name: (NLAT, NLON) array}: tmean, tmin, tmax (degC), ea, vpd (hPa), sw, sw_clear (W m-2),
        precip (mm d-1), cloud, beta (1)."""


class Elevation(Protocol):
    """A DEM that can be read on any grid of the frame."""

    def elevation(self, grid: Grid) -> np.ndarray:
        """Elevation (m) at the cell centres of `grid`."""


class DataSource(Protocol):
    """A source of static layers, observations and meteorology for the maps and the downscaler."""

    simulated: bool  # True for the simulation (it has a true GPP, for scoring only)
    seed: int  # the simulation's seed (0 for real data)
    climate: Meteorology
    terrain: Elevation

    @property
    def identity(self) -> str:
        """Identifies the data in product keys and caches: sources never share an entry."""

    @property
    def name(self) -> str:
        """What the data is, in words (provenance, page texts)."""

    @property
    def period(self) -> tuple[dt.date, dt.date] | None:
        """First and last day the source can have; None when the files say (real data)."""

    def check_date(self, date: dt.date) -> dt.date:
        """The date, or DateError when the source cannot have it."""

    def check(self, product: str, date: dt.date | None, region: Region) -> None:
        """ProductError saying what is missing for `product` on `date` over `region`, before any work."""

    def lattice_orography(self) -> np.ndarray:
        """Mean elevation (m) of each lattice cell: the terrain the meteorology refers to."""

    def static(self, region: Region | Grid, *, with_5m: bool = False) -> Static:
        """Static 30 m layers of a region (or of a frame-aligned 30 m grid)."""

    def static_coarse(self, region: Region, *, halo_blocks: int = 0) -> StaticCoarse:
        """500 m aggregates of the static layers over a region grown by `halo_blocks`."""

    def static_coarse_country(self, progress: Callable[[int, int], None] | None = None) -> StaticCoarse:
        """500 m aggregates over the whole frame."""

    def day(self, region: Region | Grid, date: dt.date) -> Day:
        """The surface of one day at 30 m, with the true GPP (the simulation only)."""

    def day_coarse(self, region: Region, date: dt.date, *, halo_blocks: int = 0,
                   static: StaticCoarse | None = None) -> Day:
        """The same day at 500 m."""

    def day_country(self, date: dt.date) -> Day:
        """One day at 500 m over the whole frame."""

    def modis(self, region: Region, date: dt.date, *, static: StaticCoarse | None = None) -> dict[str, np.ndarray]:
        """A MOD09GA day on the region's 500 m grid (sources.formats), state_1km included."""

    def modis_country(self, date: dt.date) -> dict[str, np.ndarray]:
        """A MOD09GA day over the whole frame."""

    def landsat_dates(self, region: Region, year: int) -> list[tuple[dt.date, str, int]]:
        """(date, satellite, path) of the Landsat acquisitions over part of the region in `year`."""

    def landsat(self, region: Region, date: dt.date) -> dict | None:
        """A C2 L2 scene on the region's 30 m grid (sources.formats), or None."""


MEMBERS: tuple[str, ...] = tuple(sorted(
    {*DataSource.__annotations__, *(k for k in vars(DataSource) if not k.startswith("_"))}))
_DATA = frozenset(DataSource.__annotations__)


def missing_members(obj: object) -> list[str]:
    """The members of DataSource that `obj` lacks (or holds as non-callables where a method is due).

    Looked up statically (inspect.getattr_static): properties and lazy members are not run.
    """
    missing = []
    for name in MEMBERS:
        try:
            value = inspect.getattr_static(obj, name)
        except AttributeError:
            missing.append(name)
            continue
        if name not in _DATA and not isinstance(vars(DataSource)[name], property) and not callable(value):
            missing.append(name)
    return missing
