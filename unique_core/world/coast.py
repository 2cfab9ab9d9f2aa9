"""Land and sea: the real 1 km coastline (global-land-mask), refined to a plausible 30 m one.

1. `global_land_mask` is sampled at every 500 m cell centre of the frame and clipped to South
   Korea (south of the demarcation line, Japan excluded).
2. A signed distance to the coast (m, positive on land) is computed on that grid and lightly
   smoothed to remove the 1 km staircase.
3. At 30 m the distance is interpolated bilinearly and perturbed with fractal noise whose
   amplitude grows with distance from the smooth line, which makes coves, headlands and
   small islands: a coastline with detail at every scale down to about 60 m.

Steps 1-2 are computed once and kept in the cache folder (a few seconds); step 3 is local.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from unique_core.cache import load_npz, save_npz
from unique_core.config import cache_dir
from unique_core.grid import FRAME, Grid
from unique_core.korea import is_south_korea
from unique_core.resample import bilinear
from unique_core.world import noise

_VERSION = 1
COAST_NOISE_M = 450.0  # amplitude of the fractal perturbation of the coastline


@functools.lru_cache(maxsize=1)
def _coast_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path = cache_dir() / "world" / f"coast-v{_VERSION}.npz"
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
    # a smooth indicator of the South Korean side, so the border is a line, not a staircase
    rok_smooth = ndimage.gaussian_filter(rok.astype(np.float32), 1.0)
    save_npz(path, {"land": land, "sdf": sdf, "rok": rok_smooth}, compressed=True)
    return land, sdf, rok_smooth


def coarse_land_mask() -> tuple[np.ndarray, Grid]:
    """South Korean land at 500 m over the whole frame (from the 1 km mask), and its grid."""
    return _coast_arrays()[0], FRAME.coarse


def coast_distance_coarse() -> tuple[np.ndarray, Grid]:
    """Signed distance to the coast (m, > 0 on land) at 500 m over the frame, and its grid."""
    return _coast_arrays()[1], FRAME.coarse


def coast_distance(grid: Grid, seed: int) -> np.ndarray:
    """Signed distance to the 30 m coastline (m, > 0 on land) at the centres of `grid`."""
    sdf, coarse = coast_distance_coarse()
    smooth = bilinear(sdf, coarse, grid)
    # the perturbation fades far from the coast so it cannot punch lakes inland or islands offshore
    taper = np.clip(1.0 - np.abs(smooth) / (4 * COAST_NOISE_M), 0.0, 1.0)
    wiggle = noise.fbm(grid, noise.derive_seed(seed, "coast"), 6000.0, octaves=7, gain=0.55,
                       warp=(noise.derive_seed(seed, "coast.warp"), 9000.0, 1500.0))
    return (smooth + COAST_NOISE_M * taper * wiggle).astype(np.float32)


def south_korea(grid: Grid) -> np.ndarray:
    """True on the South Korean side of the border (land or sea) at the centres of `grid`."""
    _, _, rok = _coast_arrays()
    return bilinear(rok, FRAME.coarse, grid) > 0.5


def land_mask(grid: Grid, seed: int) -> np.ndarray:
    """South Korean land at the centres of `grid` (30 m coastline)."""
    return (coast_distance(grid, seed) > 0) & south_korea(grid)
