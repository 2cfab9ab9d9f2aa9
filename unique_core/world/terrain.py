"""The simulated 30 m DEM of South Korea.

Elevation is built from four parts, all pointwise in absolute coordinates:

1. A macro envelope: mountain ranges along their crest lines (the Baekdudaegan near the
   east coast and its branches), a base that rises from the western lowlands towards the
   east, and the named peaks of `unique_core.korea` as bumps scaled so that the finished
   DEM reaches each peak's height at its place. Jeju is a shield volcano with parasitic cones.
2. Relief: a domain-warped ridged multifractal (sharp crests, dendritic valleys) whose
   amplitude follows the envelope, with flat valley floors that widen in the lowlands,
   where Korea's rice grows.
3. River valleys: the main rivers (smoothed, meandering courses) are carved into the relief
   with floodplains whose width follows the river's size, falling towards the sea.
4. A coastal taper to sea level.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from unique_core import korea
from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat
from unique_core.world import noise
from unique_core.world.coast import coast_distance

RIVER_SOURCE_M = 520.0  # bed elevation at the upstream end of each main river course
SEGMENT_M = 400.0  # length of the straight pieces the river courses are cut into
RANGE_SCALE = 0.8  # crest heights of korea.RANGES are multiplied by this
RELIEF_GAIN = 1.0  # relief amplitude per metre of envelope (tuned to Korea's hypsometry)
SOFT_CAP_START_M = 1450.0  # relief above this is compressed smoothly ...
SOFT_CAP_RANGE_M = 650.0  # ... so that nothing exceeds 1,450 + 650 m


def _chaikin(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    for _ in range(iterations):
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        inner = np.empty((2 * len(q), 2))
        inner[0::2], inner[1::2] = q, r
        points = np.vstack([points[:1], inner, points[-1:]])
    return points


def _resample(points: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    seg = np.hypot(*np.diff(points, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.arange(0.0, s[-1], step)
    t = np.append(t, s[-1])
    return np.column_stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])]), t


@functools.lru_cache(maxsize=4)
def _rivers(seed: int) -> np.ndarray:
    """River segments: (x0, y0, x1, y1, width_m, bed0_m, bed1_m) rows, in EPSG:5179 metres."""
    rows = []
    for k, (_, mouth_width, course) in enumerate(korea.RIVERS):
        lon, lat = np.array(course).T
        pts = np.column_stack(from_lonlat(lon, lat))
        pts, s = _resample(_chaikin(pts), SEGMENT_M)
        # meanders: a perpendicular offset that wanders along the course
        length = s[-1]
        tangent = np.gradient(pts, axis=0)
        normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        amp = 0.9 * mouth_width + 250.0
        wander = noise.fbm_at_points(s, np.full_like(s, 1.0e5 * k), noise.derive_seed(seed, "river.meander"),
                                     6000.0, octaves=4, gain=0.5)
        taper = np.minimum(1.0, np.minimum(s, length - s) / 3000.0)  # keep the ends in place
        pts = pts + normal * (amp * wander * taper)[:, None]
        frac = s / length
        width = mouth_width * (0.25 + 0.75 * frac)  # rivers widen downstream
        bed = RIVER_SOURCE_M * (1.0 - frac) ** 2  # a concave long profile to sea level
        for i in range(len(pts) - 1):
            rows.append((*pts[i], *pts[i + 1], 0.5 * (width[i] + width[i + 1]), bed[i], bed[i + 1]))
    return np.array(rows)


@functools.lru_cache(maxsize=1)
def _ranges() -> np.ndarray:
    """Range crest segments: (x0, y0, x1, y1, crest_height_m, half_width_m)."""
    rows = []
    for _, height, half_width_km, course in korea.RANGES:
        lon, lat = np.array(course).T
        pts = _chaikin(np.column_stack(from_lonlat(lon, lat)), 2)
        for i in range(len(pts) - 1):
            rows.append((*pts[i], *pts[i + 1], height, half_width_km * 1000.0))
    return np.array(rows)


@functools.lru_cache(maxsize=4)
def _oreums(seed: int) -> np.ndarray:
    """Jeju's parasitic cones: (x, y, height_m, radius_m), scattered on the shield's flanks."""
    rng = np.random.default_rng(noise.derive_seed(seed, "oreum"))
    hx, hy = from_lonlat(126.53, 33.36)
    cones = []
    while len(cones) < 140:
        u, v = rng.uniform(-1, 1, 2)
        r = np.hypot(u, v)
        if r > 1 or r < 0.12:
            continue
        cones.append((hx + 33000 * u, hy + 12500 * v, rng.uniform(40, 160), rng.uniform(250, 650)))
    return np.array(cones)


@njit(cache=True, inline="always")
def _seg_dist(px, py, x0, y0, x1, y1):
    dx = x1 - x0
    dy = y1 - y0
    L2 = dx * dx + dy * dy
    t = 0.0
    if L2 > 0.0:
        t = ((px - x0) * dx + (py - y0) * dy) / L2
        t = min(max(t, 0.0), 1.0)
    ex = px - (x0 + t * dx)
    ey = py - (y0 + t * dy)
    return np.sqrt(ex * ex + ey * ey), t


@njit(cache=True, parallel=True)
def _macro(row0, col0, h, w, res, ranges, peaks, cones, jeju):
    """Envelope (m), mountainness (0-1) and nearness to a named summit (0-1) on a grid."""
    env = np.empty((h, w), np.float32)
    mtn = np.empty((h, w), np.float32)
    pkn = np.empty((h, w), np.float32)
    for i in prange(h):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(w):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            # base: western lowlands ~40 m rising to ~300 m inland east
            east = min(max((x - 930000.0) / 230000.0, 0.0), 1.0)
            base = 30.0 + 170.0 * east * east * (3.0 - 2.0 * east)
            best = 0.0
            for k in range(ranges.shape[0]):
                d, _ = _seg_dist(x, y, ranges[k, 0], ranges[k, 1], ranges[k, 2], ranges[k, 3])
                q = d / ranges[k, 5]
                v = RANGE_SCALE * ranges[k, 4] * np.exp(-q) * (1.0 + q)
                if v > best:
                    best = v
            peak = 0.0
            summit = 0.0
            for k in range(peaks.shape[0]):
                dx = x - peaks[k, 0]
                dy = y - peaks[k, 1]
                d2 = (dx * dx + dy * dy) / (peaks[k, 3] * peaks[k, 3])
                peak += peaks[k, 2] * np.exp(-d2)
                summit = max(summit, np.exp(-d2 / 0.16))  # a summit 0.4 x the bump's radius
            # Jeju: an elongated shield (E-W 36 km, N-S 15 km) and its cones
            shield = 0.0
            dxj = (x - jeju[0]) / 36000.0
            dyj = (y - jeju[1]) / 15500.0
            rj = np.sqrt(dxj * dxj + dyj * dyj)
            if rj < 1.6:
                if rj < 1.0:
                    shield = jeju[2] * (1.0 - rj) ** 1.6
                for k in range(cones.shape[0]):
                    dx = x - cones[k, 0]
                    dy = y - cones[k, 1]
                    d2 = (dx * dx + dy * dy) / (cones[k, 3] * cones[k, 3])
                    if d2 < 9.0:
                        shield += cones[k, 2] * np.exp(-d2)
                base = base * min(rj, 1.0)
            env[i, j] = base + best + peak + shield
            mtn[i, j] = min(best / (900.0 * RANGE_SCALE), 1.0)
            pkn[i, j] = summit
    return env, mtn, pkn


@njit(cache=True, parallel=True)
def _rivers_kernel(row0, col0, h, w, res, segs):
    """Distance to the nearest river axis (m), that river's width (m) and bed elevation (m)."""
    dist = np.full((h, w), 1e9, np.float32)
    width = np.zeros((h, w), np.float32)
    bed = np.zeros((h, w), np.float32)
    for i in prange(h):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(w):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            best = 1e18
            for k in range(segs.shape[0]):
                d, t = _seg_dist(x, y, segs[k, 0], segs[k, 1], segs[k, 2], segs[k, 3])
                # scale by width so a large river's valley wins over a small one nearby
                score = d / (segs[k, 4] + 300.0)
                if score < best:
                    best = score
                    dist[i, j] = d
                    width[i, j] = segs[k, 4]
                    bed[i, j] = segs[k, 5] + t * (segs[k, 6] - segs[k, 5])
    return dist, width, bed


@njit(cache=True, inline="always")
def _gully_octave(px, py, dirx, diry, seed):
    """One octave of slope-aligned gullies (after C. John's "erosion noise"): value and gradient."""
    fx0 = np.floor(px + 0.5)
    fy0 = np.floor(py + 0.5)
    ix = np.int64(fx0)
    iy = np.int64(fy0)
    fx = px - fx0
    fy = py - fy0
    va = 0.0
    vdx = 0.0
    vdy = 0.0
    wt = 0.0
    for i in range(-1, 2):
        for j in range(-1, 2):
            hx = noise.uniform2(ix + i, iy + j, seed) - 0.5
            hy = noise.uniform2(ix + i, iy + j, seed + 1) - 0.5
            ppx = fx - i - hx
            ppy = fy - j - hy
            wgt = np.exp(-(ppx * ppx + ppy * ppy) * 2.0)
            wt += wgt
            mag = (ppx * dirx + ppy * diry) * 6.283185307179586
            va += np.cos(mag) * wgt
            s = -np.sin(mag) * wgt
            vdx += s * dirx
            vdy += s * diry
    return va / wt, vdx / wt, vdy / wt


@njit(cache=True, parallel=True)
def _gullies(row0, col0, h, w, res, gx, gy, seed, wavelength, octaves, strength):
    """Gullies that run down the slope of the base terrain; deeper where it is steeper (m)."""
    out = np.empty((h, w), np.float32)
    for i in prange(h):
        y = FRAME_YMAX - (row0 + i + 0.5) * res
        for j in range(w):
            x = FRAME_XMIN + (col0 + j + 0.5) * res
            dx = gx[i, j]
            dy = gy[i, j]
            acc = 0.0
            a = 1.0
            lam = wavelength
            for o in range(octaves):
                m = np.sqrt(dx * dx + dy * dy) + 1e-9
                v, vx, vy = _gully_octave(x / lam, y / lam, dy / m, -dx / m, seed + o)
                amp = strength * lam * min(m, 0.8) * a
                acc += amp * v
                # each gully bends the slope the finer octaves follow: branching
                dx += amp * vx * 6.283185307179586 / lam
                dy += amp * vy * 6.283185307179586 / lam
                a *= 0.45  # finer gullies are a little less steep than coarser ones
                lam *= 0.5
            out[i, j] = acc
    return out


class Terrain:
    """Elevation (m above sea level) anywhere in the frame, deterministic from `seed`."""

    def __init__(self, seed: int):
        self.seed = seed
        self._ranges = _ranges()
        self._rivers = _rivers(seed)
        self._cones = _oreums(seed)
        hx, hy = from_lonlat(126.53, 33.36)
        self._jeju = np.array([hx, hy, 1450.0])
        self._peaks = np.zeros((0, 4))
        self._peaks = self._calibrate_peaks()

    def _calibrate_peaks(self) -> np.ndarray:
        """Bumps that bring the DEM to each named peak's height at its place (secant steps)."""
        named = list(korea.PEAKS)
        xy = np.array([from_lonlat(p.lon, p.lat) for p in named])
        radius = np.array([5500.0 if p.height_m > 1200 else 3500.0 for p in named])
        target = np.array([p.height_m for p in named])
        amp = np.zeros(len(named))
        gain = np.full(len(named), 1.4)  # d(elevation)/d(amplitude) at a summit, first guess
        prev_amp = prev_now = None
        for _ in range(8):
            self._peaks = np.column_stack([xy, amp, radius])
            now = np.array([self._elevation_at(x, y) for x, y in xy])
            if np.all(np.abs(now - target) < 2.0):
                break
            if prev_now is not None:
                moved = np.abs(amp - prev_amp) > 1e-6
                gain[moved] = np.clip((now - prev_now)[moved] / (amp - prev_amp)[moved], 0.05, 3.0)
            prev_amp, prev_now = amp.copy(), now
            amp = amp + (target - now) / gain
        return np.column_stack([xy, amp, radius])

    def _elevation_at(self, x: float, y: float) -> float:
        """Elevation of the single 30 m cell whose centre is nearest to (x, y)."""
        col = int(np.floor((x - FRAME_XMIN) / 30.0))
        row = int(np.floor((FRAME_YMAX - y) / 30.0))
        # the 3 x 3 neighbourhood's maximum, as a summit is rarely exactly on a cell centre
        return float(np.max(self.elevation(Grid(30.0, row - 1, col - 1, 3, 3), coast=False)))

    def fields(self, grid: Grid, *, coast: bool = True) -> "TerrainFields":
        """Elevation and the terrain facts land cover needs, at the cell centres of `grid`.

        With `coast=False` the coastal taper is skipped (used while calibrating peaks).
        """
        s = self.seed
        base, river_m, river_w = self._base_full(grid)
        # gullies run down the hillside: its gradient comes from the base terrain on a 150 m
        # grid (interpolated), smooth enough that the gully pattern never jumps between cells
        gx, gy = noise.coarse_then_bilinear(grid, 5, self._hillside_gradient)
        gullies = _gullies(grid.row0, grid.col0, grid.height, grid.width, grid.res,
                           np.ascontiguousarray(gx, dtype=np.float64), np.ascontiguousarray(gy, dtype=np.float64),
                           noise.derive_seed(s, "gullies"), 1300.0, 5, 0.18)
        elev = base + gullies
        # Korea's summits stop near 2,000 m: compress the highest relief smoothly
        high = elev > SOFT_CAP_START_M
        elev[high] = SOFT_CAP_START_M + SOFT_CAP_RANGE_M * np.tanh(
            (elev[high] - SOFT_CAP_START_M) / SOFT_CAP_RANGE_M)
        sdf = coast_distance(grid, s) if coast else np.full(grid.shape, 1e6, np.float32)
        if coast:
            # the land falls to the sea over ~8 km (coastal lowlands), and reaches it within 1.8 km
            near = np.clip(sdf / 1800.0, 0.0, 1.0)
            far = np.clip(sdf / 8000.0, 0.0, 1.0)
            taper = near * near * (3.0 - 2.0 * near) * (0.35 + 0.65 * far * far * (3.0 - 2.0 * far))
            elev = np.where(sdf > 0, 1.0 + (np.maximum(elev, 1.0) - 1.0) * taper, 0.0)
        return TerrainFields(elev.astype(np.float32), gx.astype(np.float32), gy.astype(np.float32),
                             sdf, river_m, river_w)

    def _base_full(self, grid: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Base terrain on `grid`, with the river distance and width it was carved with."""
        env, mtn, summit = noise.coarse_then_bilinear(
            grid, 3, lambda c: _macro(c.row0, c.col0, c.height, c.width, c.res,
                                      self._ranges, self._peaks, self._cones, self._jeju))
        segs = self._segments_near(grid, margin=12000.0)
        if len(segs):
            river_m, river_w, bed = _rivers_kernel(grid.row0, grid.col0, grid.height, grid.width,
                                                   grid.res, segs)
        else:
            river_m = np.full(grid.shape, 1e9, np.float32)
            river_w = np.zeros(grid.shape, np.float32)
            bed = np.zeros(grid.shape, np.float32)
        return self._base(grid, env, mtn, summit, river_m, river_w, bed), river_m, river_w

    def _hillside_gradient(self, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
        """(east, north) gradient of the base terrain on `grid` (m/m), from a one-cell halo."""
        base, _, _ = self._base_full(grid.pad(1))
        gy, gx = np.gradient(base.astype(np.float64), grid.res)
        return gx[1:-1, 1:-1], -gy[1:-1, 1:-1]

    def elevation(self, grid: Grid, *, coast: bool = True) -> np.ndarray:
        """Elevation (m, float32) at the cell centres of `grid`; sea cells are 0."""
        return self.fields(grid, coast=coast).elevation

    def _base(self, grid, env, mtn, summit, river_m, river_w, bed) -> np.ndarray:
        """The terrain before gullies: envelope, ridged relief with flat floors, river valleys."""
        s = self.seed
        ridges = noise.ridged(grid, noise.derive_seed(s, "relief"), 10000.0, octaves=5, gain=0.5,
                              warp=(noise.derive_seed(s, "relief.warp"), 12000.0, 900.0))
        # near a named peak the relief rises to a summit rather than wherever the noise puts it
        # (lifting the ridged texture keeps the summit a rough ridge top, not a smooth dome)
        ridges = ridges + (1.0 - ridges) * 0.75 * summit
        # flat valley floors: the ridged field below `floor` is levelled, in the lowlands only
        floor = 0.36 * (1.0 - mtn) ** 1.5
        shaped = np.clip((ridges - floor) / (1.0 - floor), 0.0, None) ** 1.3
        lowland = 1.0 - mtn
        relief_amp = 190.0 + RELIEF_GAIN * env * (0.35 + 0.65 * mtn)
        # mid-scale roughness so mountain valleys are never flat benches
        rough = noise.fbm(grid, noise.derive_seed(s, "rough"), 4000.0, octaves=4, gain=0.5)
        # the lowlands' hills: a few km apart, 100-300 m high, with paddies in the floors between
        knolls = noise.ridged(grid, noise.derive_seed(s, "knolls"), 3500.0, octaves=4, gain=0.5)
        knolls = np.clip((knolls - 0.45) / 0.55, 0.0, None) ** 1.2
        plain = self._plains(grid)
        base = (env * (0.45 + 0.15 * lowland) + relief_amp * shaped * (1.0 - 0.8 * plain)
                + 200.0 * mtn * rough + 230.0 * lowland * knolls * (1.0 - plain))
        # river valleys: a flat floodplain each side of the channel, then walls rising to the relief
        floodplain = 1.2 * river_w + 250.0
        valley = 5.0 * river_w + 2500.0
        t = np.clip((river_m - floodplain) / valley, 0.0, 1.0)
        t = t * t * (3.0 - 2.0 * t)
        carved = bed + 2.0 + (np.maximum(base, bed) - bed) * t
        return np.minimum(base, carved)

    def _plains(self, grid: Grid) -> np.ndarray:
        """0-1: inside one of korea.PLAINS (with a noisy edge), where the lowland is flat."""
        x = FRAME_XMIN + (grid.col0 + np.arange(grid.width) + 0.5) * grid.res
        y = FRAME_YMAX - (grid.row0 + np.arange(grid.height) + 0.5) * grid.res
        edge = noise.coarse_then_bilinear(
            grid, 5, lambda c: noise.fbm(c, noise.derive_seed(self.seed, "plains"), 6000.0, octaves=3))
        out = np.zeros(grid.shape, np.float32)
        for _, lon, lat, radius_km in korea.PLAINS:
            px, py = from_lonlat(lon, lat)
            r = radius_km * 1000.0
            if x[-1] < px - 2 * r or x[0] > px + 2 * r or y[0] < py - 2 * r or y[-1] > py + 2 * r:
                continue
            d = np.hypot(x[None, :] - px, y[:, None] - py) / r + 0.25 * edge
            out = np.maximum(out, np.clip(1.6 - 1.2 * d, 0.0, 1.0))
        return out

    def _segments_near(self, grid: Grid, margin: float) -> np.ndarray:
        x0, y0, x1, y1 = grid.bounds
        s = self._rivers
        sx0, sx1 = np.minimum(s[:, 0], s[:, 2]), np.maximum(s[:, 0], s[:, 2])
        sy0, sy1 = np.minimum(s[:, 1], s[:, 3]), np.maximum(s[:, 1], s[:, 3])
        keep = (sx1 > x0 - margin) & (sx0 < x1 + margin) & (sy1 > y0 - margin) & (sy0 < y1 + margin)
        return np.ascontiguousarray(s[keep])


@dataclass(frozen=True)
class TerrainFields:
    """What `Terrain.fields` returns, all on one grid."""

    elevation: np.ndarray  # m above sea level, 0 at sea
    hillside_gx: np.ndarray  # eastward gradient of the terrain before gullies (m/m)
    hillside_gy: np.ndarray  # northward gradient of the terrain before gullies (m/m)
    coast_m: np.ndarray  # signed distance to the coast (m, > 0 on land)
    river_m: np.ndarray  # distance to the nearest main-river axis (m)
    river_width: np.ndarray  # that river's channel width (m)

    def hillside_aspect(self) -> np.ndarray:
        """Aspect of the hillside (degrees clockwise from north, downslope), ignoring gullies."""
        return ((np.degrees(np.arctan2(-self.hillside_gx, -self.hillside_gy)) + 360.0) % 360.0).astype(np.float32)
