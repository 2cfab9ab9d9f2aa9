"""The uncertainty band of Step 2: a spread model valid for any member count, plus Step 1's errors.

Spread model. The M raw members of a diffusion ensemble (DDIM with K steps) have, at each
pixel, an unbiased variance s^2. Over many pixels the squared error of the ensemble mean
against a reference is

    MSE(M) = k(K)^2 s^2 + s^2 / M

the error of an infinite ensemble's mean (k^2 s^2) plus the mean's own sampling noise (s^2/M);
a reliable ensemble has k = 1. k is fitted per DDIM step count on the validation tiles against
GPP_L (never the test tiles, never the truth: `evaluate.calibrate_spread`) and interpolated in
log K between the fitted counts. The members' deviations from their mean are then scaled by

    c(M, K) = sqrt((M k^2 + 1) / (M + 1))

so that the scaled members' unbiased variance times (M + 1) / M equals MSE(M) for every M:
the member count enters through the finite-ensemble factor, not through a refit.

GPP_M's error. The ensemble takes GPP_M as given, so its spread cannot hold GPP_M's own
error. That error is shared by the whole 500 m cell, so it enters the 30 m band as a field
constant within each cell: sigma_M of the cell from the GPP_M model's spatial-CV residuals by
plant type and season (gpp/error_model.py; the cell's class fractions weight the classes'
variances), times a factor a(K) fitted on the validation tiles from the 1.5 km block-mean
error of the ensemble mean against GPP_L (the part of the error the members do not spread).

GPP_L's error. The members and a are fitted so that the band holds the error against GPP_L,
the reference a real-data user has and the model learned. Against the ground, GPP_L's own error
comes on top: sigma_L of the 30 m pixel from the GPP_L model's spatial-CV residuals by plant type
and season (the pixel's class fractions weight the classes' variances), added in quadrature with
no fitted factor (an independent error of the reference; nothing here is fitted to the truth).

The band a user sees (band 2 of `unique downscale run`, the std layer of the app) is

    band = sqrt(c^2 s^2 (M + 1) / M + a^2 sigma_M^2 + sigma_L^2)

One member has no spread: the mean is written alone (no band).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from unique_core.errors import ModelError

MEMBERS_RANGE = (2, 16)  # member counts a band may be made with (the CLI's and app's limits)
LEGEND = ("Uncertainty (1 standard deviation, gC m-2 d-1) of the 30 m map: the ensemble's spread of the "
          "downscaling, corrected for the number of members, plus the error of the 500 m GPP_M it starts "
          "from (shared by each 500 m cell), both calibrated on validation tiles against Landsat GPP, plus "
          "the Landsat GPP model's own error against tower GPP (spatial cross-validation, by plant type and "
          "season); about two thirds of true values should lie within one band of the mean.")


def spread_model(config) -> dict:
    """The fitted spread model of a model config ({} when uncalibrated)."""
    cal = getattr(config, "spread_calibration", None) or {}
    return cal if cal.get("model") == "finite_ensemble" else {}


def check_setting(config, members: int, steps: int | None) -> None:
    """ModelError when an ensemble band would come from a setting the spread model does not cover.

    One member (no band) and the regression model are always allowed. A band needs 2..16
    members and a DDIM step count within the fitted range (DDPM is not calibrated).
    """
    if members < 2 or config.kind != "diffusion":
        return
    cal = spread_model(config)
    fix = f"`unique downscale calibrate --scheme {config.scheme}`"
    if not cal:
        raise ModelError(f"the {config.scheme} model's ensemble spread is not calibrated, so it has no honest "
                         f"uncertainty band: run {fix} first, or use --members 1 (no band)")
    lo, hi = MEMBERS_RANGE
    if not lo <= members <= hi:
        raise ModelError(f"an uncertainty band needs {lo} to {hi} members, not {members}: use --members {lo}-{hi}, "
                         "or --members 1 (no band)")
    k_steps = cal["steps"]
    if steps is None or not k_steps[0] <= steps <= k_steps[-1]:
        raise ModelError(f"the {config.scheme} spread is calibrated for DDIM {k_steps[0]} to {k_steps[-1]} steps, "
                         f"not {'DDPM' if steps is None else steps}: use --steps {k_steps[0]}-{k_steps[-1]}, "
                         "or --members 1 (no band)")


def _interp(cal: dict, key: str, steps: int) -> float:
    """A fitted per-step-count value, interpolated in log steps (steps inside the fitted range)."""
    return float(np.interp(np.log(steps), np.log(cal["steps"]), cal[key]))


def member_scale(config, members: int, steps: int | None) -> float:
    """c(M, K): the factor on the members' deviations from their mean (1 for raw or single members)."""
    cal = spread_model(config)
    if members < 2 or not cal:
        return 1.0
    check_setting(config, members, steps)
    k = _interp(cal, "k", steps)
    return float(np.sqrt((members * k * k + 1) / (members + 1)))


def gpp_m_factor(config, steps: int) -> float:
    """a(K): the factor on GPP_M's cross-validation error in the band (0 when uncalibrated)."""
    cal = spread_model(config)
    return _interp(cal, "a", steps) if cal else 0.0


def cell_sigma(fractions_coarse: np.ndarray, date: dt.date, table: dict | None = None) -> np.ndarray:
    """A Step 1 model's error (h, w) per cell of `fractions_coarse` (any grid; GPP_M's table unless one is
    given): sqrt of the class variances weighted by the cell's land fractions."""
    from unique_core.features import CLASS_TO_PFT
    from unique_core.gpp import error_model
    from unique_core.landcover import KEYS

    table = table or error_model.error_table()
    frac = np.array(fractions_coarse, dtype=np.float64, copy=True)
    frac[[KEYS.index("water"), KEYS.index("barren")]] = 0.0
    var = np.array([error_model.sigma(CLASS_TO_PFT[k], date, table) ** 2 for k in KEYS])
    total = frac.sum(axis=0)
    mean_var = np.tensordot(var, frac, axes=1) / np.maximum(total, 1e-9)
    # a cell without vegetated land (water, barren): the all-class error
    return np.sqrt(np.where(total > 0, mean_var, table["global"][0] ** 2)).astype(np.float32)


def sigma_field(world, region, date: dt.date, table: dict | None = None) -> np.ndarray:
    """GPP_M's error (H, W) on the region's 30 m grid, constant within each 500 m cell."""
    from unique_core.resample import coarse_to_fine_nearest

    sc = world.static_coarse(region)
    return coarse_to_fine_nearest(cell_sigma(sc.fractions, date, table), sc.grid, region.fine).astype(np.float32)


def landsat_sigma_field(world, region, date: dt.date, table: dict | None = None) -> np.ndarray:
    """GPP_L's error (H, W) at each 30 m pixel: sqrt of the class variances of the GPP_L model's
    cross-validation weighted by the pixel's land fractions (the all-class error off vegetation)."""
    from unique_core.gpp import error_model

    table = table or error_model.error_table(sensor="landsat")
    return cell_sigma(world.static(region).fractions, date, table)


def band(members: np.ndarray, sigma_m: np.ndarray | None, a: float, sigma_l: np.ndarray | None = None
         ) -> np.ndarray:
    """The band (H, W): sqrt(var(members, ddof=1) (M + 1) / M + (a sigma_M)^2 + sigma_L^2), members (M, H, W)
    already scaled; sigma_M / sigma_L None: no such term."""
    from unique_core.gpp.error_model import total_std

    return total_std(members, _step1(members.shape[1:], sigma_m, a, sigma_l))


def _step1(shape: tuple[int, ...], sigma_m: np.ndarray | None, a: float, sigma_l: np.ndarray | None) -> np.ndarray:
    """sqrt((a sigma_M)^2 + sigma_L^2) (H, W); a term that is None is left out."""
    var = np.zeros(shape, np.float64)
    if sigma_m is not None:
        var = var + (a * np.asarray(sigma_m, np.float64)) ** 2
    if sigma_l is not None:
        var = var + np.asarray(sigma_l, np.float64) ** 2
    return np.sqrt(var).astype(np.float32)


def step1_sigma(model, world, region, date: dt.date, steps: int) -> np.ndarray:
    """Step 1's part of the band (H, W): sqrt((a sigma_M)^2 + sigma_L^2) on a region and day. It depends
    on the day only through its season (error_model.SEASONS), so a batch of days can share it."""
    a = gpp_m_factor(model.config, steps)
    sigma_l = landsat_sigma_field(world, region, date)
    return _step1(sigma_l.shape, sigma_field(world, region, date) if a > 0 else None, a, sigma_l)


def user_band(model, world, region, date: dt.date, members: np.ndarray, steps: int) -> np.ndarray:
    """The band a user sees for scaled members (M, H, W) of `model` on a region and day."""
    from unique_core.gpp.error_model import total_std

    return total_std(members, step1_sigma(model, world, region, date, steps))
