"""Models: Step 1 cross-validation and Step 2 evaluation, from the shipped models' own records."""

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.viz import charts

sel = state.current()
st.title("Models")
state.source_banner(sel)
st.header("Step 1: GPP_M and GPP_L (LightGBM, 20-fold spatial cross-validation)")
tabs = st.tabs(["GPP_M (MODIS)", "GPP_L (Landsat)"])
for tab, sensor in zip(tabs, ("modis", "landsat")):
    with tab:
        try:
            s = cached.step1(sensor)
        except UniqueError as exc:
            st.warning(str(exc))
            continue
        st.caption(f"{s['sites']} sites, {s['site_days']:,} site-days passing QC; metrics in gC m⁻² d⁻¹.")
        st.dataframe(s["overall"], hide_index=True)
        c1, c2 = st.columns(2)
        if s["sample"] is not None:
            c1.plotly_chart(charts.cv_scatter(s["sample"]["gpp"], s["sample"]["pred_lightgbm"],
                                              "Out-of-fold predictions (sample)"), key=f"scatter_{sensor}")
        c2.plotly_chart(charts.bars(list(s["importance"]["feature"]), list(s["importance"]["gain"]),
                                    title="Feature importance (share of gain)", xaxis="share"), key=f"imp_{sensor}")
        st.subheader("By plant type (LightGBM)")
        st.dataframe(s["by_pft"], hide_index=True)
        st.subheader("AutoML leaderboard (FLAML search, same spatial folds)")
        st.dataframe(s["leaderboard"], hide_index=True)
st.header("Step 2: downscaling to 30 m (test year 2023)")
try:
    s2 = cached.step2()
except UniqueError as exc:
    st.warning(str(exc))
    st.stop()
if "evaluation" in s2:
    st.dataframe(cached.evaluation_table(s2["evaluation"]), hide_index=True)
    if s2["evaluation"].get("rmse_against_steps_s2"):
        st.plotly_chart(charts.steps_curve(s2["evaluation"]["rmse_against_steps_s2"]), key="steps_curve")
for name, card in s2["cards"].items():
    with st.expander(f"Model card: {name}"):
        st.json(card, expanded=False)
