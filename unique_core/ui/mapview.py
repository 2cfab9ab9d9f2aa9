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
from unique_core.products import DIFFUSION_PRODUCTS, SPECS
from unique_core.ui import cached, progress
from unique_core.ui.state import Selection

HEAVY = tuple(DIFFUSION_PRODUCTS)  # the diffusion products: made only when asked for, after a time estimate
GPP_PRODUCTS = ("gpp_m", "gpp_l", "s1", "s2", "s3", "s3_past", "gpp_true")


@dataclass
class Plan:
    """What the page can draw now and what is being made."""

    statics: bool  # the region's DEM and land cover are made
    status: str  # the product's: cached | missing | unavailable
    message: str
    jobs: list = field(default_factory=list)
    ask: float | None = None  # seconds a heavy product would take, when it waits for the user


def statics(sel: Selection) -> tuple[bool, list]:
    """(whether the region's DEM and land cover are made, the job making them): catalogue look-ups only,
    so the page can decide between the country and the region map before anything slow."""
    ready = cached.statics_ready(sel.region, sel.source)
    return ready, [] if ready else cached.start_statics(sel.region, sel.source)


def plan(name: str, sel: Selection, statics: tuple[bool, list], params: dict | None = None) -> Plan:
    """Start the product if it is light and missing (`statics`: what `statics(sel)` said) and say what is ready."""
    ready, jobs = statics
    if cached.is_cube_choice(name):
        return _cube_plan(name, sel, Plan(ready, "missing", "", list(jobs)))
    status, message = cached.status(name, sel.date, sel.region, sel.source, params)
    p = Plan(ready, status, message, list(jobs))
    if status != "missing":
        return p
    store = day_cube(name, sel)
    if store is not None:  # the region-year cube holds the day: shown from it, nothing to make
        p.status, p.message = "cube", f"From the region-year cube ({cached.cube_settings(store)})"
        return p
    key = cached.job_key(name, sel.date, sel.region, sel.source, params)
    job = cached.job_of(name, sel.date, sel.region, sel.source, params)
    if job is None and (name in HEAVY or progress.failed(key)):
        p.ask = cached.estimate_seconds(name, sel.region, sel.source, params) if name in HEAVY else None
        return p
    p.jobs.append(job or cached.start(name, sel.date, sel.region, sel.source, params))
    return p


def _cube_plan(name: str, sel: Selection, p: Plan) -> Plan:
    """A cube's period map: drawn when its COGs are made, else a worker sums the cube's days."""
    product, _, _, year = cached.parse_cube_choice(name)
    store = cached.cubes_of(sel.region, year, sel.source).get(product)
    if store is None:
        p.status = "unavailable"
        p.message = f"That cube is no longer in the cache: make it again with `{cached.cube_hint(sel.region, year)}`."
    elif cached.cube_maps_ready(store):
        p.status, p.message = "cached", f"Summed from the daily values of the region-year cube ({cached.cube_settings(store)})"
    else:
        p.jobs.append(cached.start_cube_maps(store))
    return p


def product_options(sel: Selection) -> list[str]:
    """The Map's product choices: the daily products, then the period maps of the region's cubes of the year."""
    return list(cached.MAP_PRODUCTS) + cached.cube_choices(sel.region, sel.date.year, sel.source)


def _cubes_holding(name: str) -> tuple[str, ...]:
    """The cube products whose stores hold daily product `name` (every S1/S2 cube keeps its GPP_M)."""
    return (name,) if name in ("s1", "s2") else ("gpp_m", "s2", "s1") if name == "gpp_m" else ()


def _cube_variable(name: str) -> str:
    """The cube variable holding daily product `name`."""
    return "gpp_m" if name == "gpp_m" else "gpp"


def _period_map(name: str, sel: Selection) -> tuple[str, str, str, int, float]:
    """(store, variable, period, year, its COG's mtime) of a cube choice whose maps are made."""
    product, variable, period, year = cached.parse_cube_choice(name)
    store = cached.cubes_of(sel.region, year, sel.source)[product]
    return str(store), variable, period, year, (cached.cube_maps_dir(store) / f"{variable}_{period}.tif").stat().st_mtime


def day_cube(name: str, sel: Selection):
    """The store of a region-year cube that holds product `name` on the selected day, or None.

    S1/S2 from their own cube; GPP_M from a GPP_M cube or from the GPP_M every S1/S2 cube keeps.
    """
    cubes = cached.cubes_of(sel.region, sel.date.year, sel.source)
    for product in _cubes_holding(name):
        store = cubes.get(product)
        if store is not None and sel.date in cached.cube_days(store):
            return store
    return None


def plan_messages(name: str, sel: Selection, p: Plan) -> bool:
    """What the plan says above the map (why not, the estimate and the button, or where it comes
    from) and progress errors; returns whether the product is ready to draw."""
    progress.errors()
    if p.status == "unavailable":
        st.warning(p.message)
    elif p.ask is not None:
        w, h = sel.region.size_km
        st.info(f"{cached.title(name)} for this {w:.0f} x {h:.0f} km box takes about "
                f"{p.ask / 60:.1f} min on this server (4 members, 10 steps); smaller boxes are faster.")
        st.button(f"Make {cached.title(name)} in the background", type="primary", key="map_run",
                  on_click=start_now, args=(name, sel))
    elif p.status in ("cached", "cube"):
        st.caption(f":material/check_circle: {p.message}")
    return p.status in ("cached", "cube")


def day_controls(name: str, sel: Selection, ready: bool) -> None:
    """The slider over the days with a map (made, or in a region-year cube), and its Play toggle."""
    days = day_steps(name, sel) if ready else []
    follow_date(days, sel)
    if len(days) > 1:
        d1, d2 = st.columns([6, 1])
        d1.select_slider("Days with a map (step through them)", options=days, key="map_day",
                         on_change=go_to_day, format_func=lambda d: d.isoformat())
        if d2.toggle("Play", key="map_play", help=f"Step through these days, one every {PLAY_S:g} s"):
            play(days)


def country_panel(sel: Selection, statics: tuple[bool, list]):
    """The country map (a click picks a box) with the box-size slider beside it; returns the job
    making the country's relief, if one was started."""
    from streamlit_folium import st_folium

    from unique_core.ui import state

    p1, p2 = st.columns([3, 1])
    sizes, size = state.box_size_choice()  # the sizes this server allows (UNIQUE_MAX_BOX_KM)
    p2.select_slider("Box size (km)", options=sizes, value=size, key="pick_size_km",
                     help=f"Smaller boxes make S1/S2 faster; {max(sizes):g} km is the largest this server makes")
    in_use = "a custom box" if sel.region.name == state.CUSTOM else sel.region.title or sel.region.name
    p2.caption(f"In use (red): **{in_use}**, {sel.region.size_km[0]:.1f} x {sel.region.size_km[1]:.1f} km. "
               "Green: the named regions. Click to pick another box.")
    if state.PICK_ERROR in st.session_state:
        p2.warning(st.session_state[state.PICK_ERROR])
    fmap, layers, relief_job = country(sel, busy=bool(statics[1]) or bool(cached.jobs().running()))
    with p1:  # the changing layers are swapped into the map in the browser: the map itself stays
        st_folium(fmap, feature_group_to_add=layers, height=460, use_container_width=True,
                  returned_objects=["last_clicked"], key=state.PICK_KEY, on_change=state.pick_from_click)
    return relief_job


def start_now(name: str, sel: Selection, params: dict | None = None) -> None:
    """The user asked for the product: start it (a button's callback)."""
    progress.retry(cached.job_key(name, sel.date, sel.region, sel.source, params))
    cached.start(name, sel.date, sel.region, sel.source, params)


def country(sel: Selection, *, busy: bool):
    """(country map, its changing layers, the job making its relief if not yet made); a click on it picks a box.

    The relief (half a minute of terrain over the whole frame) is only a backdrop: it waits while
    the page has anything else being made (`busy`), so it never slows the region's first map.
    """
    from unique_core.viz.maps import country_layers, country_map

    job = cached.start_relief() if sel.simulated and not busy else None
    return (country_map(cached.land_overlay(), named_regions(), coast=cached.coast()),
            country_layers(sel.region, cached.relief_overlay()), job)


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
    if cached.is_cube_choice(name):
        return []
    made = cached.catalogued(sel.date, sel.region, sel.source)  # then `status` (models) only for those
    return [p for p in GPP_PRODUCTS if p != name and p in made and (sel.simulated or p != "gpp_true")
            and cached.status(p, sel.date, sel.region, sel.source)[0] == "cached"]


def main_overlay(name: str, sel: Selection, status: str, params: dict | None = None):
    """(overlay, colour scale or None for the product's own) of what the map shows: the product of
    the day, the day from a region-year cube (status "cube"), or a cube's period map."""
    from unique_core.viz import maps

    if cached.is_cube_choice(name):
        store, variable, period, _, mtime = _period_map(name, sel)
        overlay, top = cached.cube_period_overlay(store, variable, period, mtime)
        return overlay, maps.period_style(top, period)
    if status == "cube":
        store = day_cube(name, sel)
        return cached.cube_day_overlay(str(store), _cube_variable(name), sel.date), None
    return cached.product_overlay(name, sel.date, sel.region, sel.source, params), None


def region_map(name: str, sel: Selection, *, status: str, landcover: bool, tower_markers, swipe_with: str | None,
               spread: bool, opacity: float, params: dict | None = None):
    """(folium map, feature groups to swap in, component key) for the region; `status` is the plan's."""
    from unique_core.viz import maps

    ready = status in ("cached", "cube")
    hs = cached.hillshade_overlay(sel.region, sel.source)
    lc = cached.landcover_overlay(sel.region, sel.source) if landcover else None
    has_spread = status == "cached" and spread and name in HEAVY and "band" in cached.product(
        name, sel.date, sel.region, sel.source, params).dims
    base = dict(hillshade=hs, landcover=lc, towers=tower_markers, land=cached.land_overlay(), coast=cached.coast(),
                regions=named_regions(), current=sel.region)
    title = cached.title(name)
    overlay, style = main_overlay(name, sel, status, params) if ready else (None, None)
    # a period map's colour bar differs from the daily one: a map of its own (a day switch keeps the map)
    scale = "period" if style is not None else "day"
    key = f"map-{name}-{sel.region.key}-{landcover}-{tower_markers is not None}-{has_spread}-{ready}-{scale}"
    if ready and swipe_with:
        right = cached.product_overlay(swipe_with, sel.date, sel.region, sel.source)
        fmap = maps.swipe_map(overlay, right, left_title=title, right_title=cached.title(swipe_with), name=name,
                              **base)
        return fmap, [], f"swipe-{key}-{swipe_with}-{sel.date}"
    fmap = maps.base_map(hs.bounds, name=name if ready else "hillshade", title=title if ready else
                         "Relief (hillshade): the product appears when made", spread_title=(
                             f"{maps.SPREAD_LAYER}, {title.split(' ')[0]}" if has_spread else None), style=style,
                         **base)
    groups = []
    if ready:
        groups.append(maps.product_layer(overlay, title=title, opacity=opacity))
        if has_spread:
            groups.append(maps.spread_layer(cached.spread_overlay(name, sel.date, sel.region, sel.source, params)))
    return fmap, groups, key


def value_text(name: str, sel: Selection, click: dict, status: str, params: dict | None = None) -> tuple[str, str]:
    """(label, value with units) under a click on the region map."""
    from unique_core.products import mean_layer
    from unique_core.viz.maps import value_at

    if cached.is_cube_choice(name):
        store, variable, period, year, mtime = _period_map(name, sel)
        layer, when = cached.cube_period_map(store, variable, period, mtime), f"{cached.CUBE_PERIODS[period]} {year}"
    elif status == "cube":
        layer, when = cached.cube_day(str(day_cube(name, sel)), _cube_variable(name), sel.date), str(sel.date)
    else:
        layer, when = mean_layer(cached.product(name, sel.date, sel.region, sel.source, params)), str(sel.date)
    value = value_at(layer, click["lat"], click["lng"])
    return (f"Value at {click['lat']:.4f} N, {click['lng']:.4f} E, {when}",
            "outside the map" if value is None else f"{value:.2f} {layer.attrs.get('units', '')}")


def day_steps(name: str, sel: Selection) -> list[dt.date]:
    """The days the date slider steps through: those made for the region, and every day of a
    region-year cube that holds this product."""
    if cached.is_cube_choice(name) or not SPECS[name].dynamic:
        return []
    days = set(cached.cached_dates(name, sel.region, sel.source))
    cubes = cached.cubes_of(sel.region, sel.date.year, sel.source)
    for product in _cubes_holding(name):
        if product in cubes:
            days.update(cached.cube_days(cubes[product]))
    return sorted(days)


def follow_date(days: list[dt.date], sel: Selection) -> None:
    """Put the day slider (its state, before it is drawn) on the sidebar's date, or keep a day of
    `days`; forget it when there are no days (another product or region)."""
    ss = st.session_state
    if not days:
        ss.pop("map_day", None)
    elif sel.date in days:
        ss["map_day"] = sel.date
    elif ss.get("map_day") not in days:
        ss["map_day"] = days[0]


def go_to_day() -> None:
    """The date slider's callback: the chosen cached day becomes the sidebar's date."""
    st.session_state["date"] = st.session_state["map_day"]


PLAY_S = 1.5  # seconds between two days while the day slider plays


def play(days: list[dt.date]) -> None:
    """Step the sidebar's date through `days`, one every PLAY_S, from the one shown (wrapping round).

    A fragment that reruns by itself: each step sets the date and reruns the
    page, which swaps the product's picture in the map that stays in the browser. The fragment's
    first call is inline in the page's run, where the date widget already exists: it only arms.
    """
    st.session_state["_play_inline"] = True

    @st.fragment(run_every=PLAY_S)
    def step() -> None:
        if st.session_state.pop("_play_inline", False) or not st.session_state.get("map_play"):
            return
        today = st.session_state.get("date")
        later = [d for d in days if today is None or d > today]
        nxt = later[0] if later else days[0]
        st.session_state["date"] = nxt  # the page sets the slider to it
        st.rerun(scope="app")

    step()
