"""One bounded pool for the heavy work of a whole server (S1, S2, region-year series).

    pool = jobs.default_pool()                     # one per process: UNIQUE_MAX_JOBS or the CPU count
    ticket = pool.submit(key, fn, label="S2 gwangneung 2023-07-20")
    ticket.position()                              # 0 running, 1.. place in the queue, None when finished
    ticket.progress                                # (stage, done, total) last reported by fn
    value = ticket.result(timeout=0.5)             # TimeoutError while not ready; fn's exception if it failed
    ticket.release()                               # this waiter leaves (also when the ticket is garbage-collected)
    pool.join(key)                                 # another waiter on the queued or running job of key, or None

- At most `max_workers` jobs run at once; the rest wait in submission order.
- The same key asked while its job is queued or running joins that job: it is computed once
  and every waiter gets the same value (or the same exception).
- When every waiter of a job has released it, the job is cancelled: a queued job never starts;
  a running one is stopped cooperatively, because `fn` receives a progress callback
  `progress(stage, done, total)` that raises JobCancelled once the job is cancelled. A function
  that never reports progress runs to the end, and its result is dropped.
- Finished jobs are forgotten: asking again starts a new job (the product cache makes that a
  hit). No streamlit here: the app keeps a ticket per session and releases it when the session
  ends or the user asks for something else.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections import deque
from typing import Any, Callable, Hashable, Literal

from unique_core.errors import UniqueError

ProgressFn = Callable[[str, int, int], None]
State = Literal["queued", "running", "done", "failed", "cancelled"]


class JobCancelled(UniqueError, RuntimeError):
    """Raised inside a job's progress callback, and by result(), once every waiter has gone."""


class PoolConfigError(UniqueError, ValueError):
    """A pool size that cannot be used (UNIQUE_MAX_JOBS)."""


class _Job:
    def __init__(self, key: Hashable, fn: Callable[[ProgressFn], Any], label: str):
        self.key = key
        self.fn = fn
        self.label = label
        self.state: State = "queued"
        self.waiters: set[int] = set()
        self.progress: tuple[str, int, int] | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.cancelling = False  # its progress callback has raised JobCancelled


class Ticket:
    """One waiter's handle on a job (several tickets may share a job)."""

    def __init__(self, pool: "JobPool", job: _Job, ident: int):
        self._pool = pool
        self._job = job
        self._id = ident
        self._released = False
        self._finalizer = weakref.finalize(self, pool._release, job, ident)

    @property
    def key(self) -> Hashable:
        return self._job.key

    @property
    def label(self) -> str:
        return self._job.label

    @property
    def state(self) -> State:
        return self._job.state

    @property
    def progress(self) -> tuple[str, int, int] | None:
        """(stage, done, total) last reported by the job's function, or None."""
        return self._job.progress

    def position(self) -> int | None:
        """0 while running, k >= 1 for the k-th job waiting to start, None once finished."""
        return self._pool._position(self._job)

    def done(self) -> bool:
        return self._job.finished.is_set()

    def result(self, timeout: float | None = None) -> Any:
        """The job's value; its exception if it failed; JobCancelled if cancelled.

        TimeoutError if it is not finished within `timeout` seconds (None: wait).
        """
        if not self._job.finished.wait(timeout):
            raise TimeoutError(f"job {self._job.label or self._job.key!r} is not finished yet")
        if self._job.state == "cancelled":
            raise JobCancelled(f"job {self._job.label or self._job.key!r} was cancelled: nobody was waiting for it")
        if self._job.error is not None:
            raise self._job.error
        return self._job.value

    def release(self) -> None:
        """This waiter no longer wants the result (a closed tab, another request)."""
        if not self._released:
            self._released = True
            self._finalizer()


class JobPool:
    """A bounded pool of worker threads with deduplication by key, queue positions and cancellation."""

    def __init__(self, max_workers: int | None = None, *, name: str = "unique-job"):
        n = max_workers if max_workers is not None else (os.cpu_count() or 1)
        if int(n) < 1:
            raise PoolConfigError(f"a job pool needs at least 1 worker (got {n})")
        self.max_workers = int(n)
        self._name = name
        # re-entrant: a Ticket collected by the garbage collector releases itself, which may happen
        # on a thread that is inside the pool already
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Job] = deque()
        self._active: dict[Hashable, _Job] = {}  # queued or running, by key
        self._running = 0
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._closed = False

    # ---------------------------------------------------------------- public
    def submit(self, key: Hashable, fn: Callable[[ProgressFn], Any], *, label: str = "") -> Ticket:
        """A ticket on the job for `key`: the queued or running one, or a new one running `fn(progress)`."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the job pool is shut down")
            job = self._active.get(key)
            if job is not None and job.cancelling:
                del self._active[key]  # it is stopping: a new waiter gets a new job
                job = None
            if job is None:
                job = _Job(key, fn, label)
                self._active[key] = job
                self._queue.append(job)
                self._spawn()
                self._wake.notify()
            ident = next(self._ids)
            job.waiters.add(ident)
        return Ticket(self, job, ident)

    def join(self, key: Hashable) -> Ticket | None:
        """A new ticket on the queued or running job of `key` (None when there is none, or it is stopping).

        For a second session that finds a product already being made: it waits for the same job,
        which then stays wanted while either session waits.
        """
        with self._lock:
            job = self._active.get(key)
            if job is None or job.cancelling:
                return None
            ident = next(self._ids)
            job.waiters.add(ident)
        return Ticket(self, job, ident)

    def status(self) -> dict:
        """Counts for a status line: running, queued, workers."""
        with self._lock:
            return {"running": self._running, "queued": len(self._queue), "workers": self.max_workers}

    def shutdown(self, wait: bool = True) -> None:
        """Cancel queued jobs and stop the workers (running jobs are asked to stop through progress)."""
        with self._lock:
            self._closed = True
            for job in list(self._active.values()):
                job.waiters.clear()
                if job.state == "queued":
                    self._queue.remove(job)
                    self._finish(job, "cancelled")
                else:
                    job.state = "running"  # stays running until its function returns or checks progress
            self._wake.notify_all()
            threads = list(self._threads)
        if wait:
            for t in threads:
                t.join()

    # ---------------------------------------------------------------- internals
    def _spawn(self) -> None:
        if len(self._threads) < self.max_workers and len(self._queue) > self._idle():
            t = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads) + 1}", daemon=True)
            self._threads.append(t)
            t.start()

    def _idle(self) -> int:
        return len(self._threads) - self._running

    def _position(self, job: _Job) -> int | None:
        with self._lock:
            if job.state == "running":
                return 0
            if job.state != "queued":
                return None
            return self._queue.index(job) + 1

    def _release(self, job: _Job, ident: int) -> None:
        with self._lock:
            job.waiters.discard(ident)
            if job.waiters or job.finished.is_set():
                return
            if job.state == "queued":
                self._queue.remove(job)
                self._finish(job, "cancelled")
            # a running job sees it at its next progress call (job.waiters is empty)

    def _finish(self, job: _Job, state: State) -> None:
        """Under the lock: mark a job finished and forget it."""
        job.state = state
        if self._active.get(job.key) is job:
            del self._active[job.key]
        job.finished.set()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if not self._queue:
                    return
                job = self._queue.popleft()
                job.state = "running"
                self._running += 1

            def progress(stage: str, done: int, total: int, job=job) -> None:
                job.progress = (stage, int(done), int(total))
                if not job.waiters:
                    job.cancelling = True
                    raise JobCancelled(f"job {job.label or job.key!r} cancelled: nobody is waiting for it")

            try:
                value, error = job.fn(progress), None
            except BaseException as exc:  # noqa: BLE001 - handed to the waiters, never lost
                value, error = None, exc
            with self._lock:
                self._running -= 1
                if isinstance(error, JobCancelled) or not job.waiters:
                    self._finish(job, "cancelled")
                elif error is not None:
                    job.error = error
                    self._finish(job, "failed")
                else:
                    job.value = value
                    self._finish(job, "done")


_DEFAULT: JobPool | None = None
_DEFAULT_LOCK = threading.Lock()


def pool_size() -> int:
    """UNIQUE_MAX_JOBS (a positive integer), or the CPU count."""
    text = os.environ.get("UNIQUE_MAX_JOBS", "").strip()
    if not text:
        return os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise PoolConfigError(f"UNIQUE_MAX_JOBS={text!r} is not a positive whole number; set it to e.g. 2, "
                              "or unset it for the CPU count")
    return int(text)


def default_pool(size_if_unset: int | None = None) -> JobPool:
    """The process-wide pool, created on first use with UNIQUE_MAX_JOBS workers.

    Where UNIQUE_MAX_JOBS is unset, the first caller's `size_if_unset` (the app asks for at most
    2: each of its worker processes holds the models, about 1 GB), else the CPU count. Later
    calls get the same pool whatever they pass.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            unset = not os.environ.get("UNIQUE_MAX_JOBS", "").strip()
            _DEFAULT = JobPool(size_if_unset if unset and size_if_unset else pool_size())
        return _DEFAULT
