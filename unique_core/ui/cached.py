"""Cached calls into the core for the pages (models and worlds as resources, results as data)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from unique_core.grid import Region
from unique_core.world import World


@st.cache_resource(show_spinner=False)
def world(seed: int = 2026) -> World:
    return World(seed)


@st.cache_data(max_entries=48, show_spinner=False)
def layer_png(layer: str, region: Region, date: dt.date | None) -> bytes:
    """A rendered PNG of a simulated-world layer (see unique_core.world.layers)."""
    from unique_core.viz.render import LANDCOVER_CATEGORIES, render_png
    from unique_core.world.layers import LAYERS, make_layer

    da = make_layer(world(), layer, region, date if LAYERS[layer].dynamic else None)
    title = f"{LAYERS[layer].title}: {region.title or region.name}" + (f", {date.isoformat()}" if LAYERS[layer].dynamic else "")
    return render_png(da, None, title=title, categories=LANDCOVER_CATEGORIES if layer == "landcover" else None)
