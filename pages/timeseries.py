"""Time series: mean GPP by plant functional type over the region, with seasonal and annual totals.

S2 (30 m) comes from the region-year cube when one exists (every day, no sampling), with its
totals beside GPP_M's from the same cube; without a cube the page names the command that
makes it (a year of S2 is minutes of CPU, too long for a page run).
"""

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from unique_core import cube
from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.viz import charts

CUBE_PRODUCT = "s2"


@st.cache_data(max_entries=8, show_spinner=False)
def cube_series(path: str, stamp: float, start: dt.date, end: dt.date, source: str) -> pd.DataFrame:
    """Daily S2 by plant type from the cube at `path` between start and end (stamp: the cube's
    completion time, so a remade cube is read again)."""
    df = cube.cube_pft_series(path, service=cached.service(source))
    return df[(df["date"] >= start) & (df["date"] <= end)].reset_index(drop=True)


@st.cache_data(max_entries=8, show_spinner=False)
def cube_side_by_side(path: str, stamp: float, start: dt.date, end: dt.date, source: str) -> pd.DataFrame:
    """Totals of S2 (30 m) and GPP_M (500 m) by period and plant type, side by side, from the cube."""
    t = cube.cube_totals(path, start=start, end=end, service=cached.service(source))
    t = t.assign(variable=t["variable"].map({"gpp": "S2", "gpp_m": "GPP_M"}))
    wide = t.pivot_table(index=["period", "start", "pft"], columns="variable", values=["gpp_gC_m2", "carbon_t"],
                         sort=False)
    wide.columns = [f"{var} {'gC m-2' if what == 'gpp_gC_m2' else 't C'}" for what, var in wide.columns]
    cols = [c for c in ("S2 gC m-2", "GPP_M gC m-2", "S2 t C", "GPP_M t C") if c in wide.columns]
    return wide[cols].reset_index().sort_values("start", kind="stable").drop(columns="start")


def find_s2_cube(sel, start: dt.date, end: dt.date) -> tuple[Path | None, str | None]:
    """The cached S2 cube covering start..end, or None and a message saying why / how to make it."""
    if start.year != end.year:
        return None, ("S2 comes from a region-year cube, one calendar year at a time: choose 'From' and 'To' "
                      "in the same year to see it.")
    path = cube.find_cube(CUBE_PRODUCT, start.year, sel.region, service=cached.service(sel.source))
    if path is None:
        return None, (f"No S2 region-year cube of {start.year} for this region yet. Make one (minutes on a "
                      f"laptop, every day at 30 m) with `{cube.cube_command(CUBE_PRODUCT, start.year, sel.region)}`"
                      + ("" if sel.simulated else " --data <your folder>") + ", then reload this page.")
    return path, None


sel = state.current()
st.title("Time series by plant type")
state.source_banner(sel)
c1, c2, c3 = st.columns([1, 1, 2])
options = {"gpp_m": "GPP_M (MODIS, daily)", CUBE_PRODUCT: "S2 (30 m, daily, from the region-year cube)"}
options |= {"gpp_true_500m": "True GPP (simulated, daily)"} if sel.simulated else {}
state.url_widget("ts_start", dt.date(sel.date.year, 1, 1), state.parse_day)
state.url_widget("ts_end", dt.date(sel.date.year, 12, 31), state.parse_day)
state.url_widget("ts_products", list(options)[:1], state.parse_list(options))
start = c1.date_input("From", min_value=state.FIRST_DAY, max_value=state.LAST_DAY, key="ts_start")
end = c2.date_input("To", min_value=state.FIRST_DAY, max_value=state.LAST_DAY, key="ts_end")
chosen = c3.multiselect("Products", list(options), format_func=options.get, key="ts_products")
for key, dump in (("ts_start", str), ("ts_end", str), ("ts_products", ",".join)):
    state.url_sync(key, dump)
if end < start:
    st.error("'To' is before 'From'.")
    st.stop()
if not chosen:
    st.info("Choose at least one product.")
    st.stop()
cube_path, cube_note = find_s2_cube(sel, start, end) if CUBE_PRODUCT in chosen else (None, None)
if cube_note:
    st.info(cube_note, icon=":material/deployed_code:")
stamp = (cube_path / "_progress" / "complete").stat().st_mtime if cube_path else 0.0
try:
    with st.spinner("Computing daily maps of the region (the first time takes a minute per year)..."):
        series = {p: cached.timeseries(p, sel.region, start, end, sel.source) for p in chosen if p != CUBE_PRODUCT}
        if cube_path:
            series[CUBE_PRODUCT] = cube_series(str(cube_path), stamp, start, end, sel.source)
except UniqueError as exc:
    st.error(str(exc))
    st.stop()
if not series:
    st.stop()
place = sel.region.title or sel.region.name
st.plotly_chart(charts.pft_panels(series, title=f"{place}: mean GPP by plant type (one panel each)"), key="ts_chart")
st.subheader("Seasonal and annual totals")
st.caption("Sums of daily values over each period; a period the range covers only in part is named so "
           "(a calendar year holds January-February, part of the winter before, and December, part of the next).")
if cube_path:
    st.caption("S2 at 30 m and GPP_M at 500 m from the same region-year cube, every day: gC m-2 is the sum of "
               "the daily plant-type means, t C that times the plant type's area (1 gC m-2 over 1 km2 = 1 t C).")
    st.dataframe(cube_side_by_side(str(cube_path), stamp, start, end, sel.source), hide_index=True)
    first = CUBE_PRODUCT
else:
    first = next(iter(series))
    st.dataframe(cached.totals(first, sel.region, start, end, sel.source), hide_index=True)
st.download_button("Download the series (CSV)", cached.series_csv(series[first]),
                   file_name=f"unique_{first}_{sel.region.name}_{start}_{end}.csv", mime="text/csv", key="ts_download",
                   on_click="ignore")
