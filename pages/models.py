"""Models: Step 1 cross-validation and Step 2's held-out evaluation, from the shipped models' own records."""

import pandas as pd
import streamlit as st

from unique_core.downscale import evaluate as E
from unique_core.downscale.uncertainty import LEGEND
from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.viz import charts


def table(rows: list[dict]) -> pd.DataFrame:
    """Held-out rows for display: a method without an ensemble has no spread, an empty cell, not 'None'."""
    df = pd.DataFrame(rows)
    gaps = [c for c in df.columns if df[c].isna().any()]
    df[gaps] = df[gaps].astype(object).where(df[gaps].notna(), "")
    return df


def whole(df: pd.DataFrame) -> int:
    """A data grid's height in px that shows every row without scrolling (35 px a row and the header)."""
    return 35 * (len(df) + 1) + 3


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
st.header("Step 2: downscaling to 30 m, held-out test tiles of 2023")
try:
    s2 = cached.step2()
except UniqueError as exc:
    st.warning(str(exc))
    st.stop()
report = s2.get("evaluation", {})
if "ordinary" not in report:
    st.info("No held-out evaluation is shipped: run `unique downscale evaluate --json "
            "assets/models/downscale_evaluation.json`.")
else:
    names = report["split"]["test_names"]
    st.caption(f"{len(names)} test tiles of 4.5 km that no model trained, tuned or calibrated on "
               f"({', '.join(names)}); ensembles of {report['members']} members, DDIM {report['ddim_steps']}; "
               "90 % intervals from a block bootstrap over (tile, month). RMSE, MAE, bias and CRPS in gC m⁻² d⁻¹.")
    st.subheader(f"Ordinary days (every {report['cadence_days']}th day, whatever the clouds), against the truth")
    ordinary = table(E.heldout_rows(report, "ordinary"))
    st.dataframe(ordinary, hide_index=True, height=whole(ordinary))
    st.caption("band spread/skill: the uncertainty band a user sees (std layer). " + LEGEND)
    st.subheader("Landsat-clear dates, against GPP_L on clear pixels (the paper's yardstick)")
    clear = table(E.heldout_rows(report, "clear_vs_gpp_l"))
    st.dataframe(clear, hide_index=True, height=whole(clear))
    st.caption(E.CLEAR_VS_GPP_L_NOTE)
    targets = E.target_rows(report)
    if targets:
        st.subheader("Targets")
        met = pd.DataFrame([{"target": t["target"], "measured": t["value"],
                             "90 % CI": "{:.3f}-{:.3f}".format(*t["ci"]) if t.get("ci") else "",
                             "met": "met" if t["met"] else "missed"} for t in targets])
        st.dataframe(met, hide_index=True, height=whole(met))
for name, card in s2["cards"].items():
    with st.expander(f"Model card: {name}"):
        st.json(card, expanded=False)
