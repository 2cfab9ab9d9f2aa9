"""GPP maps from the Step 1 models: GPP_M at 500 m (MODIS) and GPP_L at 30 m (Landsat).

Map inputs are built with the same functions as the training table (unique_core.features):
- MODIS: the 33 daily MODIS-like observations around the day, QA-masked, gap-filled and
  smoothed at the centre day.
- Landsat: the Landsat-like acquisitions within 64 days on each side, interpolated to the day.
- Meteorology: the 0.1 degree reanalysis interpolated to the grid, temperature moved to the
  cell's elevation with the lapse rate (as at the towers, whose ERA5-Land extracts are read
  at the tower's elevation), VPD from the local temperature and the reanalysis vapour pressure.
- Plant type: the dominant vegetated class of the cell.

Every function reads its source through unique_core.sources.DataSource: the simulated world and
a real-data folder give maps by the same code.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import numpy as np
import xarray as xr

from unique_core import features as F
from unique_core.grid import FRAME, Grid, Region
from unique_core.landcover import CLASSES, class_index
from unique_core.qa import landsat_clear, modis_clear
from unique_core.raster import dataarray
from unique_core.sources import HALO_BLOCKS, DataSource, pad_coarse
from unique_core.sources import formats
from unique_core.sources.lattice import cached_weights, interpolate
from unique_core.sources.physics import LAPSE, saturation_vapour_pressure

Progress = Callable[[int, int], None] | None
_NONVEG = (class_index("water"), class_index("barren"))


def _days(world: DataSource, date: dt.date, before: int, after: int) -> list[dt.date]:
    """The days around `date`, cut to the source's period (real data has the dates its files have)."""
    days = [date + dt.timedelta(k) for k in range(-before, after + 1)]
    if world.period is None:
        return days
    first, last = world.period
    return [d for d in days if first <= d <= last]


def source_years(world: DataSource, first: dt.date, last: dt.date) -> range:
    """The calendar years from `first` to `last`, cut to the source's period."""
    if world.period is None:
        return range(first.year, last.year + 1)
    return range(max(first.year, world.period[0].year), min(last.year, world.period[1].year) + 1)


def check_source_date(world: DataSource, date: dt.date) -> None:
    """DateError when the source cannot have `date` (the simulation: outside its period)."""
    world.check_date(date)


def met_inputs(world: DataSource, grid: Grid, elevation: np.ndarray, date: dt.date) -> dict[str, np.ndarray]:
    """Meteorological features on `grid` for `date` (30 days of reanalysis behind it)."""
    days = _days(world, date, 29, 0)
    lw = cached_weights(grid)
    z_met = interpolate(world.lattice_orography(), lw)
    dz = (elevation - z_met).astype(np.float32)
    lat = {k: np.stack([world.climate.day(d)[k] for d in days]) for k in ("tmin", "tmax", "tmean", "sw", "precip", "ea")}
    doy = np.array([d.timetuple().tm_yday for d in days])
    # linear features commute with interpolation: compute them on the lattice, then interpolate
    lat_feats = F.met_features({**{k: lat[k] for k in ("tmin", "tmax", "tmean", "sw", "precip")},
                                "vpd": np.zeros_like(lat["tmean"])}, doy, at=np.array([len(days) - 1]))
    out = {k: interpolate(v[0], lw) for k, v in lat_feats.items() if k not in ("vpd", "vpd_7d")}
    for k in ("tmin", "tmax", "tmean", "tmean_7d"):
        out[k] = out[k] - LAPSE * dz
    # VPD is not linear in temperature: make the last 7 days on the grid, then average
    recent = range(max(0, len(days) - 7), len(days))
    vpd = np.stack([np.clip(saturation_vapour_pressure(interpolate(lat["tmean"][k], lw) - LAPSE * dz)
                            - interpolate(lat["ea"][k], lw), 0, None) for k in recent])
    out["vpd"] = vpd[-1].astype(np.float32)
    out["vpd_7d"] = F.trailing_mean(vpd, 7, at=np.array([len(vpd) - 1]))[0]
    for k in ("doy_sin", "doy_cos"):  # the same for every cell
        out[k] = np.full(grid.shape, lat_feats[k].flat[0], np.float32)
    return out


def pft_map(fractions: np.ndarray) -> np.ndarray:
    """Model PFT code per cell: the cell's dominant vegetated class (water and barren excluded)."""
    veg = fractions.copy()
    veg[list(_NONVEG)] = -1.0
    dominant = veg.argmax(axis=0)
    lut = np.array([F.pft_code(F.CLASS_TO_PFT[c.key]) for c in CLASSES])
    return lut[dominant].astype(np.float32)


def predict_on(model, feats: dict[str, np.ndarray], land: np.ndarray) -> np.ndarray:
    """The model's GPP on land cells only (NaN elsewhere): no time spent predicting the sea."""
    out = np.full(land.shape, np.nan, np.float32)
    if land.any():
        out[land] = model.predict({k: np.asarray(feats[k])[land] for k in model.features})
    return out


# ------------------------------------------------------------------ MODIS / GPP_M
def modis_observer(world: DataSource, region: Region | None):
    """(observe(date) -> MODIS-like bands on the grid, grid, fractions, elevation, land share)."""
    if region is None:
        sc = world.static_coarse_country()
        padded = pad_coarse(sc, HALO_BLOCKS * 3)
        return (lambda d: world.modis(FRAME, d, static=padded)), FRAME.coarse, sc.fractions, sc.elevation, sc.land
    halo = HALO_BLOCKS * 3
    scp = world.static_coarse(region, halo_blocks=HALO_BLOCKS)
    inner = (slice(halo, -halo), slice(halo, -halo))
    return ((lambda d: world.modis(region, d, static=scp)), region.coarse, scp.fractions[:, inner[0], inner[1]],
            scp.elevation[inner], scp.land[inner])


def modis_stack(observe, days: list[dt.date], progress: Progress = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Vegetation indices (T, h, w) and clear masks of MODIS-like days."""
    names = dict(zip(("blue", "green", "red", "nir", "swir1", "swir2"), formats.MODIS_BANDS))
    bands = {b: [] for b in ("blue", "red", "nir", "swir1")}
    clear = []
    for k, d in enumerate(days):
        m = observe(d)
        for b in bands:
            bands[b].append(m[names[b]].astype(np.float32) * formats.MODIS_SCALE)
        clear.append(modis_clear(m["state_1km"]) & (m[names["red"]] != formats.MODIS_FILL))
        if progress:
            progress(k + 1, len(days))
    vis = F.vegetation_indices(*(np.stack(bands[b]) for b in ("blue", "red", "nir", "swir1")))
    return vis, np.stack(clear)


def modis_features(vis: dict[str, np.ndarray], clear: np.ndarray, centre: int) -> dict[str, np.ndarray]:
    """Gap-filled, smoothed indices and the gap length at day `centre` of a MODIS stack."""
    feats: dict[str, np.ndarray] = {}
    for name, v in vis.items():
        val, gap = F.smooth_gapfill(v, clear, at=np.array([centre]))
        feats[name] = val[0]
    feats["vi_gap_days"] = gap[0]
    return feats


def modis_inputs(world: DataSource, date: dt.date, region: Region | None = None, progress: Progress = None
                 ) -> tuple[dict[str, np.ndarray], Grid, np.ndarray]:
    """GPP_M features on a region's 500 m grid (or the whole frame), the grid, and a land mask."""
    observe, grid, fractions, elevation, land = modis_observer(world, region)
    days = _days(world, date, F.MODIS_MAX_GAP, F.MODIS_MAX_GAP)
    vis, clear = modis_stack(observe, days, progress)
    feats = modis_features(vis, clear, days.index(date))
    feats.update(met_inputs(world, grid, elevation, date))
    feats["pft"] = pft_map(fractions)
    return feats, grid, land > 0.5


def gpp_m_map(model, world: DataSource, date: dt.date, region: Region | None = None, progress: Progress = None
              ) -> xr.DataArray:
    """GPP_M (gC m-2 d-1) at 500 m for a region, or all of South Korea when region is None."""
    check_source_date(world, date)
    feats, grid, land = modis_inputs(world, date, region, progress)
    gpp = predict_on(model, feats, land)
    return dataarray(gpp, grid, name="gpp_m", units="gC m-2 d-1",
                     long_name="GPP_M: daily gross primary productivity from MODIS-like data (LightGBM, 500 m)",
                     attrs={"date": date.isoformat(), "model_digest": model.digest})


# ------------------------------------------------------------------ Landsat / GPP_L
def landsat_stack(world: DataSource, region: Region, first: dt.date, last: dt.date, progress: Progress = None
                  ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(acquisition ordinals (K,), indices {name: (K, H, W)}, clear (K, H, W)) of the region's scenes
    from `first` to `last`: the one reading of Landsat acquisitions for GPP_L, its peers and the evaluation."""
    passes = sorted({d for y in source_years(world, first, last) for d, _, _ in world.landsat_dates(region, y)
                     if first <= d <= last})
    times, stacks, clears = [], {v: [] for v in F.VI_NAMES}, []
    for k, d in enumerate(passes):
        scene = world.landsat(region, d)
        if scene is not None:
            refl = {b: scene[c].astype(np.float32) * formats.L2_SCALE + formats.L2_OFFSET
                    for b, c in zip(("blue", "red", "nir", "swir1"), ("SR_B2", "SR_B4", "SR_B5", "SR_B6"))}
            vis = F.vegetation_indices(refl["blue"], refl["red"], refl["nir"], refl["swir1"])
            for v in F.VI_NAMES:
                stacks[v].append(vis[v].astype(np.float32))
            clears.append(landsat_clear(scene["QA_PIXEL"]))
            times.append(d.toordinal())
        if progress:
            progress(k + 1, len(passes))
    shape = region.fine.shape
    if not times:
        return np.zeros(0, int), {v: np.zeros((0, *shape), np.float32) for v in F.VI_NAMES}, np.zeros((0, *shape), bool)
    return np.array(times), {v: np.stack(s) for v, s in stacks.items()}, np.stack(clears)


def landsat_inputs(world: DataSource, region: Region, date: dt.date, progress: Progress = None
                   ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """GPP_L features on a region's 30 m grid for `date`, and a land mask."""
    st = world.static(region)
    gap = dt.timedelta(F.LANDSAT_MAX_GAP)
    times, stacks, clear = landsat_stack(world, region, date - gap, date + gap, progress)
    feats: dict[str, np.ndarray] = {}
    target = np.array([date.toordinal()])
    if len(times):
        for v in F.VI_NAMES:
            val, since, until = F.interpolate_acquisitions(times, stacks[v], clear, target)
            feats[v] = val[0]
        feats["days_since_clear"], feats["days_to_clear"] = since[0], until[0]
    else:
        for v in F.VI_NAMES:
            feats[v] = np.full(region.fine.shape, np.nan, np.float32)
        feats["days_since_clear"] = feats["days_to_clear"] = np.full(region.fine.shape, F.LANDSAT_MAX_GAP + 1.0,
                                                                     np.float32)
    feats.update(met_inputs(world, region.fine, st.elevation, date))
    feats["pft"] = pft_map(st.fractions)
    return feats, st.land


def gpp_l_map(model, world: DataSource, region: Region, date: dt.date, progress: Progress = None) -> xr.DataArray:
    """GPP_L (gC m-2 d-1) at 30 m for a region and day (interpolated Landsat-like inputs)."""
    check_source_date(world, date)
    feats, land = landsat_inputs(world, region, date, progress)
    gpp = predict_on(model, feats, land)
    return dataarray(gpp, region.fine, name="gpp_l", units="gC m-2 d-1",
                     long_name="GPP_L: daily gross primary productivity from Landsat-like data (LightGBM, 30 m)",
                     attrs={"date": date.isoformat(), "model_digest": model.digest})


# ------------------------------------------------------------------ a region-year of GPP_M, vectorised
def met_year(world: DataSource, grid: Grid, elevation: np.ndarray, days: list[dt.date]) -> dict[str, np.ndarray]:
    """Meteorological features (T, h, w) for consecutive days, computed as in `met_inputs`."""
    ext = _days(world, days[0], 29, 0)[:-1] + days  # the 29 days before the first, for the trailing means
    lw = cached_weights(grid)
    dz = (elevation - interpolate(world.lattice_orography(), lw)).astype(np.float32)
    lat = {k: np.stack([world.climate.day(d)[k] for d in ext]) for k in ("tmin", "tmax", "tmean", "sw", "precip", "ea")}
    doy = np.array([d.timetuple().tm_yday for d in ext])
    at = np.arange(len(ext) - len(days), len(ext))
    lat_feats = F.met_features({**{k: lat[k] for k in ("tmin", "tmax", "tmean", "sw", "precip")},
                                "vpd": np.zeros_like(lat["tmean"])}, doy, at=at)
    out = {k: interpolate(v, lw) for k, v in lat_feats.items() if k not in ("vpd", "vpd_7d", "doy_sin", "doy_cos")}
    for k in ("tmin", "tmax", "tmean", "tmean_7d"):
        out[k] = out[k] - LAPSE * dz[None]
    vpd = np.clip(saturation_vapour_pressure(interpolate(lat["tmean"], lw) - LAPSE * dz[None])
                  - interpolate(lat["ea"], lw), 0, None).astype(np.float32)
    out["vpd"] = vpd[at]
    out["vpd_7d"] = F.trailing_mean(vpd, 7, at=at)
    for k in ("doy_sin", "doy_cos"):
        out[k] = np.broadcast_to(lat_feats[k][:, :1, :1], (len(days), *grid.shape)).astype(np.float32)
    return out


def modis_index_days(world: DataSource, region: Region, days: list[dt.date], progress: Progress = None
                     ) -> tuple[dict[str, np.ndarray], Grid, np.ndarray, np.ndarray, np.ndarray]:
    """GPP_M's vegetation features (smoothed, gap-filled indices and the gap length; each (T, h, w)) on
    the given days (ascending), from one MODIS stack over their span and its 16-day margins, and the
    grid, fractions, elevation and land share they lie on."""
    check_source_date(world, days[0])
    check_source_date(world, days[-1])
    observe, grid, fractions, elevation, land = modis_observer(world, region)
    span = [days[0] + dt.timedelta(k) for k in range((days[-1] - days[0]).days + 1)]
    stack_days = _days(world, days[0], F.MODIS_MAX_GAP, 0)[:-1] + span + _days(world, days[-1], 0, F.MODIS_MAX_GAP)[1:]
    vis, clear = modis_stack(observe, stack_days, progress)
    first = stack_days.index(days[0])
    at = np.array([first + (d - days[0]).days for d in days])
    feats: dict[str, np.ndarray] = {}
    for name, v in vis.items():
        feats[name], gap = F.smooth_gapfill(v, clear, at=at)
    feats["vi_gap_days"] = gap
    return feats, grid, fractions, elevation, land


def gpp_m_series(model, world: DataSource, region: Region, start: dt.date, end: dt.date, progress: Progress = None
                 ) -> tuple[np.ndarray, list[dt.date]]:
    """Daily GPP_M (T, h, w) on a region's 500 m grid from `start` to `end` (inclusive), vectorised."""
    days = [start + dt.timedelta(k) for k in range((end - start).days + 1)]
    feats, grid, fractions, elevation, land = modis_index_days(world, region, days, progress)
    feats.update(met_year(world, grid, elevation, days))
    feats["pft"] = np.broadcast_to(pft_map(fractions), (len(days), *grid.shape))
    gpp = model.predict({k: feats[k] for k in model.features})
    return np.where(land[None] > 0.5, gpp, np.nan).astype(np.float32), days
