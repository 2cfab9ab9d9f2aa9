"""Products made in the background for the app, in worker processes, each product once per server.

Why processes: the world's numba kernels hold the GIL for seconds at a time, so a product made
in a thread of the Streamlit server would freeze every page (the map frame stays at height 0,
nothing redraws). A worker process makes the product into the shared product cache and writes
its progress to a small JSON file; the page polls that file and then loads the product from the
cache like any other. Nothing here imports streamlit: `ui.cached` keeps one `Jobs` per server.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import json
import multiprocessing
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

from unique_core.grid import Region

PROGRESS_EVERY_S = 0.3  # how often a worker rewrites its progress file


def _service(source: str):
    """The product service of "simulated", or of the real-data folder named (a path)."""
    from unique_core.products import ProductService

    if source == "simulated":
        return ProductService()
    from unique_core.io.realdata import RealDataSource

    return ProductService(world=RealDataSource(source))


def _reporter(progress_file: str):
    """A progress(what, i, n) callback that writes its last call to `progress_file` (throttled)."""
    from unique_core.atomic import write_text

    last = [0.0]

    def progress(what: str, i: int, n: int) -> None:
        now = time.time()
        if now - last[0] >= PROGRESS_EVERY_S or i >= n:
            last[0] = now
            write_text(Path(progress_file), json.dumps({"what": what, "i": i, "n": n, "t": now}))

    return progress


def make_product(source: str, product: str, date: dt.date | None, region: Region, params: dict | None, *,
                 progress_file: str) -> float:
    """Worker side: make one product into the product cache; returns the seconds it took."""
    t0 = time.time()
    _service(source).get(product, date, region, params, progress=_reporter(progress_file))
    return time.time() - t0


RELIEF_RES_M = 1500.0  # the block lattice: 419 x 396 cells over the frame, about 30 s to make
RELIEF_EXAGGERATION = 3.0  # slopes over 1.5 km cells are gentle: exaggerated so the ranges read


def relief_file(seed: int) -> Path:
    from unique_core.config import cache_dir

    return cache_dir() / "app" / f"relief-s{seed}-{RELIEF_RES_M:.0f}m-v1.npz"


def make_relief(seed: int, *, progress_file: str) -> float:
    """Worker side: the simulated country's hillshade on the 1.5 km lattice, kept in the cache."""
    import numpy as np

    from unique_core.atomic import atomic_path
    from unique_core.grid import FRAME_BLOCKS_X, FRAME_BLOCKS_Y, Grid
    from unique_core.world import World
    from unique_core.world.terrain import hillshade

    t0 = time.time()
    progress = _reporter(progress_file)
    progress("country relief: terrain", 0, 2)
    world = World(seed)
    elev = world.terrain.elevation(Grid(RELIEF_RES_M, 0, 0, FRAME_BLOCKS_Y, FRAME_BLOCKS_X))
    progress("country relief: shading", 1, 2)
    shade = hillshade(np.pad(elev, 1, mode="edge") * RELIEF_EXAGGERATION, RELIEF_RES_M)
    shade[elev <= 0] = np.nan  # sea
    path = relief_file(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, hillshade=shade.astype(np.float32), elevation=elev.astype(np.float32))
    progress("country relief", 2, 2)
    return time.time() - t0


@dataclass
class Job:
    """One product being made: its future and where its worker writes its progress."""

    key: str
    label: str
    future: cf.Future
    progress_file: Path
    started: float = field(default_factory=time.time)

    @property
    def done(self) -> bool:
        return self.future.done()

    @property
    def error(self) -> BaseException | None:
        return self.future.exception() if self.future.done() else None

    def progress(self) -> tuple[str, float]:
        """(what the worker is doing, fraction 0-1) as last reported."""
        if self.future.done():
            return "done", 1.0
        try:
            p = json.loads(self.progress_file.read_text())
            return f"{p['what']} {p['i']}/{p['n']}", min(1.0, p["i"] / max(p["n"], 1))
        except (OSError, ValueError, KeyError):
            state = "waiting for a free worker" if not self.future.running() else "starting"
            return state, 0.0

    @property
    def elapsed_s(self) -> float:
        return time.time() - self.started


def _lower_priority() -> None:
    """Workers yield the CPU to the server, so pages stay responsive while products are made."""
    import os

    with contextlib.suppress(OSError):
        os.nice(5)


@contextlib.contextmanager
def _plain_main():
    """Streamlit runs the page as the module `__main__`; a spawned worker re-imports `__main__`
    from its file, and would run the app (and its pages, which start workers) again. While
    workers start, `__main__` is an empty module with nothing to re-import."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class Jobs:
    """A small pool of worker processes shared by every session of the server.

    `submit` with a key already running returns that job: a product asked for by two sessions
    is made once. A failed job is forgotten when its error has been read, so it can be retried.
    """

    def __init__(self, folder: Path, workers: int = 1):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # spawn: a fork of the threaded Streamlit server could inherit a held lock
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_lower_priority)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, label: str, fn, *args) -> Job:
        """Run `fn(*args, progress_file=...)` (a module-level function) in a worker, once per key."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not (job.done and job.error is not None):
                return job
            progress_file = self.folder / f"{key}.progress.json"
            progress_file.unlink(missing_ok=True)
            with _plain_main():  # the pool starts its workers inside submit
                future = self._pool.submit(fn, *args, progress_file=str(progress_file))
            job = self._jobs[key] = Job(key, label, future, progress_file)
            return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def forget(self, key: str) -> None:
        with self._lock:
            job = self._jobs.pop(key, None)
        if job is not None:
            job.progress_file.unlink(missing_ok=True)

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.done]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def towers_file(region: Region, year: int) -> Path:
    from unique_core.config import cache_dir

    return cache_dir() / "app" / f"towers-{region.key}-{year}-v1.json"


def make_towers(seed: int, region: Region, year: int, *, progress_file: str) -> float:
    """Worker side: the region's tower pop-ups (a year of GPP_M per tower), kept in the cache as JSON."""
    from unique_core.atomic import write_text
    from unique_core.viz.towers import tower_popups
    from unique_core.world import World

    t0 = time.time()
    _reporter(progress_file)("tower charts", 0, 1)
    write_text(towers_file(region, year), json.dumps(tower_popups(World(seed), region, year)))
    return time.time() - t0
