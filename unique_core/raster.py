"""Rasters as xarray objects on the project grid: CRS, transform and units always set.

Everything that leaves a core module as a raster goes through `dataarray`, so the rest of
the system (products, exports, the app) can rely on `.rio.crs`, `.rio.transform()`,
`attrs["units"]` and `attrs["long_name"]`.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from unique_core.grid import CRS, Grid


def dataarray(values: np.ndarray, grid: Grid, *, name: str, units: str, long_name: str,
              band: list[str] | None = None, attrs: dict | None = None) -> xr.DataArray:
    """A DataArray on `grid` (dims y, x, or band, y, x) with CRS, transform and units."""
    values = np.asarray(values)
    if values.shape[-2:] != grid.shape:
        raise ValueError(f"values of shape {values.shape} do not match grid {grid.shape}")
    coords = {"y": ("y", grid.y), "x": ("x", grid.x)}
    dims: tuple[str, ...] = ("y", "x")
    if values.ndim == 3:
        dims = ("band", "y", "x")
        coords["band"] = ("band", band if band is not None else list(range(values.shape[0])))
    da = xr.DataArray(values, dims=dims, coords=coords, name=name,
                      attrs={"units": units, "long_name": long_name, **(attrs or {})})
    da = da.rio.write_crs(CRS)
    da = da.rio.write_transform(grid.transform)
    return da


def grid_of(da: xr.DataArray) -> Grid:
    """The project Grid a DataArray lies on (from its x/y coordinates)."""
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX

    x, y = da["x"].values, da["y"].values
    res = float(round(x[1] - x[0], 6)) if len(x) > 1 else float(abs(da.rio.resolution()[0]))
    col0 = int(round((x[0] - FRAME_XMIN) / res - 0.5))
    row0 = int(round((FRAME_YMAX - y[0]) / res - 0.5))
    return Grid(res, row0, col0, len(y), len(x))
