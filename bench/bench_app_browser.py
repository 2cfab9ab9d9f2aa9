"""The app in the browser: with products cached, switching the date redraws the map (issue: app).

    python bench/bench_app_browser.py

Target: <= 1.5 s from typing a new date in the sidebar to the new overlay drawn in the Leaflet map
(headless chromium, localhost, every outside request refused). Reports each switch and the median.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from unique_core.grid import get_region  # noqa: E402
from unique_core.products import ProductService  # noqa: E402
from unique_core.ui.devserver import DAY_FIELD, app_server, next_day, offline_page, wait_for_app  # noqa: E402

REGION = "jirisan"
DAYS = [dt.date(2023, 7, 20) + dt.timedelta(k) for k in range(6)]


def overlay_src(frame) -> str:
    return frame.evaluate("() => { const i = [...document.querySelectorAll('img.leaflet-image-layer')].pop();"
                          " return i && i.complete && i.naturalWidth > 0 ? i.src.slice(-64) : ''; }")


def main() -> None:
    from playwright.sync_api import sync_playwright

    svc = ProductService()
    region = get_region(REGION)
    for d in DAYS:
        svc.get("gpp_true", d, region)
    svc.get("dem", None, region)
    rows = []
    with app_server() as url, sync_playwright() as pw, offline_page(pw) as page:
        page.goto(f"{url}/?region={REGION}&date={DAYS[0]}&product=gpp_true")
        wait_for_app(page)
        frame = page.locator("iframe[title*='folium']").first.element_handle().content_frame()
        frame.wait_for_function("() => document.querySelector('img.leaflet-image-layer')", timeout=60000)
        times = []
        for d in DAYS[1:]:
            before = overlay_src(frame)
            assert int(page.locator(DAY_FIELD).get_attribute("aria-valuenow")) == d.day - 1
            t0 = time.perf_counter()
            next_day(page)
            while True:
                handle = page.locator("iframe[title*='folium']").first.element_handle(timeout=30000)
                frame = handle.content_frame()
                try:
                    src = overlay_src(frame)
                except Exception:  # the iframe is being replaced
                    src = ""
                if src and src != before:
                    break
                if time.perf_counter() - t0 > 30:
                    raise RuntimeError(f"the map did not redraw for {d}")
                time.sleep(0.02)
            times.append(time.perf_counter() - t0)
            rows.append({"name": f"switch date to {d} (cached product), redraw in the browser", "seconds": times[-1]})
        rows.append({"name": "median date switch", "seconds": statistics.median(times), "target_s": 1.5})
        assert page.refused == [], page.refused
    report("app_browser", rows)


if __name__ == "__main__":
    main()
