"""Step 1's error, carried into the uncertainty band a user sees.

The diffusion ensemble only knows the downscaling's own uncertainty: it takes GPP_M as given
and learns GPP_L. Against the truth, Step 1's errors come on top. This error model is the
root-mean-square residual of a shipped Step 1 model in its 20-fold spatial cross-validation
(held-out towers, assets/models/gpp_<sensor>/cv_predictions_sample.csv) by plant type and
season; a combination with fewer than MIN_COUNT residuals falls back to the plant type over
the year, then to all.

A tower's daily GPP is not the truth either: its random error (FLUXNET's NEE_VUT_REF_RANDUNC,
which the night-time partitioning passes to GPP unchanged) is in every residual, but not in the
model's error at a pixel. Where the sample carries it (`nee_randunc`), its mean square is taken
from the residuals' (independent errors add in variance; the random error as FLUXNET estimates it,
after Richardson et al. 2006), never leaving less than MIN_SHARE of it; rows without it subtract
nothing:

    sigma^2 = max(mean(residual^2) - mean(randunc^2), MIN_SHARE mean(residual^2))

Two error models are used (downscale/uncertainty.py):

    std_total = sqrt(s^2 (M + 1) / M + (a sigma_M)^2 + sigma_L^2)

with s^2 the calibrated members' unbiased variance (its (M + 1) / M factor makes it a
predictive spread for any member count M), sigma_M the GPP_M model's error for the 500 m
cell's plant types and the day's season, a a factor fitted on validation tiles against GPP_L,
and sigma_L the GPP_L model's error for the 30 m pixel's plant types and season: the error of
the reference the downscaler learned and was calibrated against.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np

from unique_core.errors import ModelError

MIN_COUNT = 50
MIN_SHARE = 0.25  # the tower noise taken out never leaves less than a quarter of the residuals' mean square
SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
           9: "SON", 10: "SON", 11: "SON"}



SENSORS = ("modis", "landsat")


def cv_file(models_dir: str | Path | None = None, sensor: str = "modis") -> Path:
    from unique_core.config import models_dir as default

    if sensor not in SENSORS:
        raise ValueError(f"error model sensor {sensor!r}: choose modis or landsat")
    return Path(models_dir or default()) / f"gpp_{sensor}" / "cv_predictions_sample.csv"


@functools.lru_cache(maxsize=4)
def _fit(path: str, mtime_ns: int, sensor: str = "modis") -> dict:
    import pandas as pd

    columns = pd.read_csv(path, nrows=0).columns
    noisy = "nee_randunc" in columns
    d = pd.read_csv(path, usecols=["date", "pft_name", "gpp", "pred_lightgbm", *(["nee_randunc"] if noisy else [])])
    d = d[np.isfinite(d["gpp"]) & np.isfinite(d["pred_lightgbm"])]
    if d.empty:
        raise ModelError(f"{path}: no finite cross-validation predictions to fit the GPP_{sensor[0].upper()} error "
                         f"model from; rerun `unique gpp cv --sensor {sensor}`")
    res2 = (d["pred_lightgbm"] - d["gpp"]) ** 2
    noise2 = (d["nee_randunc"].fillna(0.0) ** 2) if noisy else pd.Series(0.0, index=d.index)
    season = pd.to_datetime(d["date"].astype(str)).dt.month.map(SEASONS)

    def cell(rows) -> list:
        r2, n2 = float(res2[rows].mean()), float(noise2[rows].mean())
        return [float(np.sqrt(max(r2 - n2, MIN_SHARE * r2))), int(rows.sum())]

    everything = pd.Series(True, index=d.index)
    out = {"global": cell(everything), "by_pft": {}, "by_pft_season": {},
           "tower_noise_removed": bool(noisy), "raw_global": float(np.sqrt(res2.mean()))}
    for pft in d["pft_name"].unique():
        rows = d["pft_name"] == pft
        out["by_pft"][pft] = cell(rows)
        for s in season[rows].unique():
            out["by_pft_season"].setdefault(pft, {})[s] = cell(rows & (season == s))
    return out


def error_table(models_dir: str | Path | None = None, sensor: str = "modis") -> dict:
    """{'global': [rmse, n], 'by_pft': {pft: [rmse, n]}, 'by_pft_season': {pft: {season: [rmse, n]}},
    'tower_noise_removed': bool, 'raw_global': the residuals' RMSE with the noise in} of the GPP_M
    (sensor 'modis') or GPP_L ('landsat') model's spatial cross-validation, the towers' own random
    error taken out where the predictions carry it."""
    path = cv_file(models_dir, sensor)
    if not path.exists():
        raise ModelError(f"{path}: the GPP_{sensor[0].upper()} cross-validation predictions are missing; "
                         f"run `unique gpp cv --sensor {sensor}` to make them")
    return _fit(str(path), path.stat().st_mtime_ns, sensor)


def sigma(pft: str, date: dt.date, table: dict | None = None) -> float:
    """The error (gC m-2 d-1) for a model plant type (features.PFT_CODES) on a day (GPP_M's unless a table is given)."""
    table = table or error_table()
    s = SEASONS[date.month]
    cell = table["by_pft_season"].get(pft, {}).get(s)
    if cell and cell[1] >= MIN_COUNT:
        return cell[0]
    cell = table["by_pft"].get(pft)
    if cell and cell[1] >= MIN_COUNT:
        return cell[0]
    return table["global"][0]


def sigma_map(fractions: np.ndarray, date: dt.date, table: dict | None = None) -> np.ndarray:
    """GPP_M's error (H, W) at each pixel's plant type (dominant vegetated class) on a day."""
    from unique_core.features import CLASS_TO_PFT
    from unique_core.landcover import KEYS

    table = table or error_table()
    frac = np.array(fractions, dtype=np.float32, copy=True)
    frac[[KEYS.index("water"), KEYS.index("barren")]] = -1
    lut = np.array([sigma(CLASS_TO_PFT[k], date, table) for k in KEYS], np.float32)
    return lut[frac.argmax(axis=0)]


def total_std(members: np.ndarray, sigma_m: np.ndarray) -> np.ndarray:
    """sqrt(s^2 (M+1)/M + sigma^2) (H, W) from members (M, H, W), M >= 2, and an error field sigma (H, W)."""
    m = members.shape[0]
    if m < 2:
        raise ModelError("an uncertainty band needs an ensemble of at least 2 members: use --members 2 or more")
    var = members.var(axis=0, ddof=1) * (m + 1) / m
    return np.sqrt(var + sigma_m ** 2).astype(np.float32)
