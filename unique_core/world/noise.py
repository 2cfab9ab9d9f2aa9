"""Deterministic, pointwise noise for the simulated world (numba kernels).

Every value is a pure function of an absolute position and a seed: no state, no
neighbourhood. That is what makes a region generated alone identical to the same region
cut out of a larger generation. Grid kernels compute cell centres from integer frame
indices (never by accumulating a step), so the same cell gives the same bits wherever
the grid starts.

Gradient noise follows Perlin (2002, "Improving noise") with a quintic fade and hashed
unit gradients; octaves are summed as fractional Brownian motion (fBm) or as Musgrave's
ridged multifractal, the usual recipe for terrain that reads as mountains.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numba import njit, prange

from unique_core.grid import FRAME_XMIN, FRAME_YMAX

_U64 = np.uint64
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_GOLD = _U64(0x9E3779B97F4A7C15)
_PX = _U64(0x8CB92BA72F3D8DD7)
_PY = _U64(0xD6E8FEB86659FD93)


def derive_seed(seed: int, name: str) -> int:
    """A stable 63-bit sub-seed for a named random process (independent of Python's hash)."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 2


@njit(cache=True, inline="always")
def _mix(z):
    # splitmix64 finaliser
    z = (z ^ (z >> _U64(30))) * _M1
    z = (z ^ (z >> _U64(27))) * _M2
    return z ^ (z >> _U64(31))


@njit(cache=True, inline="always")
def hash2(ix, iy, seed):
    """64-bit hash of an integer lattice point and a seed."""
    k = _U64(ix) * _PX + _U64(iy) * _PY + _U64(seed) * _GOLD
    return _mix(k)


@njit(cache=True, inline="always")
def uniform2(ix, iy, seed):
    """A uniform number in [0, 1) for an integer lattice point."""
    return (hash2(ix, iy, seed) >> _U64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _fade(t):
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


# 32 unit gradient directions: a table lookup instead of a cosine and a sine per corner
_GX = np.cos(np.arange(32) * 2 * np.pi / 32 + 0.1)
_GY = np.sin(np.arange(32) * 2 * np.pi / 32 + 0.1)


@njit(cache=True, inline="always")
def _grad(ix, iy, seed, dx, dy):
    k = np.int64(hash2(ix, iy, seed) >> _U64(59))
    return _GX[k] * dx + _GY[k] * dy


@njit(cache=True, inline="always")
def gradient_noise(x, y, seed):
    """2-D gradient noise at (x, y) in lattice units; roughly N(0, 0.22^2), bounded by 1."""
    fx = np.floor(x)
    fy = np.floor(y)
    ix = np.int64(fx)
    iy = np.int64(fy)
    dx = x - fx
    dy = y - fy
    n00 = _grad(ix, iy, seed, dx, dy)
    n10 = _grad(ix + 1, iy, seed, dx - 1.0, dy)
    n01 = _grad(ix, iy + 1, seed, dx, dy - 1.0)
    n11 = _grad(ix + 1, iy + 1, seed, dx - 1.0, dy - 1.0)
    u = _fade(dx)
    v = _fade(dy)
    a = n00 + u * (n10 - n00)
    b = n01 + u * (n11 - n01)
    return 1.4142135623730951 * (a + v * (b - a))


@njit(cache=True, inline="always")
def fbm_at(x, y, seed, wavelength, octaves, gain, lacunarity):
    """fBm in metres: `octaves` of gradient noise from `wavelength` down, normalised to unit-ish std."""
    total = 0.0
    amp = 1.0
    norm = 0.0
    f = 1.0 / wavelength
    for o in range(octaves):
        total += amp * gradient_noise(x * f + 17.31 * o, y * f - 29.77 * o, seed + o)
        norm += amp * amp
        amp *= gain
        f *= lacunarity
    # one octave of gradient noise has a std of about 0.31 (after the sqrt(2) scale)
    return total / (0.31 * np.sqrt(norm))


@njit(cache=True, inline="always")
def ridged_at(x, y, seed, wavelength, octaves, gain, lacunarity):
    """Ridged multifractal in [0, ~1]: sharp crests, rounded valleys, rougher up high."""
    total = 0.0
    amp = 1.0
    weight = 1.0
    norm = 0.0
    f = 1.0 / wavelength
    for o in range(octaves):
        n = 1.0 - np.abs(gradient_noise(x * f + 11.13 * o, y * f + 7.71 * o, seed + o))
        n = n * n * weight
        weight = min(max(n * 1.6, 0.0), 1.0)
        total += amp * n
        norm += amp
        amp *= gain
        f *= lacunarity
    return total / norm


@njit(cache=True, parallel=True)
def fbm_grid(row0, col0, height, width, res, seed, wavelength, octaves, gain, lacunarity,
             warp_seed, warp_wavelength, warp_amp):
    """fBm on a frame-aligned grid; optional domain warp (warp_amp metres, 0 for none)."""
    out = np.empty((height, width), dtype=np.float32)
    for i in prange(height):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(width):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            if warp_amp > 0.0:
                wx = fbm_at(x, y, warp_seed, warp_wavelength, 3, 0.5, 2.0)
                wy = fbm_at(x + 5.2e4, y - 1.3e4, warp_seed + 7, warp_wavelength, 3, 0.5, 2.0)
                xx = x + warp_amp * wx
                yy = y + warp_amp * wy
            else:
                xx = x
                yy = y
            out[i, j] = fbm_at(xx, yy, seed, wavelength, octaves, gain, lacunarity)
    return out


@njit(cache=True, parallel=True)
def ridged_grid(row0, col0, height, width, res, seed, wavelength, octaves, gain, lacunarity,
                warp_seed, warp_wavelength, warp_amp):
    """Ridged multifractal on a frame-aligned grid, with an optional domain warp."""
    out = np.empty((height, width), dtype=np.float32)
    for i in prange(height):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(width):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            if warp_amp > 0.0:
                wx = fbm_at(x, y, warp_seed, warp_wavelength, 3, 0.5, 2.0)
                wy = fbm_at(x + 5.2e4, y - 1.3e4, warp_seed + 7, warp_wavelength, 3, 0.5, 2.0)
                xx = x + warp_amp * wx
                yy = y + warp_amp * wy
            else:
                xx = x
                yy = y
            out[i, j] = ridged_at(xx, yy, seed, wavelength, octaves, gain, lacunarity)
    return out


@njit(cache=True, parallel=True)
def fbm_points(x, y, seed, wavelength, octaves, gain, lacunarity):
    """fBm at arbitrary points (metres), any shape (flattened and restored by the caller)."""
    n = x.size
    out = np.empty(n, dtype=np.float32)
    xf = x.ravel()
    yf = y.ravel()
    for k in prange(n):
        out[k] = fbm_at(xf[k], yf[k], seed, wavelength, octaves, gain, lacunarity)
    return out


@njit(cache=True, parallel=True)
def uniform_grid(row0, col0, height, width, cell, seed):
    """One uniform [0, 1) draw per lattice cell of `cell` grid cells (white noise, blocky by `cell`)."""
    out = np.empty((height, width), dtype=np.float32)
    for i in prange(height):
        bi = (row0 + i) // cell
        for j in range(width):
            out[i, j] = uniform2((col0 + j) // cell, bi, seed)
    return out


@njit(cache=True, parallel=True)
def normal_grid(row0, col0, height, width, seed):
    """One standard-normal draw per grid cell (Box-Muller on hashed uniforms): white noise
    that depends only on the cell's frame position, so any cut of the grid agrees."""
    out = np.empty((height, width), dtype=np.float32)
    for i in prange(height):
        for j in range(width):
            u1 = uniform2(col0 + j, row0 + i, seed)
            u2 = uniform2(col0 + j, row0 + i, seed + 1)
            out[i, j] = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(6.283185307179586 * u2)
    return out


def white(grid, seed: int, bands: int = 1) -> np.ndarray:
    """Standard-normal white noise on a Grid, shape (bands, H, W) or (H, W) for one band."""
    out = np.stack([normal_grid(grid.row0, grid.col0, grid.height, grid.width, seed + 7919 * b)
                    for b in range(bands)])
    return out[0] if bands == 1 else out


def fbm(grid, seed: int, wavelength: float, octaves: int = 6, gain: float = 0.5,
        lacunarity: float = 2.0, warp: tuple[int, float, float] | None = None) -> np.ndarray:
    """fBm (float32, about unit std) on a `unique_core.grid.Grid`; `warp` = (seed, wavelength, amp m)."""
    ws, wl, wa = warp if warp else (0, 1.0, 0.0)
    return fbm_grid(grid.row0, grid.col0, grid.height, grid.width, grid.res, seed,
                    float(wavelength), octaves, gain, lacunarity, ws, float(wl), float(wa))


def ridged(grid, seed: int, wavelength: float, octaves: int = 7, gain: float = 0.5,
           lacunarity: float = 2.0, warp: tuple[int, float, float] | None = None) -> np.ndarray:
    """Ridged multifractal (float32, 0 to ~1) on a Grid."""
    ws, wl, wa = warp if warp else (0, 1.0, 0.0)
    return ridged_grid(grid.row0, grid.col0, grid.height, grid.width, grid.res, seed,
                       float(wavelength), octaves, gain, lacunarity, ws, float(wl), float(wa))


def fbm_at_points(x: np.ndarray, y: np.ndarray, seed: int, wavelength: float, octaves: int = 6,
                  gain: float = 0.5, lacunarity: float = 2.0) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    return fbm_points(x, y, seed, float(wavelength), octaves, gain, lacunarity).reshape(x.shape)


def coarse_then_bilinear(grid, step: int, make) -> np.ndarray | tuple:
    """Evaluate a smooth field on a frame-aligned grid `step` times coarser, then interpolate.

    `make(coarse_grid)` returns an array (or a tuple of arrays) on the coarse grid. The coarse
    grid is aligned to the frame and covers `grid` with a one-cell margin, so the result at a
    cell does not depend on where `grid` starts (bilinear interpolation is local).
    """
    from unique_core.grid import Grid
    from unique_core.resample import bilinear

    r0 = grid.row0 // step - 1
    c0 = grid.col0 // step - 1
    r1 = -(-(grid.row0 + grid.height) // step) + 1
    c1 = -(-(grid.col0 + grid.width) // step) + 1
    coarse = Grid(grid.res * step, r0, c0, r1 - r0, c1 - c0)
    out = make(coarse)
    if isinstance(out, tuple):
        return tuple(bilinear(a, coarse, grid) for a in out)
    return bilinear(out, coarse, grid)
