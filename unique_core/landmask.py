"""South Korean land over the frame at 500 m, from the real 1 km coastline (global-land-mask).

A fact about the country, not about either source: region checks (unique_core.grid) measure
how much of a box is land with it, the simulated world refines it to its 30 m coastline
(unique_core.world.coast), and country maps draw it.

1. `global_land_mask` is sampled at every 500 m cell centre of the frame and clipped to South
   Korea (south of the demarcation line, Japan excluded).
2. A signed distance to the coast (m, positive on land) is computed on that grid and lightly
   smoothed to remove the 1 km staircase; a smoothed indicator of the South Korean side makes
   the border a line, not a staircase.

Computed once (a few seconds) and kept in the cache folder.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from unique_core.cache import load_npz, save_npz
from unique_core.config import cache_dir
from unique_core.grid import FRAME, Grid
from unique_core.korea import is_south_korea

_VERSION = 1


@functools.lru_cache(maxsize=1)
def _frame_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path = cache_dir() / "world" / f"coast-v{_VERSION}.npz"  # the name the world cache has always used
    z = load_npz(path, ("land", "sdf", "rok"))  # a damaged file is quarantined and made again
    if z is not None:
        return z["land"], z["sdf"], z["rok"]
    from global_land_mask import globe  # imports in ~3.5 s (unpacks its mask), so only here

    grid = FRAME.coarse
    lon, lat = grid.lonlat()
    rok = is_south_korea(lon, lat)
    land = globe.is_land(lat, lon) & rok
    inside = ndimage.distance_transform_edt(land) * grid.res
    outside = ndimage.distance_transform_edt(~land) * grid.res
    sdf = ndimage.gaussian_filter(inside - outside, 1.5).astype(np.float32)
    rok_smooth = ndimage.gaussian_filter(rok.astype(np.float32), 1.0)
    save_npz(path, {"land": land, "sdf": sdf, "rok": rok_smooth}, compressed=True)
    return land, sdf, rok_smooth


def coarse_land_mask() -> tuple[np.ndarray, Grid]:
    """South Korean land at 500 m over the whole frame (from the 1 km mask), and its grid."""
    return _frame_arrays()[0], FRAME.coarse


def coast_distance_coarse() -> tuple[np.ndarray, Grid]:
    """Signed distance to the coast (m, > 0 on land) at 500 m over the frame, and its grid."""
    return _frame_arrays()[1], FRAME.coarse


def south_korea_share_coarse() -> tuple[np.ndarray, Grid]:
    """A smooth 0-1 indicator of the South Korean side of the border at 500 m over the frame, and its grid."""
    return _frame_arrays()[2], FRAME.coarse
