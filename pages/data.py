"""Data: where the data come from, how to use real files, and the product catalogue with downloads."""

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, state

sel = state.current()
st.title("Data")
state.source_banner(sel)
st.markdown(cached.data_explainer(sel.simulated))
st.subheader("Product catalogue")
entries = cached.catalogue(sel.source)
if entries.empty:
    st.info("Nothing made yet: run a product on the Map or Compare page, or `unique products precompute`.")
    st.stop()
st.dataframe(entries.drop(columns=["key"]), hide_index=True)
c1, c2 = st.columns([3, 1])
key = c1.selectbox("Product to download", entries["key"], key="data_key",
                   format_func=lambda k: cached.catalogue_label(entries, k))
fmt = c2.radio("Format", ["COG (GeoTIFF)", "NetCDF (CF)"], key="data_fmt", horizontal=True)
kind = "tif" if fmt.startswith("COG") else "nc"
if st.button("Prepare the download", key="data_prepare"):
    try:
        st.session_state["data_export"] = (key, kind, *cached.export_bytes(key, kind, sel.source))
    except UniqueError as exc:
        st.error(str(exc))
prepared = st.session_state.get("data_export")
if prepared and prepared[:2] == (key, kind):  # stays until another product or format is chosen
    _, _, name, data, item = prepared
    d1, d2 = st.columns(2)
    d1.download_button(f"Download {name}", data, file_name=name, key="data_download", on_click="ignore")
    d2.download_button("Download its STAC item (JSON)", item, file_name=name + ".stac.json", key="data_stac",
                       on_click="ignore")
