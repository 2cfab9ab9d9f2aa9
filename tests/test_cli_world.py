"""`unique world` end to end on a small box."""

import json

import pytest
import rasterio
from typer.testing import CliRunner

from unique_core.cli import app

runner = CliRunner()
BOX = ["--bbox", "127.14", "37.74", "127.16", "37.76", "--crs", "EPSG:4326"]


def test_regions_json():
    res = runner.invoke(app, ["world", "regions", "--json"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["crs"] == "EPSG:5179" and len(data["regions"]) >= 6
    assert {"name", "bounds_epsg5179", "bounds_lonlat"} <= set(data["regions"][0])


@pytest.mark.parametrize("layer, date", [("dem", None), ("landcover", None), ("gpp_true", "2022-07-25"),
                                         ("modis_ndvi", "2022-07-25"), ("cloud", "2022-07-25")])
def test_render_geotiff__on_the_project_grid(tmp_path, layer, date):
    out = tmp_path / f"{layer}.tif"
    args = ["world", "render", *BOX, "--layer", layer, "--out", str(out)] + (["--date", date] if date else [])
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 5179
        res_m = 500.0 if layer == "modis_ndvi" else 30.0
        assert src.transform.a == res_m and src.transform.e == -res_m
        assert (src.transform.c - 727_500.0) % 1500.0 == 0  # on the block lattice
        assert src.units[0]


def test_render_png(tmp_path):
    out = tmp_path / "g.png"
    res = runner.invoke(app, ["world", "render", *BOX, "--layer", "gpp_true", "--date", "2022-07-25",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["--layer", "dem", "--out", "x.jpg", *BOX], "must end in .tif or .png"),
    (["--layer", "nope", "--out", "x.tif", *BOX], "unknown layer 'nope'"),
    (["--layer", "gpp_true", "--out", "x.tif", *BOX], "give --date"),
    (["--layer", "dem", "--out", "x.tif"], "exactly one of --region"),
    (["--layer", "dem", "--out", "x.tif", "--region", "mars"], "unknown region 'mars'"),
    (["--layer", "gpp_true", "--date", "2025-01-01", "--out", "x.tif", *BOX], "outside the simulated period"),
    (["--layer", "landsat_ndvi", "--date", "2022-07-26", "--out", "x.tif", *BOX], "no Landsat-like acquisition"),
    (["--layer", "dem", "--out", "x.tif", "--bbox", "125", "35", "125.2", "35.2", "--crs", "EPSG:4326"], "at sea"),
])
def test_render__user_errors_exit_2_with_a_message(tmp_path, args, message):
    res = runner.invoke(app, ["world", "render", *args])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
