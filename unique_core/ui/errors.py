"""Unexpected errors on a page: a short message with an error id that the server log also holds.

Streamlit's own error box ("This app has encountered an error") tells a user nothing and, with
details on, shows a traceback. A page body and each fragment run inside `guard`: a UniqueError
(the user can fix it) is shown as its message; anything else is logged with its traceback under
a fresh id, and the page shows only the id. Streamlit's rerun and stop signals derive from
BaseException and pass through.

`install()` (called by the shared sidebar on every run) is the net under every page and
fragment, guarded or not: a page opened on its own by a stale link (Streamlit's old multipage
mode skips app.py and its guard) or a polling fragment that fails. It sets Streamlit's
`on_script_error` handler (the hook `st.App` exposes; `streamlit run` sets none) on this run's
context and on the session, so later runs and fragment reruns of the session have it too.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from typing import Callable, Iterator

import streamlit as st

from unique_core.errors import UniqueError

log = logging.getLogger("unique.app")


def report(exc: BaseException) -> str:
    """Log an unexpected exception with its traceback under a new id; returns the id."""
    error_id = uuid.uuid4().hex[:8]
    log.error("error id %s: %s: %s", error_id, type(exc).__name__, exc, exc_info=exc)
    return error_id


def message(error_id: str) -> str:
    return (f"Something went wrong on this page (error id **{error_id}**). Try another date or region, "
            f"or reload the page; whoever runs the server finds the details under that id in its log.")


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show a UniqueError's message, or an error id for anything unexpected, instead of a traceback."""
    try:
        yield
    except UniqueError as exc:
        st.error(str(exc))
    except Exception as exc:  # noqa: BLE001 - every unexpected error becomes an id on the page
        st.error(message(report(exc)), icon=":material/error:")


def guarded(fn: Callable) -> Callable:
    """`guard` as a decorator (for fragments, which rerun on their own, outside the page's guard)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with guard():
            return fn(*args, **kwargs)
    return wrapper


def _on_script_error(exc: Exception) -> bool:
    """Streamlit's handler of an uncaught exception: the same short message and id as `guard`."""
    if isinstance(exc, UniqueError):
        st.error(str(exc))
    else:
        st.error(message(report(exc)), icon=":material/error:")
    return True  # Streamlit then draws no exception box of its own


def install() -> None:
    """Make `_on_script_error` this session's handler of uncaught exceptions (pages and fragments)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or ctx.on_script_error is _on_script_error:
        return
    ctx.on_script_error = _on_script_error
    # the session makes a new context for a run that starts after its script thread ended (e.g.
    # a fragment's timed rerun): its handler comes from the session, whose attribute is private
    with contextlib.suppress(Exception):
        from streamlit import runtime

        info = runtime.get_instance()._session_mgr.get_session_info(ctx.session_id)
        if info is not None:
            info.session._on_script_error = _on_script_error
