"""The web files the maps need (Leaflet), served by Streamlit from static/ beside app.py.

Streamlit serves that folder at /app/static/ when `enableStaticServing` is on
(.streamlit/config.toml, and the launcher passes it too). The files are vendored: a copy of
the pinned XStatic-Leaflet package lives in the repository's static/ and ships in the wheel
(unique_core/_app/static), so `streamlit run app.py`, `make run` and `unique app` all draw maps
with no internet and no install step. Refresh the copy after changing the XStatic-Leaflet pin
with `python -m unique_core.ui.assets`; tests/test_packaging.py checks it matches the package.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from unique_core.resources import static_dir

# what viz.maps.OfflineMap loads, and the pictures leaflet.css names (layer control, markers)
WEB_FILES = ("leaflet.js", "leaflet.css", "images/layers.png", "images/layers-2x.png",
             "images/marker-icon.png", "images/marker-icon-2x.png", "images/marker-shadow.png")


def xstatic_leaflet_dir() -> Path:
    """The Leaflet files of the installed XStatic-Leaflet package."""
    import xstatic.pkg.leaflet as leaflet

    return Path(leaflet.BASE_DIR)


def vendor(static: Path | None = None) -> Path:
    """Copy the WEB_FILES from XStatic-Leaflet into `static` (default: the app's static/).

    Each file is written to a temporary name and renamed into place, so a server reading the
    folder never serves half a file. Returns the folder.
    """
    static = static or static_dir()
    src = xstatic_leaflet_dir()
    for name in WEB_FILES:
        target = static / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
            with open(src / name, "rb") as f:
                shutil.copyfileobj(f, tmp)
        Path(tmp.name).replace(target)
    return static


def missing_web_files(static: Path | None = None) -> list[str]:
    """The WEB_FILES absent (or empty) in `static`, as paths relative to it."""
    static = static or static_dir()
    return [n for n in WEB_FILES if not (static / n).is_file() or (static / n).stat().st_size == 0]


def ensure_web_assets(static: Path | None = None) -> str | None:
    """Put the map's web files in place if they are missing; None when they are there.

    Call it at app start. A missing file is copied from XStatic-Leaflet when that package is
    installed and the folder writable; otherwise the message returned says which files are
    missing and how to restore them, for the page to show instead of a blank map.
    """
    static = static or static_dir()
    missing = missing_web_files(static)
    if not missing:
        return None
    try:
        vendor(static)
    except (ImportError, OSError):
        pass  # reported below, with the files still missing
    missing = missing_web_files(static)
    if not missing:
        return None
    return (f"The maps cannot be drawn: {', '.join(missing)} missing from {static}. Restore them with "
            "`git checkout static/` in a checkout, or `python -m unique_core.ui.assets` (copies them from "
            "the XStatic-Leaflet package; needs write access there), or reinstall UNIQUE; then reload the page.")


if __name__ == "__main__":
    print(f"web assets in {vendor()}")
