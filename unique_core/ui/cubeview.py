"""The Time series page's reading of region-year cubes: daily S2 by plant type and the totals
of S2 and GPP_M side by side, from the same cube (cached per cube file and its completion time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import streamlit as st

from unique_core import cube
from unique_core.ui import cached

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
