"""Where the files UNIQUE ships are: one place, found through importlib.resources.

The repository keeps them at the top level (assets/, app.py, pages/, static/, .streamlit/);
pyproject.toml maps them into the package at build time:

- `unique_core._assets` is the top-level assets/ folder (regions, shipped models, icon, the
  FLUXNET column list). It has an `__init__.py`, so an editable install (`make`) finds it in the
  checkout and an installed wheel finds the copy under site-packages/unique_core/_assets.
- `unique_core._app` is the app: app.py, pages/, static/ (Leaflet), .streamlit/config.toml and
  assets/icon.png, laid out as in the checkout because Streamlit resolves page paths against
  app.py's folder and serves static/ from beside it. In a wheel it is a folder of package data;
  an editable install cannot import a package whose folder is the checkout root (that folder has
  no `__init__.py`, and setuptools' editable finder only maps packages that do), so there the
  app folder is the checkout, the folder that holds the assets package.

Every path returned is a real file-system path: pip installs wheels unpacked, and Streamlit,
rasterio and LightGBM all need paths, not streams.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.resources import files
from pathlib import Path

from unique_core.errors import UniqueError

ASSETS_PACKAGE = "unique_core._assets"
APP_PACKAGE = "unique_core._app"


class ResourceError(UniqueError):
    """A file the package ships is missing: the installation is incomplete."""


def _as_path(resource, what: str) -> Path:
    path = Path(str(resource))
    if not path.exists():
        raise ResourceError(f"{what} is missing from the installed package ({path}): reinstall UNIQUE "
                            "(`pip install .` in the repository, or `make install`)")
    return path


@cache
def assets_dir() -> Path:
    """The shipped assets folder (assets/ in a checkout, unique_core/_assets in a wheel)."""
    try:
        root = files(ASSETS_PACKAGE)
    except ModuleNotFoundError as e:
        raise ResourceError(f"the package's assets ({ASSETS_PACKAGE}) are not installed: reinstall UNIQUE "
                            "(`pip install .` in the repository, or `make install`)") from e
    return _as_path(root, "the assets folder")


def asset(name: str) -> Path:
    """One shipped file or folder by its path inside assets/, e.g. "regions.json"."""
    return _as_path(assets_dir() / name, f"assets/{name}")


def regions_file() -> Path:
    """assets/regions.json: the named 30 x 30 km regions."""
    return asset("regions.json")


def fluxnet_columns_file() -> Path:
    """assets/fluxnet2015_fullset_dd_columns.txt: the column list of a real FULLSET daily file."""
    return asset("fluxnet2015_fullset_dd_columns.txt")


def icon_file() -> Path:
    """assets/icon.png: the app's icon (a local file, so no font CDN is asked for one)."""
    return asset("icon.png")


def shipped_models_dir() -> Path:
    """assets/models: the trained Step 1 and Step 2 models that ship with UNIQUE."""
    return asset("models")


@cache
def app_dir() -> Path:
    """The folder holding app.py, pages/, static/ and .streamlit/.

    A wheel carries it as unique_core/_app; in an editable install it is the checkout root.
    """
    spec = importlib.util.find_spec(APP_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
    else:
        folder = assets_dir().parent  # editable install: assets/ sits beside app.py
    if not (folder / "app.py").is_file():
        raise ResourceError(f"the app (app.py) is missing from {folder}: reinstall UNIQUE "
                            "(`pip install .` in the repository, or `make install`)")
    return folder


def app_script() -> Path:
    """app.py, the Streamlit entry point."""
    return app_dir() / "app.py"


def static_dir() -> Path:
    """static/ beside app.py: what Streamlit serves at /app/static/ (Leaflet, vendored)."""
    return app_dir() / "static"
