"""MODIS-like and Landsat-like observations of the simulated surface.

Clouds: one fractal cloud field per day (domain-warped fBm, ~7 km structures with detail
down to ~100 m), thresholded so that the local cloud cover matches the meteorology's. Both
sensors pass at about 10:30 and see the same clouds: Landsat at 30 m with every octave,
MODIS at 500 m with the octaves a 500 m cell resolves. Cloud shadows are the cloud field
displaced away from the morning sun (towards the north-west); dilated-cloud edges are a
band just below the threshold; cirrus is a second, thinner field.

Landsat 8 follows WRS-2-like descending paths (185 km swaths, 139 km apart over Korea,
tilted about 12 degrees), each imaged every 16 days, neighbouring paths 7 days apart;
Landsat 9 (from 2022) images each path 8 days after Landsat 8. Surface reflectance is
stored as Collection 2 Level-2 scaled integers with QA_PIXEL. MODIS is daily at 500 m:
the 30 m reflectance aggregated by area, blurred by a point-spread function, with a
view-angle (BRDF) factor that cycles with the 16-day orbit repeat, sensor noise, clouds,
and a MOD09GA-like state_1km layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.special import ndtri

from unique_core.grid import Grid, from_lonlat
# the encodings the sensors write are the real products' (shared with the readers): C2 L2 and MOD09GA
from unique_core.sources.formats import (L2_FILL, L2_OFFSET, L2_SCALE, LANDSAT_BANDS, MODIS_BANDS,  # noqa: F401
                                         MODIS_FILL, MODIS_SCALE)
from unique_core.world import noise


SHADOW_OFFSET_M = (-1150.0, 1380.0)  # cloud -> shadow displacement (east, north), morning sun in the SE
CLOUD_WAVELENGTH = 7000.0
CLOUD_WARP_WAVELENGTH = 9000.0  # a gentle warp: rounded, cellular clouds rather than streaks
CLOUD_WARP_M = 900.0
DILATED_BAND = 0.22  # in units of the cloud field's standard deviation

# WRS-2-like paths over Korea: centre longitude at 36 N, and the first Landsat 8 acquisition
# day of 2015 for each path (neighbouring paths are imaged 7 days apart).
_PATHS = {114: 130.64, 115: 129.10, 116: 127.55, 117: 126.00, 118: 124.46}
_L8_FIRST = dt.date(2015, 1, 3)
SWATH_HALF_KM = 92.5
L9_START = dt.date(2022, 1, 1)


def _path_phase(path: int) -> int:
    return (7 * (path - 116)) % 16


def _cross_track_km(path: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Distance (km) of points from a path's ground track (positive east)."""
    lon_c = _PATHS[path] + 0.26 * (lat - 36.0)
    return (lon - lon_c) * 111.32 * np.cos(np.radians(lat)) * np.cos(np.radians(12.0))


def landsat_acquisitions(lon: float | np.ndarray, lat: float | np.ndarray, year: int,
                         ) -> list[tuple[dt.date, str, int]]:
    """(date, satellite, path) of every Landsat pass over any of the points in `year`."""
    lon = np.atleast_1d(lon)
    lat = np.atleast_1d(lat)
    out = []
    for path in _PATHS:
        if not np.any(np.abs(_cross_track_km(path, lon, lat)) <= SWATH_HALF_KM):
            continue
        first = _L8_FIRST + dt.timedelta(days=_path_phase(path))
        d = first
        while d.year <= year:
            if d.year == year:
                out.append((d, "LC08", path))
                if d >= L9_START - dt.timedelta(days=8):
                    d9 = d + dt.timedelta(days=8)
                    if d9.year == year and d9 >= L9_START:
                        out.append((d9, "LC09", path))
            d += dt.timedelta(days=16)
    return sorted(out)


def swath_mask(path: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.abs(_cross_track_km(path, lon, lat)) <= SWATH_HALF_KM


def _day_seed(seed: int, date: dt.date, name: str) -> int:
    return noise.derive_seed(seed, f"{name}.{date.isoformat()}")


def cloud_field(grid: Grid, seed: int, date: dt.date, *, shift_m: tuple[float, float] = (0.0, 0.0),
                octaves: int | None = None) -> np.ndarray:
    """The day's cloud field (about N(0, 1)) at the centres of `grid`, optionally displaced.

    The finest octave is chosen for the grid's resolution unless given, so a 500 m grid sees
    the same large clouds as a 30 m grid without aliasing the small ones.
    """
    if octaves is None:
        octaves = max(2, min(7, int(np.floor(np.log2(CLOUD_WAVELENGTH / (3.0 * grid.res)))) + 1))
    s = _day_seed(seed, date, "cloud")
    # the displaced field is the same field read at shifted points: shift the grid by whole cells
    # when possible and otherwise sample directly
    if shift_m == (0.0, 0.0):
        return noise.fbm(grid, s, CLOUD_WAVELENGTH, octaves=octaves, gain=0.55,
                         warp=(s + 11, CLOUD_WARP_WAVELENGTH, CLOUD_WARP_M)) / 0.95
    x = grid.x[None, :] - shift_m[0]
    y = grid.y[:, None] - shift_m[1]
    xx, yy = np.broadcast_arrays(x, y)
    return _warped_fbm_points(xx, yy, s, octaves) / 0.95


def _warped_fbm_points(x, y, s, octaves):
    wx = noise.fbm_at_points(x, y, s + 11, CLOUD_WARP_WAVELENGTH, octaves=3)
    wy = noise.fbm_at_points(x + 5.2e4, y - 1.3e4, s + 18, CLOUD_WARP_WAVELENGTH, octaves=3)
    return noise.fbm_at_points(x + CLOUD_WARP_M * wx, y + CLOUD_WARP_M * wy, s, CLOUD_WAVELENGTH, octaves=octaves,
                               gain=0.55)


def cloud_threshold(cover: np.ndarray) -> np.ndarray:
    """Field value above which a point is cloudy, for a local cloud-cover fraction."""
    return ndtri(np.clip(1.0 - cover, 1e-4, 1 - 1e-4)).astype(np.float32)


def landsat_cover(cloud: np.ndarray) -> np.ndarray:
    """The meteorology's daytime cloud cover, as a Landsat scene sees it (convective afternoon
    clouds have not formed yet at 10:30: a little less cover than the daily mean)."""
    return np.clip(0.92 * cloud - 0.03, 0.0, 1.0)


@dataclass(frozen=True)
class CloudMasks:
    """The day's clouds at 30 m as Landsat's QA sees them (boolean masks)."""

    field: np.ndarray  # the cloud field, about N(0, 1)
    threshold: np.ndarray
    cloud: np.ndarray
    dilated: np.ndarray
    shadow: np.ndarray
    cirrus: np.ndarray


def cloud_masks(grid: Grid, cover: np.ndarray, seed: int, date: dt.date) -> CloudMasks:
    """Cloud, dilated-cloud edge, shadow and cirrus masks for a morning overpass on `grid`."""
    thr = cloud_threshold(landsat_cover(cover))
    field = cloud_field(grid, seed, date)
    cloud = field > thr
    dilated = (field > thr - DILATED_BAND) & ~cloud
    shadow_field = cloud_field(grid, seed, date, shift_m=SHADOW_OFFSET_M)
    shadow = (shadow_field > thr) & ~cloud & ~dilated
    cirrus_field = noise.fbm(grid, _day_seed(seed, date, "cirrus"), 12000.0, octaves=4)
    cirrus = (cirrus_field > cloud_threshold(0.35 * cover)) & ~cloud
    return CloudMasks(field, thr, cloud, dilated, shadow, cirrus)


def landsat_scene(reflectance: np.ndarray, cover: np.ndarray, water: np.ndarray, grid: Grid,
                  seed: int, date: dt.date) -> dict[str, np.ndarray]:
    """Scaled C2 L2 bands and QA_PIXEL for one acquisition over `grid`.

    reflectance: (6, H, W) true surface reflectance; cover: (H, W) cloud cover (0-1);
    water: (H, W) bool, for the QA water bit.
    """
    m = cloud_masks(grid, cover, seed, date)
    refl = reflectance + 0.004 * noise.white(grid, _day_seed(seed, date, "landsat.noise"), len(reflectance))
    brightness = np.clip(0.42 + 0.12 * (m.field - m.threshold), 0.35, 0.75)
    cloud_r = brightness[None] * np.array([1.0, 1.0, 0.98, 0.95, 0.80, 0.65], np.float32)[:, None, None]
    refl = np.where(m.cloud[None], cloud_r, refl)
    refl = np.where(m.dilated[None], 0.7 * refl + 0.3 * cloud_r, refl)
    refl = np.where(m.shadow[None], 0.35 * refl, refl)
    refl = np.where(m.cirrus[None], refl + np.array([0.03, 0.025, 0.02, 0.015, 0.01, 0.005],
                                                    np.float32)[:, None, None], refl)
    from unique_core.qa import encode_landsat_qa

    qa = encode_landsat_qa(dilated=m.dilated, cirrus=m.cirrus, cloud=m.cloud, shadow=m.shadow, water=water)
    dn = np.clip(np.round((refl - L2_OFFSET) / L2_SCALE), 1, 65535).astype(np.uint16)
    out = {name: dn[i] for i, name in enumerate(LANDSAT_BANDS)}
    out["QA_PIXEL"] = qa
    return out


def modis_observation(reflectance: np.ndarray, cover: np.ndarray, sea: np.ndarray,
                      water: np.ndarray, grid: Grid, seed: int, date: dt.date,
                      halo: int) -> dict[str, np.ndarray]:
    """MOD09GA-like scaled bands and state_1km on `grid`, from 500 m reflectance with a halo.

    reflectance (6, H+2h, W+2h), cover/sea/water (H+2h, W+2h) on grid.pad(halo).
    """
    padded = grid.pad(halo)
    blurred = np.stack([ndimage.gaussian_filter(b, 0.45, mode="nearest") for b in reflectance])
    field = cloud_field(padded, seed, date)
    thr = cloud_threshold(cover)
    cloudy = field > thr + 0.25
    mixed = (field > thr - 0.35) & ~cloudy
    shadow = (cloud_field(padded, seed, date, shift_m=SHADOW_OFFSET_M) > thr) & ~cloudy & ~mixed
    adjacent = ndimage.binary_dilation(cloudy | mixed, np.ones((3, 3), bool)) & ~(cloudy | mixed)
    # view-angle effects cycle with the 16-day orbit repeat
    cycle = (date.toordinal() % 16) / 16.0
    view = 1.0 + 0.04 * np.sin(2 * np.pi * cycle) * np.array([1.0, 1.0, 1.0, 1.2, 0.8, 0.7])
    nb = len(blurred)
    gain = 1 + 0.02 * noise.white(padded, _day_seed(seed, date, "modis.gain"), nb)
    refl = blurred * view[:, None, None] * gain + 0.004 * noise.white(padded, _day_seed(seed, date, "modis.noise"), nb)
    brightness = np.clip(0.40 + 0.12 * (field - thr), 0.30, 0.75)
    cloud_r = brightness[None] * np.array([1.0, 1.0, 1.0, 0.95, 0.8, 0.65])[:, None, None]
    refl = np.where(cloudy[None], cloud_r, refl)
    frac = np.clip((field - thr + 0.35) / 0.6, 0, 1)[None]
    refl = np.where(mixed[None], (1 - 0.6 * frac) * refl + 0.6 * frac * cloud_r, refl)
    refl = np.where(shadow[None], 0.45 * refl, refl)
    from unique_core.qa import encode_modis_state

    state = encode_modis_state(cloudy=cloudy, mixed=mixed, shadow=shadow, adjacent=adjacent,
                               water=water, sea=sea)
    inner = (slice(halo, -halo or None), slice(halo, -halo or None))
    dn = np.clip(np.round(refl / MODIS_SCALE), -100, 16000).astype(np.int16)
    out = {name: dn[i][inner] for i, name in enumerate(MODIS_BANDS)}
    out["state_1km"] = state[inner]
    return out
