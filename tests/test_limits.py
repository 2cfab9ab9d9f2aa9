"""Deployer limits (issue 13, section 2): env variables, ceilings, clamping of URL values."""

import datetime as dt

import pytest

from unique_core import grid
from unique_core.errors import UniqueError
from unique_core.limits import (FIRST_DAY, LAST_DAY, MAX_MEMBERS, MAX_SERIES_DAYS, MAX_STEPS, MIN_BOX_KM, Limits,
                                LimitsError)

ABSURD = [None, "", "abc", "1e999", "-1e999", "nan", "inf", "-3", "0", "999999999999", [], ["2", "9999"], True, object()]


def test_limits__defaults_match_cli_grid_and_app():
    from unique_core.cli import common
    from unique_core.ui import state

    lim = Limits.from_env({})
    assert lim.max_members == common.MAX_MEMBERS == MAX_MEMBERS
    assert lim.max_steps == common.MAX_STEPS == MAX_STEPS
    assert lim.max_box_km == grid.MAX_REGION_M / 1000
    assert (FIRST_DAY, LAST_DAY) == (state.FIRST_DAY, state.LAST_DAY)
    assert lim.max_series_days == (state.LAST_DAY - state.FIRST_DAY).days + 1 == 3287
    assert lim.max_jobs >= 1


def test_limits__from_env_reads_each_variable():
    lim = Limits.from_env({"UNIQUE_MAX_BOX_KM": "6", "UNIQUE_MAX_MEMBERS": "4", "UNIQUE_MAX_STEPS": " 25 ",
                           "UNIQUE_MAX_SERIES_DAYS": "366", "UNIQUE_MAX_JOBS": "2"})
    assert (lim.max_box_km, lim.max_members, lim.max_steps, lim.max_series_days, lim.max_jobs) == (6.0, 4, 25, 366, 2)
    assert lim.as_dict()["UNIQUE_MAX_STEPS"] == 25


@pytest.mark.parametrize("name, text", [("UNIQUE_MAX_MEMBERS", "many"), ("UNIQUE_MAX_MEMBERS", "17"),
                                        ("UNIQUE_MAX_MEMBERS", "0"), ("UNIQUE_MAX_STEPS", "2.5"),
                                        ("UNIQUE_MAX_STEPS", "101"), ("UNIQUE_MAX_BOX_KM", "nan"),
                                        ("UNIQUE_MAX_BOX_KM", "31"), ("UNIQUE_MAX_BOX_KM", "1"),
                                        ("UNIQUE_MAX_SERIES_DAYS", "-1"), ("UNIQUE_MAX_SERIES_DAYS", "4000"),
                                        ("UNIQUE_MAX_JOBS", "20000"), ("UNIQUE_MAX_JOBS", "two")])
def test_limits__from_env_invalid_value_names_the_variable(name, text):
    with pytest.raises(LimitsError, match=rf"{name}='{text}' is not .* from .* to .*unset it for the default"):
        Limits.from_env({name: text})


def test_limits__error_is_a_unique_error():
    assert issubclass(LimitsError, UniqueError)


def test_limits__from_env_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("UNIQUE_MAX_MEMBERS", "3")
    assert Limits.from_env().max_members == 3
    monkeypatch.setenv("UNIQUE_MAX_MEMBERS", "x")
    with pytest.raises(LimitsError, match="UNIQUE_MAX_MEMBERS='x'"):
        Limits.from_env()


def test_limits__constructor_refuses_values_past_the_ceiling():
    with pytest.raises(LimitsError, match=r"UNIQUE_MAX_MEMBERS \(Limits field\) = 40 is outside 1 .. 16"):
        Limits(max_members=40)


@pytest.mark.parametrize("value", ABSURD)
def test_limits__clamp_never_raises_and_stays_in_range(value):
    lim = Limits(max_box_km=6, max_members=4, max_steps=25, max_series_days=30, max_jobs=2)
    assert 1 <= lim.clamp_members(value) <= 4
    assert 1 <= lim.clamp_steps(value) <= 25
    assert MIN_BOX_KM <= lim.clamp_box_km(value) <= 6
    assert 1 <= lim.clamp_jobs(value) <= 2
    assert FIRST_DAY <= lim.clamp_day(value, dt.date(2023, 7, 1)) <= LAST_DAY
    s, e = lim.clamp_series(value, value)
    assert FIRST_DAY <= s <= e <= LAST_DAY and lim.series_days(s, e) <= 30


def test_limits__clamp_values():
    lim = Limits(max_box_km=6, max_members=4, max_steps=25)
    assert lim.clamp_members("16") == 4
    assert lim.clamp_members("3") == 3
    assert lim.clamp_members("2.6") == 3
    assert lim.clamp_members("junk") == 4  # the default, itself in range
    assert lim.clamp_members("junk", default=2) == 2
    assert lim.clamp_steps("-5") == 1
    assert lim.clamp_box_km("30") == 6.0
    assert lim.clamp_box_km("0.1") == MIN_BOX_KM
    assert lim.clamp_steps_to("50", [5, 10, 25, 50]) == 25
    assert lim.clamp_steps_to("7", [5, 10, 25, 50]) == 5
    assert lim.allowed_options([5, 10, 25, 50]) == [5, 10, 25]
    assert Limits(max_steps=3).allowed_options([5, 10]) == [5]


def test_limits__clamp_day_fixes_out_of_range_url_dates():
    lim = Limits()
    assert lim.clamp_day("0001-01-01", dt.date(2023, 1, 1)) == FIRST_DAY
    assert lim.clamp_day("9999-12-31", dt.date(2023, 1, 1)) == LAST_DAY
    assert lim.clamp_day("2020-02-30", dt.date(2023, 1, 1)) == dt.date(2023, 1, 1)
    assert lim.clamp_day(dt.datetime(2020, 5, 6, 7), dt.date(2023, 1, 1)) == dt.date(2020, 5, 6)


def test_limits__clamp_series_cuts_long_ranges():
    lim = Limits(max_series_days=366)
    assert lim.clamp_series("2016-03-01", "2023-12-31") == (dt.date(2016, 3, 1), dt.date(2017, 3, 1))
    assert lim.clamp_series("2023-12-01", "0001-01-01") == (FIRST_DAY, dt.date(2016, 1, 1))  # swapped, then cut
    assert lim.clamp_series("2023-05-01", "2023-04-01") == (dt.date(2023, 4, 1), dt.date(2023, 5, 1))
    s, e = lim.clamp_series("2023-12-31", "9999-01-01")
    assert (s, e) == (dt.date(2023, 12, 31), dt.date(2023, 12, 31))
    assert Limits().clamp_series("0001-01-01", "9999-01-01") == (FIRST_DAY, LAST_DAY)
    assert Limits().series_days(FIRST_DAY, LAST_DAY) == MAX_SERIES_DAYS


def test_limits__check_request_refuses_too_many_members_or_steps():
    lim = Limits(max_members=4, max_steps=25)
    lim.check_request(members=4, steps=25)
    with pytest.raises(LimitsError, match=r"16 ensemble members asked; this server allows 1 to 4 \(UNIQUE_MAX_MEMBERS\)"):
        lim.check_request(members=16, steps=10)
    with pytest.raises(LimitsError, match=r"50 DDIM steps asked; this server allows 1 to 25 \(UNIQUE_MAX_STEPS\)"):
        lim.check_request(members=2, steps=50)


def test_limits__check_box_and_series_refuse_with_the_variable():
    lim = Limits(max_box_km=6, max_series_days=31)
    lim.check_box_km(6.0, 4.5)
    with pytest.raises(LimitsError, match=r"the box is 15.0 x 15.0 km; .* at most 6 x 6 km \(UNIQUE_MAX_BOX_KM\)"):
        lim.check_box_km(15.0, 15.0)
    region = grid.get_region("jirisan")
    with pytest.raises(LimitsError, match="UNIQUE_MAX_BOX_KM"):
        lim.check_box_km(*region.size_km, source=f"region {region.name}")
    lim.check_series(dt.date(2023, 1, 1), dt.date(2023, 1, 31))
    with pytest.raises(LimitsError, match=r"is 32 days; .* at most 31 days \(UNIQUE_MAX_SERIES_DAYS\)"):
        lim.check_series(dt.date(2023, 1, 1), dt.date(2023, 2, 1))


def test_limits__frozen():
    with pytest.raises(AttributeError):
        Limits().max_members = 99  # type: ignore[misc]


# ------------------------------------------------------------------ the limits applied: URL, widgets, CLI
def _day_widget_page():
    """The Time series page's date widgets, seeded from the URL exactly as the page does."""
    import datetime as dt

    import streamlit as st

    from unique_core.ui import state

    state.url_widget("ts_start", dt.date(2023, 1, 1), state.parse_day)
    state.url_widget("ts_end", dt.date(2023, 12, 31), state.parse_day)
    st.date_input("From", min_value=state.FIRST_DAY, max_value=state.LAST_DAY, key="ts_start")
    st.date_input("To", min_value=state.FIRST_DAY, max_value=state.LAST_DAY, key="ts_end")


@pytest.mark.parametrize("start, end, want", [("0001-01-01", "2023-02-01", (FIRST_DAY, dt.date(2023, 2, 1))),
                                              ("2020-02-30", "9999-12-31", (dt.date(2023, 1, 1), LAST_DAY)),
                                              ("-5", "2016-13-01", (dt.date(2023, 1, 1), dt.date(2023, 12, 31)))])
def test_url_widget__out_of_range_or_broken_dates_are_clamped_not_errors(start, end, want):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_day_widget_page, default_timeout=60)
    at.query_params.update({"ts_start": start, "ts_end": end})
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # 0001-01-01 raised StreamlitValueBelowMinError
    assert (at.date_input("ts_start").value, at.date_input("ts_end").value) == want


def test_state__url_parsers_clamp_to_the_server_limits(monkeypatch):
    from unique_core.ui import state

    monkeypatch.setenv("UNIQUE_MAX_MEMBERS", "6")
    monkeypatch.setenv("UNIQUE_MAX_STEPS", "25")
    assert [state.parse_members(v) for v in ("99", "-1", "3", "nan", "lots")] == [6, 1, 3, 4, 4]
    parse = state.parse_steps([5, 10, 25])
    assert [parse(v) for v in ("50", "1e999", "7", "25")] == [25, 10, 5, 25]
    assert state.parse_box("127.1,37.7,127.2,37.8") == (127.1, 37.7, 127.2, 37.8)
    for junk in ("nan,1,2,3", "1,2,3", "1e999,0,0,0", "500,0,0,0", None, "a,b,c,d"):
        assert state.parse_box(junk) == state.DEFAULT_BOX
    monkeypatch.setenv("UNIQUE_MAX_SERIES_DAYS", "366")
    assert state.series_range(dt.date(2016, 1, 1), dt.date(2023, 12, 31))[:2] == (dt.date(2016, 1, 1),
                                                                                   dt.date(2016, 12, 31))
    assert state.series_range(dt.date(2023, 1, 1), dt.date(2023, 3, 1)) == (dt.date(2023, 1, 1),
                                                                            dt.date(2023, 3, 1), None)


def test_state__box_sizes_and_named_regions_within_the_box_limit(monkeypatch):
    from unique_core.ui import state

    assert state.box_size_choice() == ([6, 15, 30], 15)
    monkeypatch.setenv("UNIQUE_MAX_BOX_KM", "10")
    assert state.box_size_choice() == ([6], 6)
    monkeypatch.setenv("UNIQUE_MAX_BOX_KM", "3")
    assert state.box_size_choice() == ([3.0], 3.0)
    jirisan = grid.get_region("jirisan")
    cut, note = state.within_limits(jirisan)
    assert cut.size_km == (3.0, 3.0) and "UNIQUE_MAX_BOX_KM" in note
    assert cut.brow0 >= jirisan.brow0 and cut.brow0 + cut.nbrows <= jirisan.brow0 + jirisan.nbrows  # inside it
    small = jirisan.subregion(0, 0, 2, 2)
    assert state.within_limits(small) == (small, None)


def test_compare_page__widget_ranges_and_url_values_follow_the_limits(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("UNIQUE_MAX_MEMBERS", "6")
    monkeypatch.setenv("UNIQUE_MAX_STEPS", "25")
    at = AppTest.from_file("../pages/compare.py", default_timeout=120)
    at.query_params.update({"region": "custom", "bbox": "127.14,37.74,127.17,37.77", "date": "2023-07-20",
                            "cmp_members": "99", "cmp_steps": "50"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    members, steps = at.slider("cmp_members"), at.select_slider("cmp_steps")
    assert (members.min, members.max, members.value) == (1, 6, 6)
    assert steps.options == ["5", "10", "25"] and steps.value == 25
    assert at.query_params["cmp_members"] == ["6"] or at.query_params["cmp_members"] == "6"


def _cli(*args, **env):
    import os
    import subprocess
    import sys

    from pathlib import Path

    unique = Path(sys.executable).parent / "unique"  # the installed command, as a deployer runs it
    return subprocess.run([str(unique), *args], capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_cli__member_and_step_ranges_come_from_the_environment():
    out = _cli("products", "get", "--product", "s2", "--region", "gwangneung", "--date", "2023-07-20", "--members", "8",
               UNIQUE_MAX_MEMBERS="4")
    assert out.returncode == 2 and "less than or equal to 4" in out.stderr, out.stderr
    out = _cli("products", "get", "--product", "s2", "--region", "gwangneung", "--date", "2023-07-20", "--steps", "30",
               UNIQUE_MAX_STEPS="25")
    assert out.returncode == 2 and "less than or equal to 25" in out.stderr, out.stderr
    out = _cli("world", "regions", UNIQUE_MAX_MEMBERS="lots")
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "error: UNIQUE_MAX_MEMBERS='lots' is not a whole number from 1 to 16; set it in that range "
        "(e.g. UNIQUE_MAX_MEMBERS=16) or unset it for the default 16"]


def test_cli__a_bbox_larger_than_the_box_limit_is_refused_in_one_line():
    out = _cli("products", "get", "--product", "gpp_m", "--bbox", "127.0", "37.6", "127.1", "37.7", "--crs", "EPSG:4326",
               "--date", "2023-07-20", UNIQUE_MAX_BOX_KM="6")
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: the --bbox box is ") and "UNIQUE_MAX_BOX_KM" in out.stderr
