"""Map: one product for the chosen day and region over a hillshade, with flux towers."""

import streamlit as st
from streamlit_folium import st_folium

from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.grid import named_regions
from unique_core.products import mean_layer
from unique_core.viz.maps import base_map, country_map, layer_control, product_layer, value_at

sel = state.current()
st.title("Map")
state.source_banner(sel)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
state.url_widget("product", cached.MAP_PRODUCTS[0], state.parse_choice(cached.MAP_PRODUCTS))
name = c1.selectbox("Product", cached.MAP_PRODUCTS, format_func=cached.title, key="product")
state.url_sync("product")
opacity = c2.slider("Opacity", 0.2, 1.0, 0.85, 0.05, key="map_opacity")
show_lc = c3.toggle("Land cover layer", value=False, key="map_landcover")
show_towers = c4.toggle("Flux towers", value=False, key="map_towers", help="Korean towers: tower vs map GPP")

if st.toggle("Pick the region on the country map", value=False, key="map_pick",
             help="Click anywhere in South Korea: a square box around the point becomes the region"):
    p1, p2 = st.columns([3, 1])
    p2.select_slider("Box size (km)", options=[6, 15, 30], value=15, key="pick_size_km",
                     help="Smaller boxes make S1/S2 faster; 30 km is the largest region")
    in_use = "a custom box" if sel.region.name == state.CUSTOM else sel.region.title or sel.region.name
    p2.caption(f"In use (red): **{in_use}**, "
               f"{sel.region.size_km[0]:.1f} x {sel.region.size_km[1]:.1f} km. Green: the named regions.")
    if state.PICK_ERROR in st.session_state:
        p2.warning(st.session_state[state.PICK_ERROR])
    with p1:
        st_folium(country_map(cached.land_overlay(), named_regions(), sel.region), height=420,
                  use_container_width=True, returned_objects=["last_clicked"], key=state.PICK_KEY,
                  on_change=state.pick_from_click)

status, message = cached.status(name, sel.date, sel.region, sel.source)
if status == "unavailable":
    st.warning(message)
    st.stop()
if status == "missing":
    st.info(f"{message}.")
    if not st.button(f"Run {cached.title(name)}", type="primary", key="map_run"):
        st.stop()
    try:
        cached.run(name, sel.date, sel.region, sel.source)
    except UniqueError as exc:
        st.error(str(exc))
        st.stop()
else:
    st.caption(f":material/check_circle: {message}")


@st.fragment
def draw() -> None:
    try:
        da = cached.product(name, sel.date, sel.region, sel.source)
        layer = mean_layer(da)
        overlay = cached.product_overlay(name, sel.date, sel.region, sel.source)
        towers = cached.towers_in(sel.region, sel.date.year) if show_towers and sel.simulated else None
        landcover = cached.landcover_overlay(sel.region, sel.source) if show_lc else None
        fmap = base_map(overlay.bounds, name=name, title=cached.title(name),
                        hillshade=cached.hillshade_overlay(sel.region), landcover=landcover, towers=towers)
    except UniqueError as exc:
        st.error(str(exc))
        return
    # The key leaves out the date and the opacity: the map stays in the browser and only the
    # product's layer is swapped (streamlit-folium's feature_group_to_add), so a date switch
    # sends one overlay instead of reloading the map with its hillshade.
    out = st_folium(fmap, feature_group_to_add=product_layer(overlay, title=cached.title(name), opacity=opacity),
                    layer_control=layer_control(), height=560, use_container_width=True,
                    returned_objects=["last_clicked"], key=f"map-{name}-{sel.region.key}-{show_lc}-{show_towers}")
    click = (out or {}).get("last_clicked")
    if click:
        value = value_at(layer, click["lat"], click["lng"])
        units = layer.attrs.get("units", "")
        st.metric(f"Value at {click['lat']:.4f} N, {click['lng']:.4f} E on {sel.date}",
                  "outside the map" if value is None else f"{value:.2f} {units}")
    else:
        st.caption("Click the map for the value under the cursor.")


draw()
