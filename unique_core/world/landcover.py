"""Land cover generated at 5 m, and the fraction of each class inside every 30 m pixel.

A class is the outcome of a fixed sequence of decisions (water? urban? barren? wetland?
farmland, and if so paddy or dry field? grassland? otherwise forest: coniferous, mixed or
deciduous). Each decision is the sign of a *decision variable*: a smooth 30 m score built
from elevation, slope, aspect, rivers, coast and nearness to towns, plus two terms that
only exist at 5 m: a bounded fine noise (ragged edges, scattered trees and houses) and an
agricultural parcel pattern (straight field boundaries).

At 5 m a decision variable is the bilinear interpolation of its 30 m score plus those two
terms. Both are bounded, so a 30 m pixel whose 3 x 3 neighbourhood keeps every score
further from zero than the bounds is *pure*: all 36 of its 5 m cells share one class, known
without evaluating them. Only the remaining pixels, along class edges, are evaluated cell
by cell, and only for the decisions that can flip there. The fractions are therefore exact
counts of a real 5 m map, at a fraction of the cost of making the whole map.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from unique_core import korea
from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat
from unique_core.landcover import N_CLASSES
from unique_core.world import noise
from unique_core.world.terrain import TerrainFields

SUB = 6  # 5 m cells per 30 m pixel, per axis
SUB_RES = 30.0 / SUB

# Decision variables, in the order they are tested; a class is chosen by the first that is > 0.
D_WATER, D_URBAN, D_BARREN, D_WETLAND, D_FARM, D_PADDY, D_GRASS, D_CONIFER, D_BROADLEAF = range(9)
N_DECISIONS = 9
# Class ids (see unique_core.landcover): urban 1, paddy 2, field 3, deciduous 4, coniferous 5,
# mixed 6, grassland 7, wetland 8, barren 9, water 10.

# Bounds of the 5 m terms of each decision: fine-noise amplitude and parcel amplitude.
NOISE_AMP = np.array([0.35, 0.45, 0.35, 0.35, 0.30, 0.20, 0.35, 0.18, 0.18])
PARCEL_AMP = np.array([0.0, 0.0, 0.0, 0.0, 0.25, 0.60, 0.0, 0.0, 0.0])
NOISE_WAVELENGTH = (36.0, 12.0)  # m, two octaves of the fine noise

# Bias of each decision, tuned so the country's shares come near SCIENCE.md's (docs/world.md).
BIAS = np.array([0.25, 0.62, -0.1, 1.5, 0.0, 1.8, 0.4, -0.11, -0.05])


@njit(cache=True, inline="always")
def parcel_uniform(x, y, seed):
    """A uniform [0, 1) value constant over each field parcel (about 90 x 45 m, oriented per 6 km)."""
    sx = np.int64(np.floor(x / 6000.0))
    sy = np.int64(np.floor(y / 6000.0))
    ang = noise.uniform2(sx, sy, seed + 101) * 3.141592653589793
    c = np.cos(ang)
    s = np.sin(ang)
    u = c * x + s * y
    v = -s * x + c * y
    pu = np.int64(np.floor(u / 90.0))
    pv = np.int64(np.floor(v / 45.0))
    return noise.uniform2(pu, pv, seed)


@njit(cache=True, inline="always")
def _classify(d):
    if d[0] > 0.0:
        return 10
    if d[1] > 0.0:
        return 1
    if d[2] > 0.0:
        return 9
    if d[3] > 0.0:
        return 8
    if d[4] > 0.0:
        return 2 if d[5] > 0.0 else 3
    if d[6] > 0.0:
        return 7
    if d[7] > 0.0:
        return 5
    if d[8] > 0.0:
        return 4
    return 6


@njit(cache=True, inline="always")
def _fine_term(k, x, y, seed, namp, pamp):
    n = 0.0
    if namp > 0.0:
        n = namp * (0.65 * noise.gradient_noise(x / 36.0, y / 36.0, seed + 31 * k)
                    + 0.35 * noise.gradient_noise(x / 12.0, y / 12.0, seed + 31 * k + 7))
    if pamp > 0.0:
        n += pamp * (2.0 * parcel_uniform(x, y, seed + 977 * k) - 1.0)
    return n


@njit(cache=True, parallel=True)
def _subpixel(dec, row0, col0, h, w, seed, namp, pamp, counts, submap, want_submap):
    """Class counts (of 36) per pixel; `dec` has a one-pixel halo. Optionally the 5 m map."""
    nd = dec.shape[0]
    for i in prange(h):
        d = np.empty(nd)
        straddle = np.empty(nd, np.bool_)
        sign = np.empty(nd)
        for j in range(w):
            pure = True
            for k in range(nd):
                lo = 1e30
                hi = -1e30
                for a in range(3):
                    for b in range(3):
                        v = dec[k, i + a, j + b]
                        lo = min(lo, v)
                        hi = max(hi, v)
                bound = namp[k] + pamp[k]
                straddle[k] = (lo - bound <= 0.0) and (hi + bound > 0.0)
                sign[k] = 1.0 if lo - bound > 0.0 else -1.0
                if straddle[k]:
                    pure = False
            if pure:
                for k in range(nd):
                    d[k] = sign[k]
                cls = _classify(d)
                counts[cls - 1, i, j] = 36
                if want_submap:
                    for si in range(6):
                        for sj in range(6):
                            submap[i * 6 + si, j * 6 + sj] = cls
                continue
            for si in range(6):
                fy = (si + 0.5) / 6.0 - 0.5  # offset from the pixel centre, pixels (down)
                y = FRAME_YMAX - (row0 + i + 0.5 + fy) * 30.0
                for sj in range(6):
                    fx = (sj + 0.5) / 6.0 - 0.5
                    x = FRAME_XMIN + (col0 + j + 0.5 + fx) * 30.0
                    # bilinear weights towards the neighbour in the offset's direction
                    ci = 1 + (1 if fy > 0 else -1)
                    cj = 1 + (1 if fx > 0 else -1)
                    ty = abs(fy)
                    tx = abs(fx)
                    for k in range(nd):
                        if not straddle[k]:
                            d[k] = sign[k]
                            continue
                        v00 = dec[k, i + 1, j + 1]
                        v01 = dec[k, i + 1, j + cj]
                        v10 = dec[k, i + ci, j + 1]
                        v11 = dec[k, i + ci, j + cj]
                        top = v00 + tx * (v01 - v00)
                        bot = v10 + tx * (v11 - v10)
                        d[k] = top + ty * (bot - top) + _fine_term(k, x, y, seed, namp[k], pamp[k])
                    cls = _classify(d)
                    counts[cls - 1, i, j] += 1
                    if want_submap:
                        submap[i * 6 + si, j * 6 + sj] = cls


@njit(cache=True, parallel=True)
def _towns(row0, col0, h, w, res, cities, seed):
    """Nearness to a built-up centre (0-1): cities by population, plus villages every few km."""
    out = np.empty((h, w), np.float32)
    cell = 2200.0
    for i in prange(h):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(w):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            best = 0.0
            for k in range(cities.shape[0]):
                dx = (x - cities[k, 0]) / cities[k, 2]
                dy = (y - cities[k, 1]) / cities[k, 2]
                q = dx * dx + dy * dy
                if q < 9.0:
                    best = max(best, np.exp(-q))
            cx = np.int64(np.floor(x / cell))
            cy = np.int64(np.floor(y / cell))
            for a in range(-1, 2):
                for b in range(-1, 2):
                    u = noise.uniform2(cx + a, cy + b, seed)
                    if u > 0.7:
                        continue  # about 70 % of cells hold a village
                    vx = (cx + a + noise.uniform2(cx + a, cy + b, seed + 1)) * cell
                    vy = (cy + b + noise.uniform2(cx + a, cy + b, seed + 2)) * cell
                    r = 80.0 + 180.0 * noise.uniform2(cx + a, cy + b, seed + 3)
                    q = ((x - vx) ** 2 + (y - vy) ** 2) / (r * r)
                    if q < 9.0:
                        best = max(best, 0.5 * np.exp(-q))
            out[i, j] = best
    return out


@functools.lru_cache(maxsize=1)
def _city_table() -> np.ndarray:
    rows = []
    for c in korea.CITIES:
        x, y = from_lonlat(c.lon, c.lat)
        rows.append((x, y, 4800.0 * np.sqrt(c.population_m) + 900.0))
    return np.array(rows)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def decision_scores(grid: Grid, seed: int, terrain: TerrainFields, slope: np.ndarray) -> np.ndarray:
    """The smooth 30 m decision variables (N_DECISIONS, *grid.shape), before the 5 m terms.

    `terrain` and `slope` (degrees) are on `grid`, which normally carries the one-pixel halo
    the 5 m step needs.
    """
    s = seed
    g = grid
    elev, coast_m = terrain.elevation, terrain.coast_m
    river_m, river_width = terrain.river_m, terrain.river_width

    def f(name: str, wavelength: float, octaves: int = 4) -> np.ndarray:
        seed_ = noise.derive_seed(s, f"lc.{name}")
        if wavelength >= 1400.0:  # smooth enough to evaluate at 90 m and interpolate
            return noise.coarse_then_bilinear(g, 3, lambda c: noise.fbm(c, seed_, wavelength, octaves=octaves))
        return noise.fbm(g, seed_, wavelength, octaves=octaves)

    x = FRAME_XMIN + (g.col0 + np.arange(g.width) + 0.5) * g.res
    west = _smoothstep((1_010_000.0 - x) / 120_000.0)[None, :]  # the western lowlands
    towns = noise.coarse_then_bilinear(
        g, 3, lambda c: _towns(c.row0, c.col0, c.height, c.width, c.res, _city_table(),
                               noise.derive_seed(s, "lc.towns")))
    floodplain = _smoothstep(1.0 - (river_m - 0.5 * river_width) / (1.2 * river_width + 600.0))
    flat = 1.0 - slope / 7.0
    d = np.empty((N_DECISIONS, *g.shape), np.float32)

    # water: river channels, the sea (so the 5 m coastline is decided here), farm ponds
    ponds = (1.3 * f("ponds", 380.0, 3) - 2.1 + 0.5 * flat - 2.0 * towns
             - np.maximum(elev - 200.0, 0.0) / 100.0)
    d[D_WATER] = np.maximum(np.maximum((0.5 * river_width - river_m) / 25.0, ponds), -coast_m / 20.0)

    city = np.clip((towns - 0.45) / 0.3, 0.0, 1.0)  # inside a town's built-up core
    urban = (2.6 * (towns - 0.42) + 0.55 * f("urban", 1400.0)
             - np.maximum(slope - 11.0, 0.0) / 5.0 - np.maximum(elev - 260.0, 0.0) / 120.0)
    # parks, school yards and green belts: patches of a few hundred metres inside the city
    d[D_URBAN] = np.minimum(urban, 0.9) + 0.75 * f("parks", 350.0, 3) * city - 0.15 * city

    rock = np.minimum((slope - 40.0) / 5.0, (elev - 900.0) / 250.0) + 0.7 * f("rock", 500.0) - 0.6
    works = 1.4 * f("works", 700.0) - 2.9 + 1.6 * _smoothstep((towns - 0.15) / 0.3) * (flat > 0)
    beach = np.where((coast_m > 0) & (coast_m < 60.0) & (slope < 6.0), 0.8 * f("beach", 900.0), -5.0)
    d[D_BARREN] = np.maximum(np.maximum(rock, works), beach)

    marsh = np.where((coast_m > 0) & (coast_m < 350.0) & (elev < 4.0),
                     0.8 * west - 0.7 + 0.9 * f("marsh", 600.0), -5.0)
    bank = river_m - 0.5 * river_width  # distance from the channel's edge (m)
    riparian = np.where(bank < 250.0, 0.8 * f("riparian", 350.0) - 0.5 - bank / 300.0, -5.0)
    d[D_WETLAND] = np.maximum(marsh, riparian)

    lowland = 1.0 - np.maximum(elev - 120.0, 0.0) / 260.0
    highland = (np.abs(elev - 850.0) < 280.0) * (0.55 + 0.8 * f("highland", 5000.0, 3))  # Gangwon cabbage
    d[D_FARM] = (np.minimum(flat, np.maximum(lowland, highland)) + 0.35 * floodplain
                 + 0.55 * f("farm", 2500.0) + 0.25 * west - 0.15 - 3.0 * city
                 - 4.0 * np.clip((elev - 1100.0) / 100.0, 0.0, 1.0))  # no fields near the summits

    # Jeju's porous basalt holds no flooded paddies: its farms are dry fields and orchards
    jeju = _smoothstep(1.0 - np.hypot(*_offsets(g, 126.53, 33.36, 38000.0, 16000.0)))
    d[D_PADDY] = ((2.2 - slope) / 1.6 + 0.9 * floodplain + 0.5 * west - 0.7 * (elev > 400.0)
                  + 0.45 * f("paddy", 3000.0) - 0.25 - 6.0 * (jeju > 0.05))

    pasture = np.where(jeju > 0, jeju * (1.0 - np.abs(elev - 380.0) / 160.0) + 0.7 * f("pasture", 1500.0) - 0.35,
                       -5.0)
    alpine = (elev - 1500.0) / 120.0
    parks = 1.5 * city * flat - 0.6  # a city's open spaces are lawns where flat, woods where not
    d[D_GRASS] = np.maximum(np.maximum(np.maximum(1.3 * f("grass", 900.0) - 2.6 + 0.4 * towns, pasture),
                                       alpine), parks)

    # forest type: red pine on sunny, dry, low hillsides; oaks on shaded and higher ones;
    # subalpine conifers near the summits; mixed stands in between. Aspect is the hillside's,
    # not the gully's, so stands are hillside-sized rather than pixel-sized.
    hill_slope = np.degrees(np.arctan(np.hypot(terrain.hillside_gx, terrain.hillside_gy)))
    sunny = np.cos(np.radians(terrain.hillside_aspect() - 180.0)) * np.clip(hill_slope / 20.0, 0.0, 1.0)
    conifer = (0.55 * sunny + 0.35 * (1.0 - np.clip(elev / 500.0, 0.0, 1.0))
               + np.clip((elev - 1350.0) / 200.0, 0.0, 2.0) + 0.75 * f("stands", 1800.0)
               + 0.45 * f("plantation", 600.0, 3) - 0.55 * jeju)
    d[D_CONIFER] = conifer - 0.25
    d[D_BROADLEAF] = -conifer - 0.2
    d += BIAS[:, None, None].astype(np.float32)
    return d


def _offsets(g: Grid, lon: float, lat: float, ax: float, ay: float):
    cx, cy = from_lonlat(lon, lat)
    x = FRAME_XMIN + (g.col0 + np.arange(g.width) + 0.5) * g.res
    y = FRAME_YMAX - (g.row0 + np.arange(g.height) + 0.5) * g.res
    return ((x[None, :] - cx) / ax, (y[:, None] - cy) / ay)


def classify_subpixels(decisions: np.ndarray, grid: Grid, seed: int, *,
                       with_5m: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Fractions of each class (N_CLASSES, H, W) in [0, 1], and the 5 m class map if asked.

    `decisions` come from `decision_scores` on `grid.pad(1)`.
    """
    counts = np.zeros((N_CLASSES, *grid.shape), np.uint8)
    submap = np.zeros((grid.height * SUB, grid.width * SUB) if with_5m else (1, 1), np.uint8)
    _subpixel(np.ascontiguousarray(decisions, dtype=np.float64), grid.row0, grid.col0,
              grid.height, grid.width, noise.derive_seed(seed, "lc.fine"),
              NOISE_AMP, PARCEL_AMP, counts, submap, with_5m)
    return counts.astype(np.float32) / (SUB * SUB), (submap if with_5m else None)
