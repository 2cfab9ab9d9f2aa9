"""Training and test data of Step 2: pairs of GPP_M (500 m) and GPP_L (30 m) on clear Landsat days.

Samples are made on tiles of 12 x 12 km (8 x 8 blocks) spread over Korea's land: for each
tile and year, the MODIS-like observations of the whole year give GPP_M on each Landsat-like
acquisition date; the acquisition itself gives GPP_L on its clear pixels (the interpolation
of unique_core.features returns a clear pixel's own value on its own date); cloudy pixels are
left out of the loss. GPP_M is made with a one-block halo so that its bilinear upsampling to
30 m is exact at tile edges. The simulated true GPP is kept for evaluation.

Conditioning channels:
  S1: GPP_M upsampled bilinearly to 30 m.
  S2: S1 + DEM, slope, northness and eastness (sin(slope) cos/sin(aspect)), and the
      fraction of each of the ten land-cover classes inside the 30 m pixel.
Shards are npz files (float16) in the cache folder, one per tile and year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np

from unique_core import features as F
from unique_core.atomic import atomic_path
from unique_core.cache import npz_intact
from unique_core.config import cache_dir
from unique_core.grid import FRAME, Grid, Region
from unique_core.landcover import KEYS
from unique_core.qa import landsat_clear
from unique_core.resample import bilinear
from unique_core.sources import DataSource
from unique_core.world import DEFAULT_SEED, World  # training data: the simulation only
from unique_core.world import climate as clim
from unique_core.world import sensors

Scheme = Literal["s1", "s2", "s3"]
DATA_VERSION = "1"
TILE_BLOCKS = 8  # 12 km
GPP_SCALE = 10.0  # gC m-2 d-1 -> network units for GPP_M
RES_SCALE = 3.0  # gC m-2 d-1 -> network units for the residual GPP_L - GPP_M
MIN_CLEAR = 0.3  # a date is used when this share of the tile's land is clear
STATIC_CHANNELS = ("dem", "slope", "northness", "eastness", *(f"frac_{k}" for k in KEYS))


S3_CHANNELS = ("gpp_l", "gpp_m_view_vegetation", "days_since_clear", "days_to_clear")


# S1/S2: the 30 m map the residual is added to: bilinear GPP_M, or land-cover unmixing of GPP_M
# (downscale/peers.py), which S2 then also sees as a channel, as CorrDiff's diffusion sees its
# regression mean
S2_BASE_MAPS = ("gpp_m", "unmix")


def channels(scheme: Scheme, base_map: str = "gpp_m") -> tuple[str, ...]:
    if scheme == "s1":
        return ("gpp_m",)
    if scheme == "s3":
        return ("gpp_m", *STATIC_CHANNELS, *S3_CHANNELS)
    return ("gpp_m", *(("unmix",) if base_map == "unmix" else ()), *STATIC_CHANNELS)


def base_fractions(world: DataSource, region: Region, base_map: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """What `s2_base` needs besides GPP_M, read once per region: for 'unmix', the class fractions
    of the region's 500 m cells with a one-block halo and of its 30 m pixels; (None, None) otherwise."""
    if base_map != "unmix":
        return None, None
    return world.static_coarse(region, halo_blocks=1).fractions, world.static(region).fractions


def s2_base(gpp_m_padded: np.ndarray, region: Region, base_map: str, frac_coarse: np.ndarray | None = None,
            frac_fine: np.ndarray | None = None, *, up: np.ndarray | None = None) -> np.ndarray:
    """S1/S2's base map (H, W) gC m-2 d-1 on the region's 30 m grid, from GPP_M with its one-block halo.

    'gpp_m': bilinear GPP_M (`up` when the caller has it); 'unmix': land-cover unmixing
    (`peers.unmix`, no residual) on the class fractions of `base_fractions`.
    """
    if base_map not in S2_BASE_MAPS:
        raise ValueError(f"S2 base map {base_map!r}: choose one of {', '.join(S2_BASE_MAPS)}")
    if base_map == "gpp_m":
        return up if up is not None else upsample(gpp_m_padded, region).astype(np.float32)
    from unique_core.downscale.peers import unmix

    if frac_coarse is None or frac_fine is None:
        raise ValueError("S2 with the unmixing base needs the coarse and fine class fractions")
    return unmix(gpp_m_padded, frac_coarse, frac_fine, region.coarse.pad(3), region.fine)


def s2_daily(up: np.ndarray, base: np.ndarray, base_map: str) -> np.ndarray:
    """The conditioning channels that change by day (D, H, W), network units: GPP_M, then the
    unmixing map when it is the base."""
    daily = [up / GPP_SCALE] + ([base / GPP_SCALE] if base_map == "unmix" else [])
    return np.stack(daily).astype(np.float32)


def s2_cond(up: np.ndarray, base: np.ndarray, static: np.ndarray | None, base_map: str) -> np.ndarray:
    """S1/S2 conditioning (C, H, W) in network units: the daily channels, then the static ones (S2)."""
    daily = s2_daily(up, base, base_map)
    return daily if static is None else np.concatenate([daily, static]).astype(np.float32)


def static_channels(world: DataSource, region: Region) -> np.ndarray:
    """S2's static conditioning on a region's 30 m grid, normalised: (14, H, W) float32."""
    st = world.static(region)
    s = np.radians(st.slope)
    a = np.radians(st.aspect)
    return np.concatenate([
        np.stack([st.elevation / 1000.0, st.slope / 45.0, np.sin(s) * np.cos(a), np.sin(s) * np.sin(a)]),
        st.fractions]).astype(np.float32)


def upsample(gpp_m_padded: np.ndarray, region: Region, halo_blocks: int = 1) -> np.ndarray:
    """Bilinear GPP_M on the region's 30 m grid, from GPP_M on the region's 500 m grid + halo."""
    coarse = region.coarse.pad(3 * halo_blocks)
    filled = np.where(np.isfinite(gpp_m_padded), gpp_m_padded, 0.0)
    return bilinear(filled, coarse, region.fine)


def training_tiles(seed: int = 2026, n: int = 16, min_land: float = 0.85) -> list[Region]:
    """`n` tiles of 12 x 12 km on land, spread over the country (deterministic)."""
    from unique_core.landmask import coarse_land_mask

    land, _ = coarse_land_mask()
    rng = np.random.default_rng(seed + 11)
    tiles: list[Region] = []
    tries = 0
    while len(tiles) < n and tries < 20000:
        tries += 1
        br = int(rng.integers(0, FRAME.nbrows - TILE_BLOCKS))
        bc = int(rng.integers(0, FRAME.nbcols - TILE_BLOCKS))
        r = Region(f"tile{len(tiles):02d}", br, bc, TILE_BLOCKS, TILE_BLOCKS)
        rows, cols = r.coarse.window_in(FRAME.coarse)
        if land[rows, cols].mean() < min_land:
            continue
        if any(abs(t.brow0 - br) < 2 * TILE_BLOCKS and abs(t.bcol0 - bc) < 2 * TILE_BLOCKS for t in tiles):
            continue
        tiles.append(r)
    return tiles


SHARD_ARRAYS = ("date", "gpp_m", "gpp_l", "truth", "clear", "tile")


def shard_path(tile: Region, year: int, seed: int) -> Path:
    return cache_dir() / f"downscale-data-s{seed}-v{DATA_VERSION}" / f"{tile.key}_{year}.npz"


def make_shard(world: World, tile: Region, year: int, models, progress: Callable[[int, int], None] | None = None
               ) -> Path:
    """Compute (or reuse) the samples of one tile and year; returns the shard's path.

    `models`: (GPP_M model, GPP_L model).
    """
    from unique_core.gpp import maps

    path = shard_path(tile, year, world.seed)
    if npz_intact(path, SHARD_ARRAYS):  # a truncated shard is quarantined and made again
        return path
    m_model, l_model = models
    halo = 1
    padded = Region(tile.name, tile.brow0 - halo, tile.bcol0 - halo, tile.nbrows + 2 * halo, tile.nbcols + 2 * halo)
    observe, cgrid, cfrac, celev, cland = maps.modis_observer(world, padded)
    st = world.static(tile)
    first, last = dt.date(clim.FIRST_YEAR, 1, 1), dt.date(clim.LAST_YEAR, 12, 31)
    days = [d for d in (dt.date(year, 1, 1) + dt.timedelta(k) for k in range(-F.MODIS_MAX_GAP, 366 + F.MODIS_MAX_GAP))
            if first <= d <= last]
    acquisitions = [d for d, _, _ in world.landsat_dates(tile, year)]
    vis = clear = None
    out = {"date": [], "gpp_m": [], "gpp_l": [], "truth": [], "clear": []}
    for k, d in enumerate(acquisitions):
        scene = world.landsat(tile, d)
        ok = landsat_clear(scene["QA_PIXEL"]) & st.land
        if ok.sum() < MIN_CLEAR * max(st.land.sum(), 1):
            continue
        if vis is None:  # the year's MODIS stack, once a tile has a usable date
            vis, clear = maps.modis_stack(observe, days)
        feats = maps.modis_features(vis, clear, days.index(d))
        feats.update(maps.met_inputs(world, cgrid, celev, d))
        feats["pft"] = maps.pft_map(cfrac)
        gpp_m = np.where(cland > 0.5, m_model.predict({f: feats[f] for f in m_model.features}), np.nan)
        lfeats = _landsat_features_on_date(world, tile, scene, d)
        gpp_l = np.where(ok, l_model.predict({f: lfeats[f] for f in l_model.features}), np.nan)
        out["date"].append(d.toordinal())
        out["gpp_m"].append(gpp_m.astype(np.float32))
        out["gpp_l"].append(gpp_l.astype(np.float16))
        out["truth"].append(world.day(tile, d).gpp.astype(np.float16))
        out["clear"].append(ok)
        if progress:
            progress(k + 1, len(acquisitions))
    arrays = {k: np.stack(v) if v else np.zeros((0,)) for k, v in out.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, tile=np.array([tile.brow0, tile.bcol0, tile.nbrows, tile.nbcols]))
    return path


def make_shards(jobs: list[tuple[Region, int]], workers: int = 1,
                progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Make the shards of (tile, year) jobs, in `workers` processes; existing shards are kept."""
    todo = [(t, y) for t, y in jobs if not npz_intact(shard_path(t, y, DEFAULT_SEED), SHARD_ARRAYS)]
    done = len(jobs) - len(todo)
    if progress:
        progress(done, len(jobs))
    if workers <= 1 or len(todo) <= 1:
        world, models = _shard_context()
        for tile, year in todo:
            make_shard(world, tile, year, models)
            done += 1
            if progress:
                progress(done, len(jobs))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        import multiprocessing as mp

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(_make_shard_job, t, y) for t, y in todo]):
                future.result()
                done += 1
                if progress:
                    progress(done, len(jobs))
    return [shard_path(t, y, DEFAULT_SEED) for t, y in jobs]


def _shard_context():
    from unique_core.gpp.registry import load_model

    return World(), (load_model("modis"), load_model("landsat"))


_CONTEXT = None


def _make_shard_job(tile: Region, year: int) -> str:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = _shard_context()
    world, models = _CONTEXT
    return str(make_shard(world, tile, year, models))


def _landsat_features_on_date(world: DataSource, region: Region, scene: dict, date: dt.date) -> dict[str, np.ndarray]:
    """GPP_L features of an acquisition on its own date (clear pixels: their own values)."""
    from unique_core.gpp import maps

    refl = {b: scene[c].astype(np.float32) * sensors.L2_SCALE + sensors.L2_OFFSET
            for b, c in zip(("blue", "red", "nir", "swir1"), ("SR_B2", "SR_B4", "SR_B5", "SR_B6"))}
    vis = F.vegetation_indices(refl["blue"], refl["red"], refl["nir"], refl["swir1"])
    clear = landsat_clear(scene["QA_PIXEL"])[None]
    t = np.array([date.toordinal()])
    feats = {}
    for name, v in vis.items():
        val, since, until = F.interpolate_acquisitions(t, v[None], clear, t)
        feats[name] = val[0]
    feats["days_since_clear"], feats["days_to_clear"] = since[0], until[0]
    st = world.static(region)
    feats.update(maps.met_inputs(world, region.fine, st.elevation, date))
    feats["pft"] = maps.pft_map(st.fractions)
    return feats


@dataclass
class Sample:
    """One tile-date, ready for crops: conditioning, target residual, mask, extras.

    The static S2 channels are shared by all dates of a tile (one array, not a copy per date),
    which keeps three years of samples in a few GB.
    """

    tile: Region
    date: dt.date
    static: np.ndarray | None  # (14, H, W) float32 for S2, shared; None for S1
    residual: np.ndarray  # (H, W) float32, (GPP_L - GPP_M_up) / RES_SCALE, 0 where masked
    mask: np.ndarray  # (H, W) bool: clear land pixels with a target
    gpp_m_up: np.ndarray  # (H, W) gC m-2 d-1
    gpp_l: np.ndarray  # (H, W) gC m-2 d-1, NaN where masked
    truth: np.ndarray  # (H, W) gC m-2 d-1
    gpp_m: np.ndarray  # (h+2*3, w+2*3) 500 m with halo
    base: np.ndarray | None = None  # (H, W) the map the residual is added to; None: gpp_m_up
    s2_base_map: str = "gpp_m"

    def cond_window(self, rows: slice, cols: slice) -> np.ndarray:
        """Conditioning channels (C, h, w) of a window, in network units."""
        up = self.gpp_m_up[rows, cols]
        base = up if self.base is None else self.base[rows, cols]
        return s2_cond(up, base, None if self.static is None else self.static[:, rows, cols], self.s2_base_map)

    def crop(self, rows: slice, cols: slice, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(conditioning (C, h, w), target residual (h, w)) of a window, network units."""
        return self.cond_window(rows, cols), self.residual[rows, cols]


def load_samples(world: World, tiles: list[Region], years: list[int], scheme: Scheme,
                 base_map: str = "gpp_m") -> list[Sample]:
    """Samples of the given tiles and years from their shards (which must exist); the residual
    target is GPP_L minus the base map (`s2_base`)."""
    samples = []
    for tile in tiles:
        static = static_channels(world, tile) if scheme == "s2" else None
        fractions = base_fractions(world, tile, base_map)
        for year in years:
            path = shard_path(tile, year, world.seed)
            with np.load(path) as z:
                if z["date"].size == 0:
                    continue
                z = {name: z[name] for name in ("date", "gpp_m", "gpp_l", "truth")}  # each key read once
                for k in range(len(z["date"])):
                    gpp_m = z["gpp_m"][k]
                    up = upsample(gpp_m, tile)
                    base = s2_base(gpp_m, tile, base_map, *fractions, up=up)
                    gpp_l = z["gpp_l"][k].astype(np.float32)
                    mask = np.isfinite(gpp_l) & np.isfinite(up)
                    samples.append(Sample(tile, dt.date.fromordinal(int(z["date"][k])), static,
                                          np.where(mask, (gpp_l - base) / RES_SCALE, 0.0).astype(np.float32),
                                          mask, up.astype(np.float32), gpp_l, z["truth"][k].astype(np.float32), gpp_m,
                                          base=None if base_map == "gpp_m" else base, s2_base_map=base_map))
    return samples


def random_crops(samples: list[Sample], size: int, batch: int, rng: np.random.Generator, min_valid: float = 0.3
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of random crops: cond (B, C, s, s), residual (B, 1, s, s), mask (B, 1, s, s).

    No flips or rotations: the terrain channels (northness, eastness) and the sun's direction
    make the problem direction-aware.
    """
    conds, targets, masks = [], [], []
    while len(conds) < batch:
        s = samples[int(rng.integers(len(samples)))]
        H, W = s.mask.shape
        i, j = int(rng.integers(0, H - size + 1)), int(rng.integers(0, W - size + 1))
        m = s.mask[i:i + size, j:j + size]
        if m.mean() < min_valid:
            continue
        c, r = s.crop(slice(i, i + size), slice(j, j + size), rng)
        conds.append(c)
        targets.append(r[None])
        masks.append(m[None])
    return np.stack(conds), np.stack(targets), np.stack(masks)


# ------------------------------------------------------------------ S3: temporal fusion with Landsat carried in time
S3_DATA_VERSION = "3"
S3_BLOCKS = 4  # S3 samples come from 6 x 6 km quarters of the tiles: a quarter of the cost, more tiles per CPU minute
S3_MAX_DATES = 18  # clear target dates per quarter-year, evenly spread over the year
AGE_SCALE = float(F.LANDSAT_MAX_GAP)  # days -> network units; 'none within 64 days' is 65 / 64
VARIANTS = ("two_sided", "past")
S3_ARRAYS = ("date", "gpp_m", "gpp_l", "two_sided", "two_sided_since", "two_sided_to", "two_sided_m", "past",
             "past_since", "past_m", "tile")


def s3_quarter(tile: Region, k: int) -> Region:
    """Quarter k (0..3, row-major) of a training or validation tile: the S3 sample box."""
    q = k % 4
    return Region(f"{tile.name}q{q}", tile.brow0 + S3_BLOCKS * (q // 2), tile.bcol0 + S3_BLOCKS * (q % 2),
                  S3_BLOCKS, S3_BLOCKS)


def s3_shard_path(region: Region, year: int, seed: int) -> Path:
    return cache_dir() / f"downscale-s3-s{seed}-v{S3_DATA_VERSION}" / f"{region.key}_{year}.npz"


def withheld(times: np.ndarray, date: dt.date) -> np.ndarray:
    """Acquisitions an S3 training pair on `date` may see: within 64 days, never the target scene itself."""
    t = np.asarray(times)
    return (np.abs(t - date.toordinal()) <= F.LANDSAT_MAX_GAP) & (t != date.toordinal())


def withheld_indices(times: np.ndarray, vis: dict[str, np.ndarray], clear: np.ndarray, date: dt.date,
                     variant: str, gpp_m_veg: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The Landsat indices and view ages an S3 training pair on `date` sees: interpolated per pixel from
    that pixel's clear views within 64 days, with the date's own scene left out (`withheld`), by the
    peers' `interpolated_indices` (past: only the views before the day). With `gpp_m_veg` (30 m GPP_M made
    with each acquisition's vegetation and the day's weather, `gpp_m_with_view_vegetation`; finite at
    least on the withheld views) also 'gpp_m_view_vegetation': that GPP_M interpolated from the same views."""
    from unique_core.downscale import peers as P

    keep = withheld(times, date)
    t = np.asarray(times)[keep]
    out = P.interpolated_indices(t, {v: a[keep] for v, a in vis.items()}, clear[keep], date, variant)
    if gpp_m_veg is not None:
        out["gpp_m_view_vegetation"] = P.interpolated_on_views(t, gpp_m_veg[keep], clear[keep], date, variant)
    return out


def evenly(items: list, n: int) -> list:
    """At most n items, evenly spread over the list (all when fewer)."""
    if len(items) <= n:
        return list(items)
    return [items[k] for k in np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))]


def _padded(region: Region) -> Region:
    """The region with a one-block halo, the grid GPP_M is made on before its exact bilinear upsampling."""
    return Region(region.name, region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)


@dataclass(frozen=True)
class ViewVegetation:
    """GPP_M's vegetation features (MODIS indices, smoothed and gap-filled) on each acquisition's date,
    on the region's 500 m grid with a one-block halo: what S3's `gpp_m_view_vegetation` is made from."""

    region: Region
    times: np.ndarray  # (K,) ordinals, ascending
    indices: dict[str, np.ndarray]  # name -> (K, h + 6, w + 6)
    grid: Grid
    elevation: np.ndarray
    land: np.ndarray
    pft: np.ndarray


def view_vegetation(world, region: Region, times: np.ndarray) -> ViewVegetation:
    """The MODIS indices on each acquisition's date (times: ordinals, ascending, at least one), from one stack."""
    from unique_core.gpp import maps

    t = np.asarray(times)
    feats, grid, fractions, elevation, land = maps.modis_index_days(
        world, _padded(region), [dt.date.fromordinal(int(x)) for x in t])
    return ViewVegetation(region, t, feats, grid, elevation, land, maps.pft_map(fractions))


def gpp_m_with_view_vegetation(gpp_m_model, world, vv: ViewVegetation, date: dt.date,
                               which: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """GPP_M made with each chosen view date's vegetation and `date`'s weather, on the 500 m grid with
    its halo (K', h + 6, w + 6) and upsampled to 30 m (K', H, W): what GPP_M would be on `date` had the
    vegetation not changed since that view. Today's GPP_M minus this, interpolated over the views, is
    GPP_M's vegetation change alone (its weather change, which the interpolated GPP_L already carries,
    cancels). On the view's own date it is that day's GPP_M."""
    from unique_core.gpp import maps

    which = np.ones(len(vv.times), bool) if which is None else np.asarray(which, bool)
    k = int(which.sum())
    if k == 0:
        return np.zeros((0, *vv.grid.shape), np.float32), np.zeros((0, *vv.region.fine.shape), np.float32)
    met = maps.met_inputs(world, vv.grid, vv.elevation, date)
    shape = (k, *vv.grid.shape)
    feats = {**{n: a[which] for n, a in vv.indices.items()},
             **{n: np.broadcast_to(a, shape) for n, a in met.items()}, "pft": np.broadcast_to(vv.pft, shape)}
    coarse = np.where(vv.land[None] > 0.5, gpp_m_model.predict({q: feats[q] for q in gpp_m_model.features}),
                      np.nan).astype(np.float32)
    return coarse, np.stack([upsample(c, vv.region) for c in coarse]).astype(np.float32)


def make_s3_shard(world: World, region: Region, year: int, models, max_dates: int = S3_MAX_DATES) -> Path:
    """S3 samples of one box and year (cached npz): on each clear Landsat date, GPP_M, the target GPP_L
    on the clear pixels, and GPP_L from indices interpolated to the date WITH THE DATE'S OWN SCENE
    WITHHELD (two-sided and past-only), with the days since / until the clear views used and GPP_M
    (30 m) made with those same views' vegetation and the date's weather, interpolated alike.

    The interpolation and GPP_L use peers.interpolated_indices / gpp_l_from_indices, the code the
    gpp_l_two_sided / gpp_l_past peers and S3 inference run, on each pixel's own clear views.
    """
    from unique_core.downscale import peers as P
    from unique_core.gpp import maps

    path = s3_shard_path(region, year, world.seed)
    if npz_intact(path, S3_ARRAYS):
        return path
    m_model, l_model = models
    st = world.static(region)
    land = st.land
    gap = dt.timedelta(F.LANDSAT_MAX_GAP)
    first, last = dt.date(clim.FIRST_YEAR, 1, 1), dt.date(clim.LAST_YEAR, 12, 31)
    times, vis, clear = maps.landsat_stack(world, region, max(dt.date(year, 1, 1) - gap, first),
                                           min(dt.date(year, 12, 31) + gap, last))
    share = (clear & land[None]).reshape(len(times), -1).sum(1) / max(land.sum(), 1)
    targets = evenly([k for k, (t, s) in enumerate(zip(times, share))
                      if s >= MIN_CLEAR and dt.date.fromordinal(int(t)).year == year], max_dates)
    out = {k: [] for k in S3_ARRAYS if k != "tile"}
    if targets:
        # the MODIS indices on every acquisition's date: the targets' own GPP_M, and the views' vegetation
        vv = view_vegetation(world, region, times)
        pft = maps.pft_map(st.fractions)
        for k in targets:
            d = dt.date.fromordinal(int(times[k]))
            near = withheld(times, d)
            which = near.copy()
            which[k] = True  # one prediction: the target's own GPP_M and the withheld views' vegetation
            coarse, up = gpp_m_with_view_vegetation(m_model, world, vv, d, which)
            own_at = int(which[:k].sum())
            gpp_m = coarse[own_at]
            gpp_m_veg = np.full((len(times), *region.fine.shape), np.nan, np.float32)
            gpp_m_veg[near] = np.delete(up, own_at, axis=0)
            met = maps.met_inputs(world, region.fine, st.elevation, d)
            ok = clear[k] & land
            own = P.interpolated_indices(times[k:k + 1], {v: a[k:k + 1] for v, a in vis.items()}, clear[k:k + 1], d,
                                         "two_sided")  # the scene's own values on its clear pixels
            out["gpp_l"].append(np.where(ok, P.gpp_l_from_indices(l_model, own, met, pft, ok), np.nan).astype(np.float16))
            for variant in VARIANTS:
                idx = withheld_indices(times, vis, clear, d, variant, gpp_m_veg)
                views_m = idx.pop("gpp_m_view_vegetation")
                out[variant].append(P.gpp_l_from_indices(l_model, idx, met, pft, land).astype(np.float16))
                out[f"{variant}_since"].append(idx["days_since_clear"].astype(np.float16))
                out[f"{variant}_m"].append(views_m.astype(np.float16))
                if variant == "two_sided":
                    out["two_sided_to"].append(idx["days_to_clear"].astype(np.float16))
            out["date"].append(d.toordinal())
            out["gpp_m"].append(gpp_m.astype(np.float32))
    arrays = {k: np.stack(v) if v else np.zeros((0,)) for k, v in out.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays, tile=np.array([region.brow0, region.bcol0, region.nbrows, region.nbcols]))
    return path


def s3_cond(up: np.ndarray, static: np.ndarray, gpp_l: np.ndarray, gpp_m_views: np.ndarray, since: np.ndarray,
            until: np.ndarray, variant: str) -> np.ndarray:
    """S3's conditioning (19, H, W) in network units: S2's channels, then the day's GPP_L from the
    interpolated indices (today's GPP_M where it is NaN), GPP_M with the same views' vegetation and
    today's weather, interpolated alike (today's GPP_M where no clear view lies within 64 days: no
    change seen), and the days since / until those views. Past-only: days-until is always 'none'
    (65 days), whatever the data say.

    Today's GPP_M minus `gpp_m_views` is how much the vegetation seen at 500 m changed since the
    field-level detail was seen; the weather's change, which the interpolated GPP_L already carries,
    is not in it. One function for training pairs and inference, so both see the same inputs.
    """
    none = (F.LANDSAT_MAX_GAP + 1.0) / AGE_SCALE
    gl = np.where(np.isfinite(gpp_l), gpp_l, up)
    gv = np.where(np.isfinite(gpp_m_views), gpp_m_views, up)
    to = np.full(up.shape, none, np.float32) if variant == "past" else np.minimum(until, F.LANDSAT_MAX_GAP + 1.0) / AGE_SCALE
    return np.concatenate([(up / GPP_SCALE)[None], static, (gl / GPP_SCALE)[None], (gv / GPP_SCALE)[None],
                           (np.minimum(since, F.LANDSAT_MAX_GAP + 1.0) / AGE_SCALE)[None], to[None]]).astype(np.float32)


BASE_MAPS = ("gpp_l", "gpp_m", "gpp_l_change")


def s3_base(up: np.ndarray, gpp_l: np.ndarray, base_map: str, gpp_m_views: np.ndarray | None = None) -> np.ndarray:
    """The map S3's residual is added to: 'gpp_l': the interpolated GPP_L (today's GPP_M where it is NaN);
    'gpp_m': today's GPP_M; 'gpp_l_change': that GPP_L plus how much GPP_M's vegetation changed since
    its views (today's GPP_M minus `gpp_m_views`; none where no view lies within 64 days), at least 0."""
    if base_map not in BASE_MAPS:
        raise ValueError(f"S3 base map {base_map!r}: choose one of {', '.join(BASE_MAPS)}")
    if base_map == "gpp_m":
        return up
    if base_map == "gpp_l_change":
        if gpp_m_views is None:
            raise ValueError("the 'gpp_l_change' base map needs GPP_M on the views (gpp_m_views)")
        gl = np.where(np.isfinite(gpp_l), gpp_l, up)
        change = np.where(np.isfinite(gpp_m_views), up - gpp_m_views, 0.0)
        return np.maximum(gl + change, 0.0).astype(np.float32)
    return np.where(np.isfinite(gpp_l), gpp_l, up).astype(np.float32)


def s3_inputs(world, region: Region, date: dt.date, variant: str, gpp_l_model, gpp_m_model
              ) -> tuple[np.ndarray, ...]:
    """(GPP_L, GPP_M with the views' vegetation, days since, days until) on a region and day from the
    acquisitions within 64 days: the gpp_l_two_sided / gpp_l_past peers' inputs and model
    (peers.interpolated_indices), and GPP_M (upsampled) made with each acquisition date's MODIS
    indices and the day's weather (`gpp_m_with_view_vegetation`), interpolated with the same
    per-pixel weights (peers.interpolated_on_views)."""
    from unique_core.downscale import peers as P
    from unique_core.gpp import maps

    st = world.static(region)
    gap = dt.timedelta(F.LANDSAT_MAX_GAP)
    times, vis, clear = maps.landsat_stack(world, region, date - gap, date + gap)
    idx = P.interpolated_indices(times, vis, clear, date, variant)
    met = maps.met_inputs(world, region.fine, st.elevation, date)
    gl = P.gpp_l_from_indices(gpp_l_model, idx, met, maps.pft_map(st.fractions), st.land)
    views_m = np.full(gl.shape, np.nan, np.float32)
    used = P.usable_views(np.asarray(times), date, variant)
    if used.any():
        t = np.asarray(times)[used]
        _, veg = gpp_m_with_view_vegetation(gpp_m_model, world, view_vegetation(world, region, t), date)
        # only the variant's views are passed (GPP_M is made for those alone), so all of them are usable
        views_m = P.interpolated_on_views(t, veg, clear[used], date, "two_sided")
    return gl, views_m, idx["days_since_clear"], idx["days_to_clear"]


@dataclass
class S3Sample(Sample):
    """An S3 training pair: a Sample plus the withheld-scene views of each variant.

    views[variant] = (GPP_L interpolated without the target scene, GPP_M with the same views'
    vegetation, days since, days until), and each crop draws its variant at random, so one network learns both (the age
    channels say which).
    """

    views: dict = None
    base_map: str = "gpp_l"

    def crop(self, rows: slice, cols: slice, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
        gl, gv, since, until = (a[rows, cols].astype(np.float32) for a in self.views[variant])
        up = self.gpp_m_up[rows, cols]
        cond = s3_cond(up, self.static[:, rows, cols], gl, gv, since, until, variant)
        base = s3_base(up, gl, self.base_map, gv)
        m = self.mask[rows, cols]
        res = np.where(m, (np.nan_to_num(self.gpp_l[rows, cols]) - base) / RES_SCALE, 0.0).astype(np.float32)
        return cond, res


def load_s3_samples(world: World, boxes: list[Region], years: list[int], base_map: str = "gpp_l") -> list[S3Sample]:
    """S3 samples of the given boxes and years from their S3 shards (which must exist)."""
    samples = []
    for box in boxes:
        static = static_channels(world, box)
        for year in years:
            with np.load(s3_shard_path(box, year, world.seed)) as z:
                if z["date"].size == 0:
                    continue
                z = {name: z[name] for name in z.files}
            none = np.full(z["past"].shape[1:], F.LANDSAT_MAX_GAP + 1.0, np.float16)
            for k in range(len(z["date"])):
                gpp_m = z["gpp_m"][k]
                up = upsample(gpp_m, box).astype(np.float32)
                gpp_l = z["gpp_l"][k].astype(np.float32)
                mask = np.isfinite(gpp_l) & np.isfinite(up)
                views = {"two_sided": (z["two_sided"][k], z["two_sided_m"][k], z["two_sided_since"][k],
                                       z["two_sided_to"][k]),
                         "past": (z["past"][k], z["past_m"][k], z["past_since"][k], none)}
                samples.append(S3Sample(box, dt.date.fromordinal(int(z["date"][k])), static,
                                        np.zeros((0, 0), np.float32), mask, up, gpp_l,
                                        np.zeros((0, 0), np.float32), gpp_m, views=views, base_map=base_map))
    return samples


def s3_jobs(train_tiles, val_tiles, years) -> list[tuple[Region, int]]:
    """The shipped S3 recipe's (box, year) jobs: one quarter of each tile per year, a different quarter
    each year for the training tiles (quarter (i + year) mod 4 of tile i), quarter 0 of each validation tile."""
    jobs = [(s3_quarter(t, q), y) for y in years for i, t in enumerate(train_tiles) for q in [(i + y - 2022) % 4]]
    return [(s3_quarter(t, 0), y) for y in years for t in val_tiles] + jobs


def make_s3_shards(jobs: list[tuple[Region, int]], progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Make the S3 shards of (box, year) jobs in this process; existing shards are kept."""
    world, models = None, None
    for n, (box, year) in enumerate(jobs):
        if not npz_intact(s3_shard_path(box, year, DEFAULT_SEED), S3_ARRAYS):
            if world is None:
                world, models = _shard_context()
            make_s3_shard(world, box, year, models)
        if progress:
            progress(n + 1, len(jobs))
    return [s3_shard_path(b, y, DEFAULT_SEED) for b, y in jobs]
