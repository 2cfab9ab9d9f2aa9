"""The first five minutes: from starting the server on an empty cache to a map, then to GPP.

    python bench/bench_first_open.py [--shots DIR] [--product gpp_m]

A new user's path (issue 12): `streamlit run app.py` on an empty cache folder, a headless
chromium (every outside request refused) opens the first page with no query string. Measured
from the moment the server process is started:
  - to a drawn map (the folium frame is tall and its first picture has loaded; target <= 15 s);
  - to the first GPP map of the default region (the product's colour bar and overlay drawn and
    "Loaded from cache" on the page; target <= 60 s).
Screenshots of both moments go to --shots (default: a temporary folder, printed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from unique_core.ui.devserver import app_server, offline_page  # noqa: E402

MAP_DRAWN = """() => [...document.querySelectorAll("iframe[title*='folium']")].some(f => {
    const d = f.contentDocument; if (!d || f.getBoundingClientRect().height < 200) return false;
    return [...d.querySelectorAll('img.leaflet-image-layer')].some(i => i.complete && i.naturalWidth > 0); })"""
GPP_DRAWN = """() => [...document.querySelectorAll("iframe[title*='folium']")].some(f => {
    const d = f.contentDocument; if (!d || f.getBoundingClientRect().height < 200) return false;
    const imgs = [...d.querySelectorAll('img.leaflet-image-layer')];
    return d.body.innerText.includes('gC m⁻² d⁻¹') && imgs.length >= 3
        && imgs.every(i => i.complete && i.naturalWidth > 0); })
    && document.body.innerText.includes('Loaded from cache')"""


@contextlib.contextmanager
def _removed(folder: str):
    """Remove the bench's cache folder when done (a first open leaves about 100 MB)."""
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    from playwright.sync_api import TimeoutError as PageTimeout
    from playwright.sync_api import sync_playwright

    shots = args.shots or Path(tempfile.mkdtemp(prefix="unique-first-open-"))
    shots.mkdir(parents=True, exist_ok=True)
    cache = tempfile.mkdtemp(prefix="unique-first-open-cache-")
    rows = []
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    with app_server({"UNIQUE_CACHE_DIR": cache}, timeout=120) as url, sync_playwright() as pw, offline_page(pw) as page, \
            _removed(cache):
        rows.append({"name": "server start (health check answers)", "seconds": time.perf_counter() - t0})
        page.goto(url)
        for js, name, target, shot in ((MAP_DRAWN, "server start -> drawn map (empty cache)", 15.0, "first_open_map"),
                                       (GPP_DRAWN, "server start -> first GPP map of the default region", 60.0,
                                        "first_open_gpp")):
            try:
                page.wait_for_function(js, timeout=args.timeout * 1000, polling=200)
            except PageTimeout:  # say so, with the page as it was
                page.screenshot(path=str(shots / f"{shot}_timeout.png"), full_page=True)
                rows.append({"name": name + " (NOT REACHED, timed out)", "seconds": time.perf_counter() - t0,
                             "target_s": target})
                break
            rows.append({"name": name, "seconds": time.perf_counter() - t0, "target_s": target})
            page.wait_for_timeout(800)
            page.screenshot(path=str(shots / f"{shot}.png"), full_page=True)
        assert page.refused == [], page.refused
    report("first_open", rows, {"cpus": os.cpu_count(), "default_page": "/ (Map, Gwangneung, GPP_M)",
                                "load_average_1min_at_start": round(load, 2)})
    print(f"  screenshots: {shots}")


if __name__ == "__main__":
    main()
