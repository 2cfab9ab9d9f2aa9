"""UNIQUE, the app: page config, the shared sidebar, and navigation over pages/."""

import streamlit as st

from unique_core.resources import icon_file
from unique_core.ui.assets import ensure_web_assets
from unique_core.ui.errors import guard
from unique_core.ui.state import sidebar

# a local icon: a material-symbol favicon would be fetched from Google's font CDN
st.set_page_config(page_title="UNIQUE: daily 30 m GPP of South Korea", page_icon=str(icon_file()), layout="wide")
if problem := ensure_web_assets():  # however the app was started, the maps' Leaflet files are in place or we say why
    st.error(problem)
# URL paths differ from the file names on purpose: Streamlit 1.67 still serves a URL that matches
# a file in pages/ by running that file alone (the old multipage mode), skipping this script.
navigation = st.navigation([
    st.Page("pages/map.py", title="Map", icon=":material/map:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare-maps"),
    st.Page("pages/timeseries.py", title="Time series", icon=":material/show_chart:", url_path="time-series"),
    st.Page("pages/models.py", title="Models", icon=":material/model_training:", url_path="model-skill"),
    st.Page("pages/data.py", title="Data", icon=":material/database:", url_path="data-catalogue"),
])
with guard():  # an unexpected error shows a short message and an id the server log holds
    st.session_state["selection"] = sidebar()
    navigation.run()
