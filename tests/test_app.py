"""Every page under Streamlit's AppTest: widgets change without errors, the right elements appear."""

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

APP = "../app.py"  # AppTest resolves paths from this file's folder
BOX = "127.14,37.74,127.17,37.77"  # 3 x 3 km of Gwangneung
PAGES = ["pages/map.py", "pages/compare.py", "pages/timeseries.py", "pages/models.py", "pages/data.py"]


def _app(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params.update({"region": "custom", "bbox": BOX, "date": "2023-07-20", **query})
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def _no_errors(at: AppTest):
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_and_says_it_is_simulated(page):
    at = _app(page)
    _no_errors(at)
    assert any("Simulated data" in i.value for i in at.info)
    assert at.title[0].value


def _sidebar_only():
    """The shared sidebar alone. (AppTest reruns only the page script of a st.navigation app after
    its first run, so the sidebar's own reruns are tested here; the browser suite covers the app.)"""
    import streamlit as st

    from unique_core.ui.state import sidebar

    sel = sidebar()
    st.markdown(f"selection: {sel.date} {sel.region.name} {sel.source}")


def test_sidebar__choices_live_in_the_url():
    at = AppTest.from_function(_sidebar_only, default_timeout=60)
    at.query_params.update({"date": "2021-03-04", "region": "jirisan"})
    at.run()
    _no_errors(at)
    assert "2021-03-04 jirisan simulated" in at.markdown[0].value  # a shared link opens its view
    at.sidebar.date_input("date").set_value(dt.date(2022, 5, 1)).run()
    assert "2022-05-01" in at.markdown[0].value and str(at.query_params["date"]) .count("2022-05-01")
    at.sidebar.selectbox("region").set_value("gimje").run()
    _no_errors(at)
    assert "gimje" in at.markdown[0].value and "gimje" in str(at.query_params["region"])
    at.sidebar.selectbox("region").set_value("custom").run()
    at.sidebar.number_input("bx0").set_value(127.20).run()
    _no_errors(at)
    assert "custom" in at.markdown[0].value and "127.2000" in str(at.query_params["bbox"])


def test_sidebar__a_box_at_sea_is_an_error_not_a_traceback():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"region": "custom", "bbox": "125.0,35.0,125.1,35.1"})
    at.run()
    _no_errors(at)
    assert any("at sea" in e.value for e in at.sidebar.error)


def test_map__run_a_product_then_loaded_from_cache():
    at = _app("pages/map.py")
    at.selectbox("product").set_value("gpp_true").run()
    _no_errors(at)
    buttons = [b for b in at.button if b.key == "map_run"]
    if buttons:  # not cached yet: run it
        buttons[0].click().run()
        _no_errors(at)
    again = _app("pages/map.py")
    again.selectbox("product").set_value("gpp_true").run()
    _no_errors(again)
    assert any("Loaded from cache" in c.value for c in again.caption)
    for key in ("map_opacity",):
        again.slider(key).set_value(0.5).run()
        _no_errors(again)
    again.toggle("map_landcover").set_value(True).run()
    _no_errors(again)


def test_map__a_product_without_a_landsat_pass_says_why():
    at = _app("pages/map.py", date="2023-07-21")
    at.selectbox("product").set_value("landsat_ndvi").run()
    _no_errors(at)
    assert any("Landsat" in w.value for w in at.warning) or any("Run" in b.label for b in at.button)


def test_timeseries__traces_and_totals():
    at = _app("pages/timeseries.py")
    at.date_input("ts_start").set_value(dt.date(2023, 7, 1)).run()
    at.date_input("ts_end").set_value(dt.date(2023, 7, 20)).run()
    at.multiselect("ts_products").set_value(["gpp_true_500m"]).run()
    _no_errors(at)
    assert at.get("plotly_chart")
    assert at.dataframe
    at.date_input("ts_end").set_value(dt.date(2023, 6, 1)).run()
    assert any("before" in e.value for e in at.error)


def test_compare__widgets_and_missing_products_are_named():
    at = _app("pages/compare.py")
    at.slider("cmp_members").set_value(2).run()
    _no_errors(at)
    at.select_slider("cmp_steps").set_value(5).run()
    _no_errors(at)
    text = " ".join([i.value for i in at.info] + [w.value for w in at.warning])
    assert "GPP" in text or at.get("plotly_chart")
