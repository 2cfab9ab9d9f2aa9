"""Eight browsers on one server (issue 13, section 4): errors, cached page updates, memory, no double work.

    python bench/bench_load.py                 # 8 sessions for 3 minutes
    python bench/bench_load.py --minutes 2 --sessions 8

First (not timed as part of the run) the private, empty UNIQUE_CACHE_DIR is warmed for the
boxes, in this process: the country relief, each box's DEM, land cover and fractions, and S2 for
every day of DAYS on each box, so every view the sessions step through is cached from the first
second (`--world-from DIR` copies an earlier cache's world/ in to skip the simulated year's 2-3
minutes; `--no-prewarm` skips the warming). Then it starts ONE Streamlit server on 127.0.0.1
(unique_core.ui.devserver.app_server) on that cache and drives `--sessions` headless-Chromium
sessions (one browser, one context each; every request not to 127.0.0.1 is refused). Each
session, until the time is up: opens a small custom box (about 4.4 x 4.4 km) on the Map page with
S2 chosen, by URL as a shared link would, and steps the sidebar's date within DAYS, which redraws
the map (the product cached: the page-update time measured). About one open in four (seeded) is of a day
in RUN_DAYS, not warmed: the session presses "Make S2 in the background" and waits for the map,
so sessions ask the server's pool for the same S2 at once (made once, queued, places shown).
Every loop and wait is bounded; the sessions stop by themselves.

Reported (targets from the issue):
- errors seen on the pages: Streamlit exceptions, error boxes, uncaught page errors (target 0);
- p50 / p95 page-update time with the product cached: from the sidebar date step to the rerun
  finished with "Loaded from cache" and the new day shown; whether the map's top image layer
  changed too is counted apart (date_steps_overlay_redrawn / _same). The URL-open time of a
  cached view (to its overlay drawn) is given for reference;
- peak RSS of the server's process tree (server and its product workers), sampled every 0.5 s
  (target < 6 GB);
- products computed twice: the catalogue is watched every 0.5 s; a key whose entry was written
  with two different `created` stamps, or whose COG file was replaced, was computed twice
  (target 0). The catalogue's key is unique, so the watch is what can see a second computation.

The report goes to bench/reports/load.json (atomic). The CPU count and load average are in it:
on a shared 2-core machine the times are those of a loaded machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from unique_core.ui.devserver import CHROMIUM, CHROMIUM_ARGS, app_server  # noqa: E402

# Small boxes on land (Gwangneung forest, north of Seoul, and the hills east of it): S2 on one
# takes seconds, not minutes. Same latitude span; about 4.4 x 4.4 km each.
BOXES = ("127.150,37.740,127.200,37.780", "127.220,37.740,127.270,37.780")
DAYS = ("2023-07-15", "2023-07-16", "2023-07-17")  # S2 made before the server starts
RUN_DAYS = ("2023-07-19", "2023-07-20")  # S2 made when a session presses Run
RUN_SHARE = 0.25  # the share of opens that go to a RUN_DAYS day
PRODUCT = "s2"  # the product the sessions view (--product); S1/S2 wait for Run, the others start by themselves
PRODUCTS = ("s2", "s1", "gpp_l", "gpp_m", "gpp_true")
TARGET_P95_S = 1.5  # the app's target for a cached date switch (bench_app_browser)
TARGET_RSS_GB = 6.0
OPEN_TIMEOUT_S = 480.0  # a first open (8 browsers on a loaded 2-core machine: 240 s was not enough at load 30)
MAKE_TIMEOUT_S = 300.0  # S2 made in the background for one small box, queued behind others
SWITCH_TIMEOUT_S = 120.0

DAY_FIELD = "[data-testid='stSidebar'] [data-testid='stDateInput'] [role='spinbutton'][data-type='day']"
MAKE_BUTTON = re.compile(r"^Make .* in the background$")
ERROR_SELECTOR = ("[data-testid='stException'], [data-testid='stAlertContentError'], "
                  "[data-testid='stAlert']:has([data-testid='stAlertContentError'])")
# the top image layer's identity: a hash of its whole src (data URLs of two days' PNGs can share a tail)
OVERLAY_JS = ("() => { const i = [...document.querySelectorAll('img.leaflet-image-layer')].pop();"
              " if (!(i && i.complete && i.naturalWidth > 0)) return ''; let h = 0; const s = i.src;"
              " for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0;"
              " return s.length + ':' + h; }")


# ---------------------------------------------------------------- server-side watchers ---------
def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            rss[int(d.name)] = int((d / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


class Watch(threading.Thread):
    """Every 0.5 s: the server tree's RSS, and each catalogue entry's `created` stamp and COG identity."""

    def __init__(self, pid: int, catalog: Path):
        super().__init__(daemon=True)
        self.pid, self.catalog = pid, catalog
        self.peak_rss = 0
        self.versions: dict[str, set] = {}  # key -> {(created, inode, mtime_ns)}
        self.products: dict[str, str] = {}
        self.stop = threading.Event()

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, tree_rss(self.pid))
        if not self.catalog.exists():
            return
        try:
            with sqlite3.connect(f"file:{self.catalog}?mode=ro", uri=True, timeout=2) as c:
                rows = c.execute("SELECT key, product, created, path FROM products").fetchall()
        except sqlite3.Error:  # busy or being healed: the next sample sees it
            return
        for key, product, created, path in rows:
            try:
                st = os.stat(path)
                ident = (created, st.st_ino, st.st_mtime_ns)
            except OSError:
                continue
            self.versions.setdefault(key, set()).add(ident)
            self.products[key] = product

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.sample()


# ---------------------------------------------------------------- one browser session ----------
class Session:
    def __init__(self, ident: int, url: str, deadline: float, stats: dict, product: str = PRODUCT):
        self.ident, self.url, self.deadline, self.stats, self.product = ident, url, deadline, stats, product
        self.rng = random.Random(ident)
        self.page = None

    async def errors_on_page(self) -> list[str]:
        loc = self.page.locator(ERROR_SELECTOR)
        n = await loc.count()
        return [(await loc.nth(k).inner_text())[:300] for k in range(n)]

    async def overlay(self) -> str:
        frames = self.page.locator("iframe[title*='folium']")
        if not await frames.count():
            return ""
        try:
            handle = await frames.last.element_handle(timeout=2000)
            frame = await handle.content_frame()
            return await frame.evaluate(OVERLAY_JS) if frame else ""
        except Exception:  # the iframe is being replaced by a rerun
            return ""

    async def settle(self, before: str | None, timeout: float, day: int | None = None, poll: float = 0.1) -> str:
        """Wait for the page to show the product ready ('drawn'), a Run button ('run') or an error.

        'drawn': the script run has finished, the "Loaded from cache" note is shown, the day field
        shows `day` (when given), and, when `before` is not None, the map's top image layer is a
        loaded image other than `before`. A date step passes before=None: the page update is the
        finished rerun; whether the overlay was redrawn too is counted apart (overlay_redrawn).
        `poll`: seconds between looks (opens look every 0.5 s, so eight browsers asking the page
        ten times a second do not load the machine the server runs on; date steps every 0.1 s).
        """
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout and time.time() < self.deadline + 60:
            errors = await self.errors_on_page()
            if errors:
                self.record_errors(errors)
                return "error"
            running = await self.page.locator("[data-testid='stStatusWidget']").count()
            if await self.page.get_by_role("button", name=MAKE_BUTTON).count() and not running:
                return "run"
            if not running and await self.page.get_by_text("Loaded from cache").count():
                shown = await self.page.locator(DAY_FIELD).get_attribute("aria-valuenow")
                if day is None or (shown and int(shown) == day):
                    if before is None:
                        return "drawn"
                    src = await self.overlay()
                    if src and src != before:
                        return "drawn"
            await asyncio.sleep(poll)
        return "timeout"

    async def press_run(self) -> None:
        """Press "Make S2 in the background" and wait (bounded) until the rerun has taken the button away."""
        await self.page.get_by_role("button", name=MAKE_BUTTON).first.click()
        self.stats["runs_pressed"] += 1
        with contextlib.suppress(Exception):  # still there after 30 s: settle() sees it and says so
            await self.page.get_by_role("button", name=MAKE_BUTTON).first.wait_for(state="detached", timeout=30000)

    def record_errors(self, texts: list[str]) -> None:
        for t in texts:
            self.stats["errors"].append({"session": self.ident, "text": t})

    async def open_view(self, box: str, day: str) -> str:
        t0 = time.perf_counter()
        await self.page.goto(f"{self.url}/?region=custom&bbox={box}&date={day}&product={self.product}&source=simulated",
                             timeout=OPEN_TIMEOUT_S * 1000)
        state = await self.settle("", OPEN_TIMEOUT_S, poll=0.5)
        if state == "drawn":
            self.stats["open_cached_s"].append(time.perf_counter() - t0)
        elif state == "run":
            await self.press_run()
            t1 = time.perf_counter()
            state = await self.settle("", MAKE_TIMEOUT_S, poll=0.5)
            if state == "drawn":
                self.stats["make_s"].append(time.perf_counter() - t1)
        if state == "timeout":
            self.stats["timeouts"].append({"session": self.ident, "where": f"open {box} {day}"})
        return state

    async def step_day(self, up: bool) -> str:
        """Step the sidebar's day field one day as a user does; the time to the new overlay drawn."""
        before = await self.overlay()
        day = self.page.locator(DAY_FIELD)
        want = int(await day.get_attribute("aria-valuenow", timeout=SWITCH_TIMEOUT_S * 1000)) + (1 if up else -1)
        t0 = time.perf_counter()
        await day.focus()
        await day.press("ArrowUp" if up else "ArrowDown")
        await self.page.locator("h1").first.click()  # the field commits its value on blur
        await asyncio.sleep(0.3)  # let the rerun begin, so the finished state seen is the new one
        state = await self.settle(None, SWITCH_TIMEOUT_S, want)
        if state == "drawn":
            self.stats["switch_cached_s"].append(time.perf_counter() - t0)
            redrawn = await self.overlay()
            self.stats["overlay_redrawn" if redrawn and redrawn != before else "overlay_same"] += 1
        elif state == "run":  # not made yet for this day: make it, as a user would
            await self.press_run()
            t1 = time.perf_counter()
            state = await self.settle(None, MAKE_TIMEOUT_S, want)
            if state == "drawn":
                self.stats["make_s"].append(time.perf_counter() - t1)
        if state == "timeout":
            self.stats["timeouts"].append({"session": self.ident, "where": "date step"})
        return state

    async def run(self, browser) -> None:
        context = await browser.new_context(viewport={"width": 1400, "height": 950})

        async def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")):
                await r.continue_()
            else:
                self.stats["refused"].append(r.request.url)
                await r.abort()

        await context.route("**/*", route)
        self.page = await context.new_page()
        self.page.on("pageerror", lambda exc: self.stats["errors"].append(
            {"session": self.ident, "text": f"page error: {str(exc)[:300]}"}))
        try:
            await asyncio.sleep(self.ident * 2.0)  # users do not all arrive in the same second
            while time.time() < self.deadline:
                box, k = self.rng.choice(BOXES), self.rng.randrange(len(DAYS))
                if self.rng.random() < RUN_SHARE:  # a day not made yet: press Run, wait, go on
                    if await self.open_view(box, self.rng.choice(RUN_DAYS)) == "drawn":
                        self.stats["views"] += 1
                    continue
                if await self.open_view(box, DAYS[k]) not in ("drawn",):
                    continue
                self.stats["views"] += 1
                for _ in range(4):  # a few date steps inside the session, within DAYS
                    if time.time() >= self.deadline:
                        break
                    up = k == 0 or (k < len(DAYS) - 1 and self.rng.random() < 0.5)
                    if await self.step_day(up) != "drawn":
                        break
                    k += 1 if up else -1
        except Exception as exc:  # a broken session is a finding of the bench's own, not a page's error
            self.stats["bench_failures"].append({"session": self.ident, "text": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            await context.close()


async def drive(url: str, sessions: int, deadline: float, stats: dict, product: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(*(Session(i, url, deadline, stats, product).run(browser) for i in range(sessions)))
        finally:
            await browser.close()


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def prewarm(cache: Path, world_from: Path | None, make_s2: bool, product: str = PRODUCT) -> float:
    """Before the server starts: optionally copy a world cache in, then warm the cache for the boxes.

    The country relief, each box's static layers and S2 for every day of DAYS: so cached views
    exist from the first second (the page-update time is measured on them); RUN_DAYS are made
    by the sessions pressing Run. Returns the seconds it took.
    """
    t0 = time.time()
    if world_from:
        src = Path(world_from) / "world"
        if not src.is_dir():
            raise SystemExit(f"--world-from {world_from}: no world/ folder in it; give a UNIQUE cache folder "
                             "(UNIQUE_CACHE_DIR of an earlier run) or leave the option out")
        shutil.copytree(src, cache / "world")
    if make_s2:
        import datetime as dt

        old = os.environ.get("UNIQUE_CACHE_DIR")
        os.environ["UNIQUE_CACHE_DIR"] = str(cache)
        try:
            from unique_core.errors import UniqueError
            from unique_core.grid import region_from_bbox
            from unique_core.products import ProductService
            from unique_core.ui.jobs import make_relief
            from unique_core.world import World

            make_relief(World().seed, progress_file=str(cache / "prewarm-relief.progress.json"))
            svc = ProductService()
            for box in BOXES:
                x0, y0, x1, y1 = (float(v) for v in box.split(","))
                region = region_from_bbox(x0, y0, x1, y1, crs="EPSG:4326", name="custom")
                for static in ("dem", "landcover", "fractions"):
                    svc.get(static, None, region)
                for day in DAYS:
                    try:
                        svc.get(product, dt.date.fromisoformat(day), region)
                    except UniqueError as exc:  # e.g. an S2 ensemble whose spread is not calibrated
                        raise SystemExit(f"prewarm: {product} cannot be made here ({exc}); the sessions would "
                                         "see that error on every view: fix it, or bench another --product") from None
                    print(f"  prewarm: {product} {box} {day} at {time.time() - t0:.0f} s", flush=True)
        finally:
            if old is None:
                os.environ.pop("UNIQUE_CACHE_DIR", None)
            else:
                os.environ["UNIQUE_CACHE_DIR"] = old
    print(f"  prewarm: {time.time() - t0:.0f} s", flush=True)
    return round(time.time() - t0, 1)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="how long the sessions run (0.5 .. 30)")
    ap.add_argument("--world-from", type=Path, default=None,
                    help="copy this cache folder's world/ (the simulated year, ~0.5 GB) into the private cache "
                         "first, to skip its 2-3 minutes; products are still all made fresh")
    ap.add_argument("--no-prewarm", action="store_true", help="do not make S2 for the first day of each box first")
    ap.add_argument("--sessions", type=int, default=8, help="browser sessions at once (1 .. 16)")
    ap.add_argument("--product", choices=PRODUCTS, default=PRODUCT,
                    help="the product viewed (default s2, made with the Map page's default ensemble)")
    args = ap.parse_args(argv)
    minutes = min(max(args.minutes, 0.5), 30.0)
    sessions = min(max(args.sessions, 1), 16)
    stats: dict = {"errors": [], "bench_failures": [], "timeouts": [], "refused": [], "open_cached_s": [], "switch_cached_s": [],
                   "make_s": [], "runs_pressed": 0, "views": 0,
             "overlay_redrawn": 0, "overlay_same": 0}
    with tempfile.TemporaryDirectory(prefix="unique-load-") as cache:
        env = {"UNIQUE_CACHE_DIR": cache}
        prewarm_s = prewarm(Path(cache), args.world_from, not args.no_prewarm, args.product)
        t_start = time.time()
        with app_server(env) as url:
            import urllib.parse

            assert urllib.parse.urlparse(url).hostname == "127.0.0.1"
            pid = _server_pid(url)
            watch = Watch(pid, Path(cache) / "products" / "catalog.sqlite")
            watch.start()
            deadline = time.time() + minutes * 60
            asyncio.run(drive(url, sessions, deadline, stats, args.product))
            watch.stop.set()
            watch.join(5)
            watch.sample()
        wall = time.time() - t_start
        twice = {k: len(v) for k, v in watch.versions.items() if len({x[0] for x in v}) > 1 or len(v) > 1}
        products_made: dict[str, int] = {}
        for k, p in watch.products.items():
            products_made[p] = products_made.get(p, 0) + 1
    load = os.getloadavg()
    sw, oc = stats["switch_cached_s"], stats["open_cached_s"]
    rows = []
    if sw:
        rows += [{"name": f"p50 date step, {args.product} cached (rerun finished)", "seconds": pct(sw, 50)},
                 {"name": f"p95 date step, {args.product} cached (rerun finished)", "seconds": pct(sw, 95),
                  "target_s": TARGET_P95_S}]
    if oc:
        rows += [{"name": "p50 URL open of a cached view (reference)", "seconds": pct(oc, 50)},
                 {"name": "p95 URL open of a cached view (reference)", "seconds": pct(oc, 95)}]
    if stats["make_s"]:
        rows.append({"name": "median wait after Run for S2 (queued + made)", "seconds": pct(stats["make_s"], 50)})
    report("load", rows, extra={
        "sessions": sessions, "minutes": minutes, "product": args.product, "prewarm_s": prewarm_s,
        "world_copied_from": str(args.world_from) if args.world_from else None, "wall_s": round(wall, 1), "load_average": load,
        "errors_seen": len(stats["errors"]), "errors_target": 0, "errors": stats["errors"][:50],
        "bench_failures": stats["bench_failures"][:50],
        "timeouts": stats["timeouts"][:50], "refused_outside_requests": len(stats["refused"]),
        "peak_server_rss_gb": round(watch.peak_rss / 1e9, 3), "peak_rss_target_gb": TARGET_RSS_GB,
        "peak_rss_ratio": round(watch.peak_rss / 1e9 / TARGET_RSS_GB, 3),
        "products_computed_twice": twice, "catalogue_entries_by_product": products_made,
        "runs_pressed": stats["runs_pressed"],
        "date_steps_overlay_redrawn": stats["overlay_redrawn"], "date_steps_overlay_same": stats["overlay_same"], "views_opened": stats["views"],
        "switch_cached_s": [round(x, 3) for x in sw], "open_cached_s": [round(x, 3) for x in oc],
        "note": "shared machine: other jobs ran beside this bench; see load_average"})
    print(f"  errors seen on the pages: {len(stats['errors'])} (target 0)")
    for e in stats["errors"][:10]:
        print(f"    session {e['session']}: {e['text'][:160]!r}")
    for e in stats["bench_failures"][:10]:
        print(f"    the bench's own failure, session {e['session']}: {e['text'][:160]!r}")
    print(f"  timeouts: {len(stats['timeouts'])}; requests outside 127.0.0.1 refused: {len(stats['refused'])}")
    print(f"  peak server RSS (tree): {watch.peak_rss / 1e9:.2f} GB / {TARGET_RSS_GB} GB = "
          f"{watch.peak_rss / 1e9 / TARGET_RSS_GB:.2f}")
    print(f"  products computed twice: {len(twice)} (target 0) of {len(watch.versions)} catalogued "
          f"{json.dumps(products_made)}; Run pressed {stats['runs_pressed']} times")
    print(f"  date steps with {args.product} cached: {len(sw)}; cached URL opens: {len(oc)}; load average {load}")
    return stats


def _server_pid(url: str) -> int:
    """The pid of the Streamlit server listening on the URL's port (from /proc/net/tcp)."""
    port = int(url.rsplit(":", 1)[1])
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port and f[3] == "0A":  # LISTEN
            inodes.add(f[9])
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                if os.readlink(fd).startswith("socket:[") and os.readlink(fd)[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {url}")


if __name__ == "__main__":
    main(sys.argv[1:] if "run_all" not in sys.argv[0] else [])  # run_all.py runs it with its own argv
