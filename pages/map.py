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
relief_job = mapview.country_panel(sel, statics) if pick or not statics[0] else None
plan = mapview.plan(name, sel, statics)
plan.jobs.append(relief_job)
with top:
    ready = mapview.plan_messages(name, sel, plan)
    markers, tower_job, tower_note = mapview.towers(sel, show_towers)
    if tower_note:
        st.caption(tower_note)
    mapview.day_controls(name, sel, ready)
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
