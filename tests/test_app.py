"""Every page under Streamlit's AppTest: widgets change without errors, the right elements appear."""

import datetime as dt

import numpy as np
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


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("info", "warning", "error", "caption", "markdown") for e in getattr(at, kind)]
    return " ".join(str(p) for p in parts)


def test_map__a_product_is_made_in_the_background_then_drawn():
    import time

    at = _app("pages/map.py", product="gpp_true")
    _no_errors(at)
    assert not [b for b in at.button if b.key == "map_run"]  # nothing to guess: it is being made
    assert "Not made yet" not in _texts(at)
    t0 = time.time()
    while "Loaded from cache" not in _texts(at):  # the page's progress fragment reruns it; here we do
        assert time.time() - t0 < 600, _texts(at)
        time.sleep(3)
        at.run()
        _no_errors(at)
        assert "Not made yet" not in _texts(at)
    assert not [b for b in at.button if b.key == "map_run"]
    again = _app("pages/map.py", product="gpp_true")
    assert any("Loaded from cache" in c.value for c in again.caption)
    again.slider("map_opacity").set_value(0.5).run()
    _no_errors(again)
    again.toggle("map_landcover").set_value(True).run()
    _no_errors(again)


def test_map__s2_waits_for_a_click_after_a_time_estimate():
    # a day no other test makes S2 for: the suite's cache is shared, and a made product is shown, not estimated
    at = _app("pages/map.py", product="s2", date="2019-03-07")
    _no_errors(at)
    estimate = [i.value for i in at.info if "takes about" in i.value]
    assert estimate and "min on this server" in estimate[0] and " km box " in estimate[0]
    assert [b for b in at.button if b.key == "map_run"]


NO_TOWER_BOX = "127.50,36.40,127.53,36.43"  # 3 x 3 km east of Daejeon: land, no flux tower


def test_map__a_region_without_towers_says_so():
    at = _app("pages/map.py", product="gpp_true", bbox=NO_TOWER_BOX)
    at.toggle("map_towers").set_value(True).run()
    _no_errors(at)
    note = [c.value for c in at.caption if "No flux tower in" in c.value]
    assert note and "KR-GDK" in note[0] and "KR-HFK" in note[0]  # and where the towers are


def test_url__out_of_range_values_are_clamped_not_errors():
    from unique_core.ui import state

    assert state.parse_day("0001-01-01") == state.FIRST_DAY and state.parse_day("9999-12-31") == state.LAST_DAY
    at = _app("pages/timeseries.py", ts_start="2023-12-25", ts_end="9999-12-31", ts_products="gpp_true_500m")
    _no_errors(at)  # used to raise StreamlitValueAboveMaxError / BelowMinError
    assert at.date_input("ts_end").value == dt.date(2023, 12, 31)
    at = _app("pages/map.py", date="9999-01-01", product="nonsense")
    _no_errors(at)
    assert at.selectbox("product").value == "gpp_m"
    assert "2023-12-31" in str(at.query_params["date"])  # the sidebar's date, clamped


def _page_that_fails():
    from unique_core.ui.errors import guard

    with guard():
        raise RuntimeError("a bug on the page")


def test_app__an_unexpected_error_shows_an_id_that_the_log_holds(caplog):
    import re

    at = AppTest.from_function(_page_that_fails, default_timeout=60)
    with caplog.at_level("ERROR", logger="unique.app"):
        at.run()
    _no_errors(at)  # no bare Streamlit exception box
    (shown,) = [e.value for e in at.error]
    error_id = re.search(r"error id \*\*([0-9a-f]{8})\*\*", shown).group(1)
    assert "Traceback" not in shown and "a bug on the page" not in shown
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info and "a bug on the page" in logged[0].getMessage()


def _page_with_a_user_error():
    from unique_core.errors import RegionError
    from unique_core.ui.errors import guard

    with guard():
        raise RegionError("that box is at sea: choose one over land")


def test_app__a_user_error_shows_its_message():
    at = AppTest.from_function(_page_with_a_user_error, default_timeout=60)
    at.run()
    _no_errors(at)
    assert [e.value for e in at.error] == ["that box is at sea: choose one over land"]


def test_map__a_product_without_a_landsat_pass_says_why():
    at = _app("pages/map.py", date="2023-07-21")
    at.selectbox("product").set_value("landsat_ndvi").run()
    _no_errors(at)
    assert any("Landsat" in w.value for w in at.warning) or any("Run" in b.label for b in at.button)


def test_timeseries__made_by_a_worker_then_traces_and_totals():
    """The series (daily maps of the region) is made in the server's worker pool, never in the page's
    run: the page says so with a bar, then shows the chart and the totals by itself."""
    import time

    at = _app("pages/timeseries.py")
    at.date_input("ts_start").set_value(dt.date(2023, 7, 1)).run()
    at.date_input("ts_end").set_value(dt.date(2023, 7, 20)).run()
    at.multiselect("ts_products").set_value(["gpp_true_500m"]).run()
    _no_errors(at)
    t0, polls = time.time(), 0
    while not at.get("plotly_chart"):
        polls += 1
        assert any("in the background" in c.value for c in at.caption), _texts(at)  # made elsewhere, said so
        assert time.time() - t0 < 300, _texts(at)
        time.sleep(1)
        at.run()
        _no_errors(at)
    assert polls >= 1  # the first run only started the job (a private test cache holds no such series)
    assert at.dataframe
    assert not any("in the background" in c.value for c in at.caption)
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


@pytest.mark.slow  # a year of GPP_M for a 3 x 3 km box, then the page's workers: minutes on 2 cores
def test_map__a_region_year_cube_gives_annual_and_seasonal_maps_and_days_to_play():
    """With a region-year cube made (here GPP_M, the cheapest), the Map offers its annual and
    seasonal maps (summed from the daily values by a worker), and the day slider steps through
    every day of the cube; without one the page says which command makes it."""
    import time

    from unique_core.cube import make_cube, period_sums
    from unique_core.grid import region_from_bbox
    from unique_core.ui import cached

    at = _app("pages/map.py", product="gpp_m", bbox=CUBE_BOX)
    _no_errors(at)
    assert any("unique products cube --product s2 --year 2023 --bbox" in c.value for c in at.caption)
    region = region_from_bbox(*map(float, CUBE_BOX.split(",")), crs="EPSG:4326", name="custom")
    info = make_cube("gpp_m", 2023, region)
    at = _app("pages/map.py", product="gpp_m", bbox=CUBE_BOX)
    annual = cached.cube_choice("gpp_m", "gpp_m", "year", 2023)
    options = at.selectbox("product").options  # as shown
    assert "GPP_M annual 2023 (500 m, region-year cube), gC m⁻² yr⁻¹" in options
    assert cached.title(cached.cube_choice("gpp_m", "gpp_m", "JJA", 2023)) in options
    assert not any("unique products cube" in c.value for c in at.caption)  # no hint once a cube exists
    t0 = time.time()
    while not [c for c in at.caption if "check_circle" in c.value]:  # the cube's day, then the statics
        assert time.time() - t0 < 600, _texts(at)
        time.sleep(3)
        at.run()
        _no_errors(at)
    assert len(at.select_slider("map_day").options) == 365  # every day of the cube, to step through or play
    assert [t for t in at.toggle if t.key == "map_play"]
    at.selectbox("product").set_value(annual).run()
    t0 = time.time()
    while not [c for c in at.caption if "Summed from the daily values" in c.value]:
        assert time.time() - t0 < 300, _texts(at)
        time.sleep(2)
        at.run()
        _no_errors(at)
    store = cached.cubes_of(region, 2023, "simulated")["gpp_m"]
    assert store == info.path
    shown = cached.cube_period_map(str(store), "gpp_m", "year", 0.0)
    np.testing.assert_allclose(shown.values, period_sums(store, "gpp_m")["year"], rtol=1e-6, equal_nan=True)
    assert np.nanmax(shown.values) > 300  # gC m-2 over a year, not a day


CUBE_BOX = "127.20,37.74,127.23,37.77"  # 3 x 3 km of Gwangneung no other test makes a cube for
