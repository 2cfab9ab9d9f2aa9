"""Baselines for Step 1: MOD17 (the `mod17` package, BPLUT C5.1, fPAR from NDVI) and a climatology."""

from __future__ import annotations

import numpy as np
import pandas as pd

# the MOD17 biome (BPLUT column) of each plant type
PFT_BIOME = {"ENF": "ENF", "EBF": "EBF", "DBF": "DBF", "MF": "MF", "OSH": "OShrub", "SAV": "Savannas",
             "WSA": "WSavannas", "GRA": "Grass", "WET": "Grass", "CRO": "Crop", "RICE": "Crop"}


def fpar_from_ndvi(ndvi: np.ndarray) -> np.ndarray:
    """fPAR from NDVI, the linear relation used when MOD15 fPAR is not at hand (0 to 0.95)."""
    return np.clip(1.24 * np.asarray(ndvi, float) - 0.168, 0.0, 0.95)


def mod17_predict(rows: pd.DataFrame) -> np.ndarray:
    """MOD17 daily GPP (gC m-2 d-1) for feature rows (pft_name, ndvi, tmin, vpd in hPa, sw in W m-2)."""
    from mod17 import MOD17

    from unique_core.world.vegetation import bplut

    table = bplut()
    out = np.full(len(rows), np.nan)
    fpar = fpar_from_ndvi(rows["ndvi"].to_numpy())
    par = MOD17.par(rows["sw"].to_numpy())  # daily-mean W m-2 -> MJ m-2 d-1 (period_hrs=1: see TOOLING.md)
    for pft, idx in rows.groupby("pft_name").indices.items():
        b = table[PFT_BIOME[pft]]
        model = MOD17({"LUE_max": b["LUE_max"] / 1000.0, "tmin0": b["tmin0"], "tmin1": b["tmin1"],
                       "vpd0": b["vpd0"], "vpd1": b["vpd1"], "SLA": 1, "Q10_livewood": 2, "Q10_froot": 2,
                       "froot_leaf_ratio": 1, "livewood_leaf_ratio": 0, "leaf_mr_base": 0, "froot_mr_base": 0,
                       "livewood_mr_base": 0})
        sub = rows.iloc[idx]
        out[idx] = model.daily_gpp(fpar[idx], sub["tmin"].to_numpy(), sub["vpd"].to_numpy() * 100.0, par[idx])
    return np.where(np.isfinite(rows["ndvi"].to_numpy()), out, np.nan)


def climatology_predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Mean GPP of the training sites by plant type and 15-day period of the year."""
    def period(df):
        return ((pd.to_datetime(df["date"]).dt.day_of_year - 1) // 15).to_numpy()

    means = train.assign(period=period(train)).groupby(["pft_name", "period"])["gpp"].mean().to_dict()
    by_pft = train.groupby("pft_name")["gpp"].mean().to_dict()
    overall = float(train["gpp"].mean())
    return np.array([means.get((p, d), by_pft.get(p, overall)) for p, d in zip(test["pft_name"], period(test))],
                    dtype=float)
