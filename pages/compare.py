"""Compare: GPP_M, S1 and S2 (and GPP_L, the truth) side by side, differences, histograms, metrics."""

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, progress, state
from unique_core.viz import charts

HEAVY = ("s1", "s2")
STEPS = [5, 10, 25]  # the DDIM counts S1/S2's spread model is fitted for (a band at others is refused)


def made_with(p: str, params: dict) -> dict | None:
    return params if p in HEAVY else None


def run_missing(missing: list[str], sel, params: dict) -> None:
    """Run's callback: the missing products go to the server's pool (made in worker processes)."""
    for p in missing:
        progress.retry(cached.job_key(p, sel.date, sel.region, sel.source, made_with(p, params)))
        cached.start(p, sel.date, sel.region, sel.source, made_with(p, params))


sel = state.current()
lim = state.limits()
st.title("Compare MODIS, S1 and S2")
state.source_banner(sel)
steps_allowed = lim.allowed_options(STEPS)
state.url_widget("cmp_members", min(4, lim.max_members), state.parse_members)
state.url_widget("cmp_steps", lim.clamp_steps_to(10, steps_allowed), state.parse_steps(steps_allowed))
c1, c2 = st.columns(2)
if lim.max_members > 1:
    members = c1.slider("Ensemble members (S1, S2)", 1, lim.max_members, key="cmp_members")
else:  # a slider needs two values
    members = 1
    c1.caption("Ensemble members: 1, the most this server allows (UNIQUE_MAX_MEMBERS)")
steps = c2.select_slider("DDIM steps", steps_allowed, key="cmp_steps")
for key in ("cmp_members", "cmp_steps"):
    state.url_sync(key)
params = {"members": members, "steps": steps, "seed": 0, "conserve": False}

wanted = [p for p in cached.COMPARE_PRODUCTS if sel.simulated or p != "gpp_true"]
states = {p: cached.status(p, sel.date, sel.region, sel.source, made_with(p, params)) for p in wanted}
missing = [p for p, (s, _) in states.items() if s == "missing"]
progress.errors()
for p, (s, why) in states.items():
    if s == "unavailable":
        st.warning(f"{cached.title(p)}: {why}")
jobs = {p: cached.job_of(p, sel.date, sel.region, sel.source, made_with(p, params)) for p in missing}
idle = [p for p in missing if jobs[p] is None]  # missing, and not being made for any session
if idle:
    heavy = sum(cached.estimate_seconds(p, sel.region, sel.source, params) for p in idle if p in HEAVY)
    st.info("Not made yet: " + ", ".join(cached.title(p) for p in idle)
            + (f". S1 and S2 for this box take about {heavy / 60:.1f} min on this server." if heavy else ""))
    st.button("Run the missing products", type="primary", key="cmp_run", on_click=run_missing,
              args=(idle, sel, params))
progress.show([j for j in jobs.values() if j is not None])
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
