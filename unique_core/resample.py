"""Resampling between frame-aligned grids: exact, local, and identical wherever a grid starts.

- `fine_to_coarse`: the exact area mean of 30 m cells inside each 500 m cell. A 500 m cell
  covers 16 2/3 fine cells per axis, so boundary fine cells are split by area; the weights
  repeat every 1.5 km block.
- `bilinear`: sample a field given on one frame-aligned grid at the cell centres of another
  (any resolutions), from integer frame indices, so region cuts agree to the bit.
- `coarse_to_fine_nearest`: each fine cell takes the coarse cell that holds its centre.

Kernels are explicit loops (numba) rather than BLAS or ufunc reductions, whose summation
order may change with the array's size.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from unique_core.grid import COARSE_PER_BLOCK, FINE_PER_BLOCK, Grid


def _block_weights() -> np.ndarray:
    """(3, 50) area weights: share of fine cell k (along one axis) inside coarse cell c."""
    w = np.zeros((COARSE_PER_BLOCK, FINE_PER_BLOCK))
    edges = np.arange(COARSE_PER_BLOCK + 1) * FINE_PER_BLOCK / COARSE_PER_BLOCK
    for c in range(COARSE_PER_BLOCK):
        for k in range(FINE_PER_BLOCK):
            w[c, k] = max(0.0, min(k + 1, edges[c + 1]) - max(k, edges[c]))
    return w / w.sum(axis=1, keepdims=True)


_W = _block_weights()


@njit(cache=True, parallel=True)
def _fine_to_coarse(a, w, out):
    nb_r = a.shape[0] // 50
    nb_c = a.shape[1] // 50
    for br in prange(nb_r):
        for bc in range(nb_c):
            for cr in range(3):
                for cc in range(3):
                    acc = 0.0
                    wsum = 0.0
                    for kr in range(50):
                        wr = w[cr, kr]
                        if wr == 0.0:
                            continue
                        for kc in range(50):
                            wc = w[cc, kc]
                            if wc == 0.0:
                                continue
                            v = a[br * 50 + kr, bc * 50 + kc]
                            if np.isnan(v):
                                continue
                            acc += wr * wc * v
                            wsum += wr * wc
                    out[br * 3 + cr, bc * 3 + cc] = acc / wsum if wsum > 0.0 else np.nan


def fine_to_coarse(a: np.ndarray, *, min_valid: float = 0.0) -> np.ndarray:
    """Area mean of a fine (30 m) field on each 500 m cell; NaNs are left out of the mean.

    `a` has shape (..., 50 n, 50 m) and starts on a block edge. With `min_valid` > 0 a coarse
    cell whose valid area share is below it becomes NaN.
    """
    a = np.asarray(a)
    *lead, h, w = a.shape
    if h % FINE_PER_BLOCK or w % FINE_PER_BLOCK:
        raise ValueError(f"fine array of shape {a.shape} is not whole 1.5 km blocks")
    flat = a.reshape(-1, h, w)
    out = np.empty((flat.shape[0], h // FINE_PER_BLOCK * 3, w // FINE_PER_BLOCK * 3), np.float64)
    for i in range(flat.shape[0]):
        src = np.ascontiguousarray(flat[i], dtype=np.float64)
        _fine_to_coarse(src, _W, out[i])
        if min_valid > 0:
            valid = np.empty_like(out[i])
            _fine_to_coarse((~np.isnan(src)).astype(np.float64), _W, valid)
            out[i][valid < min_valid] = np.nan
    return out.reshape(*lead, *out.shape[1:]).astype(np.float32 if a.dtype != np.float64 else np.float64)


@njit(cache=True, parallel=True)
def _bilinear(src, s_row0, s_col0, s_res, d_row0, d_col0, d_res, height, width, out):
    sh, sw = src.shape
    for i in prange(height):
        # position of the destination centre in source cell-centre units
        v = ((d_row0 + i + 0.5) * d_res) / s_res - 0.5 - s_row0
        r0 = int(np.floor(v))
        fr = v - r0
        r0c = min(max(r0, 0), sh - 1)
        r1c = min(max(r0 + 1, 0), sh - 1)
        for j in range(width):
            u = ((d_col0 + j + 0.5) * d_res) / s_res - 0.5 - s_col0
            c0 = int(np.floor(u))
            fc = u - c0
            c0c = min(max(c0, 0), sw - 1)
            c1c = min(max(c0 + 1, 0), sw - 1)
            a = src[r0c, c0c] + fc * (src[r0c, c1c] - src[r0c, c0c])
            b = src[r1c, c0c] + fc * (src[r1c, c1c] - src[r1c, c0c])
            out[i, j] = a + fr * (b - a)


def bilinear(src: np.ndarray, src_grid: Grid, dst_grid: Grid) -> np.ndarray:
    """Bilinear samples of `src` (on `src_grid`) at the cell centres of `dst_grid`.

    `src_grid` must cover `dst_grid` with a one-cell margin for the result to be exact;
    beyond it the edge value is held. Leading axes of `src` are looped over.
    """
    src = np.asarray(src)
    *lead, h, w = src.shape
    if (h, w) != src_grid.shape:
        raise ValueError(f"array of shape {src.shape} does not match grid {src_grid.shape}")
    flat = src.reshape(-1, h, w)
    out = np.empty((flat.shape[0], *dst_grid.shape), np.float32)
    for k in range(flat.shape[0]):
        _bilinear(np.ascontiguousarray(flat[k], dtype=np.float64), src_grid.row0, src_grid.col0,
                  src_grid.res, dst_grid.row0, dst_grid.col0, dst_grid.res,
                  dst_grid.height, dst_grid.width, out[k])
    return out.reshape(*lead, *dst_grid.shape)


def coarse_to_fine_nearest(a: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """Each fine cell takes the value of the coarse cell that contains its centre."""
    rows = np.floor(((fine.row0 + np.arange(fine.height) + 0.5) * fine.res) / coarse.res).astype(int) - coarse.row0
    cols = np.floor(((fine.col0 + np.arange(fine.width) + 0.5) * fine.res) / coarse.res).astype(int) - coarse.col0
    if rows.min() < 0 or cols.min() < 0 or rows.max() >= coarse.height or cols.max() >= coarse.width:
        raise ValueError("the coarse grid does not cover the fine grid")
    return np.asarray(a)[..., rows[:, None], cols[None, :]]
