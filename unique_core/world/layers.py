"""Named layers of a source, as DataArrays with units: what `unique world render` draws.

Each layer reads its source only through unique_core.sources.DataSource, so the static layers
and the NDVI of real data come from the same code; the true GPP, the true NDVI and the cloud
layer exist only for the simulation (a real-data source refuses them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import xarray as xr

from unique_core.errors import DateError, ProductError
from unique_core.grid import Region
from unique_core.landcover import KEYS
from unique_core.qa import landsat_clear, modis_clear
from unique_core.raster import dataarray
from unique_core.sources import DataSource
from unique_core.sources.formats import L2_OFFSET, L2_SCALE, MODIS_FILL, MODIS_SCALE
from unique_core.sources.physics import hillshade
from unique_core.world import sensors  # the cloud layer draws the simulated sensors' masks

CLOUD_CLASSES = ("clear", "cloud", "dilated cloud", "cloud shadow", "cirrus")  # values 1..5
CLOUD_COLOURS = ("#a8d5a2", "#ffffff", "#b0b0b0", "#3d3d3d", "#6fa8dc")


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    resolution: Literal["fine", "coarse"]
    dynamic: bool  # needs a date
    kind: Literal["continuous", "categorical"]
    make: Callable[[DataSource, Region, dt.date | None], xr.DataArray]


def _dem(w: DataSource, r: Region, d) -> xr.DataArray:
    st = w.static(r)
    return dataarray(np.where(st.rok, st.elevation, np.nan).astype(np.float32), st.grid, name="dem",
                     units="m", long_name="elevation above sea level (simulated)")


def _hillshade(w: DataSource, r: Region, d) -> xr.DataArray:
    g = r.fine
    elev = w.terrain.elevation(g.pad(1))
    return dataarray(hillshade(elev, g.res), g, name="hillshade", units="1",
                     long_name="hillshade, light from the north-west at 45 degrees")


def _slope(w: DataSource, r: Region, d) -> xr.DataArray:
    st = w.static(r)
    return dataarray(st.slope, st.grid, name="slope", units="degree", long_name="terrain slope")


def _landcover(w: DataSource, r: Region, d) -> xr.DataArray:
    st = w.static(r)
    return dataarray(st.landcover, st.grid, name="landcover", units="1",
                     long_name="dominant land-cover class of the 30 m pixel (from the 5 m map)",
                     attrs={"flag_values": list(range(1, len(KEYS) + 1)), "flag_meanings": " ".join(KEYS)})


def _fractions(w: DataSource, r: Region, d) -> xr.DataArray:
    st = w.static(r)
    return dataarray(st.fractions, st.grid, name="fractions", units="1", band=list(KEYS),
                     long_name="area fraction of each land-cover class in the 30 m pixel")


def _gpp_true(w: DataSource, r: Region, d) -> xr.DataArray:
    day = w.day(r, d)
    st = w.static(r)
    return dataarray(np.where(st.land, day.gpp, np.nan), day.grid, name="gpp_true", units="gC m-2 d-1",
                     long_name="true daily gross primary productivity at 30 m (simulated)")


def _gpp_true_500m(w: DataSource, r: Region, d) -> xr.DataArray:
    sc = w.static_coarse(r)
    day = w.day_coarse(r, d, static=sc)
    return dataarray(np.where(sc.land > 0.5, day.gpp, np.nan), day.grid, name="gpp_true_500m",
                     units="gC m-2 d-1", long_name="true daily gross primary productivity at 500 m (simulated)")


def _ndvi_true(w: DataSource, r: Region, d) -> xr.DataArray:
    day = w.day(r, d)
    st = w.static(r)
    return dataarray(np.where(st.rok, day.ndvi, np.nan), day.grid, name="ndvi_true", units="1",
                     long_name="true NDVI of the surface at 30 m, no clouds (simulated)")


def _modis_ndvi(w: DataSource, r: Region, d) -> xr.DataArray:
    m = w.modis(r, d)
    red = m["sur_refl_b01"].astype(np.float32) * MODIS_SCALE
    nir = m["sur_refl_b02"].astype(np.float32) * MODIS_SCALE
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    ok = modis_clear(m["state_1km"]) & (m["sur_refl_b01"] != MODIS_FILL)
    return dataarray(np.where(ok, ndvi, np.nan).astype(np.float32), r.coarse, name="modis_ndvi", units="1",
                     long_name="MODIS-like 500 m NDVI, cloudy cells masked by state_1km (simulated)")


def _landsat_scene(w: DataSource, r: Region, d: dt.date) -> dict:
    scene = w.landsat(r, d)
    if scene is None:
        dates = [p[0] for p in w.landsat_dates(r, d.year)]
        near = sorted(dates, key=lambda x: abs((x - d).days))[:3]
        raise DateError(f"no Landsat-like acquisition over {r.name} on {d.isoformat()}; nearest: "
                        + ", ".join(x.isoformat() for x in sorted(near)))
    return scene


def _landsat_ndvi(w: DataSource, r: Region, d) -> xr.DataArray:
    s = _landsat_scene(w, r, d)
    red = s["SR_B4"].astype(np.float32) * L2_SCALE + L2_OFFSET
    nir = s["SR_B5"].astype(np.float32) * L2_SCALE + L2_OFFSET
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    ok = landsat_clear(s["QA_PIXEL"])
    return dataarray(np.where(ok, ndvi, np.nan).astype(np.float32), r.fine, name="landsat_ndvi", units="1",
                     long_name=f"Landsat-like 30 m NDVI ({s['satellite']}, path {s['path']}), "
                               "QA_PIXEL-masked (simulated)")


def _cloud(w: DataSource, r: Region, d) -> xr.DataArray:
    day = w.day(r, d)
    m = sensors.cloud_masks(r.fine, day.cloud, w.seed, d)
    cls = np.ones(r.fine.shape, np.uint8)
    cls[m.cirrus] = 5
    cls[m.shadow] = 4
    cls[m.dilated] = 3
    cls[m.cloud] = 2
    return dataarray(cls, r.fine, name="cloud", units="1",
                     long_name="clouds at the morning overpass, as a Landsat QA would flag them",
                     attrs={"flag_values": list(range(1, 6)), "flag_meanings": " ".join(c.replace(" ", "_") for c in CLOUD_CLASSES)})


LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("dem", "Elevation", "fine", False, "continuous", _dem),
    Layer("hillshade", "Hillshade", "fine", False, "continuous", _hillshade),
    Layer("slope", "Slope", "fine", False, "continuous", _slope),
    Layer("landcover", "Land cover", "fine", False, "categorical", _landcover),
    Layer("fractions", "Land-cover fractions", "fine", False, "continuous", _fractions),
    Layer("gpp_true", "True GPP (30 m)", "fine", True, "continuous", _gpp_true),
    Layer("gpp_true_500m", "True GPP (500 m)", "coarse", True, "continuous", _gpp_true_500m),
    Layer("ndvi_true", "True NDVI (30 m)", "fine", True, "continuous", _ndvi_true),
    Layer("modis_ndvi", "MODIS-like NDVI (500 m)", "coarse", True, "continuous", _modis_ndvi),
    Layer("landsat_ndvi", "Landsat-like NDVI (30 m)", "fine", True, "continuous", _landsat_ndvi),
    Layer("cloud", "Clouds (30 m)", "fine", True, "categorical", _cloud),
)}


def make_layer(world: DataSource, name: str, region: Region, date: dt.date | None) -> xr.DataArray:
    """The layer `name` over `region` (on `date` for dynamic layers); errors say what is allowed."""
    if name not in LAYERS:
        raise ProductError(f"unknown layer {name!r}; choose one of: {', '.join(LAYERS)}")
    layer = LAYERS[name]
    if layer.dynamic and date is None:
        raise DateError(f"layer {name!r} changes from day to day: give --date YYYY-MM-DD")
    return layer.make(world, region, date)
