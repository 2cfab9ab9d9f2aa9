"""Daily meteorology of the simulated Korea, 2015-2023, on an ERA5-Land-like 0.1 degree lattice.

Climatology (sea-level temperature, seasonal amplitude, wet-day frequency and amount, cloud,
humidity) is fitted by hand to Korean station normals (Seoul, Busan, Jeju, Gangneung, Daegu,
Cheorwon: see docs/world.md). Weather on top of it is spatially coherent and autocorrelated:
anomalies are sums of random Fourier modes, hundreds of kilometres long, that drift east
with the westerlies and whose amplitudes follow AR(1) processes in time. Each year draws its
own rainy season (Changma) and typhoons; 2020 keeps its record 54-day Changma.

Fields are made once for the whole period (a few seconds) and cached per year. At 30 m,
the world interpolates them bilinearly in lon/lat and applies a 6.5 K/km lapse rate to
temperature, keeps the actual vapour pressure (so VPD follows the local temperature), and
shades shortwave radiation by slope and aspect.

The lattice (unique_core.sources.lattice) and the physics (unique_core.sources.physics) are
shared with the ERA5-Land reader; their names are imported here, so `climate.interpolate`,
`climate.LAT0` and the like read as the simulated climate's own.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from unique_core.cache import load_npz, save_npz
from unique_core.config import cache_dir
from unique_core.errors import DateError
from unique_core.grid import from_lonlat
from unique_core.sources.lattice import (LAT0, LON0, NLAT, NLON, STEP, LatticeWeights, interpolate,  # noqa: F401
                                         lattice_lonlat, lattice_weights)
from unique_core.sources.physics import (LAPSE, saturation_vapour_pressure, solar_declination,  # noqa: F401
                                         soil_water, toa_daily_mean)
from unique_core.world import noise

FIRST_YEAR, LAST_YEAR = 2015, 2023
VARIABLES = ("tmean", "tmin", "tmax", "vpd", "sw", "sw_clear", "precip", "cloud", "beta", "ea")
UNITS = {"tmean": "degC", "tmin": "degC", "tmax": "degC", "vpd": "hPa", "sw": "W m-2",
         "sw_clear": "W m-2", "precip": "mm d-1", "cloud": "1", "beta": "1", "ea": "hPa"}
LONG_NAMES = {"tmean": "daily mean 2 m air temperature", "tmin": "daily minimum 2 m air temperature",
              "tmax": "daily maximum 2 m air temperature", "vpd": "daily mean vapour pressure deficit",
              "sw": "daily mean incoming shortwave radiation",
              "sw_clear": "daily mean clear-sky incoming shortwave radiation",
              "precip": "daily precipitation", "cloud": "daytime cloud cover fraction",
              "beta": "soil-water stress factor (1 = unstressed)", "ea": "actual vapour pressure"}
_VERSION = 1


def check_date(date: dt.date) -> dt.date:
    if not isinstance(date, dt.date):
        raise DateError(f"{date!r} is not a date: give YYYY-MM-DD")
    if not FIRST_YEAR <= date.year <= LAST_YEAR:
        raise DateError(f"{date.isoformat()} is outside the simulated period "
                        f"{FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31")
    return date


def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD -> date inside the simulated period, or DateError saying what is wrong."""
    try:
        date = dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise DateError(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2023-07-15") from None
    return check_date(date)


@dataclass(frozen=True)
class Changma:
    onset_doy: int
    end_doy: int


def _seasonal_warp(doy: np.ndarray) -> np.ndarray:
    """Phase 0 at the coldest day (20 Jan), 1 at the warmest (5 Aug), 2 a year later."""
    d = np.asarray(doy, dtype=float)
    return np.interp(d, [0.0, 20.0, 217.0, 385.0, 400.0],
                     [-20.0 / 168.0, 0.0, 1.0, 2.0, 2.0 + 15.0 / 168.0])


class Climate:
    """Daily meteorology on the 0.1 degree lattice, deterministic from `seed`."""

    def __init__(self, seed: int, orography: np.ndarray, land_share: np.ndarray,
                 coast_km: np.ndarray):
        self.seed = seed
        self.orography = orography  # (NLAT, NLON) mean elevation of each lattice cell (m)
        self.land_share = land_share
        self.coast_km = coast_km  # distance to the coast (km, > 0 inland)
        lon, lat = lattice_lonlat()
        self.lon2, self.lat2 = np.meshgrid(lon, lat)
        x, y = from_lonlat(self.lon2, self.lat2)
        self.x_km, self.y_km = x / 1000.0, y / 1000.0

    # ---------------------------------------------------------------- climatology
    def _normals(self):
        lat, lon = self.lat2, self.lon2
        maritime = np.exp(-np.clip(self.coast_km, 0, None) / 25.0)
        west = np.clip((127.2 - lon) / 1.2, 0.0, 1.0)  # the Yellow Sea moderates little in winter
        east_coast = maritime * np.clip((lon - 128.6) / 0.4, 0.0, 1.0)
        t_ann = 13.3 - 0.85 * (lat - 37.5) + 0.8 * maritime * (1 - west) + 1.0 * east_coast
        amp = 14.2 + 0.6 * (lat - 37.5) - 2.0 * maritime * (1 - west)
        south = np.clip((36.0 - lat) / 2.5, 0.0, 1.0)
        wet_scale = (1.0 + 0.12 * south + 0.0003 * self.orography) * np.where(
            (lon > 128.2) & (lon < 129.0) & (lat > 35.5) & (lat < 36.6), 0.8, 1.0)  # dry Daegu basin
        return t_ann, amp, maritime, wet_scale

    @functools.cached_property
    def changma(self) -> dict[int, Changma]:
        rng = np.random.default_rng(noise.derive_seed(self.seed, "changma"))
        out = {}
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            onset = int(round(rng.normal(176, 5)))
            length = int(np.clip(round(rng.normal(32, 6)), 20, 45))
            if year == 2020:  # the longest on record in the central region: 24 June to 16 August
                onset, length = 176, 54
            out[year] = Changma(onset, onset + length)
        return out

    # ---------------------------------------------------------------- generation
    @functools.cached_property
    def _modes(self):
        """Random travelling Fourier modes: (k_x, k_y, omega, phase) for anomaly fields."""
        rng = np.random.default_rng(noise.derive_seed(self.seed, "weather.modes"))

        def draw(n, lmin, lmax, speed_km_d):
            lam = np.exp(rng.uniform(np.log(lmin), np.log(lmax), n))
            ang = rng.uniform(0, 2 * np.pi, n)
            k = 2 * np.pi / lam
            kx, ky = k * np.cos(ang), k * np.sin(ang)
            omega = kx * speed_km_d  # drifting east
            return np.column_stack([kx, ky, omega, rng.uniform(0, 2 * np.pi, n)])

        return {"temp": draw(12, 500, 2500, 300.0), "wet": draw(24, 150, 1200, 450.0),
                "meso": draw(24, 40, 160, 450.0)}

    def _ar1(self, name: str, n_days: int, n: int, phi: float) -> np.ndarray:
        rng = np.random.default_rng(noise.derive_seed(self.seed, f"weather.ar.{name}"))
        e = rng.standard_normal((n_days, n))
        out = np.empty_like(e)
        out[0] = e[0]
        s = np.sqrt(1 - phi * phi)
        for t in range(1, n_days):
            out[t] = phi * out[t - 1] + s * e[t]
        return out

    def _field(self, modes: np.ndarray, amps: np.ndarray, t: np.ndarray) -> np.ndarray:
        """sum_k a_k(t) cos(k.x - omega t + phase), normalised to unit variance: (T, NLAT, NLON).

        Written as two matrix products, cos(s - w) = cos s cos w + sin s sin w: cosines of K
        modes over the lattice and over the days, not of every mode on every cell on every day
        (the same field to 1e-10: tests/test_world.py).
        """
        kx, ky, om, ph = np.asarray(modes, dtype=float).T
        space = (kx[:, None, None] * self.x_km + ky[:, None, None] * self.y_km + ph[:, None, None]).reshape(len(kx), -1)
        when = om[None, :] * t[:, None]  # (T, K)
        out = (amps * np.cos(when)) @ np.cos(space) + (amps * np.sin(when)) @ np.sin(space)
        return out.reshape(len(t), NLAT, NLON) * np.sqrt(2.0 / len(modes))

    @functools.cached_property
    def _all_days(self) -> dict[int, dict[str, np.ndarray]]:
        """Generate every year's fields in order (the bucket carries over): {year: {var: (T,NLAT,NLON)}}."""
        days = np.arange((dt.date(LAST_YEAR, 12, 31) - dt.date(FIRST_YEAR, 1, 1)).days + 1)
        dates = [dt.date(FIRST_YEAR, 1, 1) + dt.timedelta(int(d)) for d in days]
        n = len(days)
        m = self._modes
        temp_amp = self._ar1("temp", n, len(m["temp"]), 0.75)
        slow_amp = self._ar1("slow", n, 2, 0.985)  # seasonal-scale anomalies: warm springs, cool summers
        wet_amp = self._ar1("wet", n, len(m["wet"]), 0.55)
        meso_amp = self._ar1("meso", n, len(m["meso"]), 0.2)
        t_ann, amp, maritime, wet_scale = self._normals()
        rng = np.random.default_rng(noise.derive_seed(self.seed, "weather.amounts"))
        typhoons = self._typhoons()
        out: dict[int, dict[str, np.ndarray]] = {}
        bucket = np.full(t_ann.shape, 120.0)
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            idx = np.array([i for i, d in enumerate(dates) if d.year == year])
            doy = np.array([dates[i].timetuple().tm_yday for i in idx], dtype=float)
            cm = self.changma[year]
            t = days[idx].astype(float)
            # temperature: climatology + synoptic (stronger in winter) + slow anomalies
            season = -np.cos(np.pi * _seasonal_warp(doy))
            winter = 0.5 * (1 - season)
            synoptic = self._field(m["temp"], temp_amp[idx], t)
            slow = slow_amp[idx, 0][:, None, None] + 0.5 * slow_amp[idx, 1][:, None, None] * (self.lat2 - 36.0)
            tsl = (t_ann[None] + amp[None] * season[:, None, None]
                   + (1.3 + 1.8 * winter[:, None, None]) * synoptic + 0.9 * slow)
            tmean = tsl - LAPSE * self.orography[None]
            # wet days: a latent field thresholded at the season's wet-day frequency
            p_wet, mean_mm, cloud_shift = self._wet_season(doy, cm)
            z = 0.85 * self._field(m["wet"], wet_amp[idx], t) + 0.5 * self._field(m["meso"], meso_amp[idx], t)
            z = z / np.sqrt(0.85 ** 2 + 0.5 ** 2)
            p_local = np.clip(p_wet[:, None, None] * np.sqrt(wet_scale[None]), 0.01, 0.95)
            thresh = ndtri(1 - p_local)
            wet = z > thresh
            gamma = rng.gamma(0.8, 1.0, size=z.shape)
            excess = np.clip(z - thresh, 0, None)
            precip = np.where(wet, 0.8 * mean_mm[:, None, None] * np.sqrt(wet_scale[None]) * gamma
                              * (0.6 + 0.8 * excess), 0.0)
            precip += self._typhoon_rain(year, doy, typhoons)
            # clouds follow the same latent field; cloudy days are cooler by day, milder at night
            cloud = np.clip(1 / (1 + np.exp(-(1.6 * (z - thresh) + cloud_shift[:, None, None]))), 0.02, 1.0)
            cloud = np.where(wet, np.maximum(cloud, 0.75), cloud)
            dtr = (11.0 - 6.5 * cloud) * (1 - 0.35 * maritime[None])
            tmean = tmean - 1.2 * (cloud - 0.5)
            tmax, tmin = tmean + 0.55 * dtr, tmean - 0.45 * dtr
            # radiation
            sw_clear = 0.76 * toa_daily_mean(self.lat2[None], doy[:, None, None]) * (1 + 0.00002 * self.orography[None])
            sw = sw_clear * (1 - 0.72 * cloud ** 1.4)
            # humidity: humid summers, dry springs, damp cloudy days
            rh_base = 0.66 + 0.13 * np.cos(2 * np.pi * (doy - 205) / 365) - 0.04 * np.cos(2 * np.pi * (doy - 105) / 182.5)
            rh = np.clip(rh_base[:, None, None] + 0.28 * (cloud - 0.5) + 0.05 * maritime[None], 0.25, 0.97)
            es = saturation_vapour_pressure(tmean)
            ea = es * rh
            vpd = es - ea
            # soil water: a 150 mm bucket, Priestley-Taylor demand
            beta, bucket = soil_water(precip, tmean, sw, bucket)
            out[year] = {"tmean": tmean, "tmin": tmin, "tmax": tmax, "vpd": vpd, "sw": sw,
                         "sw_clear": sw_clear, "precip": precip, "cloud": cloud, "beta": beta, "ea": ea}
            out[year] = {k: v.astype(np.float32) for k, v in out[year].items()}
        return out

    @staticmethod
    def _wet_season(doy: np.ndarray, cm: Changma):
        """Wet-day probability, mean wet-day amount (mm) and a cloudiness offset for each day."""
        month_p = np.interp(doy, [1, 60, 100, 150, 170, 240, 270, 300, 335, 366],
                            [0.20, 0.22, 0.30, 0.30, 0.36, 0.45, 0.33, 0.22, 0.24, 0.20])
        month_mm = np.interp(doy, [1, 60, 100, 150, 170, 240, 270, 300, 335, 366],
                             [4.0, 5.0, 8.0, 9.0, 11.0, 20.0, 15.0, 8.0, 6.0, 4.0])
        shift = np.interp(doy, [1, 100, 170, 240, 280, 300, 335, 366],
                          [-0.3, -0.1, 0.3, 0.1, -0.8, -0.9, -0.4, -0.3])
        in_cm = (doy >= cm.onset_doy) & (doy <= cm.end_doy)
        p = np.where(in_cm, 0.66, month_p)
        mm = np.where(in_cm, 22.0, month_mm)
        shift = np.where(in_cm, 1.0, shift)
        return p, mm, shift

    def _typhoons(self) -> dict[int, list[tuple[int, float, float]]]:
        rng = np.random.default_rng(noise.derive_seed(self.seed, "typhoons"))
        return {y: [(int(rng.uniform(205, 265)), rng.uniform(126.0, 130.0), rng.uniform(80, 220))
                    for _ in range(rng.poisson(1.8))] for y in range(FIRST_YEAR, LAST_YEAR + 1)}

    def _typhoon_rain(self, year, doy, typhoons) -> np.ndarray:
        rain = np.zeros((len(doy), NLAT, NLON))
        for day, lon, peak in typhoons[year]:
            for k, d in enumerate((day, day + 1)):
                sel = np.nonzero(doy == d)[0]
                if len(sel) == 0:
                    continue
                lat_track = 33.0 + 2.5 * k
                r2 = ((self.lon2 - lon) / 1.5) ** 2 + ((self.lat2 - lat_track - 1.0) / 2.0) ** 2
                rain[sel[0]] += peak * (0.6 if k else 1.0) * np.exp(-r2)
        return rain

    # ---------------------------------------------------------------- access
    def year(self, year: int) -> dict[str, np.ndarray]:
        """All variables of one year on the lattice: {name: (days, NLAT, NLON) float32}."""
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise DateError(f"year {year} is outside the simulated period {FIRST_YEAR}-{LAST_YEAR}")
        path = cache_dir() / "world" / f"climate-s{self.seed}-v{_VERSION}-{year}.npz"
        z = load_npz(path, VARIABLES)  # every array read in full: a truncated or damaged file is quarantined
        if z is not None:
            return z
        data = self._all_days
        for y, fields in data.items():
            p = cache_dir() / "world" / f"climate-s{self.seed}-v{_VERSION}-{y}.npz"
            if y == year or not p.exists():
                save_npz(p, fields)
        return data[year]

    def day(self, date: dt.date) -> dict[str, np.ndarray]:
        """All variables on the lattice for one day: {name: (NLAT, NLON)}."""
        check_date(date)
        y = _year_cache(self, date.year)
        k = date.timetuple().tm_yday - 1
        return {name: v[k] for name, v in y.items()}


@functools.lru_cache(maxsize=3)
def _year_cache(climate: Climate, year: int) -> dict[str, np.ndarray]:
    return climate.year(year)
