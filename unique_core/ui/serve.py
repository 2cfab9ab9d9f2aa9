"""`python -m unique_core.ui.serve run app.py [options]`: Streamlit's own command line, with
st.navigation owning the page routes from the very first page view.

Why: Streamlit 1.67 decides when its first session starts whether the app is an old-style
multipage app, by whether a `pages/` folder sits beside the main script. UNIQUE has one (the
pages' scripts live there) and routes them with st.navigation, under URL paths of its own
(/compare-maps, /time-series, ...). Until the first script run has called st.navigation, the
old mode is on; so the first browser to open a shared link to any page but the Map got
"Page not found" over the right page. Saying before the server starts that no pages folder
is in use (`PagesManager.uses_pages_directory = False`, what st.navigation itself sets) makes
the first view like every later one. `unique app`, `make run` and the test and bench servers
(ui.devserver) start the app through here; a plain `streamlit run app.py` still shows the
dialog once, on the first deep link after each start (docs/app.md).
"""

from __future__ import annotations

import sys


def command(script: str, *options: str) -> list[str]:
    """The command line that serves `script` through here (options: Streamlit's, e.g. --server.port 8501)."""
    return [sys.executable, "-m", "unique_core.ui.serve", "run", str(script), *options]


def main() -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web.cli import main as streamlit_main

    PagesManager.uses_pages_directory = False
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
