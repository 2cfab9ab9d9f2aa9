"""Exports: the NetCDF carries a CF time coordinate and the region's name, not its block key or cache tags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from unique_core.io.export import CF_TIME_UNITS, export_netcdf, export_product
from unique_core.io.geotiff import read_geotiff, write_cog
from unique_core.raster import dataarray

DAY = dt.date(2023, 7, 20)


@pytest.fixture()
def cached_like(tmp_path, small_region):
    """A product as the cache serves it: a COG with the service's tags, read back."""
    grid = small_region.fine
    values = np.linspace(0, 12, grid.shape[0] * grid.shape[1], dtype=np.float32).reshape(grid.shape)
    write_cog(dataarray(values, grid, name="gpp_true", units="gC m-2 d-1", long_name="true GPP"),
              tmp_path / "c.tif", tags={"product": "gpp_true", "date": DAY.isoformat(), "region": small_region.key,
                                        "unique_key": '"abc"', "unique_params": "{}"})
    da = read_geotiff(tmp_path / "c.tif")
    da.name = "gpp_true"
    return da, values


def test_export_netcdf__daily_product_has_a_cf_time_axis(tmp_path, small_region, cached_like):
    da, values = cached_like
    nc, _ = export_product(da, tmp_path / "out", product="gpp_true", date=DAY, region_name="gwangneung",
                           region_key=small_region.key, bounds=small_region.bounds, fmt="nc")
    with xr.open_dataset(nc) as ds:
        var = ds["gpp_true"]
        assert var.dims == ("time", "y", "x")
        assert ds["time"].values[0] == np.datetime64("2023-07-20T12:00:00")
        assert list(ds["time_bnds"].values[0]) == [np.datetime64("2023-07-20"), np.datetime64("2023-07-21")]
        assert ds["time"].attrs["standard_name"] == "time" and ds["time"].attrs["axis"] == "T"
        assert var.attrs["cell_methods"] == "time: mean"
        np.testing.assert_array_equal(var.values[0], values)
    with xr.open_dataset(nc, decode_times=False) as raw:  # what a CF reader sees on disk
        assert raw["time"].attrs["units"] == CF_TIME_UNITS and raw["time"].attrs["calendar"] == "standard"
        assert float(raw["time"].values[0]) == (DAY - dt.date(1970, 1, 1)).days + 0.5
        assert raw["time"].attrs["bounds"] == "time_bnds"


def test_export_netcdf__names_the_region_and_drops_cache_tags(tmp_path, small_region, cached_like):
    da, _ = cached_like
    nc, item = export_product(da, tmp_path / "out", product="gpp_true", date=DAY, region_name="gwangneung",
                              region_key=small_region.key, bounds=small_region.bounds, fmt="nc")
    assert nc.name == "unique_gpp_true_gwangneung_2023-07-20.nc"
    with xr.open_dataset(nc) as ds:
        assert ds.attrs["region"] == "gwangneung" and ds.attrs["region_key"] == small_region.key
        assert ds.attrs["time_coverage_start"] == "2023-07-20T00:00:00Z"
        west, south, east, north = small_region.lonlat_bounds
        assert ds.attrs["geospatial_lon_min"] == pytest.approx(min(west, east), abs=0.02)
        assert ds.attrs["geospatial_lat_max"] == pytest.approx(max(south, north), abs=0.02)
        attrs = ds["gpp_true"].attrs
        assert "region" not in attrs and not [k for k in attrs if k.startswith("unique_")]
        assert small_region.key not in str(attrs)
        assert attrs["units"] == "gC m-2 d-1"


def test_export_netcdf__static_and_banded_products(tmp_path, small_region):
    grid = small_region.fine
    dem = dataarray(np.full(grid.shape, 120.0, np.float32), grid, name="dem", units="m", long_name="elevation")
    with xr.open_dataset(export_netcdf(dem, tmp_path / "dem.nc", region_name="gwangneung")) as ds:
        assert "time" not in ds.dims and ds["dem"].dims == ("y", "x") and "cell_methods" not in ds["dem"].attrs
    s2 = dataarray(np.stack([np.full(grid.shape, 5.0), np.full(grid.shape, 0.5)]).astype(np.float32), grid,
                   name="s2", units="gC m-2 d-1", long_name="S2", band=["mean", "std"])
    with xr.open_dataset(export_netcdf(s2, tmp_path / "s2.nc", date=DAY, region_name="jirisan")) as ds:
        assert ds["s2"].dims == ("time", "band", "y", "x") and list(ds["band"].values) == ["mean", "std"]
        assert float(ds["s2"].sel(band="std").mean()) == pytest.approx(0.5)


def test_export_product__cog_tags_carry_the_region_name(tmp_path, small_region, cached_like):
    import rasterio

    da, _ = cached_like
    tif, _ = export_product(da, tmp_path / "out", product="gpp_true", date=DAY, region_name="gwangneung",
                            region_key=small_region.key, bounds=small_region.bounds, fmt="tif")
    with rasterio.open(tif) as src:
        tags = src.tags()
    assert tags["region"] == "gwangneung" and tags["region_key"] == small_region.key and tags["date"] == "2023-07-20"
