"""The simulated 30 m coastline: the real 1 km one (unique_core.landmask), refined.

At 30 m the 500 m signed distance to the coast is interpolated bilinearly and perturbed with
fractal noise whose amplitude grows with distance from the smooth line, which makes coves,
headlands and small islands: a coastline with detail at every scale down to about 60 m.
"""

from __future__ import annotations

import numpy as np

from unique_core.grid import Grid
from unique_core.landmask import coast_distance_coarse, south_korea_share_coarse
from unique_core.resample import bilinear
from unique_core.world import noise

COAST_NOISE_M = 450.0  # amplitude of the fractal perturbation of the coastline


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
    rok, coarse = south_korea_share_coarse()
    return bilinear(rok, coarse, grid) > 0.5


def land_mask(grid: Grid, seed: int) -> np.ndarray:
    """South Korean land at the centres of `grid` (30 m coastline)."""
    return (coast_distance(grid, seed) > 0) & south_korea(grid)
