"""Map: the chosen product over the region's relief and land cover, with the country around it.

A map is on screen at once: the country while the region's layers are made in the background,
then the region, then the product when a worker has made it (ui.mapview).
"""

import streamlit as st
from streamlit_folium import st_folium

from unique_core.ui import cached, mapview, progress, state
from unique_core.ui.errors import guarded
from unique_core.viz.maps import layer_control

sel = state.current()
st.title("Map")
state.source_banner(sel)
c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
state.url_widget("product", cached.MAP_PRODUCTS[0], state.parse_choice(cached.MAP_PRODUCTS))
options = mapview.product_options(sel)  # the daily products, then the annual and seasonal maps of a cube
if st.session_state.get("product") not in options:
    st.session_state["product"] = cached.MAP_PRODUCTS[0]  # a cube's map of another region or year
name = c1.selectbox("Product", options, format_func=cached.title, key="product")
state.url_sync("product")
if len(options) == len(cached.MAP_PRODUCTS):
    c1.caption(f"Annual and seasonal maps: `{cached.cube_hint(sel.region, sel.date.year)}` makes the region's "
               "year; they are then listed here.")
opacity = c2.slider("Opacity", 0.2, 1.0, 0.85, 0.05, key="map_opacity")
show_lc = c3.toggle("Land cover layer", value=False, key="map_landcover")
show_towers = c4.toggle("Flux towers", value=False, key="map_towers", help="Korean towers: tower vs map GPP")
spread = c5.toggle("Ensemble spread", value=False, key="map_spread", disabled=name not in mapview.HEAVY,
                   help="S1 and S2 only: the standard deviation of the ensemble members, as a layer")
# What varies from day to day goes in containers made every run: an element appearing above the
# map would shift it in the page's element tree and Streamlit would mount the map afresh. `top`
# is filled after the country map has gone to the browser: on a fresh server the product's
# status (its model's first load) then never holds the first picture back.
top = st.container()
pick = st.toggle("Pick the region on the country map", value=False, key="map_pick",
                 help="Click anywhere in South Korea: a square box around the point becomes the region")
statics = mapview.statics(sel)
country_box = st.container()
relief_job = None
if pick or not statics[0]:
    p1, p2 = country_box.columns([3, 1])
    sizes, size = state.box_size_choice()  # the sizes this server allows (UNIQUE_MAX_BOX_KM)
    p2.select_slider("Box size (km)", options=sizes, value=size, key="pick_size_km",
                     help=f"Smaller boxes make S1/S2 faster; {max(sizes):g} km is the largest this server makes")
    in_use = "a custom box" if sel.region.name == state.CUSTOM else sel.region.title or sel.region.name
    p2.caption(f"In use (red): **{in_use}**, {sel.region.size_km[0]:.1f} x {sel.region.size_km[1]:.1f} km. "
               "Green: the named regions. Click to pick another box.")
    if state.PICK_ERROR in st.session_state:
        p2.warning(st.session_state[state.PICK_ERROR])
    country, layers, relief_job = mapview.country(sel, busy=bool(statics[1]) or bool(cached.jobs().running()))
    with p1:  # the changing layers are swapped into the map in the browser: the map itself stays
        st_folium(country, feature_group_to_add=layers, height=460, use_container_width=True,
                  returned_objects=["last_clicked"], key=state.PICK_KEY, on_change=state.pick_from_click)
plan = mapview.plan(name, sel, statics)
plan.jobs.append(relief_job)
with top:
    progress.errors()
    if plan.status == "unavailable":
        st.warning(plan.message)
    elif plan.ask is not None:
        w, h = sel.region.size_km
        st.info(f"{cached.title(name)} for this {w:.0f} x {h:.0f} km box takes about "
                f"{plan.ask / 60:.1f} min on this server (4 members, 10 steps); smaller boxes are faster.")
        st.button(f"Make {cached.title(name)} in the background", type="primary", key="map_run",
                  on_click=mapview.start_now, args=(name, sel))
    elif plan.status in ("cached", "cube"):
        st.caption(f":material/check_circle: {plan.message}")
    ready = plan.status in ("cached", "cube")
    markers, tower_job, tower_note = mapview.towers(sel, show_towers)
    if tower_note:
        st.caption(tower_note)
    days = mapview.day_steps(name, sel) if ready else []
    mapview.follow_date(days, sel)
    if len(days) > 1:
        d1, d2 = st.columns([6, 1])
        d1.select_slider("Days with a map (step through them)", options=days, key="map_day",
                         on_change=mapview.go_to_day, format_func=lambda d: d.isoformat())
        if d2.toggle("Play", key="map_play", help=f"Step through these days, one every {mapview.PLAY_S:g} s"):
            mapview.play(days)
    others = mapview.compare_options(name, sel) if ready else []
    swipe = st.selectbox("Swipe against", [None] + others, key="map_swipe", format_func=lambda p: "(no swipe)"
                         if p is None else cached.title(p), help="Products already made for this day") if others else None


@st.fragment
@guarded
def draw() -> None:
    fmap, groups, key = mapview.region_map(name, sel, status=plan.status, landcover=show_lc, tower_markers=markers,
                                           swipe_with=swipe, spread=spread, opacity=opacity)
    out = st_folium(fmap, feature_group_to_add=groups or None, layer_control=layer_control(),
                    height=560, use_container_width=True, returned_objects=["last_clicked"], key=key)
    click = (out or {}).get("last_clicked")
    if click and ready:
        st.metric(*mapview.value_text(name, sel, click, plan.status))
    elif ready:
        st.caption("Click the map for the value under the cursor.")


if plan.statics:
    draw()
progress.show(plan.jobs + [tower_job])
