"""Cached calls into the core for the pages: services as resources, products as data.

Pages call these and never touch models, files or arrays directly.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import streamlit as st

from unique_core.errors import UniqueError
from unique_core.grid import Region
from unique_core.products import DIFFUSION_PRODUCTS, SPECS, ProductService, mean_layer
from unique_core.world import World

MAP_PRODUCTS = ("gpp_m", "gpp_l", "s1", "s2", "s3", "s3_past", "gpp_true", "modis_ndvi", "landsat_ndvi", "dem",
                "landcover")


@st.cache_resource(show_spinner=False)
def world(seed: int = 2026) -> World:
    return World(seed)


@st.cache_resource(show_spinner=False)
def service(source: str = "simulated") -> ProductService:
    if source == "simulated":
        return ProductService(world=world())
    from unique_core.config import data_dir
    from unique_core.io.realdata import RealDataSource

    return ProductService(world=RealDataSource(data_dir()))


def title(product: str) -> str:
    """A product's title; for a region-year cube's period map (see cube_choice) its name with units."""
    if is_cube_choice(product):
        return cube_title(product)
    return SPECS[product].title


def status(product: str, date: dt.date, region: Region, source: str, params: dict | None = None) -> tuple[str, str]:
    """('cached' | 'missing' | 'unavailable', message) without computing anything."""
    svc = service(source)
    ok, why = svc.available(product)
    if not ok:
        return "unavailable", why
    if source == "simulated" and product == "landsat_ndvi":
        dates = [d for d, _, _ in svc.world.landsat_dates(region, date.year)]
        if date not in dates:
            near = sorted(dates, key=lambda d: abs((d - date).days))[:3]
            return "unavailable", ("No Landsat-like pass on this day. Nearest passes: "
                                   + ", ".join(d.isoformat() for d in sorted(near)))
    try:
        hit = svc.lookup(product, date if SPECS[product].dynamic else None, region, params)
    except UniqueError as exc:
        return "unavailable", str(exc)
    return ("cached", "Loaded from cache") if hit else ("missing", "Not made yet for this day and region")


@st.cache_data(max_entries=24, show_spinner=False)
def product(name: str, date: dt.date, region: Region, source: str, params: dict | None = None):
    """A product from the cache (or made now, without progress): DataArray."""
    return service(source).get(name, date if SPECS[name].dynamic else None, region, params)


def run(name: str, date: dt.date, region: Region, source: str, params: dict | None = None):
    """Make a product with a progress bar on the page, then return it."""
    bar = st.progress(0.0, text=f"Making {title(name)}...")

    def progress(what: str, i: int, n: int):
        bar.progress(min(1.0, i / max(n, 1)), text=f"{title(name)}: {what} {i}/{n}")

    da = service(source).get(name, date if SPECS[name].dynamic else None, region, params, progress=progress)
    bar.empty()
    product.clear()
    return da


# ----------------------------------------------------------------------------- background work
@st.cache_resource(show_spinner=False)
def jobs():
    """The server's worker processes (ui.jobs): two where there are two cores, so the region's
    static layers and its first product are made side by side."""
    import os

    from unique_core.config import cache_dir
    from unique_core.ui.jobs import Jobs

    return Jobs(cache_dir() / "app" / "jobs", workers=max(1, min(2, (os.cpu_count() or 1))))


def job_key(product: str, date: dt.date | None, region: Region, source: str, params: dict | None = None) -> str:
    import json

    day = date.isoformat() if date and SPECS[product].dynamic else "static"
    return f"{source}-{product}-{day}-{region.key}-{json.dumps(params or {}, sort_keys=True)}"


def start(product: str, date: dt.date | None, region: Region, source: str, params: dict | None = None):
    """Make a product in the background (once per server); returns its ui.jobs.Job."""
    from unique_core.ui.jobs import make_product

    day = date if SPECS[product].dynamic else None
    return jobs().submit(job_key(product, date, region, source, params), f"{title(product)}, {region.title or region.name}",
                         make_product, _where(source), product, day, region, params)


def job_of(product: str, date: dt.date | None, region: Region, source: str, params: dict | None = None):
    return jobs().get(job_key(product, date, region, source, params))


def statics_ready(region: Region, source: str) -> bool:
    from unique_core.ui.background import STATIC_LAYERS

    return all(status(p, None, region, source)[0] == "cached" for p in STATIC_LAYERS)


def start_statics(region: Region, source: str) -> list:
    """The job making the region's DEM and land cover (one job: ui.background.make_statics), if any is missing."""
    from unique_core.ui.background import STATIC_LAYERS, make_statics

    if not any(status(p, None, region, source)[0] == "missing" for p in STATIC_LAYERS):
        return []
    return [jobs().submit(f"{source}-statics-{region.key}", f"elevation and land cover, {region.title or region.name}",
                          make_statics, _where(source), region)]


def start_relief():
    from unique_core.ui.jobs import make_relief, relief_file

    if relief_file(world().seed).exists():
        return None
    return jobs().submit(f"relief-{world().seed}", "country relief", make_relief, world().seed)


@st.cache_resource(show_spinner=False)
def _relief_overlay_of(path: str, mtime: float):
    from unique_core.grid import FRAME_BLOCKS_X, FRAME_BLOCKS_Y, Grid
    from unique_core.raster import dataarray
    from unique_core.viz import maps

    with np.load(path) as z:
        shade = z["hillshade"]
    grid = Grid(1500.0, 0, 0, FRAME_BLOCKS_Y, FRAME_BLOCKS_X)
    return maps.relief_overlay(dataarray(shade, grid, name="hillshade", units="1", long_name="country relief"))


def relief_overlay():
    """The country's hillshade overlay once a worker has made it (None before)."""
    from unique_core.ui.jobs import relief_file

    path = relief_file(world().seed)
    return _relief_overlay_of(str(path), path.stat().st_mtime) if path.exists() else None


@st.cache_resource(show_spinner=False)
def coast():
    """The coastline of South Korea's land (viz.basemap.Coast, from the shipped mask), the same for every session."""
    from unique_core.viz.basemap import coastlines, shipped_land_mask

    return coastlines(*shipped_land_mask())


def towers_in(region: Region, year: int) -> tuple[list[dict], object | None]:
    """The region's Korean towers at once, and the job making their pop-up charts (None when
    they are ready): the markers never wait for the year of GPP_M behind each chart."""
    import json

    from unique_core.ui.jobs import make_towers, towers_file
    from unique_core.viz.towers import tower_markers

    path = towers_file(region, year)
    if path.exists():
        return json.loads(path.read_text()), None
    markers = tower_markers(region, "<i>the chart of tower GPP against GPP_M is being made</i>")
    if not markers:
        return [], None
    job = jobs().submit(f"towers-{region.key}-{year}", f"tower charts, {region.title or region.name}",
                        make_towers, world().seed, region, year)
    return markers, job


S2_SECONDS_PER_KM2_MEMBER = 240.0 / (900 * 4)  # measured in the app: 4-member S2 over 30 x 30 km, 2 cores


def estimate_seconds(product: str, region: Region, source: str, params: dict | None) -> float:
    """About how long S1/S2 take for this box and ensemble: from this server's own past runs in the
    catalogue (seconds per km2 per member), or the rate measured on 2 cores before any run."""
    import json

    from unique_core.products import DIFFUSION_DEFAULTS

    p = {**DIFFUSION_DEFAULTS, **(params or {})}
    area = region.size_km[0] * region.size_km[1]
    rates = []
    for e in service(source).list():
        if e["product"] in DIFFUSION_PRODUCTS and e.get("compute_seconds"):
            ep = json.loads(e["params"]) if isinstance(e.get("params"), str) else (e.get("params") or {})
            b0, b1, nr, nc = (int(v) for v in e["region_key"][1:].replace("x", "_").split("_"))
            km2 = nr * nc * 1.5 * 1.5
            rates.append(e["compute_seconds"] / (km2 * max(1, int(ep.get("members", 4)))))
    rate = float(np.median(rates)) if rates else S2_SECONDS_PER_KM2_MEMBER
    return rate * area * int(p.get("members", 4)) * (int(p.get("steps", 10)) / 10)


def catalogued(date: dt.date, region: Region, source: str) -> set[str]:
    """The products with a whole file in the catalogue for this day and region (any settings).

    A look-up in the catalogue only: no model is loaded (S1/S2's first load imports torch, seconds),
    so a page asks `status` only about what this finds.
    """
    return {e["product"] for e in service(source).list()
            if e["region_key"] == region.key and e["date"] == date.isoformat() and e["valid"]}


def cached_dates(product: str, region: Region, source: str) -> list[dt.date]:
    """The days this product is already made for the region (from the catalogue), in order."""
    return sorted({dt.date.fromisoformat(e["date"]) for e in service(source).list()
                   if e["product"] == product and e["region_key"] == region.key and e["date"] and e["valid"]})


@st.cache_data(max_entries=16, show_spinner=False)
def hillshade(region: Region, source: str = "simulated"):
    """The region's hillshade (0-1) from its DEM product (so it costs no terrain run of its own)."""
    from unique_core.raster import dataarray
    from unique_core.sources.physics import hillshade as shade

    dem = product("dem", None, region, source)
    elev = np.nan_to_num(np.asarray(dem.values, dtype=np.float64), nan=0.0)
    return dataarray(shade(np.pad(elev, 1, mode="edge"), region.fine.res), region.fine, name="hillshade", units="1",
                     long_name="hillshade, light from the north-west at 45 degrees")


# Map overlays are cached as encoded images: a date switch then only looks up a string.
@st.cache_data(max_entries=32, show_spinner=False)
def product_overlay(name: str, date: dt.date, region: Region, source: str, params: dict | None = None):
    """The product's map overlay (its mean where it has members): viz.maps.Overlay."""
    from unique_core.viz import maps

    da = product(name, date, region, source, params)
    return maps.product_overlay(mean_layer(da), name)


@st.cache_data(max_entries=16, show_spinner=False)
def spread_overlay(name: str, date: dt.date, region: Region, source: str, params: dict | None = None):
    """The ensemble spread (std band, gC m-2 d-1) of S1/S2 as a map overlay."""
    from unique_core.viz import maps

    return maps.spread_overlay(product(name, date, region, source, params).sel(band="std"))


@st.cache_data(max_entries=16, show_spinner=False)
def hillshade_overlay(region: Region, source: str = "simulated"):
    from unique_core.viz import maps

    return maps.hillshade_overlay(hillshade(region, source))


@st.cache_resource(show_spinner=False)
def land_overlay():
    """South Korea's land at 500 m for the country map (the same for every session, from the shipped mask)."""
    from unique_core.raster import dataarray
    from unique_core.viz import maps
    from unique_core.viz.basemap import shipped_land_mask

    mask, grid = shipped_land_mask()
    return maps.land_overlay(dataarray(mask.astype("float32"), grid, name="land", units="1",
                                       long_name="South Korean land share"))


@st.cache_data(max_entries=16, show_spinner=False)
def landcover_overlay(region: Region, source: str):
    from unique_core.viz import maps

    return maps.landcover_overlay(product("landcover", None, region, source))


@st.cache_data(max_entries=16, show_spinner=False)
def layer_png(layer: str, region: Region, date: dt.date | None) -> bytes:
    """A rendered PNG of a simulated-world layer (see unique_core.world.layers)."""
    from unique_core.viz.render import render_png
    from unique_core.viz.style import LANDCOVER_CATEGORIES
    from unique_core.world.layers import LAYERS, make_layer

    da = make_layer(world(), layer, region, date if LAYERS[layer].dynamic else None)
    return render_png(da, None, title=f"{LAYERS[layer].title}: {region.title or region.name}",
                      categories=LANDCOVER_CATEGORIES if layer == "landcover" else None)


COMPARE_PRODUCTS = ("gpp_m", "s1", "s2", "gpp_l", "gpp_true")


@st.cache_data(max_entries=8, show_spinner=False)
def comparison(date: dt.date, region: Region, source: str, params: dict, products: tuple[str, ...]) -> dict:
    """Maps, differences, spreads and metrics of the products (all already made)."""
    from unique_core.analysis import comparison as compare

    cmp = compare(service(source), date, region, params, available=products)
    maps = cmp["maps"]
    diffs = {}
    for a, b in (("S2", "GPP_L"), ("S2", "Truth (simulated)"), ("S1", "Truth (simulated)"), ("GPP_M (500 m)", "Truth (simulated)")):
        if a in maps and b in maps:
            diffs[f"{a} - {b.split(' ')[0]}"] = maps[a] - maps[b]
    cmp["differences"] = diffs
    return cmp


def _where(source: str) -> str:
    """What a worker is told the source is: "simulated", or the data folder itself (a worker may
    have started before UNIQUE_DATA_DIR was set)."""
    from unique_core.config import data_dir

    return source if source == "simulated" else str(data_dir())


def series_key(product_name: str, region: Region, start: dt.date, end: dt.date, source: str) -> str:
    return f"series-{product_name}-{region.key}-{start}-{end}-{_where(source)}"


def series(product_name: str, region: Region, start: dt.date, end: dt.date, source: str):
    """(the region's mean GPP by plant type, or None while a worker makes it; the job making it).

    A series is a year of daily maps the first time (GPP_M at 500 m, a minute per year on 2
    cores): it is made in the server's worker pool like any product, never in a page run, and
    kept as CSV in the cache. A series whose job failed in this session is not started again
    by itself (the page offers a retry).
    """
    from unique_core.ui import progress
    from unique_core.ui.jobs import make_series, series_file

    where = _where(source)
    path = series_file(product_name, region, start, end, where)
    if path.exists():
        return _read_series(str(path), path.stat().st_mtime), None
    key = series_key(product_name, region, start, end, source)
    if progress.failed(key):
        return None, None
    job = jobs().submit(key, f"{title(product_name)} by plant type, {region.title or region.name}, {start} to {end}",
                        make_series, where, product_name, region, start, end)
    return None, job


def series_of(products: list[str], region: Region, start: dt.date, end: dt.date, source: str):
    """`series` for each product: ({product: series made}, jobs still making some, products whose job failed)."""
    made, running, failed = {}, [], []
    for p in products:
        df, job = series(p, region, start, end, source)
        if df is not None:
            made[p] = df
        elif job is not None:
            running.append(job)
        else:
            failed.append(p)
    return made, running, failed


def retry_series(products: list[str], region: Region, start: dt.date, end: dt.date, source: str) -> None:
    """The retry button's callback: these series may be started again."""
    from unique_core.ui import progress

    for p in products:
        progress.retry(series_key(p, region, start, end, source))


@st.cache_data(max_entries=16, show_spinner=False)
def _read_series(path: str, mtime: float):
    import pandas as pd

    df = pd.read_csv(path)
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


@st.cache_data(max_entries=8, show_spinner=False)
def totals(df, product_name: str, region: Region, source: str):
    """Seasonal and annual totals of a series (analysis.totals), weighted by the region's plant-type areas."""
    from unique_core import analysis

    weights = analysis.pft_weights(service(source).world.static_coarse(region).fractions)
    return analysis.totals(df, analysis.pft_areas_km2(weights, 500.0), name=title(product_name))


def series_csv(df) -> str:
    """A series as CSV with sensible precision: GPP to 0.001 gC m-2 d-1 (float32 carries noise beyond)."""
    return df.round(3).to_csv(index=False)


@st.cache_data(show_spinner=False)
def step1(sensor: str) -> dict:
    from unique_core.modelcards import step1 as s

    return s(sensor)


@st.cache_data(show_spinner=False)
def step2() -> dict:
    from unique_core.modelcards import step2 as s

    return s()


def evaluation_table(report: dict):
    from unique_core.modelcards import evaluation_table as t

    return t(report)


def data_explainer(simulated: bool) -> str:
    from unique_core.docs_text import DATA_SIMULATED, DATA_REAL

    return DATA_SIMULATED if simulated else DATA_REAL


def catalogue(source: str):
    import pandas as pd

    rows = [{"key": e["key"], "product": e["product"], "date": e["date"] or "static",
             "region": e["region_name"] or e["region_key"], "model": e["model"] or "-",
             "made": e["created"], "seconds": e["compute_seconds"], "MB": round(e["bytes"] / 1e6, 2),
             "valid": e["valid"]} for e in service(source).list()]
    return pd.DataFrame(rows, columns=["key", "product", "date", "region", "model", "made", "seconds", "MB", "valid"])


def catalogue_label(entries, key: str) -> str:
    row = entries[entries["key"] == key].iloc[0]
    return f"{row['product']}  {row['date']}  {row['region']}"


def export_bytes(key: str, fmt: str, source: str) -> tuple[str, bytes, str]:
    """Export a catalogued product to a temporary folder; returns (file name, bytes, STAC JSON)."""
    import tempfile
    from pathlib import Path

    from unique_core.grid import FRAME, Region
    from unique_core.io.export import export_product
    from unique_core.io.geotiff import read_geotiff

    svc = service(source)
    entry = svc.catalog.get(key)
    if entry is None:
        raise UniqueError("that product is no longer in the catalogue")
    da = read_geotiff(entry["path"])
    da.name = entry["product"]
    b0, b1, nr, nc = (int(v) for v in entry["region_key"][1:].replace("x", "_").split("_"))
    region = FRAME if entry["region_key"] == FRAME.key else Region(entry["region_name"] or "region", b0, b1, nr, nc)
    date = dt.date.fromisoformat(entry["date"]) if entry["date"] else None
    with tempfile.TemporaryDirectory() as tmp:
        f, item = export_product(da, tmp, product=entry["product"], date=date, region_name=region.name or "region",
                                 bounds=region.bounds, fmt=fmt, simulated=source == "simulated")
        return f.name, Path(f).read_bytes(), Path(item).read_text()


# ----------------------------------------------------------------------------- region-year cubes
# The Map page offers the annual and seasonal maps of a region-year cube (unique_core.cube, made
# by `unique products cube`) as product choices "cube:<product>:<variable>:<period>:<year>", and
# plays the cube's days. Whole seasons only: the winter parts (JF, D) are not seasons.
CUBE_PERIODS = {"year": "annual", "MAM": "MAM", "JJA": "JJA", "SON": "SON"}
CUBE_VARIABLES = {"gpp": "30 m", "gpp_m": "500 m"}


def is_cube_choice(choice: str) -> bool:
    return choice.startswith("cube:")


def cube_choice(product: str, variable: str, period: str, year: int) -> str:
    return f"cube:{product}:{variable}:{period}:{year}"


def parse_cube_choice(choice: str) -> tuple[str, str, str, int]:
    """(cube product, variable, period, year) of a cube choice."""
    _, product, variable, period, year = choice.split(":")
    return product, variable, period, int(year)


def cube_title(choice: str) -> str:
    """E.g. "S2 annual 2023 (30 m, region-year cube), gC m-2 yr-1"."""
    product, variable, period, year = parse_cube_choice(choice)
    label = "GPP_M" if variable == "gpp_m" else product.upper()
    source = "region-year cube" if variable != "gpp_m" or product == "gpp_m" else f"from the {product.upper()} cube"
    per = "gC m⁻² yr⁻¹" if period == "year" else f"gC m⁻² per {period}"
    return f"{label} {CUBE_PERIODS[period]} {year} ({CUBE_VARIABLES[variable]}, {source}), {per}"


def _cube_folder(product: str, region: Region, source: str):
    # unique_core.cube.cube_cache_path's folder: the stores of one product and region, one per year and settings
    return service(source).root / "cubes" / product / region.key


def cubes_of(region: Region, year: int, source: str) -> dict:
    """{product: store path} of the complete cubes of this region and year (newest first wins).

    Found by their folder, so no model is loaded to compute a key: a page run stays light.
    """
    from unique_core.cube import CUBE_PRODUCTS, is_complete

    out = {}
    for product in CUBE_PRODUCTS:
        stores = sorted(_cube_folder(product, region, source).glob(f"{int(year)}_*.zarr"),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        done = [p for p in stores if is_complete(p)]
        if done:
            out[product] = done[0]
    return out


def cube_choices(region: Region, year: int, source: str) -> list[str]:
    """The period maps the region's cubes of `year` offer (S2 first; GPP_M of each cube too)."""
    out = []
    for product, store in cubes_of(region, year, source).items():
        variables = ("gpp_m",) if product == "gpp_m" else ("gpp", "gpp_m")
        out += [cube_choice(product, v, p, year) for v in variables for p in CUBE_PERIODS]
    return out


def cube_hint(region: Region, year: int) -> str:
    """The command that makes the region-year cube the annual and seasonal maps come from."""
    from unique_core.grid import lonlat_box, named_regions

    if region.name in named_regions():
        where = f"--region {region.name}"
    else:
        where = "--bbox " + " ".join(f"{v:.4f}" for v in lonlat_box(region))
    return f"unique products cube --product s2 --year {year} {where}"


@st.cache_data(max_entries=16, show_spinner=False)
def cube_meta(store: str) -> dict:
    """What a complete cube holds: its days, variables and settings in words (a complete cube never changes)."""
    import pandas as pd

    from unique_core.cube import open_cube

    ds = open_cube(store)
    a = ds.attrs
    settings = ("GPP_M, every day" if a.get("product") == "gpp_m" else
                f"{str(a.get('product', '')).upper()}, {a.get('members', '?')} member(s), {a.get('steps', '?')} DDIM steps")
    return {"days": list(pd.DatetimeIndex(ds["time"].values).date), "variables": list(ds.data_vars),
            "settings": settings}


def cube_settings(store) -> str:
    """How a cube was made, in words (members, steps), from its own metadata."""
    return cube_meta(str(store))["settings"]


def cube_days(store) -> list[dt.date]:
    return cube_meta(str(store))["days"]


def cube_maps_dir(store):
    """Where a cube's period maps are (cube.cube_maps' default folder, beside the store)."""
    from pathlib import Path

    return Path(store).with_name(f"{Path(store).stem}_maps")


def cube_maps_ready(store) -> bool:
    from unique_core.cube import PERIODS

    variables = [v for v in CUBE_VARIABLES if v in cube_meta(str(store))["variables"]]
    return all((cube_maps_dir(store) / f"{v}_{p}.tif").exists() for v in variables for p in PERIODS)


def start_cube_maps(store):
    """The job summing a cube's days into its annual and seasonal maps (COGs beside the store)."""
    from unique_core.ui.background import make_cube_maps

    return jobs().submit(f"cube-maps-{store.parent.name}-{store.name}", "annual and seasonal maps of the cube",
                         make_cube_maps, str(store))


@st.cache_data(max_entries=16, show_spinner=False)
def cube_period_map(store: str, variable: str, period: str, mtime: float):
    """A cube's period map (gC m-2 over the period) from its COG; `mtime` keys the cache to the file."""
    from unique_core.io.geotiff import read_geotiff

    da = read_geotiff(cube_maps_dir(store) / f"{variable}_{period}.tif")
    da.name = f"{variable}_{period}"
    da.attrs["units"] = "gC m-2"
    return da


@st.cache_data(max_entries=32, show_spinner=False)
def cube_day(store: str, variable: str, date: dt.date):
    """One day of a cube (gC m-2 d-1) as a DataArray on its grid, or None when the cube lacks the day."""
    import pandas as pd

    from unique_core.cube import open_cube, region_of
    from unique_core.raster import dataarray

    ds = open_cube(store)
    days = pd.DatetimeIndex(ds["time"].values).date
    if date not in set(days):
        return None
    k = list(days).index(date)
    region = region_of(ds)
    grid = region.coarse if variable == "gpp_m" else region.fine
    return dataarray(np.asarray(ds[variable][k].values, dtype=np.float32), grid, name=variable,
                     units="gC m-2 d-1", long_name=f"{ds[variable].attrs.get('long_name', variable)}, {date}")


PERIOD_TOP_QUANTILE = 99.5  # a period map's colour scale ends here (rounded up): sums differ by period


@st.cache_data(max_entries=16, show_spinner=False)
def cube_period_overlay(store: str, variable: str, period: str, mtime: float):
    """(overlay, top of its colour scale in gC m-2) of a cube's period map."""
    import math

    from unique_core.viz import maps

    da = cube_period_map(store, variable, period, mtime)
    values = np.asarray(da.values, dtype=np.float64)
    top = float(np.nanpercentile(values, PERIOD_TOP_QUANTILE)) if np.isfinite(values).any() else 1.0
    top = max(10.0, math.ceil(top / 100.0) * 100.0)
    return maps.styled_overlay(da, maps.period_style(top, period)), top


@st.cache_data(max_entries=32, show_spinner=False)
def cube_day_overlay(store: str, variable: str, date: dt.date):
    """A cube's day as a map overlay in the GPP style (None when the cube lacks the day)."""
    from unique_core.viz import maps
    from unique_core.viz.style import style_for

    da = cube_day(store, variable, date)
    return None if da is None else maps.styled_overlay(da, style_for("gpp"))
