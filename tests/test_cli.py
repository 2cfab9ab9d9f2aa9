"""The CLI's error contract: one line for every error, never a traceback (issue 12 §6)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from unique_core.cli import app
from unique_core.cli import common

runner = CliRunner()


def _one_line_error(res) -> str:
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert "Traceback" not in res.output
    assert len(lines) == 1, res.output
    return lines[0]


def test_user_error__one_line_exit_2():
    res = runner.invoke(app, ["world", "render", "--layer", "dem", "--out", "x.png"])
    assert res.exit_code == 2
    assert _one_line_error(res) == "error: give exactly one of --region NAME or --bbox XMIN YMIN XMAX YMAX"


def test_unexpected_error__one_line_with_log_path(monkeypatch):
    import unique_core.grid

    def broken():
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(unique_core.grid, "named_regions", broken)
    res = runner.invoke(app, ["world", "regions"])
    assert res.exit_code == 1
    line = _one_line_error(res)
    assert line.startswith("error: unexpected RuntimeError: disk on fire; the traceback is in ")
    log = common.log_path()
    assert str(log) in line
    assert "disk on fire" in log.read_text() and "Traceback" in log.read_text()


def test_unexpected_error__debug_shows_traceback(monkeypatch):
    import unique_core.grid

    monkeypatch.setattr(unique_core.grid, "named_regions", lambda: 1 / 0)
    monkeypatch.setitem(common._state, "debug", False)
    res = runner.invoke(app, ["--debug", "world", "regions"])
    assert isinstance(res.exception, ZeroDivisionError)


@pytest.mark.parametrize("cadence", ["0", "-1"])
def test_precompute__cadence_below_one_is_refused(cadence):
    res = runner.invoke(app, ["products", "precompute", "--cadence", cadence, "--regions", "gwangneung"])
    assert res.exit_code == 2
    assert "Invalid value for '--cadence'" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("args", [["downscale", "run", "--scheme", "s2", "--date", "2023-07-15", "--region",
                                   "jirisan", "--out", "x.tif", "--members", "0"],
                                  ["products", "get", "-p", "s2", "-d", "2023-07-15", "-r", "jirisan",
                                   "--members", "1000"],
                                  ["products", "get", "-p", "s2", "-d", "2023-07-15", "-r", "jirisan",
                                   "--steps", "0"]])
def test_option_ranges__refused_by_typer(args):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "Invalid value" in res.output


def test_export__out_dir_that_is_a_file(tmp_path):
    f = tmp_path / "passwd"
    f.write_text("root:x:0:0")
    res = runner.invoke(app, ["products", "export", "-p", "dem", "-r", "gwangneung", "--out-dir", str(f)])
    assert res.exit_code == 2
    assert _one_line_error(res) == f"error: --out-dir {f} is a file, not a folder: give a folder to write into"
    assert f.read_text() == "root:x:0:0"


def test_ingest_check__missing_folder(tmp_path):
    res = runner.invoke(app, ["ingest", "check", str(tmp_path / "nowhere")])
    assert res.exit_code == 2
    assert "no such folder" in _one_line_error(res)


def test_data__missing_folder_is_one_line(tmp_path):
    res = runner.invoke(app, ["products", "get", "-p", "dem", "-r", "gwangneung", "--data", str(tmp_path / "no")])
    assert res.exit_code == 2
    assert _one_line_error(res).startswith(f"error: {tmp_path / 'no'}: no such folder")


def test_parse_day__real_data_has_no_simulated_period():
    class Real:
        simulated = False

    assert common.parse_day("2024-03-01", Real()).isoformat() == "2024-03-01"
    with pytest.raises(Exception, match="outside the simulated period"):
        common.parse_day("2024-03-01", None)
    with pytest.raises(Exception, match="is not a date"):
        common.parse_day("2023-02-30", Real())


def test_cache_info_and_clean__report_a_killed_writers_temporary(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setenv("UNIQUE_CACHE_DIR", str(tmp_path))
    products = tmp_path / "products" / "dem"
    products.mkdir(parents=True)
    stale = products / ".b1_2_20x20.tif.ab12cd34.tif"  # the atomic writer's temporary, left by a kill
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    keep = products / "notes.txt"  # not a writer's name: never touched
    keep.write_text("mine")
    res = runner.invoke(app, ["cache", "info", "--json"])
    assert res.exit_code == 0, res.output
    assert '"temporaries": 1' in res.output
    res = runner.invoke(app, ["cache", "clean"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("removed 1 temporaries")
    assert not stale.exists() and keep.read_text() == "mine"


def test_app__public_host_is_validated():
    res = runner.invoke(app, ["app", "--port", "0"])
    assert res.exit_code == 2 and "Invalid value for '--port'" in res.output


REAL = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.mark.skipif(not REAL.is_dir(), reason="the real-file corpus ../shared/data/real is not beside this checkout")
def test_ingest_inspect__real_dem_and_a_broken_file(tmp_path):
    import json

    res = runner.invoke(app, ["ingest", "inspect", str(REAL / "dem" / "pysheds_dem.tif"), "--json"])
    assert res.exit_code == 0, res.output
    (entry,) = json.loads(res.output)
    assert entry["kind"] == "dem" and entry["crs"] == "EPSG:4326"
    assert entry["figures"]["elevation_max_m"] == 298.0
    broken = tmp_path / "dem.tif"
    broken.write_bytes((REAL / "dem" / "pysheds_dem.tif").read_bytes()[:4000])  # truncated download
    res = runner.invoke(app, ["ingest", "inspect", str(broken)])
    assert res.exit_code == 1
    assert "problem:" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("extra, match", [
    (["--bbox", "127", "37", "129", "38", "--start", "2023-01-01", "--end", "2023-01-31"], "1"),
    (["--bbox", "127", "37", "127.1", "37.1", "--start", "2023-02-01", "--end", "2023-01-01"],
     "--end 2023-01-01 is before --start 2023-02-01"),
    (["--bbox", "127", "37", "127.1", "37.1", "--start", "2023-02-30", "--end", "2023-03-01"],
     "--start '2023-02-30' is not a date"),
])
def test_ingest_stac__bad_requests_are_one_line(tmp_path, extra, match):
    res = runner.invoke(app, ["ingest", "stac", "--out", str(tmp_path / "d"), "--items", str(tmp_path / "none.json"),
                              *extra])
    assert res.exit_code == 2
    assert match in _one_line_error(res)


def test_ingest_stac__missing_items_file(tmp_path):
    res = runner.invoke(app, ["ingest", "stac", "--out", str(tmp_path / "d"), "--items", str(tmp_path / "none.json"),
                              "--bbox", "127", "37", "127.1", "37.1", "--start", "2023-01-01", "--end", "2023-01-31"])
    assert res.exit_code == 2
    assert "none.json: no such file" in _one_line_error(res)


def test_downscale_run__a_peer_method_writes_a_30m_map(tmp_path):
    import numpy as np
    import rasterio

    out = tmp_path / "nearest.tif"
    res = runner.invoke(app, ["downscale", "run", "--method", "nearest", "--date", "2023-05-20",
                              "--bbox", "1000000", "1800000", "1003000", "1803000", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with rasterio.open(out) as ds:
        assert ds.res == (30.0, 30.0) and ds.tags()["method"] == "nearest"
        a = ds.read(1, masked=True)
    # nearest upsampling: every 500 m cell is one value over its 30 m pixels (first cell: rows 0-15, cols 0-15)
    block = a[:16, :16].compressed()
    assert block.size and np.ptp(block) == 0


@pytest.mark.parametrize("extra, match", [(["--out", "cube.tif"], "--out must end in .zarr or .nc"),
                                          (["--engine", "tensorrt"], "--engine 'tensorrt': choose one of auto")])
def test_products_cube__bad_options_are_one_line(extra, match):
    res = runner.invoke(app, ["products", "cube", "-p", "s2", "--year", "2023", "-r", "gwangneung", *extra])
    assert res.exit_code == 2
    assert match in _one_line_error(res)


def test_products_export__netcdf_has_time_and_the_region_name(tmp_path):
    import xarray as xr

    res = runner.invoke(app, ["products", "export", "-p", "gpp_true", "-d", "2023-07-15", "--bbox", "1000000",
                              "1800000", "1003000", "1803000", "--format", "nc", "--out-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (nc,) = tmp_path.glob("*.nc")
    with xr.open_dataset(nc) as ds:
        assert ds["time"].dt.strftime("%Y-%m-%d").values.tolist() == ["2023-07-15"]
        assert "20x20" not in str(ds.attrs) and "b" in ds.attrs.get("region_key", "b")


def test_downscale_evaluate__unknown_tile_or_method_is_one_line():
    res = runner.invoke(app, ["downscale", "evaluate", "--methods", "unmix,magic"])
    assert res.exit_code == 2
    assert "unknown method(s) magic: choose from gpp_m_bilinear" in _one_line_error(res)
    res = runner.invoke(app, ["downscale", "evaluate", "--tiles", "atlantis", "--methods", "unmix"])
    assert res.exit_code == 2
    assert "unknown test tile(s) atlantis" in _one_line_error(res)


def test_downscale_train__without_samples_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIQUE_CACHE_DIR", str(tmp_path))
    res = runner.invoke(app, ["downscale", "train", "--scheme", "s2", "--steps", "1", "--out", str(tmp_path / "m")])
    assert res.exit_code == 2
    assert "have no samples yet: run `unique downscale data` first" in _one_line_error(res)


@pytest.mark.parametrize("extra, match", [(["--out", "k.nc", "--country"], "--out must end in .zarr"),
                                          (["--out", "k.zarr"], "give exactly one of --country or --bbox")])
def test_products_cube_area__bad_options_are_one_line(extra, match):
    res = runner.invoke(app, ["products", "cube-area", "--year", "2023", *extra])
    assert res.exit_code == 2
    assert match in _one_line_error(res)


@pytest.mark.parametrize("product", ["s1", "s2", "s3", "s3_past"])
def test_products_params__every_downscaled_product_gets_the_sampler_settings(product):
    from unique_core.cli.products import _params

    assert _params(product, 4, 20, 7, True) == {"members": 4, "steps": 20, "seed": 7, "conserve": True}


@pytest.mark.parametrize("product", ["gpp_m", "gpp_l", "dem"])
def test_products_params__other_products_take_none(product):
    from unique_core.cli.products import _params

    assert _params(product, 4, 20, 7, True) is None
