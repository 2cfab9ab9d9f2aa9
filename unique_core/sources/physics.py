"""Physics both sources need: humidity, sunshine, the soil-water bucket and terrain slope.

Pure functions of arrays (no source, no grid): the simulated climate makes its fields with
them, the ERA5-Land reader derives the same quantities from real files, and the static layers
of either source take slope and aspect from their DEM with `slope_aspect`.
"""

from __future__ import annotations

import numpy as np

LAPSE = 0.0065  # K per m: temperature moved from the reanalysis' terrain to the cell's elevation
BUCKET_MM = 150.0  # soil-water bucket size (mm)


def saturation_vapour_pressure(t_c: np.ndarray) -> np.ndarray:
    """Tetens/Magnus saturation vapour pressure (hPa) over water at t_c (degC)."""
    return 6.1078 * np.exp(17.27 * t_c / (t_c + 237.3))


def toa_daily_mean(lat_deg: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """Top-of-atmosphere shortwave, daily mean (W m-2), for latitudes and days of year."""
    lat = np.radians(lat_deg)
    decl = 0.409 * np.sin(2 * np.pi * doy / 365.0 - 1.39)
    dr = 1 + 0.033 * np.cos(2 * np.pi * doy / 365.0)
    ws = np.arccos(np.clip(-np.tan(lat) * np.tan(decl), -1, 1))
    return 1367.0 / np.pi * dr * (ws * np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.sin(ws))


def solar_declination(doy: np.ndarray | int) -> np.ndarray:
    """Solar declination (radians) on day of year `doy`."""
    return 0.409 * np.sin(2 * np.pi * np.asarray(doy) / 365.0 - 1.39)


def soil_water(precip: np.ndarray, tmean: np.ndarray, sw: np.ndarray,
               start_mm: np.ndarray | float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """Daily soil-water stress factor from a 150 mm bucket with Priestley-Taylor demand.

    precip (mm d-1), tmean (degC), sw (W m-2): arrays (days, ...). Returns beta (days, ...),
    1 when the bucket is at least half full falling to 0 near 12 %, and the final content (mm).
    """
    bucket = np.broadcast_to(np.asarray(start_mm, dtype=float), precip.shape[1:]).copy()
    beta = np.empty(precip.shape, dtype=float)
    for k in range(precip.shape[0]):
        tc = tmean[k]
        s_ = 4098 * saturation_vapour_pressure(tc) / 10 / (tc + 237.3) ** 2  # kPa K-1
        pet = np.clip(1.26 * s_ / (s_ + 0.066) * 0.55 * sw[k] * 0.0864 / 2.45, 0, None)
        bucket = np.clip(bucket + precip[k] - pet * np.clip(bucket / BUCKET_MM, 0, 1) ** 0.7, 0, BUCKET_MM)
        beta[k] = np.clip((bucket / BUCKET_MM - 0.12) / 0.38, 0.0, 1.0)
    return beta, bucket


def slope_aspect(elev: np.ndarray, res: float) -> tuple[np.ndarray, np.ndarray]:
    """Slope (degrees) and aspect (degrees clockwise from north, downslope direction).

    `elev` (m, rows north to south, cells `res` m apart) carries a one-cell halo that the
    results drop (shape - 2 on each axis).
    """
    dzdx = (elev[1:-1, 2:] - elev[1:-1, :-2]) / (2 * res)
    dzdy = (elev[:-2, 1:-1] - elev[2:, 1:-1]) / (2 * res)  # rows run north to south
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    aspect = (np.degrees(np.arctan2(-dzdx, -dzdy)) + 360.0) % 360.0
    return slope.astype(np.float32), aspect.astype(np.float32)


def hillshade(elev: np.ndarray, res: float, azimuth: float = 315.0, altitude: float = 45.0) -> np.ndarray:
    """Hillshade in [0, 1] (light from `azimuth` degrees, `altitude` above the horizon); halo dropped."""
    slope, aspect = slope_aspect(elev, res)
    zen = np.radians(90.0 - altitude)
    s, a = np.radians(slope), np.radians(aspect)
    shade = np.cos(zen) * np.cos(s) + np.sin(zen) * np.sin(s) * np.cos(np.radians(azimuth) - a)
    return np.clip(shade, 0.0, 1.0).astype(np.float32)
