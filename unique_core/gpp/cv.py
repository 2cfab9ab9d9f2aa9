"""Spatial cross-validation of Step 1: folds, metrics, baselines and the AutoML leaderboard.

Folds are spatially clustered: sites closer than CLUSTER_KM are joined into one cluster
(single linkage, great-circle distance), and whole clusters are dealt to folds so that no
two nearby sites are ever split between training and test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage

from unique_core.features import Sensor, feature_names
from unique_core.gpp.model import DEFAULT_PARAMS, DEFAULT_ROUNDS, GppModel

CLUSTER_KM = 100.0
EARTH_KM = 6371.0


def site_clusters(sites: pd.DataFrame, km: float = CLUSTER_KM) -> pd.Series:
    """Cluster id per site_id: sites within `km` of one another (transitively) share one."""
    lat = np.radians(sites["lat"].to_numpy())
    lon = np.radians(sites["lon"].to_numpy())
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    if len(sites) == 1:
        return pd.Series([0], index=sites["site_id"])
    chord = 2 * np.sin(km / EARTH_KM / 2)
    labels = fcluster(linkage(xyz, method="single"), t=chord, criterion="distance")
    return pd.Series(labels - 1, index=sites["site_id"].to_numpy())


def spatial_folds(sites: pd.DataFrame, n_folds: int = 20, seed: int = 0) -> pd.Series:
    """Fold number (0..n_folds-1) per site_id: whole clusters per fold, folds of similar size."""
    clusters = site_clusters(sites)
    sizes = clusters.value_counts()
    rng = np.random.default_rng(seed)
    order = sizes.index.to_numpy().copy()
    rng.shuffle(order)
    order = sorted(order, key=lambda c: -sizes[c])  # largest clusters first, ties shuffled
    load = np.zeros(n_folds)
    fold_of = {}
    for c in order:
        f = int(np.argmin(load))
        fold_of[c] = f
        load[f] += sizes[c]
    return clusters.map(fold_of)


def metrics(y: np.ndarray, p: np.ndarray) -> dict:
    """r, RMSE, bias (prediction - observation), R2 and n, in gC m-2 d-1."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok], p[ok]
    if len(y) < 3:
        return {"n": int(len(y)), "r": None, "rmse": None, "bias": None, "r2": None}
    resid = p - y
    ss = ((y - y.mean()) ** 2).sum()
    return {"n": int(len(y)), "r": round(float(np.corrcoef(y, p)[0, 1]), 4),
            "rmse": round(float(np.sqrt((resid ** 2).mean())), 4), "bias": round(float(resid.mean()), 4),
            "r2": round(float(1 - (resid ** 2).sum() / ss), 4) if ss > 0 else None}


def metrics_by_pft(df: pd.DataFrame, col: str) -> dict:
    return {pft: metrics(g["gpp"], g[col]) for pft, g in df.groupby("pft_name")}


@dataclass
class CVResult:
    sensor: str
    predictions: pd.DataFrame  # site_id, date, pft_name, fold, gpp, nee_randunc (if read), pred_<method>
    summary: dict  # method -> {"overall": metrics, "by_pft": {...}}
    seconds: float


def _evaluation_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["qc_pass"] & table["gpp"].notna()].copy()


def cross_validate(table: pd.DataFrame, sensor: Sensor, *, n_folds: int = 20, params: dict | None = None,
                   rounds: int = DEFAULT_ROUNDS, baselines: bool = True, progress=None) -> CVResult:
    """Out-of-fold predictions of LightGBM (and MOD17 and a climatology) on spatial folds."""
    from unique_core.gpp.baselines import climatology_predict, mod17_predict

    t0 = time.time()
    sites = table.drop_duplicates("site_id")[["site_id", "lat", "lon"]]
    folds = spatial_folds(sites, n_folds)
    rows = _evaluation_rows(table)
    rows["fold"] = rows["site_id"].map(folds).to_numpy()
    rows["pred_lightgbm"] = np.nan
    rows["pred_climatology"] = np.nan
    for f in range(n_folds):
        test = rows["fold"] == f
        if not test.any():
            continue
        train_sites = set(rows.loc[~test, "site_id"])
        model = GppModel.fit(table[table["site_id"].isin(train_sites)], sensor, params=params, rounds=rounds)
        rows.loc[test, "pred_lightgbm"] = model.predict(rows.loc[test])
        if baselines:
            rows.loc[test, "pred_climatology"] = climatology_predict(rows[~test], rows[test])
        if progress:
            progress(f + 1, n_folds)
    cols = ["pred_lightgbm"]
    if baselines:
        rows["pred_mod17"] = mod17_predict(rows)
        cols += ["pred_mod17", "pred_climatology"]
    summary = {c.removeprefix("pred_"): {"overall": metrics(rows["gpp"], rows[c]), "by_pft": metrics_by_pft(rows, c)}
               for c in cols}
    keep = ["site_id", "date", "pft_name", "igbp", "lat", "lon", "fold", "gpp",
            *(["nee_randunc"] if "nee_randunc" in rows else []), *cols]
    return CVResult(sensor, rows[keep].reset_index(drop=True), summary, time.time() - t0)


# ------------------------------------------------------------------ AutoML leaderboard
LEARNERS = ("lgbm", "xgboost", "rf", "extra_tree")


def automl_leaderboard(table: pd.DataFrame, sensor: Sensor, *, n_folds: int = 20, time_budget: float = 120.0,
                       sample_rows: int = 60000, seed: int = 1, progress=None) -> list[dict]:
    """FLAML searches each learner's hyper-parameters (group k-fold on the same site clusters),
    then every learner's best configuration is scored on the same spatial folds.

    The search and the scoring use at most `sample_rows` training rows per fit (random, seeded)
    so that the slower learners (random forest, extra trees) finish on two cores.
    """
    from flaml import AutoML

    feats = list(feature_names(sensor))
    rows = _evaluation_rows(table)
    sites = table.drop_duplicates("site_id")[["site_id", "lat", "lon"]]
    folds = spatial_folds(sites, n_folds)
    rows["fold"] = rows["site_id"].map(folds).to_numpy()
    rng = np.random.default_rng(seed)
    search = rows.iloc[rng.choice(len(rows), min(sample_rows, len(rows)), replace=False)]
    automl = AutoML()
    automl.fit(search[feats], search["gpp"].to_numpy(), task="regression", metric="rmse",
               estimator_list=list(LEARNERS), time_budget=time_budget, eval_method="cv", n_splits=5,
               split_type="group", groups=search["fold"].to_numpy(), seed=seed, verbose=0, n_jobs=2)
    board = []
    for k, learner in enumerate(LEARNERS):
        config = automl.best_config_per_estimator.get(learner)
        if config is None:
            board.append({"learner": learner, "note": "FLAML found no configuration within the budget"})
            continue
        preds = np.full(len(rows), np.nan)
        t0 = time.time()
        for f in range(n_folds):
            test = (rows["fold"] == f).to_numpy()
            if not test.any():
                continue
            train = rows[~test]
            if len(train) > sample_rows:
                train = train.iloc[rng.choice(len(train), sample_rows, replace=False)]
            est = _make_estimator(learner, config, seed)
            est.fit(train[feats], train["gpp"].to_numpy())
            preds[test] = np.clip(est.predict(rows.loc[test, feats]), 0, None)
        m = metrics(rows["gpp"], preds)
        board.append({"learner": learner, **m, "config": config, "seconds": round(time.time() - t0, 1),
                      "flaml_cv_rmse": round(float(automl.best_loss_per_estimator.get(learner, np.nan)), 4)})
        if progress:
            progress(k + 1, len(LEARNERS))
    board.sort(key=lambda b: b.get("rmse") if b.get("rmse") is not None else np.inf)
    return board


def _make_estimator(learner: str, config: dict, seed: int):
    """The scikit-learn-style estimator FLAML's configuration describes (FLAML's own names mapped)."""
    config = dict(config)
    if learner == "lgbm":
        from lightgbm import LGBMRegressor

        if "log_max_bin" in config:
            config["max_bin"] = (1 << int(config.pop("log_max_bin"))) - 1
        return LGBMRegressor(**config, random_state=seed, n_jobs=2, verbose=-1)
    if learner == "xgboost":
        from xgboost import XGBRegressor

        return XGBRegressor(**config, random_state=seed, n_jobs=2, tree_method="hist", grow_policy="lossguide")
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    if "max_leaves" in config:
        config["max_leaf_nodes"] = config.pop("max_leaves")
    config.pop("criterion", None)
    cls = RandomForestRegressor if learner == "rf" else ExtraTreesRegressor
    return _NanSafe(cls(**config, random_state=seed, n_jobs=2))


class _NanSafe:
    """Random forests in scikit-learn reject NaN in some versions: fill with a sentinel."""

    def __init__(self, est):
        self.est = est

    def fit(self, X, y):
        self.est.fit(X.fillna(-999.0), y)
        return self

    def predict(self, X):
        return self.est.predict(X.fillna(-999.0))


__all__ = ["spatial_folds", "site_clusters", "metrics", "cross_validate", "automl_leaderboard", "CVResult",
           "DEFAULT_PARAMS"]
