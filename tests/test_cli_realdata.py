"""The whole chain on a real-data folder, from the command line (issue 15 §3).

The folder is tests/fixtures/real_fixtures.py's: real formats (Landsat C2 L2 in UTM with MTL,
MOD09GA in sinusoidal, ERA5-Land NetCDF, a UTM DEM, a 10 m land-cover map in EPSG:5186).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from real_fixtures import DATE, REGION  # noqa: E402

from unique_core.cli import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def real_dir(real_data_dir):
    return real_data_dir


def _bbox(region) -> list[str]:
    return [f"{v:.0f}" for v in region.bounds]


def _ok(args):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res


def test_chain__check_gpp_map_downscale_and_series_on_a_real_folder(real_dir, tmp_path):
    report = json.loads(_ok(["ingest", "check", str(real_dir), "--json"]).output)
    assert report["ok"]
    box = ["--bbox", *_bbox(REGION)]
    gm = tmp_path / "gpp_m.tif"
    _ok(["gpp", "map", "--sensor", "modis", "--date", DATE.isoformat(), *box, "--data", str(real_dir), "--out", str(gm)])
    with rasterio.open(gm) as ds:
        assert ds.crs.to_epsg() == 5179 and ds.res == (500.0, 500.0)
        assert ds.tags()["source"].startswith("real data (")
        assert np.nanmean(ds.read(1, masked=True).filled(np.nan)) > 1
    s2 = tmp_path / "s2.tif"
    _ok(["downscale", "run", "--scheme", "s2", "--date", DATE.isoformat(), *box, "--data", str(real_dir),
         "--members", "2", "--steps", "5", "--out", str(s2)])
    with rasterio.open(s2) as ds:
        assert ds.count == 2 and ds.res == (30.0, 30.0) and ds.tags()["source"].startswith("real data (")
    csv = tmp_path / "ts.csv"
    start, end = DATE - dt.timedelta(3), DATE + dt.timedelta(3)
    _ok(["products", "timeseries", "-p", "gpp_m", *box, "--data", str(real_dir), "--start", start.isoformat(),
         "--end", end.isoformat(), "--csv", str(csv)])
    lines = csv.read_text().splitlines()
    assert len(lines) == 1 + 7


def test_products__real_and_simulated_never_share_a_cache_entry(real_dir):
    box = ["--bbox", *_bbox(REGION)]
    real = json.loads(_ok(["products", "get", "-p", "dem", *box, "--data", str(real_dir), "--json"]).output)
    sim = json.loads(_ok(["products", "get", "-p", "dem", *box, "--json"]).output)
    assert real["provenance"] != sim["provenance"]
    assert real["cache"] == "computed" and sim["cache"] == "computed"  # neither was served the other's file


def test_data_env_variable__is_the_same_as_the_option(real_dir, monkeypatch):
    monkeypatch.setenv("UNIQUE_DATA_DIR", str(real_dir))
    res = runner.invoke(app, ["products", "get", "-p", "gpp_true", "--date", DATE.isoformat(), "--bbox", *_bbox(REGION)])
    assert res.exit_code == 2 and "true GPP exists only for the simulated world" in res.output


def test_ingest_check__exits_1_when_a_claimed_product_cannot_be_made(real_dir, tmp_path):
    import shutil

    broken = tmp_path / "data"
    shutil.copytree(real_dir, broken, ignore=shutil.ignore_patterns("flux"))
    shutil.rmtree(broken / "modis")  # the folder claims MODIS but holds none
    (broken / "modis").mkdir()
    res = runner.invoke(app, ["ingest", "check", str(broken)])
    assert res.exit_code == 1, res.output
    assert "cannot make gpp_m: needs usable MODIS days" in res.output
