"""What the trained models say about themselves: metrics, leaderboards, importances, cards."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from unique_core.config import models_dir
from unique_core.errors import ModelError


def step1(sensor: str) -> dict:
    """CV metrics, per-PFT table, AutoML leaderboard, feature importance and a predictions sample."""
    from unique_core.gpp.registry import load_model

    folder = models_dir() / f"gpp_{sensor}"
    model = load_model(sensor)
    cv = model.metrics or {}
    methods = cv.get("methods", {})
    overall = pd.DataFrame([{"method": m, **v["overall"]} for m, v in methods.items()])
    by_pft = pd.DataFrame([{"pft": p, **v} for p, v in methods.get("lightgbm", {}).get("by_pft", {}).items()])
    board = pd.DataFrame([{k: b.get(k) for k in ("learner", "r", "rmse", "bias", "r2", "flaml_cv_rmse")}
                          for b in cv.get("automl_leaderboard", [])])
    gain = model.booster.feature_importance("gain")
    importance = pd.DataFrame({"feature": model.features, "gain": gain / gain.sum()}).sort_values("gain", ascending=False)
    sample_file = folder / "cv_predictions_sample.csv"
    sample = pd.read_csv(sample_file) if sample_file.exists() else None
    return {"overall": overall, "by_pft": by_pft, "leaderboard": board, "importance": importance,
            "sample": sample, "config": model.config, "sites": cv.get("sites"), "site_days": cv.get("site_days")}


def step2() -> dict:
    """The Step 2 evaluation report and the model cards of S1, S2 and the regression baseline."""
    out: dict = {"cards": {}}
    for name in ("s2", "s1", "regression"):
        card = models_dir() / f"downscale_{name}" / "card.json"
        if card.exists():
            out["cards"][name] = json.loads(card.read_text())
    report = models_dir() / "downscale_evaluation.json"
    if report.exists():
        out["evaluation"] = json.loads(report.read_text())
    if not out["cards"]:
        raise ModelError("no downscaling model is shipped yet: train one with `unique downscale train --scheme s2`")
    return out


def evaluation_table(report: dict) -> pd.DataFrame:
    rows = []
    for m, r in report["methods"].items():
        rows.append({"method": m, "RMSE vs GPP_L": r["vs_gpp_l"]["rmse"], "r vs GPP_L": r["vs_gpp_l"]["r"],
                     "bias vs GPP_L": r["vs_gpp_l"]["bias"], "RMSE vs truth": r["vs_truth"]["rmse"],
                     "r vs truth": r["vs_truth"]["r"], "SSIM": r["ssim_vs_truth"], "CRPS vs truth": r.get("crps_vs_truth"),
                     "spread/skill": r.get("spread_skill_vs_gpp_l"), "block-mean error": r["conservation_rmse"],
                     "ratio to bilinear": r["rmse_ratio_to_bilinear"], "paper RMSE": r.get("paper_rmse_vs_gpp_l"),
                     "paper ratio": r.get("paper_ratio_to_gpp_m")})
    return pd.DataFrame(rows)


def card_markdown(path: Path) -> str:
    return path.read_text() if path.exists() else ""
