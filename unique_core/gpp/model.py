"""GppModel: a LightGBM regressor of daily GPP, saved as text with its config and metrics.

A saved model is a folder:
    model.txt       the LightGBM booster, as text (never a pickle)
    config.json     sensor, hyper-parameters, package version, training data summary
    features.json   the feature names, in order
    metrics.json    cross-validation and training metrics
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from unique_core import __version__
from unique_core.errors import ModelError
from unique_core.features import PFT_CODES, Sensor, feature_names

# 150 trees of 31 leaves: 20-fold spatial CV RMSE within 1 % of 400 trees of 63 leaves (1.621 against
# 1.608 gC m-2 d-1 for GPP_M), and five times faster to predict (bench/bench_step1.py; docs/step1.md).
DEFAULT_PARAMS = {
    "objective": "regression", "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 40,
    "feature_fraction": 0.85, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "verbose": -1, "num_threads": 2, "seed": 7, "deterministic": True, "force_row_wise": True,
}
DEFAULT_ROUNDS = 150


@dataclass
class GppModel:
    sensor: Sensor
    booster: lgb.Booster
    features: tuple[str, ...]
    config: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(cls, table: pd.DataFrame, sensor: Sensor, *, params: dict | None = None,
            rounds: int = DEFAULT_ROUNDS) -> "GppModel":
        """Train on the rows of `table` that pass QC (column qc_pass) and have a target."""
        feats = feature_names(sensor)
        rows = table[table["qc_pass"] & table["gpp"].notna()]
        if len(rows) < 100:
            raise ModelError(f"only {len(rows)} site-days pass QC: too few to train a {sensor} model")
        p = {**DEFAULT_PARAMS, **(params or {})}
        data = lgb.Dataset(rows[list(feats)], label=rows["gpp"].to_numpy(), categorical_feature=["pft"],
                           free_raw_data=True)
        booster = lgb.train(p, data, num_boost_round=rounds)
        config = {"sensor": sensor, "params": p, "rounds": rounds, "unique_version": __version__,
                  "pft_codes": list(PFT_CODES), "training_rows": int(len(rows)),
                  "training_sites": int(rows["site_id"].nunique()),
                  "target": "GPP (gC m-2 d-1), FLUXNET daily, days with NEE_VUT_REF_QC >= threshold"}
        return cls(sensor, booster, feats, config)

    # ------------------------------------------------------------------ prediction
    def predict(self, X: pd.DataFrame | dict[str, np.ndarray], *, num_threads: int = 2) -> np.ndarray:
        """Daily GPP (gC m-2 d-1, >= 0) for rows of features (a DataFrame or a dict of equal arrays)."""
        if isinstance(X, dict):
            missing = [f for f in self.features if f not in X]
            if missing:
                raise ModelError(f"features missing for the {self.sensor} model: {missing}")
            shape = np.shape(X[self.features[0]])
            mat = np.column_stack([np.asarray(X[f], dtype=np.float32).ravel() for f in self.features])
            out = self.booster.predict(mat, num_threads=num_threads).reshape(shape)
        else:
            missing = [f for f in self.features if f not in X.columns]
            if missing:
                raise ModelError(f"features missing for the {self.sensor} model: {missing}")
            out = self.booster.predict(X[list(self.features)], num_threads=num_threads)
        return np.clip(out, 0.0, None).astype(np.float32)

    # ------------------------------------------------------------------ persistence
    @property
    def digest(self) -> str:
        """A short hash of the booster's text: identifies the model in provenance records."""
        return hashlib.sha256(self.booster.model_to_string().encode()).hexdigest()[:16]

    def save(self, folder: str | Path) -> Path:
        """Write the model folder atomically (a complete folder appears, or nothing changes)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            self.booster.save_model(str(tmp / "model.txt"))
            (tmp / "features.json").write_text(json.dumps(list(self.features), indent=2))
            (tmp / "config.json").write_text(json.dumps({**self.config, "digest": self.digest}, indent=2))
            (tmp / "metrics.json").write_text(json.dumps(self.metrics, indent=2, default=float))
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                folder.rename(old)
                tmp.rename(folder)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "GppModel":
        folder = Path(folder)
        for name in ("model.txt", "features.json", "config.json"):
            if not (folder / name).exists():
                raise ModelError(f"{folder}: not a GPP model folder ({name} missing); train one with "
                                 "`unique gpp train --sensor modis|landsat`")
        try:
            booster = lgb.Booster(model_file=str(folder / "model.txt"))
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"{folder / 'model.txt'}: not a readable LightGBM model ({exc})") from exc
        features = tuple(json.loads((folder / "features.json").read_text()))
        config = json.loads((folder / "config.json").read_text())
        if tuple(booster.feature_name()) != features:
            raise ModelError(f"{folder}: the booster's features {booster.feature_name()} do not match "
                             f"features.json {list(features)}")
        sensor = config.get("sensor")
        if sensor not in ("modis", "landsat") or tuple(feature_names(sensor)) != features:
            raise ModelError(f"{folder}: config says sensor {sensor!r}, whose features differ from the model's")
        metrics = json.loads((folder / "metrics.json").read_text()) if (folder / "metrics.json").exists() else {}
        return cls(sensor, booster, features, config, metrics)
