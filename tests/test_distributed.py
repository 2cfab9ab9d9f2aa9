"""Tiled downscaling on a Dask LocalCluster: the area is whole, on the grid, and without seams."""

import datetime as dt
import shutil

import numpy as np
import pytest
import rasterio
import torch

from unique_core.config import models_dir
from unique_core.downscale.distributed import downscale_area, tiles_of
from unique_core.downscale.model import DownscaleConfig, Downscaler
from unique_core.grid import Region


def test_tiles_cover_the_area_once():
    area = Region("a", 100, 100, 5, 7)
    tiles = tiles_of(area, 2)
    covered = np.zeros(area.fine.shape, int)
    for t in tiles:
        rows, cols = t.fine.window_in(area.fine)
        covered[rows, cols] += 1
    assert (covered == 1).all()


def test_downscale_area__local_cluster(tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(models_dir() / "gpp_modis", models / "gpp_modis")  # the shipped GPP_M model
    torch.manual_seed(0)
    tiny = Downscaler(DownscaleConfig(scheme="s1", base=8, mults=(1, 2)))
    torch.nn.init.normal_(tiny.net.out.weight, std=0.05)
    tiny.save(models / "downscale_s1")
    monkeypatch.setenv("UNIQUE_MODELS_DIR", str(models))
    area = Region("area", 66, 160, 4, 4)  # 6 x 6 km near Gwangneung, 2 x 2 tiles of 3 km
    out = tmp_path / "area.tif"
    info = downscale_area(area, dt.date(2023, 7, 20), "s1", out, tile_blocks=2, members=1, steps=3,
                          n_workers=2, processes=False)
    assert info["tiles"] == 4
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 5179 and tuple(src.transform)[:6] == tuple(area.fine.transform)[:6]
        a = src.read(1)
        assert src.profile["tiled"] and src.overviews(1) is not None
    land = np.isfinite(a)
    assert land.mean() > 0.9 and np.nanmin(a) >= 0
    # no seams: the jump across the tile borders (column and row 100) is like any other jump
    jump = np.nanmean(np.abs(np.diff(a, axis=1)), axis=0)
    assert jump[99] < 2.5 * np.nanmedian(jump)
    jump_r = np.nanmean(np.abs(np.diff(a, axis=0)), axis=1)
    assert jump_r[99] < 2.5 * np.nanmedian(jump_r)


def test_cube_area__local_cluster_tiles_by_days_resumable(tmp_path, monkeypatch, request):
    import xarray as xr

    from unique_core import cube as C
    from unique_core.downscale.distributed import cube_area
    from unique_core.errors import ProductError

    models = tmp_path / "models"
    shutil.copytree(models_dir() / "gpp_modis", models / "gpp_modis")
    torch.manual_seed(0)
    tiny = Downscaler(DownscaleConfig(scheme="s1", base=8, mults=(1, 2)))
    torch.nn.init.normal_(tiny.net.out.weight, std=0.05)
    tiny.save(models / "downscale_s1")
    monkeypatch.setenv("UNIQUE_MODELS_DIR", str(models))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two worker threads share the process: one torch thread each
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    area = Region("area", 66, 160, 4, 4)  # 6 x 6 km: 2 x 2 tiles of 3 km
    out = tmp_path / "area.zarr"
    kw = dict(product="s1", tile_blocks=2, days_per_task=2, steps=3, start=dt.date(2023, 7, 18),
              end=dt.date(2023, 7, 21), n_workers=2, processes=False)
    info = cube_area(area, 2023, out, **kw)
    assert info["tiles"] == 4 and info["day_groups"] == 2 and info["tasks_run"] == 8
    ds = C.open_cube(out)
    assert ds["gpp"].shape == (4, 200, 200) and ds["gpp"].encoding["chunks"] == (2, 100, 100)
    assert str(ds["time"].values[0])[:10] == "2023-07-18"
    a = ds["gpp"].values
    assert np.isfinite(a).mean() > 0.9 and np.nanmin(a) >= 0
    for day in a:  # no seams at the tile borders (row and column 100)
        jump = np.nanmean(np.abs(np.diff(day, axis=1)), axis=0)
        assert jump[99] < 2.5 * np.nanmedian(jump)
        jump_r = np.nanmean(np.abs(np.diff(day, axis=0)), axis=1)
        assert jump_r[99] < 2.5 * np.nanmedian(jump_r)
    assert np.isfinite(ds["gpp_m"].values).mean() > 0.9
    # resumable: one task's mark gone (as after a kill before it was written) -> only that task runs
    first = a.copy()
    (out / "_progress" / "complete").unlink()
    (out / "_progress" / "tile_00003_days_002.done").unlink()
    again = cube_area(area, 2023, out, **kw)
    assert again["tasks_run"] == 1
    np.testing.assert_array_equal(xr.open_zarr(out, consolidated=False)["gpp"].values, first)
    with pytest.raises(ProductError, match="other settings"):
        cube_area(area, 2023, out, **{**kw, "steps": 4})
    with pytest.raises(ProductError, match="ending in .zarr"):
        cube_area(area, 2023, tmp_path / "area.nc", **kw)
