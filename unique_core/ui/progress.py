"""Background work on a page: progress bars that poll the workers and redraw the page when done."""

from __future__ import annotations

import streamlit as st

from unique_core.ui.errors import message, report

POLL_S = 1.0


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def show(jobs: list) -> None:
    """Progress of `jobs` (ui.jobs.Job), refreshed every second; the whole page reruns when one ends.

    A job's error is shown here (a UniqueError's message, or an error id) and the job forgotten,
    so the next visit may retry it.
    """
    jobs = [j for j in jobs if j is not None]
    if not jobs:
        return

    @st.fragment(run_every=POLL_S)
    def panel() -> None:
        from unique_core.errors import UniqueError
        from unique_core.ui.cached import jobs as pool

        for job in jobs:
            if job.done:
                exc = job.error
                pool().forget(job.key)
                if exc is not None:
                    st.session_state.setdefault("_job_errors", {})[job.key] = (
                        str(exc) if isinstance(exc, UniqueError) else message(report(exc)))
                    st.session_state.setdefault("_job_failed", set()).add(job.key)
                st.rerun()  # the page draws what the job made
            what, fraction = job.progress()
            st.progress(fraction, text=f"Making {job.label} in the background: {what} "
                                       f"({_minutes(job.elapsed_s)} so far)")

    panel()


def errors() -> None:
    """Errors of background jobs that ended since the last run of the page (shown once)."""
    for text in st.session_state.pop("_job_errors", {}).values():
        st.error(text)


def failed(key: str) -> bool:
    """Whether a job of this key failed in this session (it is then not started again by itself)."""
    return key in st.session_state.get("_job_failed", set())


def retry(key: str) -> None:
    st.session_state.get("_job_failed", set()).discard(key)
