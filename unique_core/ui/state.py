"""The shared sidebar: date, region and data source, kept in the URL so a view can be shared.

Everything read from a URL is clamped to this server's limits (unique_core.limits, the
UNIQUE_MAX_* variables) before it reaches a widget or a computation: a hand-edited link can
neither raise an error nor ask for more work than the deployer allows.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import streamlit as st

from unique_core.config import data_dir
from unique_core.errors import UniqueError
from unique_core.grid import BLOCK, Region, get_region, lonlat_box, named_regions, region_around, region_from_bbox
from unique_core.limits import FIRST_DAY, LAST_DAY, Limits
from unique_core.ui import errors
DEFAULT_DAY = dt.date(2023, 7, 15)  # in the test year of Step 2
DEFAULT_REGION = "gwangneung"
CUSTOM = "custom"
SIMULATED, REAL = "simulated", "real"


BOX_SIZES_KM = (6, 15, 30)  # the country map's box sizes (km), before the server's limit


def limits() -> Limits:
    """This server's per-request limits (UNIQUE_MAX_*); a bad variable is a LimitsError naming it."""
    return Limits.from_env()


def box_size_choice() -> tuple[list[float], float]:
    """(options, default) for the Map page's box-size slider: the sizes within UNIQUE_MAX_BOX_KM."""
    top = limits().max_box_km
    options = [s for s in BOX_SIZES_KM if s <= top] or [top]
    return options, (15 if 15 in options else options[-1])


def within_limits(region: Region) -> tuple[Region, str | None]:
    """The region, or its central box of the largest size allowed (with a note saying so)."""
    lim = limits()
    w, h = region.size_km
    if max(w, h) <= lim.max_box_km + 1e-6:
        return region, None
    n = max(1, math.floor(lim.max_box_km * 1000.0 / BLOCK + 1e-9))
    rows, cols = min(n, region.nbrows), min(n, region.nbcols)
    cut = region.subregion((region.nbrows - rows) // 2, (region.nbcols - cols) // 2, rows, cols,
                           name=f"{region.name}-centre")
    note = (f"{region.title or region.name} is {w:.0f} x {h:.0f} km; this server allows boxes up to "
            f"{lim.max_box_km:g} km (UNIQUE_MAX_BOX_KM), so its central {cut.size_km[0]:.1f} x "
            f"{cut.size_km[1]:.1f} km is shown.")
    return cut, note


@dataclass(frozen=True)
class Selection:
    date: dt.date
    region: Region
    source: str  # SIMULATED or REAL

    @property
    def simulated(self) -> bool:
        return self.source == SIMULATED


DEFAULT_BOX = (127.10, 37.70, 127.25, 37.82)


def _query_date() -> dt.date:
    return limits().clamp_day(st.query_params.get("date"), DEFAULT_DAY)


def parse_box(raw: str | None) -> tuple[float, float, float, float]:
    """west,south,east,north degrees from the URL: four finite numbers inside the globe, else the default box."""
    try:
        values = tuple(float(v) for v in str(raw).split(","))
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_BOX
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return DEFAULT_BOX
    x0, y0, x1, y1 = values
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        return DEFAULT_BOX
    return values  # type: ignore[return-value]


def _query_box() -> tuple[float, float, float, float]:
    return parse_box(st.query_params.get("bbox"))


def _seed_from_url(names: list[str], sources: list[str]) -> None:
    """Copy the URL's choices into the widgets' state once per session (a shared link opens that view)."""
    ss = st.session_state
    if ss.get("_seeded"):
        return
    ss["date"] = _query_date()
    q_region = st.query_params.get("region", DEFAULT_REGION)
    ss["region"] = q_region if q_region in names else DEFAULT_REGION
    q_source = st.query_params.get("source", SIMULATED)
    ss["source"] = q_source if q_source in sources else SIMULATED
    ss["bx0"], ss["by0"], ss["bx1"], ss["by1"] = _query_box()
    ss["_seeded"] = True


def sidebar() -> Selection:
    """Draw the shared sidebar; returns the current choices and writes them to the URL."""
    errors.install()
    regions = named_regions()
    names = list(regions) + [CUSTOM]
    real_dir = data_dir()
    sources = [SIMULATED] + ([REAL] if real_dir else [])
    _seed_from_url(names, sources)
    with st.sidebar:
        st.markdown("### UNIQUE")
        date = st.date_input("Date", min_value=FIRST_DAY, max_value=LAST_DAY, key="date",
                             help="Any day of 2015-2023; Step 2 is tested on 2023.")
        name = st.selectbox("Region", names, key="region",
                            format_func=lambda n: "Custom box (lon/lat)" if n == CUSTOM else regions[n].title)
        region: Region = regions.get(name, get_region(DEFAULT_REGION))
        if name == CUSTOM:
            c1, c2 = st.columns(2)
            x0 = c1.number_input("West (deg E)", format="%.3f", key="bx0")
            x1 = c2.number_input("East (deg E)", format="%.3f", key="bx1")
            y0 = c1.number_input("South (deg N)", format="%.3f", key="by0")
            y1 = c2.number_input("North (deg N)", format="%.3f", key="by1")
            try:
                region = region_from_bbox(x0, y0, x1, y1, crs="EPSG:4326", name="custom")
                limits().check_box_km(*region.size_km, source="the custom box")
                st.query_params["bbox"] = f"{x0:.4f},{y0:.4f},{x1:.4f},{y1:.4f}"
            except UniqueError as exc:
                st.error(str(exc))
                region = get_region(DEFAULT_REGION)
        region, cut = within_limits(region)
        if cut:
            st.caption(cut)
        source = st.radio("Data", sources, key="source",
                          format_func=lambda s: "Simulated South Korea (built in)" if s == SIMULATED
                          else f"Real data folder ({real_dir.name})")
        if not real_dir:
            st.caption("Real data: start the app with UNIQUE_DATA_DIR set to a folder laid out as "
                       "docs/real-data.md describes.")
    st.query_params["date"] = date.isoformat()
    st.query_params["region"] = name
    st.query_params["source"] = source
    return Selection(date, region, source)


def current() -> Selection:
    """The selection made by the sidebar in app.py (pages call this).

    A page run on its own (Streamlit's old multipage mode, e.g. a stale link to a file name) draws
    the shared sidebar itself, so it works the same way.
    """
    errors.install()
    if "selection" not in st.session_state:
        st.session_state["selection"] = sidebar()
    return st.session_state["selection"]


def source_banner(sel: Selection) -> None:
    """Say plainly which data the page shows."""
    if sel.simulated:
        st.info("**Simulated data.** Everything here comes from UNIQUE's built-in simulated South Korea "
                "(terrain, land cover, weather, satellites and flux towers made by a deterministic model). "
                "It is not an observation of the real country.", icon=":material/science:")
    else:
        st.success("**Real data** from the folder this app was started with.", icon=":material/satellite_alt:")


def url_widget(key: str, default, parse=str) -> None:
    """Seed a page widget's state from the URL once (so a shared link opens the same view).

    Call before creating the widget with `key`; `url_sync(key)` after it writes the value back.
    """
    flag = f"_seeded_{key}"
    if st.session_state.get(flag):
        return
    raw = st.query_params.get(key)
    try:
        st.session_state[key] = parse(raw) if raw is not None else default
    except (ValueError, TypeError, OverflowError):
        st.session_state[key] = default
    st.session_state[flag] = True


def url_sync(key: str, dump=str) -> None:
    st.query_params[key] = dump(st.session_state[key])


def parse_day(raw: str) -> dt.date:
    """A date from the URL, clamped to the days the app covers (a widget refuses anything outside).

    ValueError for text that is no date (url_widget then uses the widget's default).
    """
    return min(max(dt.date.fromisoformat(raw), FIRST_DAY), LAST_DAY)


def parse_members(raw: str) -> int:
    """S1/S2 ensemble members from the URL, within 1 .. UNIQUE_MAX_MEMBERS (never raises)."""
    return limits().clamp_members(raw)


def parse_steps(options):
    """A parser of DDIM steps from the URL: the largest allowed option not above the value (never raises)."""
    def parse(raw: str) -> int:
        return limits().clamp_steps_to(raw, list(options))
    return parse


def series_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date, str | None]:
    """(start, end, note): a series range cut to UNIQUE_MAX_SERIES_DAYS (note None when nothing was cut).

    For the Time series page after its two date widgets; an end before the start is left to the page.
    """
    lim = limits()
    if end < start or lim.series_days(start, end) <= lim.max_series_days:
        return start, end, None
    s, e = lim.clamp_series(start, end)
    return s, e, (f"This server makes series of at most {lim.max_series_days} days (UNIQUE_MAX_SERIES_DAYS): "
                  f"shown from {s} to {e}.")


def parse_choice(options):
    """A parser that accepts only one of `options` (anything else falls back to the default)."""
    def parse(raw: str):
        if raw not in options:
            raise ValueError(raw)
        return raw
    return parse


def parse_list(options):
    def parse(raw: str):
        items = [r for r in raw.split(",") if r]
        if not items or any(r not in options for r in items):
            raise ValueError(raw)
        return items
    return parse


PICK_KEY = "country_pick"
PICK_ERROR = "country_pick_error"


def pick_from_click() -> None:
    """st_folium's on_change for the country map: the clicked point becomes the custom box.

    Runs as a callback, before the sidebar's widgets are drawn, so it may set their state.
    """
    ss = st.session_state
    click = (ss.get(PICK_KEY) or {}).get("last_clicked")
    if not click:
        return
    try:
        size = limits().clamp_box_km(ss.get("pick_size_km"), default=box_size_choice()[1])
        region = region_around(float(click["lng"]), float(click["lat"]), size)
    except (UniqueError, KeyError, TypeError, ValueError) as exc:
        ss[PICK_ERROR] = str(exc) if isinstance(exc, UniqueError) else "that click was not a point on the map"
        return
    ss.pop(PICK_ERROR, None)
    ss["region"] = CUSTOM
    ss["bx0"], ss["by0"], ss["bx1"], ss["by1"] = lonlat_box(region)

