"""Time series: mean GPP by plant functional type over the region, with seasonal and annual totals."""

import datetime as dt

import streamlit as st

from unique_core.errors import UniqueError
from unique_core.ui import cached, state
from unique_core.viz import charts

sel = state.current()
st.title("Time series by plant type")
state.source_banner(sel)
c1, c2, c3 = st.columns([1, 1, 2])
options = {"gpp_m": "GPP_M (MODIS, daily)"} | ({"gpp_true_500m": "True GPP (simulated, daily)"} if sel.simulated else {})
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
try:
    with st.spinner("Computing daily maps of the region (the first time takes a minute per year)..."):
        series = {p: cached.timeseries(p, sel.region, start, end, sel.source) for p in chosen}
except UniqueError as exc:
    st.error(str(exc))
    st.stop()
place = sel.region.title or sel.region.name
st.plotly_chart(charts.pft_panels(series, title=f"{place}: mean GPP by plant type (one panel each)"), key="ts_chart")
first = chosen[0]
st.subheader("Seasonal and annual totals")
st.caption("Sums of daily values over each period; a period the range covers only in part is named so.")
st.dataframe(cached.totals(first, sel.region, start, end, sel.source), hide_index=True)
st.download_button("Download the series (CSV)", cached.series_csv(series[first]),
                   file_name=f"unique_{first}_{sel.region.name}_{start}_{end}.csv", mime="text/csv", key="ts_download",
                   on_click="ignore")
