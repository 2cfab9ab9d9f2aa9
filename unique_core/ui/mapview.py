"""The Map page's pieces: what to make in the background, and the folium maps to draw.

The page shows a map at every moment: the country (land, coast, rivers, cities, named regions,
and its relief once made) while the region's static layers are being made; then the region's
hillshade and land cover, with the product on top as soon as a worker has made it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import streamlit as st

from unique_core.grid import named_regions
from unique_core.products import SPECS
from unique_core.ui import cached, progress
from unique_core.ui.state import Selection

HEAVY = ("s1", "s2")  # made only when asked for, after a time estimate
GPP_PRODUCTS = ("gpp_m", "gpp_l", "s1", "s2", "gpp_true")


@dataclass
class Plan:
    """What the page can draw now and what is being made."""

    statics: bool  # the region's DEM and land cover are made
    status: str  # the product's: cached | missing | unavailable
    message: str
    jobs: list = field(default_factory=list)
    ask: float | None = None  # seconds a heavy product would take, when it waits for the user


def plan(name: str, sel: Selection, params: dict | None = None) -> Plan:
    """Start what is missing (the region's static layers, a light product) and say what is ready."""
    statics = cached.statics_ready(sel.region, sel.source)
    jobs = [] if statics else cached.start_statics(sel.region, sel.source)
    status, message = cached.status(name, sel.date, sel.region, sel.source, params)
    p = Plan(statics, status, message, jobs)
    if status != "missing":
        return p
    key = cached.job_key(name, sel.date, sel.region, sel.source, params)
    job = cached.job_of(name, sel.date, sel.region, sel.source, params)
    if job is None and (name in HEAVY or progress.failed(key)):
        p.ask = cached.estimate_seconds(name, sel.region, sel.source, params) if name in HEAVY else None
        return p
    p.jobs.append(job or cached.start(name, sel.date, sel.region, sel.source, params))
    return p


def start_now(name: str, sel: Selection, params: dict | None = None) -> None:
    """The user asked for the product: start it (a button's callback)."""
    progress.retry(cached.job_key(name, sel.date, sel.region, sel.source, params))
    cached.start(name, sel.date, sel.region, sel.source, params)


def country(sel: Selection):
    """The country map (a click on it picks a box), and the job making its relief if not yet made."""
    from unique_core.viz.maps import country_map

    job = cached.start_relief() if sel.simulated else None
    return country_map(cached.land_overlay(), named_regions(), sel.region, relief=cached.relief_overlay(),
                       coast=cached.coast()), job


def towers(sel: Selection, show: bool) -> tuple[list[dict] | None, object | None, str | None]:
    """(markers, job making their charts, a note when the region has none)."""
    if not show:
        return None, None, None
    if not sel.simulated:
        return None, None, "Flux towers: the simulated network only (a real-data folder brings its own sites)."
    markers, job = cached.towers_in(sel.region, sel.date.year)
    if not markers:
        from unique_core.viz.towers import all_towers

        names = ", ".join(f"{code} ({name})" for code, name, *_ in all_towers())
        return None, None, (f"No flux tower in {sel.region.title or 'this box'}. The Korean towers are {names}: "
                            "choose Gwangneung or Haenam, or pick a box around one on the country map.")
    return markers, job, None


def compare_options(name: str, sel: Selection) -> list[str]:
    """GPP products already made for this day and region, other than `name` (for the swipe)."""
    return [p for p in GPP_PRODUCTS if p != name and (sel.simulated or p != "gpp_true")
            and cached.status(p, sel.date, sel.region, sel.source)[0] == "cached"]


def region_map(name: str, sel: Selection, *, ready: bool, landcover: bool, tower_markers, swipe_with: str | None,
               spread: bool, opacity: float, params: dict | None = None):
    """(folium map, feature groups to swap in, component key) for the region."""
    from unique_core.viz import maps

    hs = cached.hillshade_overlay(sel.region, sel.source)
    lc = cached.landcover_overlay(sel.region, sel.source) if landcover else None
    has_spread = ready and spread and name in HEAVY and "band" in cached.product(
        name, sel.date, sel.region, sel.source, params).dims
    base = dict(hillshade=hs, landcover=lc, towers=tower_markers, land=cached.land_overlay(), coast=cached.coast(),
                regions=named_regions(), current=sel.region)
    title = cached.title(name)
    key = f"map-{name}-{sel.region.key}-{landcover}-{tower_markers is not None}-{has_spread}-{ready}"
    if ready and swipe_with:
        left = cached.product_overlay(name, sel.date, sel.region, sel.source, params)
        right = cached.product_overlay(swipe_with, sel.date, sel.region, sel.source)
        fmap = maps.swipe_map(left, right, left_title=title, right_title=cached.title(swipe_with), name=name, **base)
        return fmap, [], f"swipe-{key}-{swipe_with}-{sel.date}"
    fmap = maps.base_map(hs.bounds, name=name if ready else "hillshade", title=title if ready else
                         "Relief (hillshade): the product appears when made", spread_title=(
                             f"{maps.SPREAD_LAYER}, {title.split(' ')[0]}" if has_spread else None), **base)
    groups = []
    if ready:
        groups.append(maps.product_layer(cached.product_overlay(name, sel.date, sel.region, sel.source, params),
                                         title=title, opacity=opacity))
        if has_spread:
            groups.append(maps.spread_layer(cached.spread_overlay(name, sel.date, sel.region, sel.source, params)))
    return fmap, groups, key


def value_text(name: str, sel: Selection, click: dict, params: dict | None = None) -> tuple[str, str]:
    from unique_core.products import mean_layer
    from unique_core.viz.maps import value_at

    layer = mean_layer(cached.product(name, sel.date, sel.region, sel.source, params))
    value = value_at(layer, click["lat"], click["lng"])
    return (f"Value at {click['lat']:.4f} N, {click['lng']:.4f} E on {sel.date}",
            "outside the map" if value is None else f"{value:.2f} {layer.attrs.get('units', '')}")


def day_steps(name: str, sel: Selection) -> list[dt.date]:
    """The days this product is made for the region (the date slider steps through them)."""
    return cached.cached_dates(name, sel.region, sel.source) if SPECS[name].dynamic else []


def go_to_day() -> None:
    """The date slider's callback: the chosen cached day becomes the sidebar's date."""
    st.session_state["date"] = st.session_state["map_day"]
