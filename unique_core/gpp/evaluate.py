"""Step 1 maps against the simulated truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import xarray as xr

from unique_core.gpp.cv import metrics
from unique_core.grid import Region
from unique_core.world import World


def compare_with_truth(da: xr.DataArray, world: World, date: dt.date, region: Region | None) -> dict:
    """RMSE, r and bias of a GPP map against the true GPP on the same grid and day."""
    if da.rio.resolution()[0] == 500.0:
        truth = world.day_country(date).gpp if region is None else world.day_coarse(region, date).gpp
    else:
        truth = world.day(region, date).gpp
    ok = np.isfinite(da.values)
    return {"against": "simulated true GPP", **metrics(truth[ok], da.values[ok])}
