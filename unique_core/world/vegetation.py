"""Phenology, surface reflectance and the "true" GPP of the simulated Korea.

For every land class c inside a pixel (fraction f_c), a green fraction g_c(t) follows the
class's calendar, and

    reflectance_b = sum_c f_c [ g_c V_cb + (1 - g_c) B_cb(t) ]             (6 bands)
    GPP           = sum_c f_c eps_c f_Tmin,c(Tmin) f_VPD,c(VPD) fPAR_c PAR
                          x heat(Tmax) x water_c x diffuse                    (gC m-2 d-1)

V is the class's green-canopy endmember, B its background (litter, soil, flood water,
straw, pavement). eps, f_Tmin and f_VPD are MOD17's, with the biome parameters (BPLUT
C5.1) shipped in the `mod17` package. The truth adds four processes MOD17 leaves out, so
that a data-driven model has something to learn that MOD17 cannot: (1) soil-water stress
from a precipitation bucket (paddies are irrigated and never stressed); (2) enhanced
light-use efficiency under diffuse light on cloudy days; (3) heat stress above 31 degC;
(4) crop light-use efficiencies above MOD17's generic "Crop" value (irrigated, fertilised
rice especially), MOD17's best-known weakness in croplands; (5) canopy light saturation:
efficiency falls as absorbed light rises (equal to MOD17's at 6 MJ m-2 d-1 of APAR); (6)
stands of one type differ in efficiency (nutrients, species, age) by about +-15 %, in a way
no reflectance shows: a smooth field of ~4 km in Korea, a factor per site abroad.

Phenology of natural vegetation is thermal: green-up when growing degree-days above 5 degC
reach a class threshold, senescence when the 15-day mean temperature falls below one; both
shift by elevation (about 3.3 days per 100 m later in spring, 2.5 earlier in autumn).
Rice is transplanted in late May to mid-June (later in the south, after barley), flooded
until mid-season, peaks in August and is harvested in October; dry fields follow one of
three parcel calendars (a summer crop, a winter crop then a summer crop, two vegetable
crops), or highland cabbage.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from numba import njit, prange

from unique_core.landcover import CLASSES, N_CLASSES

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
N_BANDS = len(BANDS)

# Endmembers (surface reflectance, 0-1): green canopy V and background B of each class, in
# the order of unique_core.landcover.CLASSES. Chosen so that NDVI lands in the ranges of
# SCIENCE.md (summer forest 0.8-0.9, winter deciduous 0.3-0.5, winter conifers 0.5-0.7,
# flooded paddy 0.1-0.3, urban 0.1-0.2, water < 0).
_V = {
    "urban": (0.030, 0.070, 0.040, 0.430, 0.210, 0.100),
    "paddy": (0.030, 0.085, 0.040, 0.500, 0.240, 0.100),
    "field": (0.030, 0.080, 0.045, 0.480, 0.250, 0.110),
    "deciduous": (0.028, 0.070, 0.038, 0.450, 0.220, 0.100),
    "coniferous": (0.020, 0.050, 0.028, 0.310, 0.140, 0.060),
    "mixed": (0.024, 0.060, 0.033, 0.380, 0.180, 0.080),
    "grassland": (0.035, 0.085, 0.050, 0.420, 0.250, 0.120),
    "wetland": (0.030, 0.075, 0.045, 0.400, 0.200, 0.090),
    "barren": (0.030, 0.070, 0.045, 0.400, 0.230, 0.110),
    "water": (0.030, 0.070, 0.045, 0.400, 0.230, 0.110),
}
_B = {
    "urban": (0.100, 0.110, 0.125, 0.165, 0.200, 0.180),
    "paddy": (0.080, 0.110, 0.150, 0.220, 0.300, 0.250),  # soil; flood water replaces it in season
    "field": (0.085, 0.115, 0.160, 0.230, 0.320, 0.270),
    "deciduous": (0.055, 0.080, 0.110, 0.250, 0.300, 0.210),  # leaf litter and branches
    "coniferous": (0.050, 0.075, 0.100, 0.240, 0.280, 0.200),
    "mixed": (0.052, 0.078, 0.105, 0.245, 0.290, 0.205),
    "grassland": (0.070, 0.100, 0.140, 0.260, 0.330, 0.250),  # dry grass
    "wetland": (0.060, 0.075, 0.070, 0.090, 0.080, 0.050),  # reeds' litter over water and mud
    "barren": (0.120, 0.150, 0.180, 0.240, 0.300, 0.260),
    "water": (0.060, 0.070, 0.055, 0.030, 0.015, 0.010),
}
# Plant types found at flux sites outside Korea only (after the ten Korean classes).
SITE_ONLY = ("evergreen_broadleaf", "open_shrub", "savanna")
SITE_ONLY_BIOME = {"evergreen_broadleaf": "EBF", "open_shrub": "OShrub", "savanna": "Savannas"}
_V.update({"evergreen_broadleaf": (0.025, 0.065, 0.035, 0.420, 0.200, 0.090),
           "open_shrub": (0.035, 0.080, 0.060, 0.330, 0.260, 0.150),
           "savanna": (0.035, 0.080, 0.055, 0.380, 0.250, 0.130)})
_B.update({"evergreen_broadleaf": (0.055, 0.080, 0.110, 0.250, 0.300, 0.210),
           "open_shrub": (0.130, 0.170, 0.220, 0.280, 0.360, 0.310),
           "savanna": (0.100, 0.140, 0.190, 0.270, 0.350, 0.290)})
FLOOD_WATER = (0.065, 0.075, 0.060, 0.045, 0.025, 0.015)
STRAW = (0.090, 0.120, 0.150, 0.260, 0.330, 0.260)

# Phenology: gmin, gmax, spring offset and autumn offset (days from the deciduous dates),
# spring and autumn widths (days). Crops are handled by their calendars (gmin/gmax used only).
_PHENO = {
    "urban": (0.02, 0.10, 0, 0, 5, 8),
    "paddy": (0.0, 0.95, 0, 0, 8, 7),
    "field": (0.0, 0.88, 0, 0, 9, 8),
    "deciduous": (0.10, 0.92, 0, 0, 5, 8),
    "coniferous": (0.55, 0.78, -10, 25, 10, 15),  # clumped needleleaf canopies absorb less
    "mixed": (0.35, 0.86, -5, 10, 7, 10),
    "grassland": (0.06, 0.78, -12, -5, 7, 9),
    "wetland": (0.05, 0.80, 10, -10, 8, 9),
    "barren": (0.02, 0.02, 0, 0, 5, 5),
    "water": (0.0, 0.0, 0, 0, 5, 5),
    "evergreen_broadleaf": (0.80, 0.93, -15, 30, 10, 15),
    "open_shrub": (0.08, 0.35, -10, 0, 8, 10),
    "savanna": (0.10, 0.70, -15, 5, 8, 10),
}
# Phenology type: 0 thermal, 1 irrigated rice, 2 dry-field calendars, 3 thermal and water-limited.
_PTYPE = {"paddy": 1, "field": 2, "open_shrub": 3, "savanna": 3, "grassland": 3}
# True-world light-use efficiency relative to MOD17's biome value (documented in docs/world.md).
_LUE_GAIN = {"paddy": 1.55, "field": 1.25}

HEAT_T0 = 31.0  # degC: Tmax above which photosynthesis declines
APAR_SAT = 25.0  # MJ m-2 d-1: scale of canopy light saturation
APAR_REF = 6.0  # MJ m-2 d-1: absorbed light at which the truth's efficiency equals MOD17's
DIFFUSE_GAIN = 0.45  # LUE gain under fully diffuse light (clearness index 0)
STAND_LUE_SIGMA = 0.15  # log-normal spread of stand light-use efficiency


@functools.lru_cache(maxsize=1)
def bplut() -> dict[str, dict[str, float]]:
    """MOD17 C5.1 biome parameters from the `mod17` package: {biome: {LUE_max, tmin0, ...}}."""
    import mod17

    path = Path(mod17.__file__).parent / "data" / "MOD17_BPLUT_C5.1_MERRA_NASA.csv"
    rows = [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    biomes = [c.split("=")[0].strip() for c in rows[0][1:]]
    table = {r[0].split("(")[0].strip(): [float(v) for v in r[1:]] for r in rows[1:]}
    return {b: {"LUE_max": table["LUEmax"][i] * 1000.0,  # kgC/MJ -> gC/MJ
                "tmin0": table["Tmin_min"][i], "tmin1": table["Tmin_max"][i],
                "vpd0": table["VPD_min"][i], "vpd1": table["VPD_max"][i]}
            for i, b in enumerate(biomes)}


@functools.lru_cache(maxsize=2)
def class_parameters(extended: bool = False) -> dict[str, np.ndarray]:
    """Arrays over classes that the kernel reads: the ten Korean classes (order of CLASSES),
    then, if `extended`, the site-only plant types of SITE_ONLY."""
    p = bplut()
    keys = [c.key for c in CLASSES] + (list(SITE_ONLY) if extended else [])
    biomes = {c.key: c.mod17_biome for c in CLASSES} | SITE_ONLY_BIOME
    n = len(keys)
    eps, t0, t1, v0, v1 = (np.zeros(n) for _ in range(5))
    for i, k in enumerate(keys):
        if biomes[k] is None:
            continue
        b = p[biomes[k]]
        eps[i] = b["LUE_max"] * _LUE_GAIN.get(k, 1.0)
        t0[i], t1[i], v0[i], v1[i] = b["tmin0"], b["tmin1"], b["vpd0"], b["vpd1"]
    return {"eps": eps, "tmin0": t0, "tmin1": t1, "vpd0": v0, "vpd1": v1,
            "pheno": np.array([_PHENO[k] for k in keys], dtype=np.float64),
            "ptype": np.array([_PTYPE.get(k, 0) for k in keys], dtype=np.int64),
            "V": np.array([_V[k] for k in keys]), "B": np.array([_B[k] for k in keys]),
            "flood": np.array(FLOOD_WATER), "straw": np.array(STRAW), "keys": np.array(keys)}


# ------------------------------------------------------------------ phenology dates
def thermal_dates(tmean_sl: np.ndarray, doy0: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Deciduous green-up and leaf-fall day of year from a year of sea-level daily mean temperature.

    tmean_sl: (days, ...) degC. Green-up: growing degree-days above 5 degC reach 180.
    Leaf fall: after midsummer, the 15-day running mean first drops below 11 degC.
    """
    gdd = np.cumsum(np.clip(tmean_sl - 5.0, 0.0, None), axis=0)
    days = np.arange(tmean_sl.shape[0])[:, None] + doy0
    flat_gdd = gdd.reshape(gdd.shape[0], -1)
    sos = np.array([np.interp(180.0, flat_gdd[:, k], days[:, 0]) for k in range(flat_gdd.shape[1])])
    kernel = np.ones(15) / 15.0
    flat_t = tmean_sl.reshape(tmean_sl.shape[0], -1)
    eos = np.empty(flat_t.shape[1])
    for k in range(flat_t.shape[1]):
        sm = np.convolve(np.pad(flat_t[:, k], 7, mode="edge"), kernel, mode="valid")
        late = np.nonzero((sm < 11.0) & (np.arange(len(sm)) > 200))[0]
        eos[k] = (late[0] + doy0) if len(late) else 330.0
    shape = tmean_sl.shape[1:]
    return sos.reshape(shape), eos.reshape(shape)


# ------------------------------------------------------------------ the kernel
@njit(cache=True, inline="always")
def _logistic(t):
    return 1.0 / (1.0 + np.exp(-t))


@njit(cache=True, inline="always")
def _bump(t, start, end, w_up, w_down):
    return _logistic((t - start) / w_up) * (1.0 - _logistic((t - end) / w_down))


@njit(cache=True)
def _rice(t, tp, double):
    """Rice green fraction, flood-water share of the background, straw share, for day t."""
    g = 0.95 * _bump(t, tp + 32.0, tp + 108.0, 8.0, 7.0)
    if double:  # winter barley before rice, in the south
        g += 0.72 * _bump(t, 75.0, tp - 14.0, 10.0, 4.0) + 0.12 * (1.0 - _logistic((t - 60.0) / 8.0))
    flood = 1.0 if (t >= tp - 18.0 and t <= tp + 85.0) else 0.0
    straw = 1.0 if t > tp + 100.0 else 0.0
    return min(g, 0.97), flood, straw


@njit(cache=True)
def _field_crop(t, kind, sow_shift):
    """Dry-field green fraction for a parcel calendar `kind` (0-3)."""
    if kind == 0:  # one summer crop: soybean, maize, peppers
        return 0.85 * _bump(t, 170.0 + sow_shift, 258.0 + sow_shift, 9.0, 8.0)
    if kind == 1:  # a winter crop (garlic, onion, barley), then a summer crop
        winter = 0.70 * _bump(t, 78.0 + sow_shift, 152.0 + sow_shift, 10.0, 5.0) + 0.18 * (1.0 - _logistic((t - 60.0) / 8.0)) \
            + 0.18 * _logistic((t - 300.0) / 8.0)
        return winter + 0.80 * _bump(t, 200.0 + sow_shift, 282.0 + sow_shift, 8.0, 8.0)
    if kind == 2:  # two vegetable crops (spring and autumn cabbage, radish)
        return 0.80 * (_bump(t, 112.0 + sow_shift, 165.0 + sow_shift, 7.0, 4.0)
                       + _bump(t, 232.0 + sow_shift, 312.0 + sow_shift, 7.0, 5.0))
    # highland summer cabbage
    return 0.85 * _bump(t, 168.0 + sow_shift, 232.0 + sow_shift, 7.0, 4.0)


@njit(cache=True, parallel=True)
def canopy(doy, F, zc, vigor, jitter, parcel, lat, sos_sl, eos_sl, tmin, tmax, vpd_hpa, par,
           diffuse, beta, lue, eps, tmin0, tmin1, vpd0, vpd1, pheno, ptype, V, B, flood_r, straw_r,
           out_gpp, out_refl, out_fpar):
    """Per-element GPP (gC m-2 d-1), reflectance (6 bands) and fPAR.

    An element is a pixel on one day (maps) or one day of a site (flux towers): doy (N) day of
    year; F (C, N) fractions; zc (C, N) elevation of each class in the pixel (m); vigor, jitter
    (days) and parcel (uniform 0-1, or -1 for a 500 m cell that averages over parcels) (N);
    sos_sl/eos_sl: deciduous dates at sea level (N); meteorology (N); lue (N): the stand's
    light-use efficiency relative to its type (nutrients, species, age; invisible to
    reflectance); parameters over classes.
    """
    C = F.shape[0]
    N = F.shape[1]
    for n in prange(N):
        t = float(doy[n])
        gpp = 0.0
        fpar_tot = 0.0
        r0 = r1 = r2 = r3 = r4 = r5 = 0.0
        tn = tmin[n]
        heat = min(1.0, max(0.3, 1.0 - (tmax[n] - 31.0) / 10.0))
        vpd_pa = vpd_hpa[n] * 100.0
        south = min(max((35.8 - lat[n]) / 1.3, 0.0), 1.0)
        for c in range(C):
            f = F[c, n]
            if f <= 0.0:
                continue
            gmin = pheno[c, 0]
            gmax = pheno[c, 1]
            flood = 0.0
            straw = 0.0
            if ptype[c] == 1:  # irrigated rice
                if parcel[n] >= 0.0:
                    tp = 146.0 + 15.0 * south + 12.0 * (parcel[n] - 0.5) + 0.02 * zc[c, n]
                    double = south > 0.3 and parcel[n] > 0.55
                    g, flood, straw = _rice(t, tp, double)
                else:  # a 500 m cell: average transplanting dates over its parcels
                    g = 0.0
                    for q in range(5):
                        u = 0.1 + 0.2 * q
                        tp = 146.0 + 15.0 * south + 12.0 * (u - 0.5) + 0.02 * zc[c, n]
                        gq, fq, sq = _rice(t, tp, south > 0.3 and u > 0.55)
                        g += 0.2 * gq
                        flood += 0.2 * fq
                        straw += 0.2 * sq
                g *= vigor[n]
            elif ptype[c] == 2:  # dry field
                shift = min(max(3.2 * (lat[n] - 35.5), -20.0), 20.0) + 0.01 * zc[c, n]
                if parcel[n] >= 0.0:
                    u = parcel[n]
                    kind = 3 if zc[c, n] > 550.0 else (0 if u < 0.45 else (1 if u < 0.75 else 2))
                    g = _field_crop(t, kind, shift + 10.0 * (u - 0.5))
                elif zc[c, n] > 550.0:
                    g = _field_crop(t, 3, shift)
                else:
                    g = 0.45 * _field_crop(t, 0, shift) + 0.30 * _field_crop(t, 1, shift) + 0.25 * _field_crop(t, 2, shift)
                g *= vigor[n]
            else:
                sos = sos_sl[n] + pheno[c, 2] + 0.033 * zc[c, n] + jitter[n]
                eos = eos_sl[n] + pheno[c, 3] - 0.025 * zc[c, n] + 0.5 * jitter[n]
                g = gmin + (gmax * vigor[n] - gmin) * _bump(t, sos, eos, pheno[c, 4], pheno[c, 5])
                if ptype[c] == 3:  # grasses and shrubs brown off when the soil dries
                    g = gmin + (g - gmin) * (0.35 + 0.65 * beta[n])
            g = min(max(g, 0.0), 0.99)
            # background of this class today
            b0 = B[c, 0]; b1 = B[c, 1]; b2 = B[c, 2]; b3 = B[c, 3]; b4 = B[c, 4]; b5 = B[c, 5]
            if flood > 0.0 or straw > 0.0:
                keep = 1.0 - flood - straw
                b0 = keep * b0 + flood * flood_r[0] + straw * straw_r[0]
                b1 = keep * b1 + flood * flood_r[1] + straw * straw_r[1]
                b2 = keep * b2 + flood * flood_r[2] + straw * straw_r[2]
                b3 = keep * b3 + flood * flood_r[3] + straw * straw_r[3]
                b4 = keep * b4 + flood * flood_r[4] + straw * straw_r[4]
                b5 = keep * b5 + flood * flood_r[5] + straw * straw_r[5]
            r0 += f * (g * V[c, 0] + (1.0 - g) * b0)
            r1 += f * (g * V[c, 1] + (1.0 - g) * b1)
            r2 += f * (g * V[c, 2] + (1.0 - g) * b2)
            r3 += f * (g * V[c, 3] + (1.0 - g) * b3)
            r4 += f * (g * V[c, 4] + (1.0 - g) * b4)
            r5 += f * (g * V[c, 5] + (1.0 - g) * b5)
            fpar = min(0.98 * g, 0.95)
            fpar_tot += f * fpar
            if eps[c] <= 0.0:
                continue
            ft = min(max((tn - tmin0[c]) / (tmin1[c] - tmin0[c]), 0.0), 1.0)
            fv = min(max((vpd1[c] - vpd_pa) / (vpd1[c] - vpd0[c]), 0.0), 1.0)
            water = 1.0 if ptype[c] == 1 else beta[n]
            # light saturation: efficiency falls as absorbed light rises (1 at APAR_REF)
            apar = fpar * par[n]
            sat = (1.0 + APAR_REF / APAR_SAT) / (1.0 + apar / APAR_SAT)
            gpp += f * eps[c] * ft * fv * fpar * water * sat
        out_gpp[n] = gpp * par[n] * heat * diffuse[n] * lue[n]
        out_fpar[n] = fpar_tot
        out_refl[0, n] = r0
        out_refl[1, n] = r1
        out_refl[2, n] = r2
        out_refl[3, n] = r3
        out_refl[4, n] = r4
        out_refl[5, n] = r5
