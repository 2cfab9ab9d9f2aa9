"""Start the app for browser tests and benchmarks, and a headless browser that cannot leave localhost."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from typing import Iterator

from unique_core.resources import app_dir
from unique_core.ui import serve

ROOT = app_dir()  # the folder of app.py: the checkout, or the installed package
CHROMIUM = os.environ.get("UNIQUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(env: dict[str, str] | None = None, timeout: float = 90.0) -> Iterator[str]:
    """`streamlit run app.py` on a free localhost port; yields its base URL."""
    port = free_port()
    cmd = serve.command(ROOT / "app.py", "--server.address", "127.0.0.1", "--server.port", str(port),
                        "--server.headless", "true", "--browser.gatherUsageStats", "false")
    # a session of its own: stopping it stops the worker processes the app started too
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError(f"the app did not start on {url}: {proc.stdout.read(2000) if proc.stdout else ''}")
        yield url
    finally:
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def offline_page(playwright, *, width: int = 1500, height: int = 1000):
    """A chromium page whose requests to anything but 127.0.0.1 are refused (as with no internet).

    `page.refused` lists the refused addresses; `page.errors` the uncaught JavaScript errors of the
    page and its frames (the map's own script included), which a test should find empty.
    """
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": width, "height": height})
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")):
            return r.continue_()
        refused.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.refused = refused  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
        browser.close()


def wait_for_app(page, timeout_ms: int = 180000) -> None:
    """Wait until the page's script has run: a title is shown and nothing is running any more."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    for _ in range(3):  # the running indicator can blink between the script and its fragments
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                               timeout=timeout_ms)
        time.sleep(0.4)


DAY_FIELD = "[data-testid='stSidebar'] [data-testid='stDateInput'] [role='spinbutton'][data-type='day']"


def next_day(page) -> int:
    """Step the sidebar's date one day on, as a user does (returns the day shown before).

    Streamlit 1.67's date field is a set of spinbuttons (year / month / day); it commits its
    value when the focus leaves it.
    """
    day = page.locator(DAY_FIELD)
    before = int(day.get_attribute("aria-valuenow"))
    day.focus()
    day.press("ArrowUp")
    page.locator("h1").first.click()
    return before
