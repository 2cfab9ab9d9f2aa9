"""The app in a real browser: headless chromium (Playwright), no network, against `streamlit run`.

Run with the rest of the suite; skipped only where chromium is not installed (.ci/run installs it).
UNIQUE_UPDATE_SCREENSHOTS=1 writes the README's screenshots to docs/screenshots/.
"""

import datetime as dt
import io
import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from unique_core.atomic import write_bytes
from unique_core.ui.devserver import CHROMIUM, app_server, next_day, offline_page, wait_for_app

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                                 reason="chromium is not installed (apt-get install chromium)")]

BOX = "127.14,37.74,127.17,37.77"
DAY = "2023-07-20"
NEXT_DAY = dt.date(2023, 7, 21)
QUERY = f"region=custom&bbox={BOX}&date={DAY}"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a cache in which the small box's products already exist."""
    from unique_core.grid import region_from_bbox
    from unique_core.products import ProductService

    cache = Path(os.environ["UNIQUE_CACHE_DIR"])
    region = region_from_bbox(*map(float, BOX.split(",")), crs="EPSG:4326", name="custom")
    svc = ProductService()
    day = dt.date.fromisoformat(DAY)
    for p in ("gpp_true", "gpp_m", "gpp_l"):
        ok, _ = svc.available(p)
        if ok:
            svc.get(p, day, region)
    svc.get("gpp_true", NEXT_DAY, region)
    for p in ("dem", "landcover", "fractions"):
        svc.get(p, None, region)
    with app_server({"UNIQUE_CACHE_DIR": str(cache)}) as url:
        yield url


@pytest.fixture(scope="module")
def pw():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _shot(page, name: str) -> bytes:
    data = page.screenshot(full_page=True)
    if os.environ.get("UNIQUE_UPDATE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        write_bytes(SHOTS / f"{name}.png", data)
    return data


def _no_exception(page):
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Traceback").count() == 0


@pytest.mark.parametrize("path", ["", "compare-maps", "time-series", "model-skill", "data-catalogue", "map"])
def test_every_page_loads_offline(server, pw, path):
    with offline_page(pw) as page:
        page.goto(f"{server}/{path}?{QUERY}")
        wait_for_app(page)
        _no_exception(page)
        assert page.get_by_text("Simulated data").count() >= 1
        _shot(page, path or "map")


def test_map__the_leaflet_overlay_really_draws(server, pw):
    from PIL import Image

    with offline_page(pw) as page:
        page.goto(f"{server}/?{QUERY}&product=gpp_true")
        wait_for_app(page)
        frame_el = page.locator("iframe[title*='folium']").first
        frame_el.wait_for(timeout=60000)
        frame = frame_el.element_handle().content_frame()
        frame.wait_for_selector("img.leaflet-image-layer", timeout=60000, state="attached")
        frame.wait_for_function("() => [...document.querySelectorAll('img.leaflet-image-layer')]"
                                ".every(i => i.complete && i.naturalWidth > 0)", timeout=60000)
        page.wait_for_timeout(800)
        img = np.asarray(Image.open(io.BytesIO(frame_el.screenshot())).convert("RGB")).astype(int)
        # the GPP overlay's own rectangle inside the map (its last image layer)
        box = frame.evaluate("() => { const i = [...document.querySelectorAll('img.leaflet-image-layer')].pop();"
                             " const r = i.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        inside = img[max(y0, 0):y1, max(x0, 0):x1]
        r, g, b = inside[..., 0], inside[..., 1], inside[..., 2]
        coloured = (np.abs(r - g) + np.abs(g - b) > 25)  # YlGn colours, not the grey hillshade or background
        assert inside.size and coloured.mean() > 0.5, f"only {coloured.mean():.1%} of the overlay is coloured"
        assert page.refused == []  # nothing tried to leave localhost: no CDN, no tiles
        _shot(page, "map_gpp_true")


def test_map__a_date_switch_swaps_the_overlay_and_keeps_the_map(server, pw):
    """The map stays in the browser (no iframe reload) and only the product's image changes."""
    last_src = "() => { const i = [...document.querySelectorAll('img.leaflet-image-layer')].pop(); return i ? i.src : ''; }"
    with offline_page(pw) as page:
        page.goto(f"{server}/?{QUERY}&product=gpp_true")
        wait_for_app(page)
        frame = page.locator("iframe[title*='folium']").first.element_handle(timeout=60000).content_frame()
        frame.wait_for_function("() => document.querySelectorAll('img.leaflet-image-layer').length == 2",
                                timeout=60000)
        before = frame.evaluate(last_src)
        frame.evaluate("() => { window.__kept = 'the same map'; }")
        next_day(page)
        frame.wait_for_function(f"() => ({last_src})() !== {before!r}", timeout=60000)
        assert frame.evaluate("() => window.__kept") == "the same map"
        assert frame.evaluate("() => document.querySelectorAll('img.leaflet-image-layer').length") == 2
        assert page.get_by_text("Click the map").count() == 1
        _no_exception(page)
        assert page.refused == []


def test_map__a_click_on_the_country_map_picks_the_region(server, pw):
    with offline_page(pw) as page:
        page.goto(f"{server}/?{QUERY}&product=gpp_true")
        wait_for_app(page)
        page.get_by_text("Pick the region on the country map").click()
        page.wait_for_function("() => document.querySelectorAll(\"iframe[title*='folium']\").length == 2",
                               timeout=60000)
        frame = page.frame_locator("iframe[title*='folium']").first  # the country map comes first
        frame.locator("img.leaflet-image-layer").wait_for(timeout=60000)
        page.wait_for_timeout(500)
        x, y = frame.locator("body").evaluate("() => { const p = window.map.latLngToContainerPoint([36.0, 128.0]);"
                                              " return [p.x, p.y]; }")  # Gumi, inland
        frame.locator(".leaflet-container").click(position={"x": x, "y": y})
        page.wait_for_function("() => new URLSearchParams(location.search).get('region') === 'custom'"
                               " && !new URLSearchParams(location.search).get('bbox').startsWith('127.14')",
                               timeout=60000)
        west, south, east, north = map(float, parse_qs(urlsplit(page.url).query)["bbox"][0].split(","))
        assert west < 128.0 < east and south < 36.0 < north
        assert 10 < (east - west) * 90 < 20 and 10 < (north - south) * 111 < 20  # the 15 km default
        _no_exception(page)
        assert page.refused == []


def test_compare__runs_s1_and_s2_beside_modis(server, pw):
    """A newcomer's path: open Compare, press Run, get GPP_M, S1, S2 (and GPP_L, the truth) side by side."""
    with offline_page(pw) as page:
        page.goto(f"{server}/compare-maps?{QUERY}")
        wait_for_app(page)
        _no_exception(page)
        run = page.get_by_role("button", name="Run the missing products")
        if run.count():  # not made yet by an earlier test
            run.click()
            page.wait_for_timeout(500)
            wait_for_app(page, timeout_ms=600000)
        _no_exception(page)
        page.wait_for_selector(".js-plotly-plot", timeout=60000)
        titles = page.evaluate("(document.querySelectorAll('.js-plotly-plot')[0].layout.annotations || [])"
                               ".map(a => a.text)")
        for name in ("GPP_M (500 m)", "S1", "S2", "GPP_L", "Truth (simulated)"):
            assert name in titles, (name, titles)
        # the ensemble spread of S1 and S2 and the metrics table are shown too
        plots = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(p => (p.layout.title || {}).text || '')")
        assert any("Ensemble spread" in t for t in plots), plots
        assert page.refused == []
        _shot(page, "compare-run")


def test_timeseries__one_trace_per_plant_type(server, pw):
    from unique_core import analysis
    from unique_core.grid import region_from_bbox
    from unique_core.products import ProductService

    region = region_from_bbox(*map(float, BOX.split(",")), crs="EPSG:4326", name="custom")
    df = analysis.timeseries(ProductService(), "gpp_true_500m", region, dt.date(2023, 7, 1), dt.date(2023, 7, 15))
    expected = sum(df[c].notna().any() for c in df.columns if c != "date")
    with offline_page(pw) as page:
        page.goto(f"{server}/time-series?{QUERY}&ts_products=gpp_true_500m&ts_start=2023-07-01&ts_end=2023-07-15")
        wait_for_app(page)
        page.wait_for_selector(".js-plotly-plot", timeout=120000)
        traces = page.evaluate("document.querySelectorAll('.js-plotly-plot')[0].data.length")
        assert traces == expected
        _no_exception(page)
