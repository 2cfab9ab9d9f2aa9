"""The bounded job pool: at most N at once, one computation per key, queue positions, cancellation."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

from unique_core import jobs
from unique_core.jobs import JobCancelled, JobPool

WAIT = 10.0  # seconds: generous for a loaded 2-core machine; tests finish as soon as events fire


def _until(cond, timeout=WAIT):
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def _gated(gate: threading.Event, started: list, value):
    """A job that records its start, waits for the gate while reporting progress, then computes."""
    def fn(progress):
        started.append(value)
        while not gate.wait(0.01):
            progress("waiting", 0, 1)
        return float(np.arange(value + 1).sum())
    return fn


def test_submit__never_more_than_max_workers_at_once_and_positions_in_order():
    pool = JobPool(2)
    gate, started = threading.Event(), []
    live, peak, lock = [0], [0], threading.Lock()

    def counted(v):
        inner = _gated(gate, started, v)

        def fn(progress):
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            try:
                return inner(progress)
            finally:
                with lock:
                    live[0] -= 1
        return fn
    tickets = [pool.submit(f"k{i}", counted(i)) for i in range(5)]
    _until(lambda: len(started) == 2)
    time.sleep(0.05)  # a third would have started by now if the bound leaked
    assert len(started) == 2
    assert [t.position() for t in tickets] == [0, 0, 1, 2, 3]
    assert pool.status() == {"running": 2, "queued": 3, "workers": 2}
    gate.set()
    assert [t.result(WAIT) for t in tickets] == [float(sum(range(i + 1))) for i in range(5)]
    assert peak[0] == 2 and started[:2] == [0, 1] and sorted(started) == [0, 1, 2, 3, 4]
    assert all(t.position() is None and t.state == "done" for t in tickets)
    pool.shutdown()


def test_submit__the_same_key_twice_is_computed_once():
    pool = JobPool(2)
    calls = []
    gate = threading.Event()

    def fn(progress):
        calls.append(1)
        gate.wait(WAIT)
        return np.ones(3) * 7
    a = pool.submit(("s2", "2023-07-20", "b1_1_2x2"), fn)
    b = pool.submit(("s2", "2023-07-20", "b1_1_2x2"), fn)
    gate.set()
    assert a.result(WAIT) is b.result(WAIT)
    assert len(calls) == 1
    c = pool.submit(("s2", "2023-07-20", "b1_1_2x2"), fn)  # finished jobs are forgotten: a new one
    c.result(WAIT)
    assert len(calls) == 2
    pool.shutdown()


def test_release__a_queued_job_whose_waiters_left_never_starts():
    pool = JobPool(1)
    gate, started = threading.Event(), []
    first = pool.submit("a", _gated(gate, started, 1))
    second = pool.submit("b", _gated(gate, started, 2))
    _until(lambda: started == [1])
    assert second.position() == 1
    second.release()
    assert second.state == "cancelled" and second.position() is None
    with pytest.raises(JobCancelled, match="nobody was waiting"):
        second.result(0)
    gate.set()
    assert first.result(WAIT) == 1.0
    time.sleep(0.05)
    assert started == [1]
    pool.shutdown()


def test_release__a_running_job_is_stopped_through_its_progress_callback():
    pool = JobPool(1)
    steps = []

    def long_job(progress):
        for i in range(10_000):
            steps.append(i)
            progress("patches", i, 10_000)  # raises once nobody waits
            time.sleep(0.001)
        return "finished"
    t = pool.submit("long", long_job)
    _until(lambda: len(steps) > 5)
    t.release()
    _until(lambda: t.done())
    assert t.state == "cancelled" and len(steps) < 10_000
    assert t.progress[0] == "patches" and t.progress[2] == 10_000
    after = pool.submit("next", lambda progress: 42)  # the worker is free again
    assert after.result(WAIT) == 42
    pool.shutdown()


def test_release__one_of_two_waiters_leaving_does_not_cancel():
    pool = JobPool(1)
    gate, started = threading.Event(), []
    a = pool.submit("k", _gated(gate, started, 3))
    b = pool.submit("k", _gated(gate, started, 3))
    _until(lambda: started)
    a.release()
    time.sleep(0.05)
    assert b.state == "running"
    gate.set()
    assert b.result(WAIT) == 6.0
    pool.shutdown()


def test_release__a_garbage_collected_ticket_counts_as_gone():
    pool = JobPool(1)
    gate, started = threading.Event(), []
    keep = pool.submit("a", _gated(gate, started, 1))
    gone = pool.submit("b", _gated(gate, started, 2))
    job = gone._job
    del gone
    gc.collect()
    assert job.state == "cancelled"
    gate.set()
    keep.result(WAIT)
    pool.shutdown()


def test_result__errors_reach_every_waiter_and_timeouts_say_so():
    pool = JobPool(1)
    gate = threading.Event()

    def bad(progress):
        gate.wait(WAIT)
        raise ValueError("no land in this box")
    a, b = pool.submit("x", bad), pool.submit("x", bad)
    with pytest.raises(TimeoutError, match="not finished yet"):
        a.result(0.01)
    gate.set()
    for t in (a, b):
        with pytest.raises(ValueError, match="no land in this box"):
            t.result(WAIT)
    assert a.state == "failed"
    pool.shutdown()


def test_pool_size__from_the_environment(monkeypatch):
    monkeypatch.setenv("UNIQUE_MAX_JOBS", "3")
    assert jobs.pool_size() == 3
    monkeypatch.setenv("UNIQUE_MAX_JOBS", "0")
    with pytest.raises(jobs.PoolConfigError, match="UNIQUE_MAX_JOBS='0' is not a positive whole number"):
        jobs.pool_size()
    monkeypatch.delenv("UNIQUE_MAX_JOBS")
    assert jobs.pool_size() >= 1
    with pytest.raises(jobs.PoolConfigError, match="at least 1 worker"):
        JobPool(0)
    assert jobs.default_pool() is jobs.default_pool()


def test_join__a_second_waiter_keeps_the_job_alive_and_nothing_to_join_is_none():
    pool = JobPool(1)
    gate, started = threading.Event(), []
    assert pool.join("k") is None
    first = pool.submit("k", _gated(gate, started, 2))
    second = pool.join("k")
    assert second is not None and second.label == first.label
    _until(lambda: started)
    first.release()
    time.sleep(0.05)
    assert second.state == "running"  # the joined waiter still wants it
    gate.set()
    assert second.result(WAIT) == 3.0
    assert pool.join("k") is None  # finished jobs are forgotten
    pool.shutdown()


def test_default_pool__size_if_unset_only_without_the_variable(monkeypatch):
    monkeypatch.setattr(jobs, "_DEFAULT", None)
    monkeypatch.delenv("UNIQUE_MAX_JOBS", raising=False)
    assert jobs.default_pool(2).max_workers == 2
    assert jobs.default_pool(7).max_workers == 2  # the first caller made it
    monkeypatch.setattr(jobs, "_DEFAULT", None)
    monkeypatch.setenv("UNIQUE_MAX_JOBS", "3")
    assert jobs.default_pool(2).max_workers == 3  # the deployer's variable wins


def test_pool__two_sessions_asking_for_one_product_compute_it_once(tmp_path, world, small_region):
    from unique_core.products import ProductService

    svc = ProductService(tmp_path / "products", world)
    cell = small_region.subregion(0, 0, 1, 1, name="cell")
    pool = JobPool(2)
    key = ("landcover", None, cell.key)
    reports = []

    def make(progress):
        progress("landcover", 0, 1)
        da = svc.get("landcover", None, cell)
        reports.append(da.attrs["cache"])
        return da
    a, b = pool.submit(key, make), pool.submit(key, make)  # two browser sessions, one job
    assert a.result(120).values.tobytes() == b.result(120).values.tobytes()
    assert reports == ["computed"] and len(svc.catalog.all()) == 1
    pool.shutdown()


# ------------------------------------------------------------------ the app's worker processes (ui.jobs)
# Module-level, so a spawned worker process can import them by name.
def _held_write(name: str, seconds: float, *, progress_file: str) -> str:
    """A product write that takes long: an atomic temporary in the cache folder held open, progress reported."""
    from unique_core.atomic import atomic_path
    from unique_core.config import cache_dir
    from unique_core.ui.jobs import _reporter

    report = _reporter(progress_file)
    target = cache_dir() / "products" / name
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"half a product")
        end = time.time() + seconds
        while time.time() < end:
            report("slow patches", 1, 4)
            time.sleep(0.05)
    return str(target)


def _fails(*, progress_file: str) -> None:
    from unique_core.errors import ProductError

    raise ProductError("no land in this box: pick a box on land")


def _app_jobs(tmp_path, sessions: dict, *, workers: int = 1, lease_s: float = 60.0):
    """ui.jobs.Jobs on a private pool; `sessions` maps a thread's name to its session and lists the live ones."""
    from unique_core.ui.jobs import Jobs

    live = sessions.setdefault("live", set())
    return Jobs(tmp_path / "jobs", pool=JobPool(workers), session=lambda: sessions["now"],
                alive=lambda s: s in live, lease_s=lease_s, grace_s=0.0)


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_app_jobs__a_product_is_made_once_in_a_worker_process_for_two_sessions(tmp_path, small_region):
    """The app's path, unmocked: Jobs -> the bounded pool -> a worker process -> the product cache."""
    from unique_core.products import ProductService
    from unique_core.ui.jobs import make_product

    cell = small_region.subregion(1, 1, 1, 1, name="cell-app")
    sessions = {"now": "A", "live": {"A", "B"}}
    app = _app_jobs(tmp_path, sessions)
    args = ("simulated", "landcover", None, cell, None)
    a = app.submit("landcover-cell", "Land cover, cell", make_product, *args)
    sessions["now"] = "B"
    assert app.get("landcover-cell") is not None  # B finds A's job and waits for it too
    b = app.submit("landcover-cell", "Land cover, cell", make_product, *args)
    assert b is not a and b.ticket._job is a.ticket._job  # two handles, one pool job
    _until(lambda: a.position() == 0)
    other = app.submit("dem-cell", "DEM, cell", make_product, "simulated", "dem", None, cell, None)
    assert other.progress() == ("queued: 1st in line", 0.0)  # one worker: the second product waits
    _until(lambda: a.done, timeout=300)
    assert a.error is None and b.error is None
    assert app.status()["processes"] == 1
    _until(lambda: other.done, timeout=300)
    entries = ProductService().catalog.all()
    made = [e for e in entries if e["region_key"] == cell.key]
    assert sorted(e["product"] for e in made) == ["dem", "landcover"]  # landcover once, not twice
    assert ProductService().lookup("landcover", None, cell) is not None
    app.shutdown()



def _temporaries(name: str) -> list:
    """The writers' temporaries of the product file `name` in the (test session's) cache folder."""
    from unique_core.config import cache_dir

    return list((cache_dir() / "products").glob(f".{name}.*"))


def test_app_jobs__a_closed_session_s_job_is_cancelled_its_worker_killed_and_nothing_half_written(tmp_path):
    from unique_core.config import cache_dir

    name = f"slow-{tmp_path.name}.tif"
    sessions = {"now": "A", "live": {"A"}}
    app = _app_jobs(tmp_path, sessions)
    job = app.submit("slow", "slow product", _held_write, name, 120.0)
    _until(lambda: job.progress()[0] == "slow patches 1/4" and _temporaries(name), timeout=120)
    pid = app.busy_pids()["slow"]
    assert pid is not None and _pid_alive(pid)
    sessions["live"].clear()  # the tab is closed: Streamlit no longer lists the session
    _until(lambda: job.ticket.done(), timeout=30)
    assert isinstance(job.error, JobCancelled)
    assert not _pid_alive(pid)  # the worker process was killed, not left computing
    assert _temporaries(name) == [] and not (cache_dir() / "products" / name).exists()
    assert app.get("slow") is None  # nothing left running for that key
    app.shutdown()


def test_app_jobs__a_job_lapses_when_its_session_asks_for_something_else_unless_another_waits(tmp_path):
    sessions = {"now": "A", "live": {"A", "B"}}
    app = _app_jobs(tmp_path, sessions, lease_s=3.0)
    a = app.submit("slow", "slow product", _held_write, f"slow-{tmp_path.name}.tif", 120.0)
    sessions["now"] = "B"
    b = app.get("slow")
    _until(lambda: b.progress()[0] == "slow patches 1/4", timeout=120)
    a_asked = a.seen
    time.sleep(4.0)  # A asks about nothing at all (a long page run): it keeps its work
    assert ("A", "slow") in app._handles and a.seen == a_asked
    sessions["now"] = "A"
    assert app.get("other") is None  # A asks for something else (a day not being made) ...
    end = time.time() + 5.0  # ... and keeps asking; B's page keeps polling the slow job
    while time.time() < end:
        sessions["now"] = "A"
        app.get("other")
        sessions["now"] = "B"
        assert not b.done
        time.sleep(0.2)
    assert a.ticket.state == "running" and ("A", "slow") not in app._handles  # A's handle lapsed, not the job
    sessions["now"] = "B"
    end = time.time() + 30.0
    while not b.ticket.done():  # now B asks only about other work too: nobody waits any more
        assert time.time() < end, "the job outlived every waiter"
        app.get("other")
        time.sleep(0.2)
    assert isinstance(b.error, JobCancelled)
    app.shutdown()


def test_app_jobs__errors_come_back_from_the_worker_and_a_failed_job_can_be_asked_again(tmp_path):
    from unique_core.errors import ProductError

    sessions = {"now": None}  # no Streamlit session: handles never lapse
    app = _app_jobs(tmp_path, sessions)
    job = app.submit("bad", "bad product", _fails)
    _until(lambda: job.done, timeout=120)
    assert isinstance(job.error, ProductError) and "pick a box on land" in str(job.error)
    assert "in the worker process" in "".join(job.error.__notes__)
    again = app.submit("bad", "bad product", _fails)
    assert again is not job  # a failed job is not handed out again
    _until(lambda: again.done, timeout=120)
    app.shutdown()


def test_app_jobs__a_worker_killed_from_outside_is_an_error_not_a_hang(tmp_path):
    import os
    import signal

    from unique_core.ui.jobs import WorkerDied

    sessions = {"now": None}
    app = _app_jobs(tmp_path, sessions)
    job = app.submit("slow", "slow product", _held_write, f"slow-{tmp_path.name}.tif", 120.0)
    _until(lambda: job.progress()[0] == "slow patches 1/4", timeout=120)
    os.kill(app.busy_pids()["slow"], signal.SIGKILL)  # the system's out-of-memory killer, say
    _until(lambda: job.done, timeout=30)
    assert isinstance(job.error, WorkerDied) and "ended without an answer" in str(job.error)
    app.shutdown()


def test_ordinal__queue_places_read_as_english():
    from unique_core.ui.jobs import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]
