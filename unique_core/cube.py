"""The region-year product: every day of a year at 30 m (S1/S2) or 500 m (GPP_M) in one Zarr store.

    info = make_cube("s2", 2023, region)                     # in the product cache
    info = make_cube("s2", 2023, region, out="gimje.nc")     # or a NetCDF file of your own
    maps = cube_maps(info.path)                              # annual + seasonal COGs, gC m-2
    table = cube_totals(info.path)                           # by plant type: gC m-2 and t C
    series = cube_pft_series(info.path)                      # daily mean GPP by plant type

Layout (CF-1.8, readable with xarray.open_zarr): `gpp` (time, y, x) the daily ensemble mean
(g m-2 d-1 of carbon, NaN off land), `gpp_std` the band a user sees (members > 1: the members'
calibrated spread plus Step 1's errors, as the daily product), and `gpp_m` (time, y_500m,
x_500m) the day's GPP_M on the region's 500 m grid, the input of the downscaling, kept so
that what 30 m adds can be seen from the same store. `time` is daily, encoded as days since
1 January; x/y are cell centres in EPSG:5179 metres (`spatial_ref`).

How it is made, and why it is fast over time:
- inputs once per region-year: the static S2 channels and the land mask once; GPP_M for the
  whole year (plus halo) in one vectorised pass (gpp.maps.gpp_m_series); the initial noise
  once (the same frame-anchored noise as the daily product);
- chunks of `days_per_chunk` days: each chunk's days, members and patches go through the
  network in batches (downscale.infer.sample_residual_days) on the chosen device/engine;
- every chunk is written into the store as soon as it is made (never the whole cube in RAM)
  and then marked done (a file in `<store>/_progress/`); a run that was killed starts again
  at the first chunk without a mark. Zarr's local store writes each chunk file atomically.

Day t of an S2 cube equals the daily S2 product of that day (same seed, members, steps) up
to float rounding: tests/test_cube.py checks it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd

from unique_core import __version__
from unique_core.atomic import atomic_path, write_text
from unique_core.errors import ProductError
from unique_core.grid import COARSE_PER_BLOCK, CRS, FINE_PER_BLOCK, MAX_REGION_BLOCKS, Grid, Region
from unique_core.world.climate import check_date

CubeProduct = Literal["s1", "s2", "gpp_m"]
CUBE_PRODUCTS = ("s1", "s2", "gpp_m")
CUBE_VERSION = "1"
# DDIM steps of the cube, chosen on the validation tiles against GPP_L (`bench/bench_cube.py curve`,
# docs/cube.md): 3 steps are closer to GPP_L than 5 or 10 and keep 86-93 % of DDIM 10's spatial
# detail (2 steps fall to 74-82 %), at 30 % of DDIM 10's cost. The daily product keeps its 10;
# the cube records its steps in its attributes.
DEFAULT_STEPS = 3
DEFAULT_DAYS_PER_CHUNK = 8
UNITS = "g m-2 d-1"  # grams of carbon; UDUNITS-parseable, so CF tools can convert it
STANDARD_NAME = "gross_primary_productivity_of_biomass_expressed_as_carbon"
# the periods of the annual and seasonal maps: analysis.year_periods' codes (a one-year cube holds
# two parts of winter, JF of DJF year-1/year and D of DJF year/year+1, never a whole DJF)
PERIODS = ("year", "JF", "MAM", "JJA", "SON", "D")
Progress = Callable[[str, int, int], None] | None


@dataclass
class CubeInfo:
    """What a make_cube call did: where the store is, and how long each part took (s)."""

    path: Path
    product: str
    year: int
    region: str
    members: int
    steps: int
    days: int
    chunks_total: int
    chunks_computed: int  # 0 when the store was already complete
    seconds: float
    timings: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)
    netcdf: Path | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"], d["netcdf"] = str(self.path), str(self.netcdf) if self.netcdf else None
        return d


def year_days(year: int, source=None) -> list[dt.date]:
    """Every day of `year`; DateError when the source has no such year (the simulation: 2015-2023;
    a real-data folder: any year, its files say which days it holds). Default source: the simulation."""
    check = source.check_date if source is not None else check_date
    first = dt.date(year, 1, 1)
    check(first)
    check(dt.date(year, 12, 31))
    return [first + dt.timedelta(k) for k in range((dt.date(year + 1, 1, 1) - first).days)]


def _validate(product: str, year: int, region: Region, members: int, steps: int, days_per_chunk: int,
              out: str | Path | None, source=None) -> None:
    if product not in CUBE_PRODUCTS:
        raise ProductError(f"no region-year cube for product {product!r}; choose one of: {', '.join(CUBE_PRODUCTS)}")
    year_days(int(year), source)  # DateError naming the range when the year has no data
    if region.nbrows > MAX_REGION_BLOCKS or region.nbcols > MAX_REGION_BLOCKS:
        raise ProductError(f"region {region.name!r} is {region.size_km[0]:.0f} x {region.size_km[1]:.0f} km: a cube "
                           "is made for at most 30 x 30 km; for larger areas use the Dask path "
                           "(unique_core.downscale.distributed.cube_area)")
    if not 1 <= int(members) <= 64 or not 1 <= int(steps) <= 1000:
        raise ProductError(f"members must be 1-64 and steps 1-1000 (got members {members}, steps {steps})")
    if not 1 <= int(days_per_chunk) <= 366:
        raise ProductError(f"days per chunk must be 1-366 (got {days_per_chunk})")
    if out is not None and Path(out).suffix not in (".zarr", ".nc"):
        raise ProductError(f"{out}: the cube is written as a Zarr store (PATH.zarr) or a NetCDF file (PATH.nc); "
                           "give a path ending in .zarr or .nc")


def _service(service):
    if service is None:
        from unique_core.products import ProductService

        service = ProductService()
    return service


def _model_hash(service, product: str) -> str:
    # the product service's provenance (weights, config and the GPP_M model), so a cube made by an
    # older model is not served
    return str(service.model_info(product)["model_hash"])


def cube_key(service, product: str, year: int, region: Region, params: dict) -> str:
    source = service.world.seed if service.simulated else service.world.identity
    ident = json.dumps({"cube": product, "version": CUBE_VERSION, "year": int(year), "region": region.key,
                        "params": params, "model": _model_hash(service, product), "source": source},
                       sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(ident.encode()).hexdigest()


def _params(product: str, members: int, steps: int, seed: int, conserve: bool) -> dict:
    if product == "gpp_m":
        return {}
    return {"members": int(members), "steps": int(steps), "seed": int(seed), "conserve": bool(conserve)}


def cube_cache_path(service, product: str, year: int, region: Region, params: dict) -> Path:
    key = cube_key(service, product, year, region, params)
    # product is one of CUBE_PRODUCTS, region.key integers, year an int: nothing a user typed
    return service.root / "cubes" / product / region.key / f"{int(year)}_{key[:16]}.zarr"


def find_cube(product: str, year: int, region: Region, *, members: int = 1, steps: int = DEFAULT_STEPS,
              seed: int = 0, conserve: bool = False, service=None) -> Path | None:
    """The complete cached cube of these settings, or None (the app asks before computing)."""
    service = _service(service)
    path = cube_cache_path(service, product, year, region, _params(product, members, steps, seed, conserve))
    return path if is_complete(path) else None


def cube_command(product: str, year: int, region: Region) -> str:
    """The `unique products cube` command that makes the cube find_cube looks for (default settings)."""
    from unique_core.grid import named_regions

    named = named_regions().get(region.name)
    where = (f"--region {region.name}" if named is not None and named.key == region.key else
             "--bbox {:.0f} {:.0f} {:.0f} {:.0f}".format(*region.bounds))
    return f"unique products cube --product {product} --year {int(year)} {where}"


def is_complete(path: str | Path) -> bool:
    return (Path(path) / "_progress" / "complete").exists()


def _chunks(n_days: int, per: int) -> list[tuple[int, int]]:
    return [(a, min(a + per, n_days)) for a in range(0, n_days, per)]


def _marker(path: Path, k: int) -> Path:
    return path / "_progress" / f"chunk_{k:04d}.done"


def _coords(grid: Grid, suffix: str = "") -> dict:
    import xarray as xr

    x = xr.Variable((f"x{suffix}",), grid.x, {"standard_name": "projection_x_coordinate", "units": "m",
                                              "long_name": f"easting of cell centres ({grid.res:g} m)"})
    y = xr.Variable((f"y{suffix}",), grid.y, {"standard_name": "projection_y_coordinate", "units": "m",
                                              "long_name": f"northing of cell centres ({grid.res:g} m)"})
    return {f"x{suffix}": x, f"y{suffix}": y}


def _init_store(path: Path, product: str, year: int, region: Region, days: list[dt.date], per: int,
                members: int, attrs: dict, tile_blocks: int | None = None) -> None:
    """Create the store's metadata and coordinates (no data) in a temporary folder, then rename it.

    Chunks: `per` days by the whole region, or by tiles of `tile_blocks` blocks (the Dask area
    path, where each task owns its chunks).
    """
    import dask.array as da
    import xarray as xr
    from pyproj import CRS as ProjCRS

    n = len(days)
    data_vars = {}
    fine, coarse = region.fine, region.coarse
    fchunk = (tile_blocks * FINE_PER_BLOCK,) * 2 if tile_blocks else fine.shape
    cchunk = (tile_blocks * COARSE_PER_BLOCK,) * 2 if tile_blocks else coarse.shape
    gm_attrs = {"units": UNITS, "standard_name": STANDARD_NAME, "grid_mapping": "spatial_ref",
                "long_name": "GPP_M: daily GPP from MODIS-like data (LightGBM, 500 m), grams of carbon"}
    if product != "gpp_m":
        data_vars["gpp"] = (("time", "y", "x"), da.full((n, *fine.shape), np.nan, chunks=(per, *fchunk),
                                                       dtype=np.float32),
                            {"units": UNITS, "standard_name": STANDARD_NAME, "grid_mapping": "spatial_ref",
                             "long_name": f"{product.upper()} downscaled daily GPP at 30 m, ensemble mean of "
                                          f"{members}, grams of carbon"})
        if members > 1:
            data_vars["gpp_std"] = (("time", "y", "x"), da.full((n, *fine.shape), np.nan, chunks=(per, *fchunk),
                                                                dtype=np.float32),
                                    {"units": UNITS, "grid_mapping": "spatial_ref",
                                     "long_name": f"uncertainty (1 standard deviation) of the mean: the {members} members' "
                                                  "calibrated spread plus Step 1's errors (downscale/uncertainty.py)"})
    data_vars["gpp_m"] = (("time", "y_500m", "x_500m"),
                          da.full((n, *coarse.shape), np.nan, chunks=(per, *cchunk), dtype=np.float32), gm_attrs)
    crs = ProjCRS.from_user_input(CRS)
    spatial_ref = xr.Variable((), 0, {**crs.to_cf(), "crs_wkt": crs.to_wkt(), "spatial_ref": crs.to_wkt(),
                                      "GeoTransform": " ".join(str(v) for v in fine.transform.to_gdal())})
    coords = {"time": ("time", pd.to_datetime(days).values, {"standard_name": "time", "axis": "T"}),
              **_coords(fine), **_coords(coarse, "_500m"), "spatial_ref": spatial_ref}
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    ds["time"].encoding.update({"units": f"days since {year}-01-01", "calendar": "proleptic_gregorian",
                                "dtype": "int32"})
    tmp = path.with_name(f".{path.name}.init")
    shutil.rmtree(tmp, ignore_errors=True)
    ds.to_zarr(tmp, mode="w", compute=False, consolidated=False)
    (tmp / "_progress").mkdir()
    write_text(tmp / "_progress" / "key", attrs["unique_key"])
    tmp.rename(path)


def _check_existing(path: Path, key: str) -> None:
    keyfile = path / "_progress" / "key"
    if not keyfile.exists():
        raise ProductError(f"{path} exists and is not a UNIQUE cube: delete it or choose another --out path")
    if keyfile.read_text().strip() != key:
        raise ProductError(f"{path} is a cube made with other settings (product, year, region, members, steps, "
                           "seed or model): delete it or choose another --out path")


def make_cube(product: CubeProduct, year: int, region: Region, *, members: int = 1, steps: int = DEFAULT_STEPS,
              seed: int = 0, conserve: bool = False, out: str | Path | None = None,
              device: Literal["auto", "cpu", "cuda"] = "auto",
              engine: Literal["auto", "torch", "onnxruntime", "openvino"] = "auto",
              precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto", batch: int | None = None,
              days_per_chunk: int = DEFAULT_DAYS_PER_CHUNK, service=None, progress: Progress = None) -> CubeInfo:
    """Every day of `year` over `region` (at most 30 x 30 km) into a Zarr store; resumable.

    product s1/s2: the daily 30 m downscaled GPP (mean, and spread when members > 1) and the
    500 m GPP_M it came from; gpp_m: GPP_M alone. `out`: PATH.zarr (the store itself) or
    PATH.nc (the cube is made in the cache, then exported to NetCDF); default: the product
    cache. `device`/`engine`/`precision`/`batch`: see unique_core.downscale.engine.
    Returns a CubeInfo; raises ProductError/DateError/ModelError for what a user can fix.
    """
    t_start = time.time()
    service = _service(service)
    _validate(product, year, region, members, steps, days_per_chunk, out, service.world)
    members, steps, per = int(members), int(steps), int(days_per_chunk)
    params = _params(product, members, steps, seed, conserve)
    key = cube_key(service, product, year, region, params)
    out = Path(out) if out is not None else None
    path = out if out is not None and out.suffix == ".zarr" else cube_cache_path(service, product, year, region, params)
    days = year_days(year, service.world)
    chunks = _chunks(len(days), per)
    timings: dict[str, float] = {}
    engine_info: dict = {}
    if path.exists():
        _check_existing(path, key)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        attrs = {"Conventions": "CF-1.8", "title": f"UNIQUE {product.upper()} daily GPP, {year}, {region.name}",
                 "institution": "UNIQUE (reimplementation of EGU26-4160)",
                 "source": "simulated South Korea" if service.simulated else f"real data {service.world.identity}",
                 "history": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} unique_core.cube.make_cube "
                            f"{__version__}",
                 "product": product, "year": int(year), "region": region.key, "region_name": region.name,
                 "cube_version": CUBE_VERSION, "code_version": __version__,
                 "model_hash": _model_hash(service, product), "unique_key": key,
                 "parameters": json.dumps(params, sort_keys=True), "days_per_chunk": per,
                 "sampler": "ddim" if product != "gpp_m" else "none"}
        _init_store(path, product, year, region, days, per, members, attrs)
    todo = [k for k in range(len(chunks)) if not _marker(path, k).exists()]
    if todo:
        engine_info = _fill(path, product, region, days, chunks, todo, params, service, device=device,
                            engine=engine, precision=precision, batch=batch, timings=timings, progress=progress)
    if not is_complete(path):
        write_text(path / "_progress" / "complete", json.dumps({"engine": engine_info, "timings": timings}))
    netcdf = None
    if out is not None and out.suffix == ".nc":
        t0 = time.time()
        netcdf = export_netcdf(path, out)
        timings["netcdf_s"] = round(time.time() - t0, 2)
    return CubeInfo(path, product, int(year), region.key, members if product != "gpp_m" else 1,
                    steps if product != "gpp_m" else 0, len(days), len(chunks), len(todo),
                    round(time.time() - t_start, 2), timings, engine_info, netcdf)


def _fill(path: Path, product: str, region: Region, days: list[dt.date], chunks: list[tuple[int, int]],
          todo: list[int], params: dict, service, *, device, engine, precision, batch, timings: dict,
          progress: Progress) -> dict:
    """Compute and write the chunks in `todo` (each marked done once written)."""
    import zarr

    from unique_core.gpp.maps import gpp_m_series
    from unique_core.gpp.registry import load_model

    world = service.world
    group = zarr.open_group(str(path), mode="r+")
    t0 = time.time()
    # GPP_M of the whole year with a one-block halo, in one vectorised pass (the downscaling's input)
    # (only the days still to do: a resumed run does not remake the finished part's inputs)
    halo = Region(region.name, region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)
    first = chunks[todo[0]][0]
    gm, _ = gpp_m_series(load_model("modis"), world, halo, days[first], days[chunks[todo[-1]][1] - 1],
                         (lambda i, n: progress("MODIS days", i, n)) if progress else None)
    timings["gpp_m_year_s"] = round(time.time() - t0, 2)
    info: dict = {}
    if product == "gpp_m":
        for k in todo:
            a, b = chunks[k]
            group["gpp_m"][a:b] = gm[a - first:b - first, 3:-3, 3:-3]
            write_text(_marker(path, k), "")
        return info
    from unique_core.downscale import data as D
    from unique_core.downscale import registry
    from unique_core.downscale.engine import make_engine
    from unique_core.downscale.infer import downscale_days

    t0 = time.time()
    model = registry.load(product)
    eng = make_engine(model, device=device, engine=engine, precision=precision, batch=batch)
    static = D.static_channels(world, region) if model.config.scheme == "s2" else None
    land = world.static(region).land
    timings["static_and_engine_s"] = round(time.time() - t0, 2)
    info = eng.describe()
    sample_s = write_s = 0.0
    done = sum(b - a for k, (a, b) in enumerate(chunks) if k not in todo)
    for k in todo:
        a, b = chunks[k]
        t0 = time.time()
        mean, std = downscale_days(model, gm[a - first:b - first], static, region, land, engine=eng,
                                   members=params["members"], steps=params["steps"], seed=params["seed"],
                                   conserve=params["conserve"], world=world, dates=days[a:b])
        t1 = time.time()
        group["gpp"][a:b] = mean
        if std is not None:
            group["gpp_std"][a:b] = std
        group["gpp_m"][a:b] = gm[a - first:b - first, 3:-3, 3:-3]
        write_text(_marker(path, k), "")
        sample_s += t1 - t0
        write_s += time.time() - t1
        done += b - a
        if progress:
            progress("days", done, len(days))
    timings["downscale_s"] = round(sample_s, 2)
    timings["write_s"] = round(write_s, 2)
    return info


def open_cube(path: str | Path):
    """The cube as a lazy xarray Dataset (chunks read on demand)."""
    import xarray as xr

    path = Path(path)
    if not (path / "zarr.json").exists() or not (path / "_progress" / "key").exists():
        raise ProductError(f"{path}: not a UNIQUE cube (make one with `unique products cube`)")
    if not is_complete(path):
        raise ProductError(f"{path}: the cube is not complete (a run was interrupted); run the same "
                           "`unique products cube` command again to finish it")
    with warnings.catch_warnings():  # the marks folder is ours, not part of the Zarr hierarchy
        warnings.filterwarnings("ignore", message="Object at _progress is not recognized")
        return xr.open_zarr(path, consolidated=False)


def export_netcdf(path: str | Path, out: str | Path) -> Path:
    """Write a complete cube to one NetCDF-4 file (chunk by chunk, compressed), atomically."""
    ds = open_cube(path)
    enc = {v: {"zlib": True, "complevel": 4, "chunksizes": tuple(c[0] for c in ds[v].chunks)} for v in ds.data_vars}
    for v in ds.data_vars:
        ds[v].encoding.pop("chunks", None)
    with atomic_path(out, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=enc)
    return Path(out)


def _variable_grid(ds, var: str) -> Grid:
    from unique_core.raster import grid_of

    suffix = "_500m" if var == "gpp_m" else ""
    probe = ds[var].isel(time=0).rename({f"y{suffix}": "y", f"x{suffix}": "x"}) if suffix else ds[var].isel(time=0)
    return grid_of(probe)


def period_sums(path: str | Path, var: str = "gpp") -> dict[str, np.ndarray]:
    """Sum of daily GPP (gC m-2 per period) for the year and each period in it, read chunk by chunk.

    Keys are analysis.year_periods' codes (PERIODS): "year", "JF" (January-February, the part
    of DJF from the December before), "MAM", "JJA", "SON" and "D" (December, the start of the
    next DJF): the same days as analysis.totals' rows of the same names. NaN where no day has
    a value (sea).
    """
    from unique_core.analysis import year_periods

    ds = open_cube(path)
    if var not in ds:
        raise ProductError(f"{path}: the cube has no {var!r} (it has {', '.join(ds.data_vars)})")
    da = ds[var]
    dates = pd.DatetimeIndex(ds["time"].values).date
    inside = {code: (dates >= a) & (dates <= b) for code, _, a, b in year_periods(int(ds.attrs["year"]))}
    shape = da.shape[1:]
    sums = {p: np.zeros(shape, np.float64) for p in PERIODS}
    seen = np.zeros(shape, bool)
    start = 0
    for size in da.chunks[0]:
        block = np.asarray(da[start:start + size].values, dtype=np.float64)
        ok = np.isfinite(block)
        seen |= ok.any(axis=0)
        vals = np.where(ok, block, 0.0)
        for p in PERIODS:
            sel = inside[p][start:start + size]
            if sel.any():
                sums[p] += vals[sel].sum(axis=0)
        start += size
    return {p: np.where(seen, v, np.nan).astype(np.float32) for p, v in sums.items()}


def period_names(year: int) -> dict[str, str]:
    """{code: name} of the map periods of a year, e.g. {"JF": "part of DJF 2022-23: ...", ...}."""
    from unique_core.analysis import year_periods

    return {code: name for code, name, _, _ in year_periods(int(year))}


def cube_maps(path: str | Path, *, out_dir: str | Path | None = None,
              variables: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Annual and seasonal GPP maps (gC m-2 per period) of a cube as COGs; returns {name: path}.

    Names are `<variable>_<period>` with the periods of PERIODS: gpp_year, gpp_JF, gpp_MAM,
    gpp_JJA, gpp_SON, gpp_D (30 m) and gpp_m_year, ... (500 m). Each COG's `period_name` tag
    (and long name) is the name analysis.totals gives the same days, e.g. "part of DJF
    2022-23: 2023-01-01 to 2023-02-28 (59 of 90 days)". Default folder: `<store>_maps`.
    """
    from unique_core.io.geotiff import write_cog
    from unique_core.raster import dataarray

    path = Path(path)
    ds = open_cube(path)
    out_dir = Path(out_dir) if out_dir else path.with_name(f"{path.stem}_maps")
    variables = variables or tuple(v for v in ("gpp", "gpp_m") if v in ds)
    year = int(ds.attrs["year"])
    names = period_names(year)
    out = {}
    for var in variables:
        grid = _variable_grid(ds, var)
        for period, values in period_sums(path, var).items():
            da = dataarray(values, grid, name=f"{var}_{period}", units="gC m-2",
                           long_name=f"GPP summed over {names[period]} from daily {var} ({grid.res:g} m)",
                           attrs={"period": period, "period_name": names[period], "year": year})
            out[f"{var}_{period}"] = write_cog(da, out_dir / f"{var}_{period}.tif",
                                               tags={"product": ds.attrs["product"], "period": period,
                                                     "period_name": names[period], "year": str(year),
                                                     "region": ds.attrs["region"],
                                                     "model_hash": ds.attrs["model_hash"]})
    return out


def _weights_of(ds, var: str, service) -> tuple[dict[str, np.ndarray], float]:
    from unique_core.analysis import pft_weights
    from unique_core.grid import COARSE_RES, FINE_RES

    region = region_of(ds)
    world = service.world
    if var == "gpp_m":
        return pft_weights(world.static_coarse(region).fractions), COARSE_RES
    return pft_weights(world.static(region).fractions), FINE_RES


def region_of(ds) -> Region:
    b = ds.attrs["region"]  # b<row>_<col>_<h>x<w>
    r, c, hw = b[1:].split("_")
    h, w = hw.split("x")
    return Region(str(ds.attrs.get("region_name", "cube")), int(r), int(c), int(h), int(w))


def cube_pft_series(path: str | Path, var: str = "gpp", *, service=None) -> pd.DataFrame:
    """Daily area-weighted mean GPP (gC m-2 d-1) by plant type from a cube: columns date, PFTs..., all.

    The same numbers as analysis.pft_means on each day's map, for every day of the year,
    read chunk by chunk (this is what the Time series page reads when the cube exists).
    """
    ds = open_cube(path)
    if var not in ds:
        raise ProductError(f"{path}: the cube has no {var!r} (it has {', '.join(ds.data_vars)})")
    weights, _ = _weights_of(ds, var, _service(service))
    total = sum(weights.values())
    names = list(weights) + ["all"]
    w = np.stack([*weights.values(), total]).astype(np.float64)  # (P, H, W)
    da = ds[var]
    rows = []
    start = 0
    for size in da.chunks[0]:
        block = np.asarray(da[start:start + size].values, dtype=np.float64)
        ok = np.isfinite(block)
        g = np.where(ok, block, 0.0)
        num = np.einsum("phw,thw->tp", w, g)
        den = np.einsum("phw,thw->tp", w, ok.astype(np.float64))
        means = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        rows.append(means)
        start += size
    values = np.concatenate(rows)
    df = pd.DataFrame(values, columns=names)
    df.insert(0, "date", pd.DatetimeIndex(ds["time"].values).date)
    return df


def cube_totals(path: str | Path, *, variables: tuple[str, ...] | None = None, start: dt.date | None = None,
                end: dt.date | None = None, service=None) -> pd.DataFrame:
    """Seasonal and annual GPP by plant type from every day of the cube (no sampling).

    Columns: variable, then those of analysis.totals (period, kind, ..., pft, gpp_gC_m2 = sum
    of daily PFT means, area_km2, carbon_t = tonnes of carbon, gC m-2 times km2). `start`/`end`
    keep only the days between them (default: the whole year); periods are named by what they
    cover, as analysis.totals names them.
    """
    from unique_core.analysis import pft_areas_km2, totals

    service = _service(service)
    ds = open_cube(path)
    variables = variables or tuple(v for v in ("gpp", "gpp_m") if v in ds)
    tables = []
    for var in variables:
        weights, pixel = _weights_of(ds, var, service)
        series = cube_pft_series(path, var, service=service)
        inside = np.ones(len(series), bool)
        if start is not None:
            inside &= series["date"] >= start
        if end is not None:
            inside &= series["date"] <= end
        if not inside.any():
            raise ProductError(f"{path}: the cube ({ds.attrs['year']}) has no day from {start} to {end}")
        t = totals(series[inside].reset_index(drop=True), pft_areas_km2(weights, pixel))
        t.insert(0, "variable", var)
        tables.append(t)
    return pd.concat(tables, ignore_index=True)
