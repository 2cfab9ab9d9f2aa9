"""Products made in the background for the app: worker processes behind the server's one bounded pool.

Why processes: the world's numba kernels hold the GIL for seconds at a time, so a product made
in a thread of the Streamlit server would freeze every page (the map frame stays at height 0,
nothing redraws). A worker process makes the product into the shared product cache and writes
its progress to a small JSON file; the page then loads the product from the cache like any other.

Why a pool (unique_core.jobs.JobPool, one per server): at most N products are made at once
(UNIQUE_MAX_JOBS; see docs/operations.md), the rest wait in line and each page says its place
("queued: 2nd in line"); the same product asked by two sessions is made once. Each pool job
hands its task to a worker process and polls the progress file; that poll is the pool's
progress callback, so a job nobody waits for any more raises JobCancelled there, and the
worker process is killed (its unfinished temporaries removed: no partial cache entry).

Who waits: every session holds its own handle (`Job`) on a pool ticket. A handle is released,
and the job cancelled when no other session waits for it, when
- its session is gone: Streamlit has no close hook, so the runtime is asked whether the session
  is still connected (`Runtime.is_active_session`); a session disconnected for GRACE_S is gone;
- or its session asked for something else: the session kept asking about other work (its pages
  poll their jobs every second) for LEASE_S without asking about this one (another day, box or
  page). A session that asks nothing at all (a page run that takes minutes on a loaded server,
  a tab in the background) keeps its work; only its closing ends it.
Both are checked while any job runs (every pool job polls), and on every call from a page.
Nothing here needs a Streamlit session: without one (tests, scripts) handles never lapse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib
import itertools
import json
import logging
import multiprocessing
import sys
import threading
import time
import traceback
import types
from pathlib import Path
from typing import Callable, Hashable

from unique_core.errors import UniqueError
from unique_core.grid import Region
from unique_core.jobs import JobCancelled, JobPool, Ticket, default_pool

log = logging.getLogger("unique.app.jobs")

PROGRESS_EVERY_S = 0.3  # how often a worker rewrites its progress file
POLL_S = 0.25  # how often a pool job reads its worker's progress (and checks that someone still waits)
LEASE_S = 90.0  # a handle no page has asked about for this long lapses (pages poll every second)
GRACE_S = 10.0  # a session disconnected this long is gone (a reconnecting tab keeps its work)
REAP_EVERY_S = 1.0
KILL_WAIT_S = 2.0  # terminate, then kill after this long


class WorkerDied(RuntimeError):
    """A worker process ended without an answer (killed by the system, out of memory, a crash)."""


# ----------------------------------------------------------------------------- worker side
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


def check_request(region: Region, params: dict | None) -> None:
    """LimitsError for a box or an ensemble larger than this server allows (unique_core.limits).

    The widgets and URL parsers clamp already; this is the server's own check, whatever a page sends.
    """
    from unique_core.limits import Limits

    lim = Limits.from_env()
    lim.check_box_km(*region.size_km, source=f"the box {region.title or region.name}")
    if params and ("members" in params or "steps" in params):
        lim.check_request(members=int(params.get("members", 1)), steps=int(params.get("steps", 1)))


def make_product(source: str, product: str, date: dt.date | None, region: Region, params: dict | None, *,
                 progress_file: str) -> float:
    """Worker side: make one product into the product cache; returns the seconds it took."""
    t0 = time.time()
    check_request(region, params)
    _service(source).get(product, date, region, params, progress=_reporter(progress_file))
    return time.time() - t0


def series_file(product: str, region: Region, start: dt.date, end: dt.date, source: str) -> Path:
    """Where a worker leaves a region's series by plant type (CSV) for the Time series page."""
    from unique_core.config import cache_dir

    where = hashlib.sha1(source.encode()).hexdigest()[:8]
    return cache_dir() / "app" / "series" / f"{product}-{region.key}-{start}-{end}-{where}-v1.csv"


def make_series(source: str, product: str, region: Region, start: dt.date, end: dt.date, *,
                progress_file: str) -> float:
    """Worker side: the region's mean GPP by plant type from start to end, written to series_file."""
    from unique_core.analysis import timeseries
    from unique_core.atomic import write_text
    from unique_core.limits import Limits

    t0 = time.time()
    check_request(region, None)
    Limits.from_env().check_series(start, end)
    df = timeseries(_service(source), product, region, start, end, progress=_reporter(progress_file))
    write_text(series_file(product, region, start, end, source), df.to_csv(index=False))
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
    from unique_core.sources.physics import hillshade

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


def _lower_priority() -> None:
    """Workers yield the CPU to the server, so pages stay responsive while products are made."""
    import os

    with contextlib.suppress(OSError):
        os.nice(5)


def _worker_main(conn) -> None:
    """A worker process: run (fn, args, kwargs) tasks from the pipe until it closes or sends None."""
    _lower_priority()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn, args, kwargs = task
        try:
            answer = ("ok", fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the server, which shows or logs it
            kind = (type(exc).__module__, type(exc).__qualname__, str(exc))
            answer = ("error", kind, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        conn.send(answer)


# ----------------------------------------------------------------------------- server side
@contextlib.contextmanager
def _plain_main():
    """Streamlit runs the page as the module `__main__`; a spawned worker re-imports `__main__`
    from its file, and would run the app (and its pages, which start workers) again. While
    a worker starts, `__main__` is an empty module with nothing to re-import."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class _Worker:
    """One worker process and the server's end of its pipe."""

    _spawn_lock = threading.Lock()  # _plain_main swaps a process-wide module

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")  # a fork of the threaded server could inherit a held lock
        self.conn, child = ctx.Pipe()
        # daemon: the workers end with the server; they start no processes of their own
        self.process = ctx.Process(target=_worker_main, args=(child,), daemon=True, name="unique-worker")
        with self._spawn_lock, _plain_main():
            self.process.start()
        child.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """Stop the process now (SIGTERM, then SIGKILL) and wait for it."""
        with contextlib.suppress(Exception):
            self.process.terminate()
            self.process.join(KILL_WAIT_S)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(KILL_WAIT_S)
        with contextlib.suppress(OSError):
            self.conn.close()

    def stop(self) -> None:
        """Ask an idle worker to end (it finishes nothing: it was idle)."""
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)
        self.process.join(KILL_WAIT_S)
        if self.process.is_alive():
            self.kill()


def _read_progress(path: Path) -> tuple[str, int, int]:
    try:
        p = json.loads(path.read_text())
        return str(p["what"]), int(p["i"]), int(p["n"])
    except (OSError, ValueError, KeyError, TypeError):
        return "starting", 0, 0


def _answer(answer: tuple, label: str):
    """The worker's return value, or its exception raised here (with the worker's traceback as a note)."""
    if answer[0] == "ok":
        return answer[1]
    _, kind, text, tb = answer
    exc = _user_error(*kind)
    if exc is None:
        exc = RuntimeError(f"making {label} failed in its worker: {text}")
    exc.add_note(f"in the worker process:\n{tb}")
    raise exc


def _user_error(module: str, qualname: str, message: str) -> BaseException | None:
    """The worker's UniqueError rebuilt here (same class, same message), so the page shows it as a
    user error; anything else is None and becomes a RuntimeError. Only names are sent between the
    processes, never pickled objects, and only UNIQUE's own error classes are rebuilt."""
    if not module.startswith("unique_core."):
        return None
    with contextlib.suppress(Exception):
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, UniqueError):
            return cls(message)
    return None


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def streamlit_session() -> str | None:
    """The id of the Streamlit session running this code, or None outside a session."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # pragma: no cover - streamlit is a dependency of the app
        return None
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def streamlit_session_alive(session: str) -> bool:
    """Whether the Streamlit session is still connected (True where no Streamlit server runs)."""
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session)


class Job:
    """One session's handle on a product being made: what the page polls (each poll keeps it wanted)."""

    def __init__(self, owner: "Jobs", key: str, label: str, ticket: Ticket, session: str | None):
        self.key = key
        self.label = label
        self.session = session
        self.ticket = ticket
        self.started = time.time()
        self.seen = time.monotonic()
        self._owner = owner

    def _touch(self) -> None:
        self.seen = time.monotonic()
        self._owner._asked(self.session, self.seen)
        self._owner.reap()

    @property
    def done(self) -> bool:
        self._touch()
        return self.ticket.done()

    @property
    def error(self) -> BaseException | None:
        """The job's exception once it failed (JobCancelled once cancelled), else None."""
        if not self.ticket.done():
            return None
        try:
            self.ticket.result(0)
        except BaseException as exc:  # noqa: BLE001 - the page shows it
            return exc
        return None

    def position(self) -> int | None:
        """0 while being made, k >= 1 for the k-th in line, None once finished."""
        return self.ticket.position()

    def progress(self) -> tuple[str, float]:
        """(what is happening, fraction 0-1): the place in the queue, or the worker's last report."""
        self._touch()
        if self.ticket.done():
            return "done", 1.0
        place = self.ticket.position()
        if place:
            return f"queued: {ordinal(place)} in line", 0.0
        last = self.ticket.progress
        if last is None:
            return "starting", 0.0
        what, i, n = last
        return (f"{what} {i}/{n}", min(1.0, i / n)) if n > 0 else (what, 0.0)

    @property
    def elapsed_s(self) -> float:
        return time.time() - self.started


class Jobs:
    """The app's background work for every session of the server, through one bounded JobPool.

    `submit(key, label, fn, *args)` runs `fn(*args, progress_file=...)` (a module-level function)
    in a worker process, once per key while it is queued or running, and returns this session's
    `Job`; `get(key)` joins a job another session started. `pool`, `session` and `alive` are
    for tests: by default the process-wide pool (jobs.default_pool: UNIQUE_MAX_JOBS, else
    `workers`), and Streamlit's session id and connection state.
    """

    def __init__(self, folder: Path, workers: int | None = None, *, pool: JobPool | None = None,
                 session: Callable[[], Hashable] = streamlit_session,
                 alive: Callable[[Hashable], bool] = streamlit_session_alive,
                 lease_s: float = LEASE_S, grace_s: float = GRACE_S):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._pool = pool if pool is not None else default_pool(workers)
        self._session, self._alive = session, alive
        self.lease_s, self.grace_s = float(lease_s), float(grace_s)
        self._handles: dict[tuple[Hashable, str], Job] = {}
        self._gone_since: dict[Hashable, float] = {}
        self._last_ask: dict[Hashable, float] = {}  # session -> when it last asked about any work
        self._idle: list[_Worker] = []
        self._busy: dict[str, _Worker] = {}  # by pool key: for tests and `status`
        self._lock = threading.RLock()
        self._last_reap = 0.0
        self._files = itertools.count(1)

    # ---------------------------------------------------------------- the pages' calls
    def submit(self, key: str, label: str, fn, *args) -> Job:
        """This session's Job for `key`: the one it holds, or a new ticket on the pool's job."""
        session = self._session()
        self.reap()
        with self._lock:
            self._asked(session, time.monotonic())
            job = self._handles.get((session, key))
            if job is not None and job.ticket.state not in ("failed", "cancelled"):
                job.seen = time.monotonic()
                return job
            ticket = self._pool.submit(("ui", key), self._task(key, label, fn, args), label=label)
            job = self._handles[(session, key)] = Job(self, key, label, ticket, session)
            return job

    def get(self, key: str) -> Job | None:
        """This session's Job for `key`, or a new one on the job another session started, or None."""
        session = self._session()
        self.reap()
        with self._lock:
            self._asked(session, time.monotonic())
            job = self._handles.get((session, key))
            if job is not None and job.ticket.state == "cancelled":
                del self._handles[(session, key)]  # lapsed: the page offers the product again
                job = None
            if job is None:
                ticket = self._pool.join(("ui", key))
                if ticket is None:
                    return None
                job = self._handles[(session, key)] = Job(self, key, ticket.label, ticket, session)
            job.seen = time.monotonic()
            return job

    def forget(self, key: str) -> None:
        """This session no longer follows `key` (its result was drawn or its error shown)."""
        with self._lock:
            job = self._handles.pop((self._session(), key), None)
        if job is not None:
            job.ticket.release()

    def running(self) -> list[Job]:
        """This session's jobs not finished yet."""
        session = self._session()
        with self._lock:
            return [j for (s, _), j in self._handles.items() if s == session and not j.ticket.done()]

    def status(self) -> dict:
        """The pool's counts (running, queued, workers) and the worker processes alive."""
        with self._lock:
            processes = len(self._idle) + len(self._busy)
        return {**self._pool.status(), "processes": processes}

    def busy_pids(self) -> dict[str, int | None]:
        """The worker process of each key being made (pool key -> pid)."""
        with self._lock:
            return {key: w.pid for key, w in self._busy.items()}

    def shutdown(self) -> None:
        """Release every handle (their jobs are cancelled, their workers killed) and stop idle workers."""
        with self._lock:
            handles, self._handles = list(self._handles.values()), {}
            idle, self._idle = self._idle, []
        for job in handles:
            job.ticket.release()
        for worker in idle:
            worker.stop()

    # ---------------------------------------------------------------- who still waits
    def _asked(self, session: Hashable, when: float) -> None:
        with self._lock:
            self._last_ask[session] = max(when, self._last_ask.get(session, 0.0))

    def reap(self) -> None:
        """Release handles whose session is gone, or that their session stopped asking about while it
        asked about other work for lease_s (at most once a second)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_reap < REAP_EVERY_S:
                return
            self._last_reap = now
            sessions = {s for s, _ in self._handles if s is not None}
            gone = set()
            for s in sessions:
                if self._alive(s):
                    self._gone_since.pop(s, None)
                elif now - self._gone_since.setdefault(s, now) >= self.grace_s:
                    gone.add(s)
            stale = [(s, k) for (s, k), j in self._handles.items() if s is not None
                     and (s in gone or self._last_ask.get(s, 0.0) - j.seen > self.lease_s)]
            released = [self._handles.pop(h) for h in stale]
            for s in gone:
                self._gone_since.pop(s, None)
                self._last_ask.pop(s, None)
        for job in released:
            why = ("its session is gone" if job.session in gone else
                   f"its session asked about other work for {self.lease_s:.0f} s, not this")
            log.info("released %s for session %s: %s", job.label or job.key, job.session, why)
            job.ticket.release()

    # ---------------------------------------------------------------- worker processes
    def _take_worker(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return _Worker()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive():
                self._idle.append(worker)

    def _task(self, key: str, label: str, fn, args: tuple):
        """The pool job: hand fn(*args) to a worker process and poll its progress until it answers."""
        def task(progress) -> float:
            progress_file = self.folder / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}-{next(self._files)}.progress.json"
            worker = self._take_worker()
            with self._lock:
                self._busy[key] = worker
            try:
                worker.conn.send((fn, args, {"progress_file": str(progress_file)}))
                while not worker.conn.poll(POLL_S):
                    if not worker.alive():
                        break
                    self.reap()
                    progress(*_read_progress(progress_file))  # JobCancelled once nobody waits
                try:
                    answer = worker.conn.recv()
                except (EOFError, OSError):  # the pipe closed: the process is gone
                    worker.process.join(KILL_WAIT_S)
                    raise WorkerDied(f"the worker process making {label} ended without an answer (exit code "
                                     f"{worker.process.exitcode}: killed by the system or out of memory?)") from None
            except BaseException as exc:
                self._stop_killed(worker, label, cancelled=isinstance(exc, JobCancelled))
                raise
            finally:
                with self._lock:
                    self._busy.pop(key, None)
                progress_file.unlink(missing_ok=True)
            self._give_back(worker)
            return _answer(answer, label)
        return task

    def _stop_killed(self, worker: _Worker, label: str, *, cancelled: bool) -> None:
        """Kill a worker whose job is cancelled (or broken) and remove the temporaries it left."""
        from unique_core import cache

        worker.kill()
        log.info("%s %s: worker process %s killed", label, "cancelled" if cancelled else "failed", worker.pid)
        # every file the dead worker made is older than now; waiting one second lets clean's age
        # rule (which protects a live writer's file in the instant before its lock) cover them all
        time.sleep(1.0)
        try:
            cache.clean(min_age_s=1.0)
        except OSError as exc:  # a full or read-only cache must not hide the cancellation
            log.warning("could not clean the temporaries of the killed worker: %s", exc)
