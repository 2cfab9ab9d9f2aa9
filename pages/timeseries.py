"""Time series: mean GPP by plant functional type over the region, with seasonal and annual totals.

S2 (30 m) comes from the region-year cube when one exists (every day, no sampling), with its
totals beside GPP_M's from the same cube; without a cube the page names the command that
makes it (a year of S2 is minutes of CPU, too long for a page run). The other series are made by
the server's worker pool (ui.cached.series), with a progress bar, and kept in the cache.
"""

import datetime as dt

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, cubeview, progress, state
from unique_core.viz import charts

sel = state.current()
st.title("Time series by plant type")
state.source_banner(sel)
c1, c2, c3 = st.columns([1, 1, 2])
options = {"gpp_m": "GPP_M (MODIS, daily)", cubeview.CUBE_PRODUCT: "S2 (30 m, daily, from the region-year cube)"}
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
start, end, cut = state.series_range(start, end)
if cut:
    st.warning(cut)
if not chosen:
    st.info("Choose at least one product.")
    st.stop()
cube_path, cube_note = cubeview.find_s2_cube(sel, start, end) if cubeview.CUBE_PRODUCT in chosen else (None, None)
if cube_note:
    st.info(cube_note, icon=":material/deployed_code:")
stamp = (cube_path / "_progress" / "complete").stat().st_mtime if cube_path else 0.0
# a series is a year of daily maps the first time: made by the server's workers, never in this run
series, jobs, failed = cached.series_of([p for p in chosen if p != cubeview.CUBE_PRODUCT], sel.region, start, end,
                                        sel.source)
progress.errors()
if failed:
    st.button("Make the series again", key="ts_retry", on_click=cached.retry_series,
              args=(failed, sel.region, start, end, sel.source))
if jobs:
    st.caption("Daily maps of the region are being made in the background (the first time takes about a "
               "minute per year); the chart appears when they are done.")
    progress.show(jobs)
if jobs or failed:
    st.stop()
try:
    if cube_path:
        series[cubeview.CUBE_PRODUCT] = cubeview.cube_series(str(cube_path), stamp, start, end, sel.source)
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
    st.dataframe(cubeview.cube_side_by_side(str(cube_path), stamp, start, end, sel.source), hide_index=True)
    first = cubeview.CUBE_PRODUCT
else:
    first = next(iter(series))
    st.dataframe(cached.totals(series[first], first, sel.region, sel.source), hide_index=True)
st.download_button("Download the series (CSV)", cached.series_csv(series[first]),
                   file_name=f"unique_{first}_{sel.region.name}_{start}_{end}.csv", mime="text/csv", key="ts_download",
                   on_click="ignore")
