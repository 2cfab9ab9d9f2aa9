"""UNIQUE, the app: page config, the shared sidebar, and navigation over pages/."""

import streamlit as st

from unique_core.ui.state import sidebar

st.set_page_config(page_title="UNIQUE: daily 30 m GPP of South Korea", page_icon=":material/eco:",
                   layout="wide")
navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
])
st.session_state["selection"] = sidebar()
navigation.run()
