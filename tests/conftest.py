"""Shared fixtures: a private cache folder and small regions of the simulated world."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from unique_core.grid import Region, get_region

# Caches of the simulated world are deterministic; tests use their own folder (unless told to
# share one with UNIQUE_TEST_CACHE_DIR) so they never depend on what a previous run left.
# A private folder is removed when the session ends (it grows to hundreds of MB); a shared one is kept.
_PRIVATE_CACHE: str | None = None
if "UNIQUE_TEST_CACHE_DIR" in os.environ:
    os.environ["UNIQUE_CACHE_DIR"] = os.environ["UNIQUE_TEST_CACHE_DIR"]
else:
    import tempfile

    _PRIVATE_CACHE = os.environ["UNIQUE_CACHE_DIR"] = tempfile.mkdtemp(prefix="unique-test-cache-")


def pytest_sessionfinish(session, exitstatus):
    if _PRIVATE_CACHE is not None:
        import shutil

        shutil.rmtree(_PRIVATE_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def world():
    from unique_core.world import World

    return World()


@pytest.fixture(scope="session")
def small_region() -> Region:
    """3 x 3 km (100 x 100 fine pixels) of Gwangneung: forest, fields and a village."""
    g = get_region("gwangneung")
    return g.subregion(9, 9, 2, 2, name="gwangneung-small")


@pytest.fixture(scope="session")
def mixed_region() -> Region:
    """4.5 x 4.5 km of Seoul's edge (city, hills and the Han river)."""
    g = get_region("seoul_edge")
    return g.subregion(6, 15, 3, 3, name="seoul-small")


SUMMER = dt.date(2022, 7, 25)
WINTER = dt.date(2022, 1, 20)


@pytest.fixture(scope="session")
def mini_network(tmp_path_factory):
    """24 simulated flux sites abroad (no Korean tower: those take a minute each)."""
    from unique_core.world.network import build_network

    return build_network(tmp_path_factory.mktemp("net"), n_sites=24, korean=False)


@pytest.fixture(scope="session")
def modis_table(mini_network):
    from unique_core.gpp.data import training_table

    return training_table(mini_network, "modis")


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory):
    """A real-data folder in the real formats (tests/fixtures/real_fixtures.py), written once per session."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    from real_fixtures import write_all

    return write_all(tmp_path_factory.mktemp("real") / "data")
