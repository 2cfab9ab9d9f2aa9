"""A folder of real data as a source of UNIQUE products (layout: docs/real-data.md).

    DIR/
      flux/                    flux-network layout (sites.csv, fluxnet/, era5land/, modis/, landsat/)
      landsat/                 Landsat C2 L2 scenes (<ID>_SR_B2..B7.TIF, <ID>_QA_PIXEL.TIF, <ID>_MTL.txt)
      modis/                   MOD09GA GeoTIFFs, one file per band and day (sur_refl_b0N, state_1km)
      era5land/*.nc            ERA5-Land, hourly or daily (t2m, d2m, ssrd, tp; z optional)
      dem/dem.tif              a DEM in any CRS
      landcover/landcover.tif  a categorical land-cover map in any CRS
      landcover/classes.csv    value,class

`RealDataSource` implements unique_core.sources.DataSource, as the simulated world does
(static layers, MODIS days, Landsat scenes, daily reanalysis on the 0.1 degree lattice), so
GPP_M, GPP_L, S1 and S2 are made from real files by the same code. What only the simulation
has (the true GPP, whole-country work) is refused with a ProductError saying so.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

import numpy as np

from unique_core.errors import DataError, DateError, ProductError, UniqueError
from unique_core.grid import FINE_RES, Grid, Region, from_lonlat
from unique_core.io import landsat as L
from unique_core.io import modis as M
from unique_core.io import surface as S
from unique_core.io.era5 import RealClimate, inspect as inspect_era5
from unique_core.landcover import class_index
from unique_core.sources import lattice
from unique_core.sources.fields import Day, Static, StaticCoarse, aggregate_static
from unique_core.sources.physics import slope_aspect

_PER_REGION = "with real data, products are made per region (at most 30 x 30 km): choose a region"
LAYOUT = {"flux": "flux/", "landsat": "landsat/", "modis": "modis/", "era5land": "era5land/*.nc",
          "dem": "dem/dem.tif", "landcover": "landcover/landcover.tif", "classes": "landcover/classes.csv"}


class _Terrain:
    """The folder's DEM, read on any grid (the protocol's `terrain`)."""

    def __init__(self, source: "RealDataSource"):
        self.source = source

    def elevation(self, grid: Grid) -> np.ndarray:
        return np.nan_to_num(S.read_dem(self.source.folder / LAYOUT["dem"], grid), nan=0.0)


class RealDataSource:
    """Real files in the layout above, as a unique_core.sources.DataSource."""

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

    @property
    def name(self) -> str:
        return f"real data in {self.folder}"

    period = None  # real data has the dates its files have; each reader says when a day is missing

    def check_date(self, date: dt.date) -> dt.date:
        """Any calendar date (whether the files hold it is `check`'s question)."""
        if not isinstance(date, dt.date):
            raise DateError(f"{date!r} is not a date: give YYYY-MM-DD")
        return date

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
        lon, lat = lattice.lattice_lonlat()
        out = np.zeros((lattice.NLAT, lattice.NLON), np.float32)
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

    def static_coarse_country(self, progress=None) -> StaticCoarse:
        raise ProductError(_PER_REGION)

    def day_country(self, date: dt.date) -> Day:
        raise ProductError(_PER_REGION)

    def modis_country(self, date: dt.date) -> dict[str, np.ndarray]:
        raise ProductError(_PER_REGION)

    def day(self, region, date) -> Day:
        raise ProductError("the true GPP exists only for the simulated world")

    def day_coarse(self, region, date, *, halo_blocks: int = 0, static: StaticCoarse | None = None) -> Day:
        raise ProductError("the true GPP exists only for the simulated world")

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
CLAIMS = {"gpp_m": "modis", "gpp_l": "landsat", "s1": "modis", "s2": "modis", "static_layers": "dem",
          "step1_training": "flux"}


def _guard(report: dict, where: str, fn, *args):
    """Run one part of the check; a failure becomes a problem naming the part, never a stop."""
    try:
        return fn(*args)
    except UniqueError as exc:
        report["problems"].append(str(exc))
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the check of the others
        report["problems"].append(f"{where}: could not be checked ({type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:160] if str(exc) else ''}); see the file, or report it")
    return None


def _check_landsat(report: dict, src: "RealDataSource") -> list:
    scenes = src.scenes
    found = []
    for s in scenes:
        figures = _guard(report, str(s.files.get("QA_PIXEL", s.product_id)), L.check_values, s) or {}
        if "QA_PIXEL" in s.files and s.usable:
            _guard(report, str(s.files["QA_PIXEL"]), S.scan_band, s.files["QA_PIXEL"])  # decodes every block
        report["problems"].extend(p for p in s.problems if p not in report["problems"])
        report["warnings"].extend(s.warnings)
        if s.usable and figures.get("clear_fraction", 1.0) == 0.0:
            report["warnings"].append(f"{s.files['QA_PIXEL']}: every pixel is cloud, shadow or fill; the scene "
                                      "adds nothing to GPP_L")
        found.append({"id": s.product_id, "date": s.date.isoformat() if s.date else None, "tier": s.tier,
                      "usable": s.usable, "bounds_lonlat": s.bounds_lonlat,
                      "clear_fraction": round(figures["clear_fraction"], 4) if "clear_fraction" in figures else None})
    return found


def _check_modis(report: dict, src: "RealDataSource") -> dict:
    days = src.modis_days
    for d in days.values():
        for lay in d.layers.values():
            if lay.sds is None and d.usable:
                try:
                    S.scan_band(lay.path)  # decodes every block: a truncated file shows here
                except DataError as exc:
                    d.problems.append(str(exc))
        report["problems"].extend(d.problems)
        report["warnings"].extend(d.warnings)
    return days


def _check_surface(report: dict, folder: Path, key: str) -> None:
    path = folder / LAYOUT[key]
    if not path.exists():
        return
    b = S.bounds_lonlat(path)
    report["found"][key] = {"bounds_lonlat": [round(v, 4) for v in b], "resolution_m": round(S.resolution_m(path), 2)}
    if key == "dem":
        scan = S.scan_band(path)
        S.check_dem_values(path, scan.vmin, scan.vmax)
        report["found"][key]["elevation_m"] = [scan.vmin, scan.vmax]
    else:
        scan = S.scan_band(path)
        if scan.valid == 0:
            raise DataError(f"{path}: every pixel is nodata: the map holds no land cover (check its nodata value)")
    note = S.check_resolution(path, key)
    if note:
        report["warnings"].append(note)


def ingest_check(folder: str | Path) -> dict:
    """What is there, what it can make (products and dates), and what is missing or wrong, with reasons.

    One bad file never stops the check of the others: each problem names the file, the reason and
    the fix. Rasters are decoded block by block (memory: one block), so truncated files show here and
    not later. `claims` says, for each product the folder's sub-folders claim (modis/ -> GPP_M, S1,
    S2; landsat/ -> GPP_L; dem/ -> static layers; flux/ -> Step 1 training), whether it can be made;
    `ok` is True when every claimed product can be made and nothing is wrong. A folder that does not
    exist raises DataError (one line).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder; give a real-data folder laid out as docs/real-data.md describes "
                        "(landsat/, modis/, era5land/, dem/, landcover/, flux/)")
    report: dict = {"folder": str(folder), "found": {}, "usable": {}, "claims": {}, "problems": [], "warnings": []}
    for key, rel in LAYOUT.items():
        hits = list(folder.glob(rel)) if "*" in rel else ([folder / rel] if (folder / rel).exists() else [])
        if not hits:
            report["warnings" if key == "flux" else "problems"].append(
                f"{folder / rel}: missing ({key}); see docs/real-data.md")
    src = RealDataSource(folder)
    report["found"]["landsat_scenes"] = _guard(report, str(folder / "landsat"), _check_landsat, report, src) or []
    days = _guard(report, str(folder / "modis"), _check_modis, report, src) or {}
    report["found"]["modis_days"] = len(days)
    products = sorted({d.product for d in days.values() if d.product})
    report["found"]["modis_products"] = products
    era = []
    for f in sorted((folder / "era5land").glob("*.nc")):
        info = _guard(report, str(f), inspect_era5, f)
        if info:
            era.append({k: v for k, v in info.items() if k != "problems"})
            report["problems"].extend(info["problems"])
    report["found"]["era5land"] = era
    for key in ("dem", "landcover"):
        _guard(report, str(folder / LAYOUT[key]), _check_surface, report, folder, key)
    classes_ok = (folder / LAYOUT["classes"]).exists() and _guard(report, str(folder / LAYOUT["classes"]),
                                                                   lambda: src.class_table) is not None
    flux = folder / "flux"
    if flux.exists():
        from unique_core.io.fluxnet import summarize

        sums = [s for f in sorted((flux / "fluxnet").glob("*.csv")) if (s := _guard(report, str(f), summarize, f))]
        report["found"]["flux_sites"] = [{"site": s.site_id, "years": s.years, "days_passing_qc": s.days_passing_qc,
                                          "mean_gpp_passing": s.mean_gpp_passing} for s in sums]
        for s in sums:
            report["problems"].extend(s.problems)
            report["warnings"].extend(s.warnings)
    # usability
    era_days: set = set()
    if era and not any(str(folder / "era5land") in p for p in report["problems"]):
        climate = _guard(report, str(folder / "era5land"), lambda: src.climate)
        era_days = set(climate.dates) if climate else set()
    usable_modis = sorted(d for d, m in days.items() if m.usable)
    gpp_m = [d.isoformat() for d in sorted(era_days) if any(abs((m - d).days) <= 16 for m in usable_modis)]
    scenes = [s for s in src.scenes if s.usable]
    gpp_l = sorted({s.date.isoformat() for s in scenes if s.date in era_days})
    dem_ok = "dem" in report["found"] and not any(str(folder / LAYOUT["dem"]) in p for p in report["problems"])
    lc_ok = "landcover" in report["found"] and not any(str(folder / LAYOUT["landcover"]) in p
                                                         for p in report["problems"])
    static_ok = dem_ok and lc_ok and bool(classes_ok)
    report["usable"] = {"gpp_m_dates": gpp_m, "gpp_l_dates": gpp_l, "s1_s2_dates": gpp_m if static_ok else [],
                        "static_products": ["dem", "landcover", "fractions"] if static_ok else [],
                        "step1_training": bool([s for s in report["found"].get("flux_sites", [])
                                                if s["days_passing_qc"] > 0])}
    if "dem" in report["found"]:
        report["usable"]["extent_lonlat"] = report["found"]["dem"]["bounds_lonlat"]
    if era_days:
        report["usable"]["period"] = [min(era_days).isoformat(), max(era_days).isoformat()]
    why_static = "needs dem/dem.tif, landcover/landcover.tif and landcover/classes.csv, all readable"
    can = {"gpp_m": (bool(gpp_m), "needs usable MODIS days within 16 days of ERA5-Land days"),
           "gpp_l": (bool(gpp_l), "needs usable Landsat scenes on ERA5-Land days"),
           "s1": (bool(gpp_m) and static_ok, "needs GPP_M and the static layers: " + why_static),
           "s2": (bool(gpp_m) and static_ok, "needs GPP_M and the static layers: " + why_static),
           "static_layers": (static_ok, why_static),
           "step1_training": (report["usable"]["step1_training"], "needs FLUXNET DD files with days passing QC")}
    for product, sub in CLAIMS.items():
        claimed = (folder / sub).exists()
        ok, why = can[product]
        report["claims"][product] = {"claimed": claimed, "can_make": bool(ok), "why": None if ok else why}
    report["cannot_make"] = [p for p, c in report["claims"].items() if c["claimed"] and not c["can_make"]]
    report["problems"] = list(dict.fromkeys(report["problems"]))
    report["warnings"] = list(dict.fromkeys(report["warnings"]))
    report["ok"] = not report["problems"] and not report["cannot_make"]
    return report
