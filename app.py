"""UNIQUE, the app: page config, the shared sidebar, and navigation over pages/."""

import streamlit as st

from unique_core.ui.state import sidebar

st.set_page_config(page_title="UNIQUE: daily 30 m GPP of South Korea", page_icon=":material/eco:",
                   layout="wide")
navigation = st.navigation([
    st.Page("pages/map.py", title="Map", icon=":material/map:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/timeseries.py", title="Time series", icon=":material/show_chart:"),
    st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
])
st.session_state["selection"] = sidebar()
navigation.run()
