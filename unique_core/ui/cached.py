"""Cached calls into the core for the pages: services as resources, products as data.

Pages call these and never touch models, files or arrays directly.
"""

from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
import streamlit as st

from unique_core.errors import UniqueError
from unique_core.grid import Region
from unique_core.products import SPECS, ProductService, mean_layer
from unique_core.world import World

MAP_PRODUCTS = ("gpp_m", "gpp_l", "s1", "s2", "gpp_true", "modis_ndvi", "landsat_ndvi", "dem", "landcover")


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


@st.cache_data(max_entries=8, show_spinner=False)
def towers_in(region: Region, year: int) -> list[dict]:
    """Korean flux towers in the region, each with a pop-up chart: tower GPP against GPP_M."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unique_core.grid import from_lonlat
    from unique_core.gpp.maps import gpp_m_series
    from unique_core.gpp.registry import load_model
    from unique_core.io.fluxnet import read_fluxnet
    from unique_core.world.network import default_folder
    from unique_core.world.sites import KOREAN_SITES

    x0, y0, x1, y1 = region.bounds
    folder = default_folder()
    out = []
    for code, name, lon, lat, _ in KOREAN_SITES:
        x, y = from_lonlat(lon, lat)
        if not (x0 <= x < x1 and y0 <= y < y1):
            continue
        html = f"<b>{code}</b> {name}<br>"
        files = sorted((folder / "fluxnet").glob(f"FLX_{code}_*.csv"))
        try:
            tower = read_fluxnet(files[0]) if files else None
            cell = Region(code, int((2_074_500 - y) // 1500), int((x - 727_500) // 1500), 1, 1)
            series, days = gpp_m_series(load_model("modis"), world(), cell, dt.date(year, 1, 1), dt.date(year, 12, 31))
            r, c = int((2_074_500 - y) // 500) - cell.coarse.row0, int((x - 727_500) // 500) - cell.coarse.col0
            fig, ax = plt.subplots(figsize=(4.4, 2.2), dpi=90)
            ax.plot(days, series[:, r, c], color="#2e7d32", lw=1.2, label="GPP_M at the tower (500 m)")
            if tower is not None:
                t = tower[(tower["qc_pass"]) & (np.array([d.year for d in tower["date"]]) == year)]
                ax.plot(t["date"], t["gpp"], ".", ms=2.5, color="#333", label="tower GPP (QC passed)")
            ax.set_ylabel("GPP (gC m⁻² d⁻¹)", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(fontsize=6, loc="upper left")
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            plt.close(fig)
            html += f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}" width="400">'
        except UniqueError as exc:
            html += f"<i>{exc}</i>"
        out.append({"lat": lat, "lon": lon, "name": f"{code} ({name})", "popup_html": html})
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def hillshade(region: Region):
    from unique_core.world.layers import make_layer

    return make_layer(world(), "hillshade", region, None)


# Map overlays are cached as encoded images: a date switch then only looks up a string.
@st.cache_data(max_entries=32, show_spinner=False)
def product_overlay(name: str, date: dt.date, region: Region, source: str, params: dict | None = None):
    """The product's map overlay (its mean where it has members): viz.maps.Overlay."""
    from unique_core.viz import maps

    da = product(name, date, region, source, params)
    return maps.product_overlay(mean_layer(da), name)


@st.cache_data(max_entries=16, show_spinner=False)
def hillshade_overlay(region: Region):
    from unique_core.viz import maps

    return maps.hillshade_overlay(hillshade(region))


@st.cache_resource(show_spinner=False)
def land_overlay():
    """South Korea's land at 500 m for the country map (the same for every session)."""
    from unique_core.raster import dataarray
    from unique_core.viz import maps
    from unique_core.world.coast import coarse_land_mask

    mask, grid = coarse_land_mask()
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


@st.cache_data(max_entries=8, show_spinner=False)
def timeseries(product_name: str, region: Region, start: dt.date, end: dt.date, source: str):
    from unique_core.analysis import timeseries as ts

    return ts(service(source), product_name, region, start, end)


@st.cache_data(max_entries=8, show_spinner=False)
def totals(product_name: str, region: Region, start: dt.date, end: dt.date, source: str):
    from unique_core import analysis

    df = timeseries(product_name, region, start, end, source)
    weights = analysis.pft_weights(service(source).world.static_coarse(region).fractions)
    return analysis.totals(df, analysis.pft_areas_km2(weights, 500.0))


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
