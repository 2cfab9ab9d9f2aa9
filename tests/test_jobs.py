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
