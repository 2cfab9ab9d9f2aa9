"""Vendor the web assets the maps need into static/, so the app works with no internet.

Streamlit serves static/ (beside app.py) at /app/static/ when `enableStaticServing` is on
(.streamlit/config.toml). Leaflet and Font Awesome come from their PyPI `xstatic` packages;
nothing is downloaded at run time. Run as `python -m unique_core.ui.assets` (make does it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"


def _copy_tree(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    else:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def vendor() -> Path:
    """Copy Leaflet (js, css, images) and Font Awesome into static/; returns the folder."""
    import xstatic.pkg.font_awesome as fa
    import xstatic.pkg.leaflet as leaflet

    lf = Path(leaflet.BASE_DIR)
    STATIC.mkdir(exist_ok=True)
    _copy_tree(lf / "leaflet.js", STATIC / "leaflet.js")
    _copy_tree(lf / "leaflet.css", STATIC / "leaflet.css")
    _copy_tree(lf / "images", STATIC / "images")
    fa_dir = Path(fa.BASE_DIR)
    _copy_tree(fa_dir / "css", STATIC / "fontawesome" / "css")
    _copy_tree(fa_dir / "webfonts", STATIC / "fontawesome" / "webfonts")
    return STATIC


if __name__ == "__main__":
    print(f"web assets in {vendor()}")
