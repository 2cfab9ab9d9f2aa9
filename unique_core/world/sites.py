"""The simulated eddy-covariance network: 309 Northern-Hemisphere sites, 2015-2023.

Sites are placed on land (global-land-mask) in the regions where real towers cluster, with
FLUXNET-like shares of plant types. Each site has 2 to 9 years of data. Its weather follows
from its place and elevation (a latitude- and regime-dependent climatology: monsoon,
continental, maritime, Mediterranean, arid, boreal) with autocorrelated anomalies. The
surface is simulated with the same phenology, reflectance and GPP code as the Korean maps
(`vegetation.canopy`), so what a model learns at towers carries over to the maps.

The Korean sites are not simulated here: they are read from the simulated Korea itself at
the KoFlux-like tower places (see `korean_site_days`), so towers and maps agree.

From the true daily GPP, a tower "measures" fluxes the way FLUXNET reports them: ecosystem
respiration from a Lloyd-Taylor response scaled to the site's productivity, NEE with a
heteroscedastic random error (about 10-20 % of GPP at peak), night-time (NT) and daytime
(DT) partitioned GPP with their own site biases and daily errors (typically 5-15 % apart),
and a daily fraction of good half-hours (NEE_VUT_REF_QC) that drops in rain, in winter and
during instrument outages.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

from unique_core.world import climate as clim
from unique_core.world import noise, vegetation

N_SITES = 309
FIRST_YEAR, LAST_YEAR = clim.FIRST_YEAR, clim.LAST_YEAR

# FLUXNET-like shares of plant types among the non-Korean sites
PFT_SHARES = {"ENF": 0.22, "DBF": 0.14, "MF": 0.07, "EBF": 0.05, "GRA": 0.15, "CRO": 0.12,
              "RICE": 0.03, "SAV": 0.04, "WSA": 0.03, "OSH": 0.06, "WET": 0.09}
IGBP = {"RICE": "CRO"}  # rice sites are CRO in the IGBP scheme FLUXNET uses

# The 30 m footprint (tower) and 500 m cell (MODIS) composition of each plant type, in the
# keys of vegetation.class_parameters(extended=True).
COMPOSITION = {
    "ENF": {"coniferous": 0.85, "mixed": 0.10, "grassland": 0.05},
    "DBF": {"deciduous": 0.85, "mixed": 0.10, "grassland": 0.05},
    "MF": {"mixed": 0.70, "deciduous": 0.15, "coniferous": 0.15},
    "EBF": {"evergreen_broadleaf": 0.90, "grassland": 0.10},
    "GRA": {"grassland": 0.90, "field": 0.05, "open_shrub": 0.05},
    "CRO": {"field": 0.92, "grassland": 0.08},
    "RICE": {"paddy": 0.92, "field": 0.05, "urban": 0.03},
    "SAV": {"savanna": 0.85, "open_shrub": 0.15},
    "WSA": {"savanna": 0.60, "evergreen_broadleaf": 0.25, "deciduous": 0.15},
    "OSH": {"open_shrub": 0.85, "barren": 0.15},
    "WET": {"wetland": 0.80, "grassland": 0.10, "water": 0.10},
}

# Where towers cluster: (name, lon0, lon1, lat0, lat1, regime, continentality, weights by PFT)
REGIONS = (
    ("Eastern North America", -95, -70, 30, 48, "humid", 1.2,
     {"DBF": 4, "MF": 3, "CRO": 3, "ENF": 2, "GRA": 1, "WET": 1.5, "RICE": 0.3}),
    ("Western North America", -124, -105, 32, 50, "mediterranean", 0.9,
     {"ENF": 4, "GRA": 2, "OSH": 3, "SAV": 1, "WSA": 1, "CRO": 1, "EBF": 0.3}),
    ("Boreal North America", -150, -70, 50, 68, "boreal", 1.4, {"ENF": 5, "WET": 3, "MF": 1, "OSH": 1}),
    ("Central Europe", -5, 25, 45, 58, "maritime", 0.8,
     {"ENF": 4, "DBF": 3, "CRO": 3, "GRA": 3, "MF": 2, "WET": 1.5}),
    ("Mediterranean", -9, 30, 35, 45, "mediterranean", 0.9,
     {"EBF": 4, "SAV": 1.5, "WSA": 2, "OSH": 2, "CRO": 1.5, "GRA": 1.5, "RICE": 0.5}),
    ("Boreal Eurasia", 20, 130, 55, 70, "boreal", 1.5, {"ENF": 4, "WET": 3, "MF": 1.5, "GRA": 0.5, "DBF": 0.5}),
    ("East Asia", 100, 142, 22, 45, "monsoon", 1.1,
     {"MF": 2, "DBF": 2, "ENF": 2, "EBF": 2, "CRO": 2, "RICE": 2, "GRA": 1, "WET": 1}),
    ("Central Asia", 60, 120, 40, 52, "arid", 1.6, {"GRA": 4, "OSH": 2, "CRO": 1}),
    ("Subtropics", -110, 95, 20, 30, "dry_monsoon", 0.8, {"SAV": 3, "WSA": 2, "EBF": 1, "CRO": 2, "OSH": 1}),
)

# Korean sites read from the simulated Korea (KoFlux-like places)
KOREAN_SITES = (
    ("KR-GDK", "Gwangneung deciduous forest", 127.153, 37.749, "DBF"),
    ("KR-GCK", "Gwangneung coniferous forest", 127.162, 37.748, "ENF"),
    ("KR-HFK", "Haenam farmland", 126.570, 34.554, "RICE"),
    ("KR-CHJ", "Cheongmicheon farmland", 127.300, 37.160, "RICE"),
    ("KR-SMC", "Seolmacheon mixed forest", 126.950, 37.940, "MF"),
)


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    lon: float
    lat: float
    elevation: float  # m
    pft: str  # PFT_SHARES key (RICE for rice paddies)
    first_year: int
    last_year: int
    regime: str
    continentality: float
    korean: bool = False

    @property
    def igbp(self) -> str:
        return IGBP.get(self.pft, self.pft)

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)


def _country_code(lon: float, lat: float) -> str:
    if -170 < lon < -50:
        return "CA" if lat > 49 else ("MX" if lat < 28 and lon > -118 else "US")
    if -10 < lon < 40 and lat < 45:
        return {0: "ES", 1: "IT", 2: "GR", 3: "FR"}[int(abs(lon)) % 4] if lat > 35 else "IL"
    if -10 < lon < 40:
        return {0: "DE", 1: "FR", 2: "NL", 3: "CZ", 4: "FI", 5: "PL"}[int(abs(lon)) % 6] if lat < 60 else "FI"
    if lon >= 40 and lat > 50:
        return "RU"
    if 60 <= lon < 100:
        return "IN" if lat < 30 else ("KZ" if lon < 90 else "MN")
    if 125 < lon < 146 and lat > 30:
        return "JP"
    return "CN"


@functools.lru_cache(maxsize=4)
def network(seed: int = 2026, n_sites: int = N_SITES) -> tuple[Site, ...]:
    """The site table: Korean towers first, then sites abroad in FLUXNET-like proportions."""
    from global_land_mask import globe

    rng = np.random.default_rng(noise.derive_seed(seed, "sites"))
    sites: list[Site] = []
    for code, name, lon, lat, pft in KOREAN_SITES:
        first = int(rng.integers(2015, 2019))
        sites.append(Site(code, name, lon, lat, 0.0, pft, first, LAST_YEAR, "korea", 1.0, True))
    n_abroad = n_sites - len(sites)
    pfts = list(PFT_SHARES)
    counts = np.floor(np.array([PFT_SHARES[p] for p in pfts]) * n_abroad).astype(int)
    while counts.sum() < n_abroad:  # largest remainders
        counts[np.argmax(np.array([PFT_SHARES[p] for p in pfts]) * n_abroad - counts)] += 1
    used_ids: set[str] = set()
    for pft, count in zip(pfts, counts):
        weights = np.array([r[7].get(pft, 0.0) for r in REGIONS])
        weights = weights / weights.sum()
        for _ in range(count):
            region = REGIONS[rng.choice(len(REGIONS), p=weights)]
            _, lon0, lon1, lat0, lat1, regime, cont, _ = region
            for _attempt in range(500):
                lon = rng.uniform(lon0, lon1)
                lat = rng.uniform(lat0, lat1)
                if globe.is_land(lat, lon):
                    break
            elevation = float(np.clip(rng.gamma(1.3, 280.0), 2.0, 2400.0))
            if pft in ("RICE", "WET", "CRO"):
                elevation = float(rng.uniform(2, 150))
            n_years = int(rng.integers(2, 10))
            first = int(rng.integers(FIRST_YEAR, LAST_YEAR - n_years + 2))
            cc = _country_code(lon, lat)
            while True:
                sid = f"{cc}-{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 3))}"
                if sid not in used_ids:
                    break
            used_ids.add(sid)
            sites.append(Site(sid, f"{region[0]} {pft} site", round(float(lon), 4), round(float(lat), 4),
                              round(elevation, 0), pft, first, first + n_years - 1, regime,
                              cont * float(rng.uniform(0.85, 1.15))))
    return tuple(sites)


# ------------------------------------------------------------------ climate of a site abroad
def _regime_precip(regime: str, doy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wet-day probability and mean wet-day amount (mm) by day of year for a climate regime."""
    c = np.cos(2 * np.pi * (doy - 200) / 365.0)  # +1 in mid-July, -1 in mid-January
    if regime == "monsoon":
        return 0.18 + 0.32 * np.clip(c, 0, None) + 0.05 * c, 6.0 + 10.0 * np.clip(c, 0, None)
    if regime == "dry_monsoon":
        return 0.04 + 0.45 * np.clip(c, 0, None) ** 1.5, 4.0 + 12.0 * np.clip(c, 0, None)
    if regime == "mediterranean":
        return 0.30 - 0.27 * c, 7.0 - 3.0 * c
    if regime == "arid":
        return 0.10 + 0.06 * c, 3.5 + 1.5 * c
    if regime == "boreal":
        return 0.38 + 0.05 * c, 2.2 + 2.0 * c
    if regime == "maritime":
        return 0.48 - 0.05 * c, 4.2 + 0.8 * c
    return 0.32 + 0.04 * c, 5.5 + 2.5 * c  # humid continental


def site_weather(site: Site, seed: int) -> dict[str, np.ndarray]:
    """Daily reanalysis-like weather at a site abroad, 2015-2023 (arrays over days)."""
    rng = np.random.default_rng(noise.derive_seed(seed, f"site.weather.{site.site_id}"))
    dates = [dt.date(FIRST_YEAR, 1, 1) + dt.timedelta(k)
             for k in range((dt.date(LAST_YEAR, 12, 31) - dt.date(FIRST_YEAR, 1, 1)).days + 1)]
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
    n = len(dates)
    lat = site.lat
    maritime = {"maritime": 3.0, "mediterranean": 2.0, "boreal": -2.0, "arid": -1.0}.get(site.regime, 0.0)
    t_ann = 27.5 - 0.42 * (lat - 20) - 0.0075 * (lat - 20) ** 2 + maritime - clim.LAPSE * site.elevation
    amp = (3.0 + 0.42 * (lat - 18)) * site.continentality
    season = -np.cos(np.pi * clim._seasonal_warp(doy))

    def ar1(phi, scale):
        e = rng.standard_normal(n)
        out = np.empty(n)
        out[0] = e[0]
        for k in range(1, n):
            out[k] = phi * out[k - 1] + np.sqrt(1 - phi * phi) * e[k]
        return out * scale

    winter = 0.5 * (1 - season)
    anomaly = ar1(0.75, 1.0) * (1.3 + 1.6 * winter * min(site.continentality, 1.5)) + ar1(0.985, 0.9)
    p_wet, mean_mm = _regime_precip(site.regime, doy)
    z = ar1(0.5, 1.0)
    from scipy.special import ndtri

    thr = ndtri(1 - np.clip(p_wet, 0.01, 0.95))
    wet = z > thr
    precip = np.where(wet, mean_mm * rng.gamma(0.8, 1.0, n) * (0.6 + 0.8 * np.clip(z - thr, 0, None)), 0.0)
    cloud = np.clip(1 / (1 + np.exp(-(1.6 * (z - thr) + 0.3))), 0.02, 1.0)
    cloud = np.where(wet, np.maximum(cloud, 0.75), cloud)
    tmean = t_ann + amp * season + anomaly - 1.2 * (cloud - 0.5)
    dtr = (12.0 - 6.5 * cloud) * (1.0 if site.regime in ("arid", "dry_monsoon") else 0.85)
    tmax, tmin = tmean + 0.55 * dtr, tmean - 0.45 * dtr
    sw_clear = 0.76 * clim.toa_daily_mean(np.full(n, lat), doy) * (1 + 0.00002 * site.elevation)
    sw = sw_clear * (1 - 0.72 * cloud ** 1.4)
    dryness = {"arid": -0.22, "dry_monsoon": -0.12, "mediterranean": -0.08, "maritime": 0.06}.get(site.regime, 0.0)
    rh = np.clip(0.66 + dryness + 0.28 * (cloud - 0.5) + 0.08 * np.cos(2 * np.pi * (doy - 205) / 365), 0.15, 0.97)
    es = clim.saturation_vapour_pressure(tmean)
    ea = es * rh
    beta, _ = clim.soil_water(precip[:, None], tmean[:, None], sw[:, None], 100.0)
    return {"date": np.array(dates), "doy": doy, "tmean": tmean, "tmin": tmin, "tmax": tmax, "vpd": es - ea,
            "ea": ea, "sw": sw, "sw_clear": sw_clear, "precip": precip, "cloud": cloud, "beta": beta[:, 0]}


# ------------------------------------------------------------------ the surface at a site
def _fractions(pft: str, keys: list[str], footprint: str) -> np.ndarray:
    comp = dict(COMPOSITION[pft])
    if footprint == "tower":  # the 30 m tower pixel is nearly pure
        main = max(comp, key=comp.get)
        comp = {k: (0.97 if k == main else 0.03 * v / max(1e-9, 1 - comp[main])) for k, v in comp.items()}
    f = np.zeros(len(keys))
    for k, v in comp.items():
        f[keys.index(k)] = v
    return f / f.sum()


def surface(site: Site, weather: dict[str, np.ndarray], footprint: str, seed: int) -> dict[str, np.ndarray]:
    """True GPP, reflectance and fPAR of a site's tower pixel or 500 m cell, every day."""
    p = vegetation.class_parameters(extended=True)
    keys = list(p["keys"])
    n = len(weather["doy"])
    f = _fractions(site.pft, keys, footprint)
    F = np.repeat(f[:, None], n, axis=1)
    z = np.full((len(keys), n), site.elevation)
    # thermal green-up and leaf-fall dates of each year from the site's own temperature
    sos = np.empty(n)
    eos = np.empty(n)
    years = np.array([d.year for d in weather["date"]])
    for y in np.unique(years):
        sel = years == y
        s_, e_ = vegetation.thermal_dates(weather["tmean"][sel][:, None])
        sos[sel], eos[sel] = s_[0], e_[0]
    # the kernel adds the elevation shift itself; these dates are already at the site's height
    sos_sl = sos - 0.033 * site.elevation
    eos_sl = eos + 0.025 * site.elevation
    u = noise.uniform2(0, 7, noise.derive_seed(seed, f"site.parcel.{site.site_id}"))
    parcel = np.full(n, float(u) if footprint == "tower" else -1.0)
    clearness = np.clip(weather["sw"] / np.maximum(weather["sw_clear"], 1.0), 0.05, 1.0)
    par = 0.45 * weather["sw"] * 0.0864
    gpp = np.empty(n)
    refl = np.empty((6, n))
    fpar = np.empty(n)
    # the stand's own efficiency, which no reflectance shows (same spread as in Korea)
    lue = np.exp(vegetation.STAND_LUE_SIGMA * np.random.default_rng(
        noise.derive_seed(seed, f"site.lue.{site.site_id}")).standard_normal())
    vegetation.canopy(weather["doy"].astype(np.int64), F, z, np.ones(n), np.zeros(n), parcel,
                      np.full(n, site.lat), sos_sl, eos_sl, weather["tmin"], weather["tmax"], weather["vpd"],
                      par, 1.0 + vegetation.DIFFUSE_GAIN * (1.0 - clearness), weather["beta"], np.full(n, lue),
                      p["eps"], p["tmin0"], p["tmin1"], p["vpd0"], p["vpd1"], p["pheno"], p["ptype"],
                      p["V"], p["B"], p["flood"], p["straw"], gpp, refl, fpar)
    return {"gpp": gpp, "reflectance": refl, "fpar": fpar}


# ------------------------------------------------------------------ what a tower measures
def tower_fluxes(site: Site, gpp_true: np.ndarray, weather: dict[str, np.ndarray],
                 seed: int) -> dict[str, np.ndarray]:
    """FLUXNET-style daily fluxes from the true GPP: NEE, RECO and GPP (NT, DT) with QC."""
    rng = np.random.default_rng(noise.derive_seed(seed, f"site.flux.{site.site_id}"))
    n = len(gpp_true)
    t = weather["tmean"]
    lloyd = np.exp(308.56 * (1 / 56.02 - 1 / (np.clip(t, -30, 40) + 46.02)))
    resp_shape = lloyd * (0.45 + 0.55 * weather["beta"])
    reco = resp_shape * 0.85 * gpp_true.sum() / max(resp_shape.sum(), 1e-9)
    sigma = 0.2 + 0.08 * gpp_true + 0.03 * reco  # random error of a daily NEE (gC m-2 d-1)
    eps = rng.standard_normal(n) * sigma
    nee = reco - gpp_true + eps

    def ar(phi, scale):
        e = rng.standard_normal(n)
        out = np.empty(n)
        out[0] = e[0]
        for k in range(1, n):
            out[k] = phi * out[k - 1] + np.sqrt(1 - phi ** 2) * e[k]
        return out * scale

    # night-time partitioning: respiration extrapolated from nights, biased per site
    reco_nt = reco * (1 + rng.normal(0, 0.04) + ar(0.8, 0.05))
    gpp_nt = np.clip(reco_nt - nee, 0, None)
    # daytime partitioning: light-response fits, a different bias, smaller under high VPD
    dt_bias = rng.normal(-0.03, 0.04) - 0.008 * np.clip(weather["vpd"] - 10, 0, None)
    gpp_dt = np.clip(gpp_true * (1 + dt_bias + ar(0.7, 0.04)) + rng.standard_normal(n) * 0.5 * sigma, 0, None)
    reco_dt = nee + gpp_dt
    # share of good half-hours: worse in rain, in the cold, and during outages
    base = rng.beta(8, 1.6, n)
    qc = base - 0.25 * (weather["precip"] > 5) - 0.15 * (t < -5) + 0.05 * (weather["cloud"] < 0.3)
    for _ in range(rng.poisson(2.0)):
        start = int(rng.integers(0, n))
        qc[start:start + int(rng.integers(5, 45))] = rng.uniform(0.0, 0.3)
    qc = np.clip(qc, 0.0, 1.0)
    return {"NEE_VUT_REF": nee, "NEE_VUT_REF_QC": np.round(qc, 4), "NEE_VUT_REF_RANDUNC": sigma,
            "RECO_NT_VUT_REF": reco_nt, "GPP_NT_VUT_REF": gpp_nt, "RECO_DT_VUT_REF": reco_dt,
            "GPP_DT_VUT_REF": gpp_dt}


def point_clouds(site_id: str, dates: np.ndarray, cover: np.ndarray, seed: int) -> np.ndarray:
    """A uniform draw per site and day: the point is cloudy when it falls below the cloud cover.

    MODIS and Landsat passes of the same day share it, as they share one sky in the maps.
    """
    s = noise.derive_seed(seed, f"site.clouds.{site_id}")
    return np.array([noise.uniform2(0, d.toordinal(), s) for d in dates])
