"""Compare: GPP_M, S1 and S2 (and GPP_L, the truth) side by side, differences, histograms, metrics."""

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.viz import charts

sel = state.current()
st.title("Compare MODIS, S1 and S2")
state.source_banner(sel)
c1, c2 = st.columns(2)
members = c1.slider("Ensemble members (S1, S2)", 1, 16, 4, key="cmp_members")
steps = c2.select_slider("DDIM steps", [5, 10, 25, 50], value=10, key="cmp_steps")
params = {"members": members, "steps": steps, "seed": 0, "conserve": False}

wanted = [p for p in cached.COMPARE_PRODUCTS if sel.simulated or p != "gpp_true"]
states = {p: cached.status(p, sel.date, sel.region, sel.source, params if p in ("s1", "s2") else None) for p in wanted}
missing = [p for p, (s, _) in states.items() if s == "missing"]
for p, (s, why) in states.items():
    if s == "unavailable":
        st.warning(f"{cached.title(p)}: {why}")
if missing:
    heavy = sum(cached.estimate_seconds(p, sel.region, sel.source, params) for p in missing if p in ("s1", "s2"))
    st.info("Not made yet: " + ", ".join(cached.title(p) for p in missing)
            + (f". S1 and S2 for this box take about {heavy / 60:.1f} min on this server." if heavy else ""))
    if st.button("Run the missing products", type="primary", key="cmp_run"):
        for p in missing:
            cached.run(p, sel.date, sel.region, sel.source, params if p in ("s1", "s2") else None)
        st.rerun()
ready = tuple(p for p, (s, _) in states.items() if s == "cached")
if not ready:
    st.stop()
try:
    cmp = cached.comparison(sel.date, sel.region, sel.source, params, ready)
except UniqueError as exc:
    st.error(str(exc))
    st.stop()
x_km, y_km = sel.region.fine.x / 1000.0, sel.region.fine.y / 1000.0
st.plotly_chart(charts.panels(cmp["maps"], x_km=x_km, y_km=y_km, title="GPP, one colour scale (zoom and pan are linked)"),
                key="cmp_panels")
if cmp["differences"]:
    st.plotly_chart(charts.panels(cmp["differences"], x_km=x_km, y_km=y_km, style_name="difference",
                                  title="Differences"), key="cmp_diff")
st.plotly_chart(charts.histograms(cmp["maps"]), key="cmp_hist")
if cmp["spread"]:
    st.plotly_chart(charts.panels(cmp["spread"], x_km=x_km, y_km=y_km, style_name="std",
                                  title=f"Ensemble spread ({members} members)"), key="cmp_spread")
st.subheader("Metrics (gC m⁻² d⁻¹)")
st.dataframe(cmp["metrics"], hide_index=True)
