"""analysis.totals: sums of daily values over named periods, from daily or sampled series."""

import numpy as np
import pandas as pd
import pytest

from unique_core import analysis
from unique_core.errors import DataError


def _series(start: str, end: str, every: int = 1, value=lambda d: 2.0) -> pd.DataFrame:
    days = pd.date_range(start, end, freq=f"{every}D")
    if days[-1] != pd.Timestamp(end):
        days = days.append(pd.DatetimeIndex([end]))
    return pd.DataFrame({"date": days.date, "DBF": [value(d) for d in days], "RICE": [1.0] * len(days)})


def _row(tot: pd.DataFrame, period_start: str, pft: str = "DBF") -> pd.Series:
    rows = tot[tot["period"].str.contains(period_start, regex=False) & (tot["pft"] == pft)]
    assert len(rows) == 1, (period_start, list(tot["period"].unique()))
    return rows.iloc[0]


def test_totals__a_daily_year_sums_to_known_values():
    tot = analysis.totals(_series("2023-01-01", "2023-12-31"), {"DBF": 10.0, "RICE": 2.0})
    year = _row(tot, "2023 (365 days)")
    assert year["gpp_gC_m2"] == pytest.approx(730.0) and year["carbon_t"] == pytest.approx(7300.0)
    assert year["complete"] and year["days"] == 365 and year["sampled_days"] == 365
    assert _row(tot, "JJA 2023 (92 days)")["gpp_gC_m2"] == pytest.approx(184.0)
    assert _row(tot, "MAM 2023 (92 days)")["gpp_gC_m2"] == pytest.approx(184.0)
    assert _row(tot, "SON 2023 (91 days)")["gpp_gC_m2"] == pytest.approx(182.0)
    # DJF runs from December of the year before: only January and February of 2023 are in it
    djf = _row(tot, "part of DJF 2022-23")
    assert djf["days"] == 59 and djf["period_days"] == 90 and not djf["complete"]
    assert "(59 of 90 days)" in djf["period"] and djf["gpp_gC_m2"] == pytest.approx(118.0)
    assert _row(tot, "2023 (365 days)", "RICE")["carbon_t"] == pytest.approx(730.0)
    assert not (tot["kind"] == "span").any()  # the span is the year itself


def test_totals__a_partial_year_is_never_called_a_year():
    tot = analysis.totals(_series("2023-07-01", "2023-07-10"), {"DBF": 1.0, "RICE": 1.0})
    names = set(tot["period"])
    assert "part of 2023: 2023-07-01 to 2023-07-10 (10 of 365 days)" in names
    assert "part of JJA 2023: 2023-07-01 to 2023-07-10 (10 of 92 days)" in names
    assert "2023-07-01 to 2023-07-10 (10 days)" in names
    assert not any(n in ("year", "2023") or n.startswith("2023 (") for n in names)
    assert (tot.loc[tot["pft"] == "DBF", "gpp_gC_m2"] == 20.0).all()


def test_totals__an_8_day_series_is_interpolated_to_daily():
    # a linear ramp is interpolated exactly: the daily sum is known in closed form
    ramp = lambda d: 0.01 * d.day_of_year  # noqa: E731
    sampled = _series("2023-01-01", "2023-12-31", every=8, value=ramp)
    assert len(sampled) == 47
    tot = analysis.totals(sampled, {"DBF": 1.0, "RICE": 1.0})
    year = _row(tot, "2023 (365 days)")
    assert year["gpp_gC_m2"] == pytest.approx(0.01 * 365 * 366 / 2, abs=0.06)
    assert year["sampled_days"] == 47 and year["days"] == 365
    jja = _row(tot, "JJA 2023 (92 days)")
    assert jja["gpp_gC_m2"] == pytest.approx(0.01 * sum(range(152, 244)), abs=0.06)
    # summing the samples as if daily would be about 8 times too low
    assert sampled["DBF"].sum() < year["gpp_gC_m2"] / 7


def test_totals__a_sampled_series_can_be_refused():
    with pytest.raises(DataError, match="not one per day: totals need daily values"):
        analysis.totals(_series("2023-01-01", "2023-03-01", every=8), {"DBF": 1.0}, sampled="refuse", name="s2")


def test_totals__a_long_gap_is_refused():
    s = _series("2023-01-01", "2023-12-31", every=8)
    s = s[(pd.to_datetime(s["date"]) < "2023-06-01") | (pd.to_datetime(s["date"]) > "2023-08-01")]
    with pytest.raises(DataError, match=r"gap of \d+ days .* too long to interpolate \(at most 40\)"):
        analysis.totals(s, {"DBF": 1.0})


def test_totals__duplicate_and_empty_series_are_refused():
    s = _series("2023-01-01", "2023-01-05")
    with pytest.raises(DataError, match="2023-01-03 twice"):
        analysis.totals(pd.concat([s, s.iloc[[2]]]), {"DBF": 1.0})
    with pytest.raises(DataError, match="has no dates"):
        analysis.totals(s.iloc[:0], {"DBF": 1.0})


def test_totals__missing_values_inside_a_daily_series_are_filled_not_summed_as_zero():
    s = _series("2023-06-01", "2023-08-31")
    s.loc[10:19, "DBF"] = np.nan
    jja = _row(analysis.totals(s, {"DBF": 1.0}), "JJA 2023 (92 days)")
    assert jja["gpp_gC_m2"] == pytest.approx(184.0) and jja["sampled_days"] == 82


def test_totals__all_vegetation_uses_the_summed_area():
    s = _series("2023-06-01", "2023-08-31")
    s["all"] = 3.0
    jja = _row(analysis.totals(s, {"DBF": 2.0, "RICE": 1.0}), "JJA 2023 (92 days)", "all")
    assert jja["area_km2"] == 3.0 and jja["carbon_t"] == pytest.approx(3 * 92 * 3.0)


@pytest.mark.parametrize("year, n", [(2023, 365), (2024, 366)])
def test_year_periods__cover_every_day_once_and_never_call_a_part_a_season(year, n):
    periods = analysis.year_periods(year)
    assert [c for c, *_ in periods] == ["JF", "year", "MAM", "JJA", "SON", "D"]
    days = {c: (b - a).days + 1 for c, _, a, b in periods}
    assert days["year"] == n and sum(v for c, v in days.items() if c != "year") == n
    names = dict((c, name) for c, name, *_ in periods)
    assert names["JF"].startswith(f"part of DJF {year - 1}-") and names["D"].startswith(f"part of DJF {year}-")
    # the same names as the totals of a daily series of that year
    tot = analysis.totals(_series(f"{year}-01-01", f"{year}-12-31"), {"DBF": 1.0, "RICE": 1.0})
    assert set(tot["period"]) == set(names.values())
