"""The project grid: EPSG:5179, a 30 m fine grid and a 500 m coarse grid that nest exactly.

500 m is not a multiple of 30 m, so the two grids meet on a 1.5 km *block* lattice:
one block is 3 x 3 coarse cells and 50 x 50 fine cells, and a 150 x 150 fine patch is
exactly 9 x 9 coarse cells. Every region is a whole number of blocks inside a fixed frame
that covers South Korea, and every grid knows its integer offset in that frame, so a value
computed at a cell depends only on where the cell is, never on which region asked for it.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from affine import Affine

from unique_core.errors import RegionError
from unique_core.resources import regions_file

CRS = "EPSG:5179"
FINE_RES = 30.0  # m
COARSE_RES = 500.0  # m
BLOCK = 1500.0  # m, the common multiple of both resolutions
FINE_PER_BLOCK = 50
COARSE_PER_BLOCK = 3
FINE_PER_COARSE = COARSE_RES / FINE_RES  # 16.67: not an integer, hence the blocks

# The frame: all of South Korea (Jeju and Ulleungdo included) in EPSG:5179 metres.
FRAME_XMIN = 727_500.0
FRAME_XMAX = 1_321_500.0
FRAME_YMIN = 1_446_000.0
FRAME_YMAX = 2_074_500.0
FRAME_BLOCKS_X = round((FRAME_XMAX - FRAME_XMIN) / BLOCK)  # 396
FRAME_BLOCKS_Y = round((FRAME_YMAX - FRAME_YMIN) / BLOCK)  # 419

MAX_REGION_M = 30_000.0
MAX_REGION_BLOCKS = round(MAX_REGION_M / BLOCK)  # 20
MIN_LAND_FRACTION = 0.05


@dataclass(frozen=True)
class Grid:
    """A raster grid inside the frame: `res` metres, `height` x `width` cells, north up.

    `row0`/`col0` are the grid's integer offsets, in cells of its own resolution, from the
    frame's top-left corner. Cell centres are at FRAME_XMIN + (col0 + j + 0.5) * res.
    """

    res: float
    row0: int
    col0: int
    height: int
    width: int

    crs = CRS

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def xmin(self) -> float:
        return FRAME_XMIN + self.col0 * self.res

    @property
    def ymax(self) -> float:
        return FRAME_YMAX - self.row0 * self.res

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in EPSG:5179 metres."""
        return (self.xmin, self.ymax - self.height * self.res,
                self.xmin + self.width * self.res, self.ymax)

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.xmin, 0.0, -self.res, self.ymax)

    @property
    def x(self) -> np.ndarray:
        """Cell-centre eastings (m), computed from integer frame indices."""
        return FRAME_XMIN + (self.col0 + np.arange(self.width) + 0.5) * self.res

    @property
    def y(self) -> np.ndarray:
        """Cell-centre northings (m), top row first."""
        return FRAME_YMAX - (self.row0 + np.arange(self.height) + 0.5) * self.res

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude (degrees) of every cell centre, each of shape `shape`."""
        xx, yy = np.meshgrid(self.x, self.y)
        return to_lonlat(xx, yy)

    def pad(self, cells: int) -> "Grid":
        """The same grid grown by `cells` on every side (a halo for neighbourhood work)."""
        return Grid(self.res, self.row0 - cells, self.col0 - cells,
                    self.height + 2 * cells, self.width + 2 * cells)

    def window_in(self, outer: "Grid") -> tuple[slice, slice]:
        """The (rows, cols) slices at which this grid sits inside `outer` (same resolution)."""
        if outer.res != self.res:
            raise ValueError(f"grids differ in resolution: {self.res} vs {outer.res}")
        r, c = self.row0 - outer.row0, self.col0 - outer.col0
        if r < 0 or c < 0 or r + self.height > outer.height or c + self.width > outer.width:
            raise ValueError("grid does not lie inside the outer grid")
        return slice(r, r + self.height), slice(c, c + self.width)

    def to_dict(self) -> dict:
        return {"crs": CRS, "res": self.res, "row0": self.row0, "col0": self.col0,
                "height": self.height, "width": self.width,
                "transform": list(self.transform)[:6]}


@dataclass(frozen=True)
class Region:
    """A rectangle of whole 1.5 km blocks inside the frame, with a name for people."""

    name: str
    brow0: int  # block offsets from the frame's top-left corner
    bcol0: int
    nbrows: int
    nbcols: int
    title: str = ""
    description: str = ""

    @property
    def fine(self) -> Grid:
        return Grid(FINE_RES, self.brow0 * FINE_PER_BLOCK, self.bcol0 * FINE_PER_BLOCK,
                    self.nbrows * FINE_PER_BLOCK, self.nbcols * FINE_PER_BLOCK)

    @property
    def coarse(self) -> Grid:
        return Grid(COARSE_RES, self.brow0 * COARSE_PER_BLOCK, self.bcol0 * COARSE_PER_BLOCK,
                    self.nbrows * COARSE_PER_BLOCK, self.nbcols * COARSE_PER_BLOCK)

    def grid(self, resolution: Literal["fine", "coarse"]) -> Grid:
        return self.fine if resolution == "fine" else self.coarse

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.fine.bounds

    @property
    def size_km(self) -> tuple[float, float]:
        """(width, height) in km."""
        return (self.nbcols * BLOCK / 1000.0, self.nbrows * BLOCK / 1000.0)

    @property
    def key(self) -> str:
        """A name-independent identifier of the box, safe as a file-name piece."""
        return f"b{self.brow0}_{self.bcol0}_{self.nbrows}x{self.nbcols}"

    def subregion(self, brow0: int, bcol0: int, nbrows: int, nbcols: int, name: str = "") -> "Region":
        """A box of blocks inside this one, offsets relative to this region."""
        if brow0 < 0 or bcol0 < 0 or brow0 + nbrows > self.nbrows or bcol0 + nbcols > self.nbcols:
            raise RegionError("sub-region does not lie inside the region")
        return Region(name or f"{self.name}-sub", self.brow0 + brow0, self.bcol0 + bcol0,
                      nbrows, nbcols)

    @property
    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(lon, lat) of the lower-left and upper-right corners: (west, south, east, north) degrees."""
        lon0, lat0 = to_lonlat(self.bounds[0], self.bounds[1])
        lon1, lat1 = to_lonlat(self.bounds[2], self.bounds[3])
        return float(lon0), float(lat0), float(lon1), float(lat1)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "bounds_epsg5179": list(self.bounds),
                "bounds_lonlat": [round(v, 5) for v in self.lonlat_bounds],
                "size_km": list(self.size_km), "fine_shape": list(self.fine.shape),
                "coarse_shape": list(self.coarse.shape), "key": self.key}


FRAME = Region("korea", 0, 0, FRAME_BLOCKS_Y, FRAME_BLOCKS_X, "South Korea",
               "The whole project frame (500 m products only).")


@functools.lru_cache(maxsize=1)
def _transformers():
    from pyproj import Transformer

    return (Transformer.from_crs("EPSG:4326", CRS, always_xy=True),
            Transformer.from_crs(CRS, "EPSG:4326", always_xy=True))


def to_lonlat(x, y):
    """EPSG:5179 metres -> (lon, lat) degrees."""
    return _transformers()[1].transform(x, y)


def from_lonlat(lon, lat):
    """(lon, lat) degrees -> EPSG:5179 metres."""
    return _transformers()[0].transform(lon, lat)


def _limits_text() -> str:
    lon0, lat0 = to_lonlat(FRAME_XMIN, FRAME_YMIN)
    lon1, lat1 = to_lonlat(FRAME_XMAX, FRAME_YMAX)
    return (f"boxes must lie inside South Korea's frame, x {FRAME_XMIN:,.0f}-{FRAME_XMAX:,.0f} m "
            f"and y {FRAME_YMIN:,.0f}-{FRAME_YMAX:,.0f} m in EPSG:5179 (about {lon0:.1f}-{lon1:.1f} E, "
            f"{lat0:.1f}-{lat1:.1f} N), be at most {MAX_REGION_M / 1000:.0f} x "
            f"{MAX_REGION_M / 1000:.0f} km, and hold at least {MIN_LAND_FRACTION:.0%} South Korean land")


def region_from_bbox(xmin: float, ymin: float, xmax: float, ymax: float, *,
                     crs: Literal["EPSG:5179", "EPSG:4326"] = "EPSG:5179",
                     name: str = "", check_land: bool = True, max_blocks: int | None = MAX_REGION_BLOCKS) -> Region:
    """The region of whole blocks nearest to a box given in EPSG:5179 metres or lon/lat degrees.

    Edges snap to the nearest 1.5 km block line. Raises RegionError, naming the limits, for a
    box that is inverted, outside the frame, larger than 30 x 30 km, or (almost) all sea.
    """
    values = (xmin, ymin, xmax, ymax)
    if not all(math.isfinite(float(v)) for v in values):
        raise RegionError(f"bounding box has a non-finite value {values}; {_limits_text()}")
    if not (xmax > xmin and ymax > ymin):
        raise RegionError(f"bounding box {values} is empty or inverted: give xmin ymin xmax ymax")
    if crs == "EPSG:4326":
        lons = np.array([xmin, xmax, xmin, xmax])
        lats = np.array([ymin, ymin, ymax, ymax])
        if not (-180 <= lons.min() and lons.max() <= 180 and -90 <= lats.min() and lats.max() <= 90):
            raise RegionError(f"lon/lat box {values} is not in degrees; {_limits_text()}")
        xs, ys = from_lonlat(lons, lats)
        xmin, xmax, ymin, ymax = xs.min(), xs.max(), ys.min(), ys.max()
    elif crs != "EPSG:5179":
        raise RegionError(f"unknown CRS {crs!r}: give EPSG:5179 metres or EPSG:4326 degrees")
    if xmin < FRAME_XMIN or xmax > FRAME_XMAX or ymin < FRAME_YMIN or ymax > FRAME_YMAX:
        raise RegionError(f"bounding box {values} ({crs}) is outside Korea: {_limits_text()}")
    bcol0 = round((xmin - FRAME_XMIN) / BLOCK)
    bcol1 = round((xmax - FRAME_XMIN) / BLOCK)
    brow0 = round((FRAME_YMAX - ymax) / BLOCK)
    brow1 = round((FRAME_YMAX - ymin) / BLOCK)
    bcol1, brow1 = max(bcol1, bcol0 + 1), max(brow1, brow0 + 1)
    if max_blocks is not None and (bcol1 - bcol0 > max_blocks or brow1 - brow0 > max_blocks):
        raise RegionError(
            f"bounding box is {(xmax - xmin) / 1000:.1f} x {(ymax - ymin) / 1000:.1f} km, too large: "
            f"{_limits_text()}. Split it into boxes of at most 30 x 30 km.")
    region = Region(name or "custom", brow0, bcol0, brow1 - brow0, bcol1 - bcol0,
                    title=name or "Custom box")
    if check_land:
        land = land_fraction(region)
        if land < MIN_LAND_FRACTION:
            raise RegionError(
                f"bounding box {values} ({crs}) is {land:.0%} South Korean land, i.e. at sea or "
                f"outside the country: {_limits_text()}")
    return region


def region_around(lon: float, lat: float, size_km: float = 15.0, name: str = "custom") -> Region:
    """The square region of about `size_km` centred on a point (a click on the country map).

    The box is moved inside the frame when the point is near its edge; RegionError when the
    point is not in the frame or the box is (almost) all sea.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise RegionError(f"({lon}, {lat}) is not a point in degrees; {_limits_text()}")
    n = max(1, min(MAX_REGION_BLOCKS, round(size_km * 1000.0 / BLOCK)))
    x, y = from_lonlat(lon, lat)
    if not (FRAME_XMIN <= x <= FRAME_XMAX and FRAME_YMIN <= y <= FRAME_YMAX):
        raise RegionError(f"({lon:.3f} E, {lat:.3f} N) is outside Korea: {_limits_text()}")
    bcol0 = min(max(round((x - FRAME_XMIN) / BLOCK - n / 2), 0), FRAME_BLOCKS_X - n)
    brow0 = min(max(round((FRAME_YMAX - y) / BLOCK - n / 2), 0), FRAME_BLOCKS_Y - n)
    region = Region(name, brow0, bcol0, n, n, title="Custom box")
    land = land_fraction(region)
    if land < MIN_LAND_FRACTION:
        raise RegionError(f"the box around ({lon:.3f} E, {lat:.3f} N) is {land:.0%} South Korean land: "
                          "pick a point on land")
    return region


def lonlat_box(region: Region) -> tuple[float, float, float, float]:
    """(west, south, east, north) degrees that region_from_bbox(..., crs="EPSG:4326") turns back
    into exactly this region: the edges are read where they cross the box's centre lines, so the
    small tilt of EPSG:5179 against the meridians stays well under half a block."""
    x0, y0, x1, y1 = region.bounds
    xc, yc = (x0 + x1) / 2, (y0 + y1) / 2
    west, _ = to_lonlat(x0, yc)
    east, _ = to_lonlat(x1, yc)
    _, south = to_lonlat(xc, y0)
    _, north = to_lonlat(xc, y1)
    return float(west), float(south), float(east), float(north)


def land_fraction(region: Region) -> float:
    """Share of the region that is South Korean land, from the 1 km global land mask."""
    from unique_core.landmask import coarse_land_mask  # imports grid: so here, not at the top

    mask, grid = coarse_land_mask()
    rows, cols = region.coarse.window_in(grid)
    return float(mask[rows, cols].mean())


@functools.lru_cache(maxsize=1)
def named_regions() -> dict[str, Region]:
    """The named regions of assets/regions.json, each 30 x 30 km, keyed by name."""
    spec = json.loads(regions_file().read_text())
    out: dict[str, Region] = {}
    half = MAX_REGION_BLOCKS // 2
    for r in spec["regions"]:
        x, y = from_lonlat(r["lon"], r["lat"])
        bcol = round((x - FRAME_XMIN) / BLOCK)
        brow = round((FRAME_YMAX - y) / BLOCK)
        out[r["name"]] = Region(r["name"], brow - half, bcol - half, MAX_REGION_BLOCKS,
                                MAX_REGION_BLOCKS, r["title"], r["description"])
    return out


def get_region(name: str) -> Region:
    """A named region; RegionError lists the names when `name` is unknown."""
    regions = named_regions()
    if name not in regions:
        raise RegionError(f"unknown region {name!r}; choose one of: {', '.join(regions)}, "
                          "or give a bounding box")
    return regions[name]


def block_mean(fine: np.ndarray, factor: int) -> np.ndarray:
    """Mean over non-overlapping factor x factor windows of the last two axes."""
    *lead, h, w = fine.shape
    if h % factor or w % factor:
        raise ValueError(f"shape {fine.shape} is not a multiple of {factor}")
    return fine.reshape(*lead, h // factor, factor, w // factor, factor).mean(axis=(-3, -1))
