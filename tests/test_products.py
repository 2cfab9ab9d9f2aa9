"""The product service: run or load, provenance, staleness, corruption, concurrency, safety, exports."""

import datetime as dt
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import rasterio
import xarray as xr

from unique_core.errors import ProductError
from unique_core.products import ProductService

DAY = dt.date(2023, 7, 20)


@pytest.fixture()
def svc(tmp_path, world):
    return ProductService(tmp_path / "products", world)


def test_get__miss_then_hit_with_provenance(svc, small_region):
    a = svc.get("gpp_true", DAY, small_region)
    b = svc.get("gpp_true", DAY, small_region)
    assert a.attrs["cache"] == "computed" and b.attrs["cache"] == "hit"
    np.testing.assert_array_equal(a.values, b.values)
    entry = svc.catalog.all()[0]
    assert entry["seed"] == 2026 and entry["code_version"] and entry["created"] and entry["compute_seconds"] > 0
    assert entry["sha256"] and entry["bytes"] > 0
    assert b.rio.crs.to_epsg() == 5179 and b.attrs["units"] == "gC m-2 d-1"


def test_get__truncated_cog_is_recomputed(svc, small_region):
    svc.get("dem", None, small_region)
    path = svc.catalog.all()[0]["path"]
    with open(path, "r+b") as f:
        f.truncate(1000)
    again = svc.get("dem", None, small_region)
    assert again.attrs["cache"] == "computed"
    assert np.isfinite(again.values).all()


def test_get__stale_model_is_not_served(tmp_path, monkeypatch, world, small_region, modis_table):
    from unique_core.gpp.model import GppModel

    monkeypatch.setenv("UNIQUE_MODELS_DIR", str(tmp_path / "models"))
    svc = ProductService(tmp_path / "p", world)
    GppModel.fit(modis_table, "modis", rounds=20).save(tmp_path / "models" / "gpp_modis")
    first = svc.get("gpp_m", DAY, small_region)
    assert svc.get("gpp_m", DAY, small_region).attrs["cache"] == "hit"
    GppModel.fit(modis_table, "modis", rounds=40).save(tmp_path / "models" / "gpp_modis")  # a new model version
    second = svc.get("gpp_m", DAY, small_region)
    assert second.attrs["cache"] == "computed"
    assert second.attrs["provenance"]["model_hash"] != first.attrs["provenance"]["model_hash"]


def test_get__two_processes_compute_once(tmp_path, small_region):
    script = textwrap.dedent(f"""
        import datetime as dt, hashlib, json, sys
        from unique_core.grid import Region
        from unique_core.products import ProductService
        r = Region("t", {small_region.brow0}, {small_region.bcol0}, {small_region.nbrows}, {small_region.nbcols})
        da = ProductService(sys.argv[1]).get("gpp_true", dt.date(2021, 8, 1), r)
        print(json.dumps({{"cache": da.attrs["cache"], "sha": hashlib.sha256(da.values.tobytes()).hexdigest()}}))
    """)
    root = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in procs]
    assert sorted(o["cache"] for o in outs) == ["computed", "hit"]
    assert outs[0]["sha"] == outs[1]["sha"]
    assert len(ProductService(root).catalog.all()) == 1


@pytest.mark.parametrize("product", ["../../etc/passwd", "dem/../../x", "", "gpp_m;rm -rf"])
def test_get__unknown_products_never_become_paths(svc, small_region, product):
    with pytest.raises(ProductError, match="unknown product"):
        svc.get(product, DAY, small_region)


def test_paths__always_inside_the_cache(svc, small_region):
    from unique_core.products import SPECS

    for name in SPECS:
        key = svc.key(name, DAY, small_region, {})
        path = svc._path(name, DAY, small_region, key)
        assert svc.root.resolve() in path.parents


def test_get__user_errors(svc, small_region):
    with pytest.raises(ProductError, match="give a date"):
        svc.get("gpp_true", None, small_region)
    with pytest.raises(ProductError, match="not for the whole country"):
        svc.get("gpp_l", DAY, None)
    with pytest.raises(ProductError, match="takes no parameters"):
        svc.get("dem", None, small_region, {"members": 3})
    with pytest.raises(ProductError, match="members must be"):
        svc.get("s2", DAY, small_region, {"members": 0})


def test_exports__reopen_with_crs_transform_units_and_valid_stac(svc, small_region, tmp_path):
    from unique_core.io.export import export_product, validate_stac_item

    da = svc.get("gpp_true", DAY, small_region)
    tif, item = export_product(da, tmp_path / "out", product="gpp_true", date=DAY, region_name="test",
                               bounds=small_region.bounds, fmt="tif")
    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == 5179 and tuple(src.transform)[:6] == tuple(small_region.fine.transform)[:6]
        assert src.units[0] == "gC m-2 d-1"
    nc, item_nc = export_product(da, tmp_path / "out", product="gpp_true", date=DAY, region_name="test",
                                 bounds=small_region.bounds, fmt="nc")
    ds = xr.open_dataset(nc)
    assert ds.attrs["Conventions"] == "CF-1.8"
    var = ds["gpp_true"]
    assert var.attrs["units"] == "gC m-2 d-1" and var.attrs["grid_mapping"] == "spatial_ref"
    assert "EPSG" in ds["spatial_ref"].attrs["crs_wkt"] or "Korea" in ds["spatial_ref"].attrs["crs_wkt"]
    np.testing.assert_allclose(ds["x"].values, small_region.fine.x)
    ds.close()
    for i in (item, item_nc):
        validate_stac_item(json.loads(i.read_text()))


def test_timeseries__one_column_per_pft(svc, small_region):
    from unique_core import analysis

    df = analysis.timeseries(svc, "gpp_true_500m", small_region, dt.date(2023, 7, 1), dt.date(2023, 7, 10))
    assert len(df) == 10 and "all" in df and {"DBF", "ENF"} & set(df.columns)
    assert (df.drop(columns="date").fillna(0) >= 0).all().all()
    areas = analysis.pft_areas_km2(analysis.pft_weights(svc.world.static_coarse(small_region).fractions), 500.0)
    assert sum(areas.values()) == pytest.approx(9.0, rel=0.05)  # 3 x 3 km of land
    tot = analysis.totals(df, areas)
    assert set(tot["kind"]) == {"season", "year", "span"}  # ten days are part of JJA and of 2023, never "year"
    assert "part of 2023: 2023-07-01 to 2023-07-10 (10 of 365 days)" in set(tot["period"])


def test_cog__named_bands_come_back_by_name(tmp_path, small_region):
    from unique_core.io.geotiff import read_geotiff, write_cog
    from unique_core.raster import dataarray

    grid = small_region.fine
    values = np.stack([np.full(grid.shape, 5.0), np.full(grid.shape, 0.5)]).astype(np.float32)
    write_cog(dataarray(values, grid, name="s2", units="gC m-2 d-1", long_name="test", band=["mean", "std"]),
              tmp_path / "s2.tif")
    back = read_geotiff(tmp_path / "s2.tif")
    assert list(back["band"].values) == ["mean", "std"]
    assert float(back.sel(band="std").mean()) == pytest.approx(0.5)
    assert back.attrs["units"] == "gC m-2 d-1"
