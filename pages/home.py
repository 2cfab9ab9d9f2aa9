"""Home: what UNIQUE is, and the chosen region on the chosen day."""

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, state

sel = state.current()
st.title("UNIQUE: where and when South Korea takes up carbon")
st.markdown("Daily gross primary productivity (GPP, gC m⁻² d⁻¹) at 30 m: MODIS-driven 500 m maps "
            "downscaled to Landsat-like detail by a diffusion model.")
state.source_banner(sel)
st.subheader(f"{sel.region.title or sel.region.name}, {sel.date:%d %B %Y}")
try:
    with st.spinner("Making the maps (the first time for a region takes a few seconds)..."):
        cols = st.columns(3)
        for col, layer in zip(cols, ("gpp_true", "landcover", "dem")):
            col.image(cached.layer_png(layer, sel.region, sel.date), width="stretch")
except UniqueError as exc:
    st.error(str(exc))
