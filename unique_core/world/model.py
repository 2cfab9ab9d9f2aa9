"""The simulated South Korea: one object, deterministic from one seed.

    world = World()                       # seed 2026, the embedded default
    s = world.static(region)              # 30 m terrain, land cover (fractions from 5 m)
    d = world.day(region, date)           # 30 m meteorology, true GPP, reflectance
    c = world.day_coarse(region, date)    # the same at 500 m (native, from exact aggregates)
    l = world.landsat(region, date)       # a Landsat-like C2 L2 scene, if one was acquired
    m = world.modis(region, date)         # a MODIS-like MOD09GA day

Every output is a plain dataclass of numpy arrays on a `Grid` (unique_core.sources.fields);
`unique_core.raster` turns them into xarray objects with CRS and units for the rest of the
system. `World` implements unique_core.sources.DataSource, as the real-data folder does.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Callable

import numpy as np

from unique_core.errors import DateError
from unique_core.grid import COARSE_PER_BLOCK, FINE_RES, FRAME, Grid, Region
from unique_core.landcover import N_CLASSES, class_index
from unique_core.landmask import coarse_land_mask, coast_distance_coarse
from unique_core.sources import formats
from unique_core.sources.fields import COARSE_FIELDS as _COARSE_FIELDS  # the fields kept per box in the world cache
from unique_core.sources.fields import HALO_BLOCKS, Day, Static, StaticCoarse, aggregate_static, crop_coarse, pad_coarse
from unique_core.sources.lattice import cached_weights
from unique_core.sources.physics import slope_aspect
from unique_core.world import climate as clim
from unique_core.world import noise, sensors, vegetation
from unique_core.world.coast import south_korea
from unique_core.world.landcover import classify_subpixels, decision_scores
from unique_core.world.terrain import Terrain, TerrainFields

DEFAULT_SEED = 2026
WORLD_VERSION = "1"  # bump when generated values change; caches are keyed by it


class World:
    """The simulated South Korea for one seed."""

    def __init__(self, seed: int = DEFAULT_SEED):
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"World(seed={self.seed})"

    def __hash__(self) -> int:
        return hash(("World", self.seed))

    def __eq__(self, other) -> bool:
        return isinstance(other, World) and other.seed == self.seed

    # ---------------------------------------------------------------- components
    @functools.cached_property
    def terrain(self) -> Terrain:
        return _terrain(self.seed)

    @functools.cached_property
    def climate(self) -> clim.Climate:
        return _climate(self.seed)

    def lattice_orography(self) -> np.ndarray:
        """Mean elevation (m) of each 0.1 degree lattice cell: the reanalysis' own terrain."""
        return _lattice_orography(self.seed)

    # ---------------------------------------------------------------- identity and period
    simulated = True

    @property
    def identity(self) -> str:
        """Identifies the simulation in caches: its seed and the version of the generated values."""
        return f"simulated-s{self.seed}-v{WORLD_VERSION}"

    @property
    def name(self) -> str:
        return f"simulated South Korea (seed {self.seed})"

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        """The simulated days: 1 January of the first year to 31 December of the last."""
        return dt.date(clim.FIRST_YEAR, 1, 1), dt.date(clim.LAST_YEAR, 12, 31)

    def check_date(self, date: dt.date) -> dt.date:
        """The date, or DateError when it is outside the simulated period."""
        return clim.check_date(date)

    def check(self, product: str, date: dt.date | None, region: Region) -> None:
        """The simulation makes every product on every simulated day: only the date can be wrong."""
        if date is not None:
            self.check_date(date)

    # ---------------------------------------------------------------- static
    def static(self, region: Region | Grid, *, with_5m: bool = False) -> Static:
        """Static 30 m layers of a region (or of any frame-aligned 30 m grid)."""
        grid = region.fine if isinstance(region, Region) else region
        if not with_5m:
            return _static_cached(self.seed, grid)
        return _static(self.seed, grid, True)

    def static_coarse(self, region: Region, *, halo_blocks: int = 0) -> StaticCoarse:
        """500 m aggregates of the static layers over a region grown by `halo_blocks`.

        The aggregates of the region grown by HALO_BLOCKS are made once per machine and kept in
        the world cache (one small file per box, the format of the country tiles); smaller
        halos are cut from them, so a region's 30 m layers are never built twice.
        """
        if halo_blocks < 0:
            raise ValueError("halo_blocks must be >= 0")
        widest = max(halo_blocks, HALO_BLOCKS)
        r = _pad_blocks(region, widest)
        sc = _coarse_box(self.seed, r.brow0, r.bcol0, r.nbrows, r.nbcols)
        cut = (widest - halo_blocks) * COARSE_PER_BLOCK
        return sc if cut == 0 else crop_coarse(sc, cut, _pad_blocks(region, halo_blocks).coarse)

    def country_tiles(self) -> list[Region]:
        """The 30 x 30 km tiles of the frame that hold South Korean land (for country-wide 500 m work)."""
        land, _ = coarse_land_mask()
        n = COUNTRY_TILE_BLOCKS
        tiles = []
        for br in range(0, FRAME.nbrows, n):
            for bc in range(0, FRAME.nbcols, n):
                t = Region(f"tile_{br}_{bc}", br, bc, min(n, FRAME.nbrows - br), min(n, FRAME.nbcols - bc))
                rows, cols = t.coarse.window_in(FRAME.coarse)
                if land[rows, cols].any():
                    tiles.append(t)
        return tiles

    def static_coarse_country(self, progress: Callable[[int, int], None] | None = None) -> StaticCoarse:
        """500 m static aggregates of the whole frame, from 30 m tiles cached on disk.

        The first call computes every land tile at 30 m (minutes; `progress(done, total)` is
        called after each), later calls read the cache. Cells outside the tiles are sea.
        """
        return _country_static(self.seed, progress)

    def day_country(self, date: dt.date) -> Day:
        """One day at 500 m over the whole frame (needs the country cache, see static_coarse_country)."""
        return self.day_coarse(FRAME, date, static=self.static_coarse_country())

    def modis_country(self, date: dt.date) -> dict[str, np.ndarray]:
        """A MODIS-like day over the whole frame at 500 m."""
        halo = HALO_BLOCKS * COARSE_PER_BLOCK
        return self.modis(FRAME, date, static=pad_coarse(self.static_coarse_country(), halo))

    # ---------------------------------------------------------------- dynamic
    def day(self, region: Region | Grid, date: dt.date) -> Day:
        """Meteorology, true GPP and surface reflectance of one day at 30 m."""
        return self.day_with_parcels(region, date, None)

    def day_with_parcels(self, region: Region | Grid, date: dt.date,
                         parcel: np.ndarray | float | None) -> Day:
        """`day` with the crop parcels' uniform draws replaced (None keeps them).

        The draws pick which calendar each field follows and when it is sown or transplanted:
        what no static layer can know. For diagnostics only (docs/measure_s2_floor.py); a float
        applies to every pixel, -1 gives every pixel its 500 m cell's average calendar. Not part
        of the DataSource protocol, whose `day` takes only a region and a date.
        """
        clim.check_date(date)
        st = self.static(region)
        if parcel is not None:
            parcel = np.broadcast_to(np.asarray(parcel, np.float32), st.parcel.shape)
        g = st.grid
        lw = cached_weights(g)
        z = st.elevation
        zc = np.broadcast_to(z, (N_CLASSES, *z.shape))
        return self._run_canopy(g, date, lw, st.fractions, zc, z, st.vigor, st.jitter,
                                st.parcel if parcel is None else parcel, np.cos(np.radians(st.slope)),
                                np.sin(np.radians(st.slope)) * -np.cos(np.radians(st.aspect)),
                                land=st.land)

    def day_coarse(self, region: Region, date: dt.date, *, halo_blocks: int = 0,
                   static: StaticCoarse | None = None) -> Day:
        """The same day at 500 m, computed natively from the exact 500 m static aggregates."""
        clim.check_date(date)
        sc = static or self.static_coarse(region, halo_blocks=halo_blocks)
        g = sc.grid
        lw = cached_weights(g)
        n = g.shape
        return self._run_canopy(g, date, lw, sc.fractions, sc.class_elevation, sc.elevation,
                                np.ones(n), np.zeros(n), np.full(n, -1.0), sc.cos_slope,
                                sc.south_slope, land=sc.land > 0.5)

    def _run_canopy(self, g, date, lw, F, zc, z, vigor, jitter, parcel, cos_s, south_s, *, land):
        met = self.climate.day(date)
        oro = _lattice_orography(self.seed)
        z_met = clim.interpolate(oro, lw)
        fields_ = {k: clim.interpolate(met[k], lw) for k in ("tmin", "tmax", "tmean", "sw", "sw_clear",
                                                            "beta", "ea", "precip", "cloud")}
        dz = z - z_met
        tmean = fields_["tmean"] - clim.LAPSE * dz
        tmin = fields_["tmin"] - clim.LAPSE * dz
        tmax = fields_["tmax"] - clim.LAPSE * dz
        vpd = np.clip(clim.saturation_vapour_pressure(tmean) - fields_["ea"], 0.0, None)
        lat = clim.LAT0 + clim.STEP * lw.fi
        doy = date.timetuple().tm_yday
        # terrain shading of the direct beam at noon; diffuse light comes from the sky dome
        decl = float(clim.solar_declination(doy))
        zen = np.radians(lat) - decl
        cos_z = np.cos(zen)
        cos_i = np.clip(cos_s * cos_z + south_s * np.sin(zen), 0.0, None)
        clearness = np.clip(fields_["sw"] / np.maximum(fields_["sw_clear"], 1.0), 0.05, 1.0)
        kd = np.clip(0.2 + 0.8 * (1.0 - clearness), 0.2, 1.0)
        topo = (1.0 - kd) * cos_i / np.maximum(cos_z, 0.2) + kd * 0.5 * (1.0 + cos_s)
        sw = (fields_["sw"] * topo).astype(np.float32)
        par = (0.45 * sw * 0.0864).astype(np.float32)  # MJ m-2 d-1
        diffuse = 1.0 + vegetation.DIFFUSE_GAIN * (1.0 - clearness)
        sos_sl, eos_sl = _thermal_dates(self.seed, date.year)
        sos = clim.interpolate(sos_sl, lw)
        eos = clim.interpolate(eos_sl, lw)
        p = vegetation.class_parameters()
        N = F.shape[1] * F.shape[2]
        gpp = np.empty(N, np.float64)
        refl = np.empty((vegetation.N_BANDS, N), np.float64)
        fpar = np.empty(N, np.float64)
        flat = lambda a: np.ascontiguousarray(np.broadcast_to(a, g.shape), dtype=np.float64).ravel()
        vegetation.canopy(
            np.full(N, doy, np.int64), np.ascontiguousarray(F, dtype=np.float64).reshape(N_CLASSES, N),
            np.ascontiguousarray(zc, dtype=np.float64).reshape(N_CLASSES, N),
            flat(vigor), flat(jitter), flat(parcel), flat(lat), flat(sos), flat(eos), flat(tmin),
            flat(tmax), flat(vpd), flat(par), flat(diffuse), flat(fields_["beta"]), flat(self._stand_lue(g)),
            p["eps"], p["tmin0"], p["tmin1"], p["vpd0"], p["vpd1"], p["pheno"], p["ptype"], p["V"], p["B"],
            p["flood"], p["straw"], gpp, refl, fpar)
        sh = g.shape
        outside = ~np.broadcast_to(land, sh)
        gpp = gpp.reshape(sh).astype(np.float32)
        gpp[outside] = 0.0
        return Day(g, date, gpp, refl.reshape(6, *sh).astype(np.float32), fpar.reshape(sh).astype(np.float32),
                   tmin.astype(np.float32), tmax.astype(np.float32), tmean.astype(np.float32),
                   vpd.astype(np.float32), sw, par, fields_["precip"], fields_["cloud"], fields_["sw"])

    def _stand_lue(self, grid: Grid) -> np.ndarray:
        """Stand light-use efficiency relative to its type: log-normal, smooth over ~4 km."""
        f = noise.coarse_then_bilinear(grid, 1 if grid.res >= 500 else 5, lambda c: noise.fbm(
            c, noise.derive_seed(self.seed, "stand.lue"), 4000.0, octaves=3))
        return np.exp(vegetation.STAND_LUE_SIGMA * f).astype(np.float32)

    # ---------------------------------------------------------------- sensors
    def landsat_dates(self, region: Region, year: int) -> list[tuple[dt.date, str, int]]:
        """Landsat-like acquisitions (date, satellite, path) whose swath covers part of the region."""
        if not clim.FIRST_YEAR <= year <= clim.LAST_YEAR:
            raise DateError(f"year {year} is outside the simulated period {clim.FIRST_YEAR}-{clim.LAST_YEAR}")
        lon, lat = region.coarse.lonlat()
        return sensors.landsat_acquisitions(lon.ravel(), lat.ravel(), year)

    def landsat(self, region: Region, date: dt.date) -> dict[str, np.ndarray] | None:
        """A Landsat-like C2 L2 scene on the region's 30 m grid, or None if none was acquired.

        Bands SR_B2..SR_B7 (uint16, reflectance = DN * 2.75e-5 - 0.2) and QA_PIXEL; pixels outside
        the swath are fill (DN 0, QA bit 0). Also 'satellite' and 'path' entries.
        """
        passes = [p for p in self.landsat_dates(region, date.year) if p[0] == date]
        if not passes:
            return None
        day = self.day(region, date)
        st = self.static(region)
        g = st.grid
        lw = cached_weights(g)
        lon = clim.LON0 + clim.STEP * lw.fj
        lat = clim.LAT0 + clim.STEP * lw.fi
        covered = np.zeros(g.shape, bool)
        for _, _, path in passes:
            covered |= sensors.swath_mask(path, lon, lat)
        water = st.fractions[class_index("water")] > 0.5
        scene = sensors.landsat_scene(day.reflectance, day.cloud, water, g, self.seed, date)
        fill = ~covered | ~st.rok
        for name in formats.LANDSAT_BANDS:
            scene[name][fill] = formats.L2_FILL
        scene["QA_PIXEL"][fill] = 1
        scene["satellite"] = passes[0][1]
        scene["path"] = passes[0][2]
        return scene

    def modis(self, region: Region, date: dt.date, *, static: StaticCoarse | None = None) -> dict[str, np.ndarray]:
        """A MODIS-like MOD09GA day on the region's 500 m grid: 6 scaled bands and state_1km.

        `static` may be given as the region's aggregates with HALO_BLOCKS of halo.
        """
        halo = HALO_BLOCKS * COARSE_PER_BLOCK
        sc = static or self.static_coarse(region, halo_blocks=HALO_BLOCKS)
        day = self.day_coarse(region, date, static=sc)
        sea = sc.land < 0.5
        water = sc.fractions[class_index("water")] > 0.5
        obs = sensors.modis_observation(day.reflectance, day.cloud, sea, water, region.coarse,
                                        self.seed, date, halo)
        outside = sc.rok[halo:-halo, halo:-halo] < 0.5
        for name in formats.MODIS_BANDS:
            obs[name][outside] = formats.MODIS_FILL
        return obs


# -------------------------------------------------------------------- helpers and caches
COUNTRY_TILE_BLOCKS = 20


def _tile_path(seed: int, tile: Region) -> Path:
    from unique_core.config import cache_dir

    return cache_dir() / "world" / f"coarse-s{seed}-v{WORLD_VERSION}" / f"{tile.key}.npz"


def _load_coarse(path: Path) -> dict[str, np.ndarray] | None:
    """The aggregates kept at `path`, or None when missing or damaged (quarantined, then rebuilt)."""
    from unique_core.cache import load_npz

    return load_npz(path, _COARSE_FIELDS)


def _save_coarse(path: Path, sc: StaticCoarse) -> dict[str, np.ndarray]:
    from unique_core.cache import save_npz

    parts = {f: getattr(sc, f) for f in _COARSE_FIELDS}
    save_npz(path, parts)
    return parts


def _box_parts(seed: int, box: Region) -> dict[str, np.ndarray]:
    """The 500 m static aggregates of a box of blocks: read from the world cache, or built at 30 m and kept."""
    path = _tile_path(seed, box)
    parts = _load_coarse(path)
    if parts is None:
        parts = _save_coarse(path, aggregate_static(_static(seed, box.fine, False), box.coarse))
    return parts


@functools.lru_cache(maxsize=8)
def _coarse_box(seed: int, brow0: int, bcol0: int, nbrows: int, nbcols: int) -> StaticCoarse:
    box = Region("box", brow0, bcol0, nbrows, nbcols)
    return StaticCoarse(box.coarse, **_box_parts(seed, box))


def _country_static(seed: int, progress) -> StaticCoarse:
    key = (seed, WORLD_VERSION)
    if key in _COUNTRY:
        return _COUNTRY[key]
    world = World(seed)
    tiles = world.country_tiles()
    g = FRAME.coarse
    out = StaticCoarse(g, np.zeros((N_CLASSES, *g.shape), np.float32), np.zeros(g.shape, np.float32),
                       np.zeros((N_CLASSES, *g.shape), np.float32), np.zeros(g.shape, np.float32),
                       np.zeros(g.shape, np.float32), np.ones(g.shape, np.float32), np.zeros(g.shape, np.float32))
    for k, tile in enumerate(tiles):
        parts = _box_parts(seed, tile)
        rows, cols = tile.coarse.window_in(g)
        for f in _COARSE_FIELDS:
            getattr(out, f)[..., rows, cols] = parts[f]
        if progress:
            progress(k + 1, len(tiles))
    _COUNTRY[key] = out
    return out


_COUNTRY: dict = {}


def _pad_blocks(region: Region, n: int) -> Region:
    if n == 0:
        return region
    return Region(region.name, region.brow0 - n, region.bcol0 - n, region.nbrows + 2 * n,
                  region.nbcols + 2 * n, region.title, region.description)


@functools.lru_cache(maxsize=4)
def _terrain(seed: int) -> Terrain:
    return Terrain(seed)


def _static(seed: int, grid: Grid, with_5m: bool) -> Static:
    if grid.res != FINE_RES:
        raise ValueError("static layers are made on a 30 m grid")
    terrain = _terrain(seed)
    tf = terrain.fields(grid.pad(2))
    slope1, aspect1 = slope_aspect(tf.elevation, FINE_RES)  # on grid.pad(1)

    def c1(a):
        return a[1:-1, 1:-1]

    tf1 = TerrainFields(*(c1(a) for a in (tf.elevation, tf.hillside_gx, tf.hillside_gy,
                                          tf.coast_m, tf.river_m, tf.river_width)))
    decisions = decision_scores(grid.pad(1), seed, tf1, slope1)
    fractions, sub = classify_subpixels(decisions, grid, seed, with_5m=with_5m)
    rok = south_korea(grid)
    elevation = tf.elevation[2:-2, 2:-2]
    land = (tf.coast_m[2:-2, 2:-2] > 0) & rok
    fractions[:, ~rok] = 0.0
    if sub is not None:
        from unique_core.resample import coarse_to_fine_nearest

        sub_grid = Grid(FINE_RES / 6, grid.row0 * 6, grid.col0 * 6, grid.height * 6, grid.width * 6)
        sub[~coarse_to_fine_nearest(rok, grid, sub_grid)] = 0
    vigor = (1.0 + 0.06 * noise.fbm(grid, noise.derive_seed(seed, "vigor"), 600.0, octaves=3)).astype(np.float32)
    jitter = (3.0 * noise.fbm(grid, noise.derive_seed(seed, "jitter"), 900.0, octaves=3)).astype(np.float32)
    parcel = _parcels(grid, seed)
    return Static(grid, elevation, c1(slope1), c1(aspect1), rok, land, fractions, np.clip(vigor, 0.8, 1.1),
                  jitter, parcel, sub)


@functools.lru_cache(maxsize=6)
def _static_cached(seed: int, grid: Grid) -> Static:
    return _static(seed, grid, False)


def _parcels(grid: Grid, seed: int) -> np.ndarray:
    """A uniform draw per field parcel, read at each pixel centre (crop calendars)."""
    return _parcel_kernel()(grid.row0, grid.col0, grid.height, grid.width,
                            noise.derive_seed(seed, "parcel.crop"))


@functools.lru_cache(maxsize=1)
def _parcel_kernel():
    from numba import njit, prange

    from unique_core.grid import FRAME_XMIN, FRAME_YMAX
    from unique_core.world.landcover import parcel_uniform

    @njit(cache=True, parallel=True)
    def run(row0, col0, h, w, s):
        out = np.empty((h, w), np.float32)
        for i in prange(h):
            y = FRAME_YMAX - (row0 + i + 0.5) * 30.0
            for j in range(w):
                out[i, j] = parcel_uniform(FRAME_XMIN + (col0 + j + 0.5) * 30.0, y, s)
        return out

    return run


@functools.lru_cache(maxsize=4)
def _lattice_geography(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orography (m), land share and coast distance (km) of each 0.1 degree lattice cell."""
    from unique_core.cache import load_npz, save_npz
    from unique_core.config import cache_dir
    from unique_core.grid import FRAME_BLOCKS_X, FRAME_BLOCKS_Y

    path = cache_dir() / "world" / f"lattice-s{seed}-v{WORLD_VERSION}.npz"
    z = load_npz(path, ("orography", "land", "coast_km"))  # a damaged file is quarantined and rebuilt
    if z is not None:
        return z["orography"], z["land"], z["coast_km"]
    grid = Grid(1500.0, 0, 0, FRAME_BLOCKS_Y, FRAME_BLOCKS_X)
    elev = _terrain(seed).elevation(grid)
    land = elev > 0
    lon, lat = grid.lonlat()
    i = np.rint((lat - clim.LAT0) / clim.STEP).astype(int)
    j = np.rint((lon - clim.LON0) / clim.STEP).astype(int)
    ok = (i >= 0) & (i < clim.NLAT) & (j >= 0) & (j < clim.NLON)
    total = np.zeros((clim.NLAT, clim.NLON))
    count = np.zeros((clim.NLAT, clim.NLON))
    landc = np.zeros((clim.NLAT, clim.NLON))
    np.add.at(total, (i[ok], j[ok]), elev[ok])
    np.add.at(count, (i[ok], j[ok]), 1)
    np.add.at(landc, (i[ok], j[ok]), land[ok])
    orography = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    land_share = np.where(count > 0, landc / np.maximum(count, 1), 0.0)
    # coast distance at each lattice point from the 500 m signed distance
    sdf, cgrid = coast_distance_coarse()
    lon1, lat1 = clim.lattice_lonlat()
    LON, LAT = np.meshgrid(lon1, lat1)
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, from_lonlat

    x, y = from_lonlat(LON, LAT)
    r = np.clip(((FRAME_YMAX - y) / cgrid.res).astype(int), 0, cgrid.height - 1)
    c = np.clip(((x - FRAME_XMIN) / cgrid.res).astype(int), 0, cgrid.width - 1)
    inside = (y < FRAME_YMAX) & (y > FRAME_YMAX - cgrid.height * cgrid.res) & (x > FRAME_XMIN) & \
        (x < FRAME_XMIN + cgrid.width * cgrid.res)
    coast_km = np.where(inside, sdf[r, c] / 1000.0, -50.0)
    save_npz(path, {"orography": orography, "land": land_share, "coast_km": coast_km})
    return orography, land_share, coast_km


def _lattice_orography(seed: int) -> np.ndarray:
    return _lattice_geography(seed)[0]


@functools.lru_cache(maxsize=4)
def _climate(seed: int) -> clim.Climate:
    oro, land, coast = _lattice_geography(seed)
    return clim.Climate(seed, oro, land, coast)


@functools.lru_cache(maxsize=16)
def _thermal_dates(seed: int, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Deciduous green-up and leaf-fall days of `year` at sea level on the lattice."""
    climate = _climate(seed)
    t_sl = climate.year(year)["tmean"] + clim.LAPSE * _lattice_orography(seed)[None]
    return vegetation.thermal_dates(t_sl)
