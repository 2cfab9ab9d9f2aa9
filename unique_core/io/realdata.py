"""A folder of real data as a source of UNIQUE products (layout: docs/real-data.md).

    DIR/
      flux/                    flux-network layout (sites.csv, fluxnet/, era5land/, modis/, landsat/)
      landsat/                 Landsat C2 L2 scenes (<ID>_SR_B2..B7.TIF, <ID>_QA_PIXEL.TIF, <ID>_MTL.txt)
      modis/                   MOD09GA GeoTIFFs, one file per band and day (sur_refl_b0N, state_1km)
      era5land/*.nc            ERA5-Land, hourly or daily (t2m, d2m, ssrd, tp; z optional)
      dem/dem.tif              a DEM in any CRS
      landcover/landcover.tif  a categorical land-cover map in any CRS
      landcover/classes.csv    value,class

`RealDataSource` offers the methods the maps and the downscaler use on the simulated world
(static layers, MODIS days, Landsat scenes, daily reanalysis on the 0.1 degree lattice), so
GPP_M, GPP_L, S1 and S2 are made from real files by the same code.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

import numpy as np

from unique_core.errors import DataError, ProductError
from unique_core.grid import FINE_RES, Grid, Region
from unique_core.io import landsat as L
from unique_core.io import modis as M
from unique_core.io import surface as S
from unique_core.io.era5 import RealClimate, inspect as inspect_era5
from unique_core.landcover import class_index
from unique_core.world import climate as clim
from unique_core.world.model import Static, StaticCoarse, aggregate_static
from unique_core.world.terrain import slope_aspect

LAYOUT = {"flux": "flux/", "landsat": "landsat/", "modis": "modis/", "era5land": "era5land/*.nc",
          "dem": "dem/dem.tif", "landcover": "landcover/landcover.tif", "classes": "landcover/classes.csv"}


class _Terrain:
    def __init__(self, source: "RealDataSource"):
        self.source = source

    def elevation(self, grid: Grid) -> np.ndarray:
        return np.nan_to_num(S.read_dem(self.source.folder / LAYOUT["dem"], grid), nan=0.0)


class RealDataSource:
    """Real files in the layout above, seen through the simulated world's interface."""

    simulated = False
    seed = 0

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise DataError(f"{self.folder}: not a folder; set UNIQUE_DATA_DIR to a folder laid out as "
                            "docs/real-data.md describes")
        self.terrain = _Terrain(self)

    @property
    def identity(self) -> str:
        """Identifies the data in product keys (the folder's resolved path)."""
        return hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ inventories (lazy)
    @functools.cached_property
    def scenes(self) -> list[L.Scene]:
        return L.discover(self.folder / "landsat") if (self.folder / "landsat").exists() else []

    @functools.cached_property
    def modis_days(self) -> dict[dt.date, M.ModisDay]:
        return M.discover(self.folder / "modis") if (self.folder / "modis").exists() else {}

    @functools.cached_property
    def climate(self) -> RealClimate:
        return RealClimate(sorted((self.folder / "era5land").glob("*.nc")))

    @functools.cached_property
    def class_table(self) -> dict[int, str]:
        return S.read_class_table(self.folder / LAYOUT["classes"])

    def lattice_orography(self) -> np.ndarray:
        if self.climate.orography is not None:
            return self.climate.orography
        # no geopotential: the DEM averaged over each 0.1 degree cell it covers
        return self._dem_orography

    @functools.cached_property
    def _dem_orography(self) -> np.ndarray:
        b = S.bounds_lonlat(self.folder / LAYOUT["dem"])
        lon, lat = clim.lattice_lonlat()
        out = np.zeros((clim.NLAT, clim.NLON), np.float32)
        from unique_core.grid import from_lonlat

        for i, la in enumerate(lat):
            for j, lo in enumerate(lon):
                if not (b[0] - 0.05 <= lo <= b[2] + 0.05 and b[1] - 0.05 <= la <= b[3] + 0.05):
                    continue
                x, y = from_lonlat(lo, la)
                g = Grid(1000.0, int((2_074_500 - y) // 1000) - 5, int((x - 727_500) // 1000) - 5, 10, 10)
                e = S.read_dem(self.folder / LAYOUT["dem"], g)
                if np.isfinite(e).any():
                    out[i, j] = float(np.nanmean(e))
        return out

    # ------------------------------------------------------------------ static layers
    def static(self, region: Region | Grid, *, with_5m: bool = False) -> Static:
        grid = region.fine if isinstance(region, Region) else region
        if with_5m:
            raise DataError("a 5 m land-cover map exists only for the simulated world")
        return _real_static(str(self.folder), grid)

    def static_coarse(self, region: Region, *, halo_blocks: int = 0) -> StaticCoarse:
        r = Region(region.name, region.brow0 - halo_blocks, region.bcol0 - halo_blocks,
                   region.nbrows + 2 * halo_blocks, region.nbcols + 2 * halo_blocks)
        return aggregate_static(self.static(r.fine), r.coarse)

    def static_coarse_country(self, progress=None):
        raise ProductError("with real data, products are made per region (at most 30 x 30 km): choose a region")

    def day(self, region, date):
        raise ProductError("the true GPP exists only for the simulated world")

    day_coarse = day

    # ------------------------------------------------------------------ observations
    def modis(self, region: Region, date: dt.date, *, static: StaticCoarse | None = None) -> dict[str, np.ndarray]:
        """MOD09GA bands on the region's 500 m grid; a day without files reads as all cloud (gap-filled later)."""
        day = self.modis_days.get(date)
        if day is None or not day.usable:
            shape = region.coarse.shape
            out = {b: np.full(shape, M.FILL, np.int16) for b in M.BANDS}
            out[M.STATE] = np.full(shape, 1, np.uint16)  # cloud state 01: nothing to use this day
            return out
        return M.read_day(day, region.coarse)

    def landsat_dates(self, region: Region, year: int) -> list[tuple[dt.date, str, int]]:
        return [(s.date, s.satellite, s.path) for s in self.scenes
                if s.usable and s.date.year == year and L.covers(s, region.fine)]

    def landsat(self, region: Region, date: dt.date) -> dict | None:
        for s in self.scenes:
            if s.usable and s.date == date and L.covers(s, region.fine):
                return L.read_scene(s, region.fine)
        return None

    # ------------------------------------------------------------------ product readiness
    def check(self, product: str, date: dt.date | None, region: Region) -> None:
        """Raise ProductError saying what is missing for `product` on `date` over `region`."""
        if product in ("gpp_true", "gpp_true_500m"):
            raise ProductError("the true GPP exists only for the simulated world")
        if product in ("gpp_m", "s1", "s2", "modis_ndvi"):
            lo, hi = date - dt.timedelta(16), date + dt.timedelta(16)
            near = [d for d, m in self.modis_days.items() if lo <= d <= hi and m.usable]
            if not near:
                raise ProductError(f"no usable MODIS day within 16 days of {date} in {self.folder / 'modis'}: add the "
                                   "MOD09GA GeoTIFFs of those days")
        if product in ("gpp_l", "landsat_ndvi"):
            lo, hi = date - dt.timedelta(64), date + dt.timedelta(64)
            if not [s for s in self.scenes if s.usable and lo <= s.date <= hi and L.covers(s, region.fine)]:
                raise ProductError(f"no usable Landsat scene over the region within 64 days of {date} in "
                                   f"{self.folder / 'landsat'}")
        if product in ("gpp_m", "gpp_l", "s1", "s2"):
            self.climate.day(date)
            if not self.climate.covers(region.coarse.pad(3)):
                raise ProductError("the ERA5-Land files do not cover the region (and one 0.1 degree cell around it)")


@functools.lru_cache(maxsize=6)
def _real_static(folder: str, grid: Grid) -> Static:
    src = RealDataSource(folder)
    padded = grid.pad(1)
    elev_p = S.read_dem(src.folder / LAYOUT["dem"], padded)
    if np.isnan(elev_p[1:-1, 1:-1]).all():
        raise DataError(f"{src.folder / LAYOUT['dem']}: the DEM does not cover this region")
    slope, aspect = slope_aspect(np.nan_to_num(elev_p, nan=0.0), FINE_RES)
    elevation = elev_p[1:-1, 1:-1]
    fractions = S.read_fractions(src.folder / LAYOUT["landcover"], src.class_table, grid)
    rok = np.isfinite(elevation) & (fractions.sum(axis=0) > 0.5)
    land = rok & (fractions[class_index("water")] < 0.5)
    n = grid.shape
    return Static(grid, np.nan_to_num(elevation, nan=0.0).astype(np.float32), slope, aspect, rok, land, fractions,
                  np.ones(n, np.float32), np.zeros(n, np.float32), np.full(n, 0.5, np.float32))


# ------------------------------------------------------------------ unique ingest check
def ingest_check(folder: str | Path) -> dict:
    """What is there, what it is usable for (products and dates), and what is missing or wrong, with reasons."""
    folder = Path(folder)
    report: dict = {"folder": str(folder), "found": {}, "usable": {}, "problems": [], "warnings": []}
    if not folder.is_dir():
        report["problems"].append(f"{folder}: not a folder")
        return report
    for key, rel in LAYOUT.items():
        hits = list(folder.glob(rel)) if "*" in rel else ([folder / rel] if (folder / rel).exists() else [])
        if not hits:
            report["problems"].append(f"{folder / rel}: missing ({key}); see docs/real-data.md")
    src = RealDataSource(folder)
    # Landsat
    scenes = src.scenes
    report["found"]["landsat_scenes"] = [{"id": s.product_id, "date": s.date.isoformat(), "usable": s.usable,
                                          "bounds_lonlat": s.bounds_lonlat} for s in scenes]
    for s in scenes:
        report["problems"].extend(s.problems)
        if s.usable:
            import rasterio

            from unique_core.qa import landsat_clear

            try:
                with rasterio.open(s.files["QA_PIXEL"]) as q:
                    qa = q.read(1)
            except rasterio.errors.RasterioIOError as exc:
                report["problems"].append(f"{s.files['QA_PIXEL']}: unreadable or truncated ({exc}); download it again")
                continue
            valid = qa != 1
            if valid.any() and not landsat_clear(qa[valid]).any():
                report["warnings"].append(f"{s.files['QA_PIXEL']}: every pixel is cloud, shadow or fill; the scene "
                                          "adds nothing to GPP_L")
    # MODIS
    days = src.modis_days
    report["found"]["modis_days"] = len(days)
    for d in days.values():
        report["problems"].extend(d.problems)
        report["warnings"].extend(d.warnings)
    # ERA5-Land
    era = []
    for f in sorted((folder / "era5land").glob("*.nc")):
        info = inspect_era5(f)
        era.append({k: v for k, v in info.items() if k != "problems"})
        report["problems"].extend(info["problems"])
    report["found"]["era5land"] = era
    # DEM and land cover
    for key in ("dem", "landcover"):
        path = folder / LAYOUT[key]
        if path.exists():
            try:
                report["found"][key] = {"bounds_lonlat": [round(v, 4) for v in S.bounds_lonlat(path)],
                                        "resolution_m": round(S.resolution_m(path), 2)}
                note = S.check_resolution(path, key)
                if note:
                    report["warnings"].append(note)
            except DataError as exc:
                report["problems"].append(str(exc))
    if (folder / LAYOUT["classes"]).exists():
        try:
            src.class_table
        except DataError as exc:
            report["problems"].append(str(exc))
    # flux sites
    flux = folder / "flux"
    if flux.exists():
        from unique_core.io.fluxnet import summarize

        files = sorted((flux / "fluxnet").glob("*.csv"))
        sums = [summarize(f) for f in files]
        report["found"]["flux_sites"] = [{"site": s.site_id, "years": s.years, "days_passing_qc": s.days_passing_qc}
                                         for s in sums]
        for s in sums:
            report["problems"].extend(s.problems)
    # usability
    era_days = set()
    try:
        era_days = set(src.climate.dates)
    except DataError as exc:
        report["problems"].append(str(exc))
    usable_modis = sorted(d for d, m in days.items() if m.usable)
    report["usable"]["gpp_m_dates"] = [d.isoformat() for d in sorted(era_days) if any(
        abs((m - d).days) <= 16 for m in usable_modis)]
    report["usable"]["gpp_l_dates"] = [s.date.isoformat() for s in scenes if s.usable and s.date in era_days]
    static_ok = all((folder / LAYOUT[k]).exists() for k in ("dem", "landcover", "classes"))
    report["usable"]["s1_s2_dates"] = report["usable"]["gpp_m_dates"] if static_ok else []
    report["usable"]["static_products"] = ["dem", "landcover", "fractions"] if static_ok else []
    report["usable"]["step1_training"] = bool(report["found"].get("flux_sites"))
    if "dem" in report["found"]:
        b = report["found"]["dem"]["bounds_lonlat"]
        report["usable"]["extent_lonlat"] = b
    report["ok"] = not report["problems"]
    return report

