"""Scores of maps and ensembles, on reference libraries where one exists.

- `crps_ensemble`: the fair CRPS estimator of an M-member ensemble (scoringrules'
  `crps_ensemble(..., estimator="fair")`: E|X - y| - E|X - X'| / 2 with the M(M-1) pairs),
  unbiased for the CRPS of the distribution the members are drawn from.
- `ssim`: skimage.metrics.structural_similarity with an explicit data range, scored on land
  pixels only (the SSIM map averaged over land).
- `spread_skill`: sqrt(mean ensemble variance) * sqrt((M + 1) / M) over the RMSE of the
  ensemble mean (Fortin et al. 2014): 1 for a reliable ensemble of any size.
- `rank_histogram`: counts of the observation's rank among the members (M + 1 bins), with
  ties broken at random; flat for a reliable ensemble, U-shaped when it is under-dispersed.
- `crps_normal`, `pit_histogram`: the CRPS and the probability-integral-transform histogram
  of a Gaussian band (mean, std), e.g. the uncertainty band a user sees; the PIT histogram is
  the rank histogram of a continuous forecast (flat when reliable, U when too narrow).
- `pooled`: sufficient sums of one window, so RMSE, MAE, bias and r can be pooled over any
  set of windows (and bootstrapped) without keeping pixels.
"""

from __future__ import annotations

import numpy as np

POOLED_KEYS = ("n", "se", "ae", "e", "y", "p", "yy", "pp", "yp")


def crps_ensemble(members: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fair CRPS per point; members (M, ...) and y (...) in the same units."""
    import scoringrules as sr

    members = np.asarray(members, dtype=np.float64)
    return np.asarray(sr.crps_ensemble(np.asarray(y, dtype=np.float64), members, m_axis=0, estimator="fair"))


def ssim(pred: np.ndarray, truth: np.ndarray, land: np.ndarray, *, data_range: float) -> float:
    """Mean SSIM over land pixels (7 x 7 windows, off-land pixels set to 0 in both maps)."""
    from skimage.metrics import structural_similarity

    a = np.where(land, pred, 0.0).astype(np.float64)
    b = np.where(land, truth, 0.0).astype(np.float64)
    _, smap = structural_similarity(a, b, data_range=data_range, full=True)
    return float(smap[land].mean()) if land.any() else float("nan")


def spread_skill(members: np.ndarray, y: np.ndarray) -> float:
    """sqrt(mean ensemble variance) * sqrt((M+1)/M) / RMSE of the ensemble mean, over all points."""
    members = np.asarray(members, dtype=np.float64)
    M = members.shape[0]
    var = members.var(axis=0, ddof=1).mean()
    rmse = np.sqrt(np.mean((members.mean(axis=0) - y) ** 2))
    return float(np.sqrt(var) * np.sqrt((M + 1) / M) / rmse)


def spread_terms(members: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """(sum of unbiased ensemble variances, sum of squared errors of the mean, points): pooled spread/skill."""
    members = np.asarray(members, dtype=np.float64)
    return (float(members.var(axis=0, ddof=1).sum()), float(((members.mean(axis=0) - y) ** 2).sum()),
            int(np.size(y)))


def spread_skill_pooled(var_sum: float, se_sum: float, n: int, members: int) -> float:
    """Spread/skill from pooled sums (spread_terms added over windows)."""
    return float(np.sqrt(var_sum / n) * np.sqrt((members + 1) / members) / np.sqrt(se_sum / n))


def rank_histogram(members: np.ndarray, y: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Counts (M + 1,) of the observation's rank among the members, ties broken at random."""
    rng = rng or np.random.default_rng(0)
    members = np.asarray(members).reshape(members.shape[0], -1)
    y = np.asarray(y).ravel()
    below = (members < y[None]).sum(axis=0)
    ties = (members == y[None]).sum(axis=0)
    rank = below + np.floor(rng.random(y.size) * (ties + 1)).astype(int)
    return np.bincount(rank, minlength=members.shape[0] + 1)


def crps_normal(mean: np.ndarray, std: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS per point of the normal distribution N(mean, std^2) (scoringrules' closed form).

    A zero std (every member clipped to 0, say) is a point forecast: its CRPS is |y - mean|.
    """
    import scoringrules as sr

    y, mean, std = (np.asarray(a, np.float64) for a in (y, mean, std))
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, np.asarray(sr.crps_normal(y, mean, safe)), np.abs(y - mean))


def pit_histogram(mean: np.ndarray, std: np.ndarray, y: np.ndarray, bins: int) -> np.ndarray:
    """Counts (bins,) of Phi((y - mean) / std) in equal bins of [0, 1] (a zero std: 0, 1/2 or 1)."""
    from scipy.special import ndtr

    y, mean, std = (np.asarray(a, np.float64).ravel() for a in (y, mean, std))
    point = np.where(y > mean, 1.0, np.where(y < mean, 0.0, 0.5))
    pit = np.where(std > 0, ndtr((y - mean) / np.where(std > 0, std, 1.0)), point)
    return np.bincount(np.minimum((pit * bins).astype(int), bins - 1), minlength=bins)


def pooled(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Sufficient sums of predictions p against references y (both 1-D, finite)."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    e = p - y
    return {"n": float(y.size), "se": float((e * e).sum()), "ae": float(np.abs(e).sum()), "e": float(e.sum()),
            "y": float(y.sum()), "p": float(p.sum()), "yy": float((y * y).sum()), "pp": float((p * p).sum()),
            "yp": float((y * p).sum())}


def from_pooled(s: dict[str, float]) -> dict[str, float]:
    """RMSE, MAE, bias, r (and n) from summed `pooled` dicts."""
    n = s["n"]
    if n <= 0:
        return {"n": 0, "rmse": float("nan"), "mae": float("nan"), "bias": float("nan"), "r": float("nan")}
    cov = s["yp"] / n - s["y"] * s["p"] / n ** 2
    vy = s["yy"] / n - (s["y"] / n) ** 2
    vp = s["pp"] / n - (s["p"] / n) ** 2
    r = cov / np.sqrt(vy * vp) if vy > 0 and vp > 0 else float("nan")
    return {"n": int(n), "rmse": float(np.sqrt(s["se"] / n)), "mae": float(s["ae"] / n), "bias": float(s["e"] / n),
            "r": float(r)}


def block_bootstrap(values: np.ndarray, blocks: np.ndarray, stat, *, n_boot: int = 500, seed: int = 0,
                    level: float = 0.9) -> tuple[float, float]:
    """(low, high) percentile interval of stat(rows) when whole blocks of rows are resampled.

    values (N, ...) rows (windows); blocks (N,) block label of each row; stat(rows) -> float.
    """
    labels = np.unique(blocks)
    index = [np.flatnonzero(blocks == b) for b in labels]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(labels), len(labels))
        rows = np.concatenate([index[k] for k in pick])
        out.append(stat(values[rows]))
    lo, hi = np.nanpercentile(out, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)
