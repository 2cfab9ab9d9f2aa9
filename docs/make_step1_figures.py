"""Figures and tables of docs/step1.md, from the shipped models and their cross-validation records.

    python docs/make_step1_figures.py

Writes docs/figures/step1/*.png and docs/figures/step1/tables.md.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from unique_core.atomic import atomic_path, write_text  # noqa: E402
from unique_core.gpp import maps  # noqa: E402
from unique_core.gpp.cv import metrics  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import get_region  # noqa: E402
from unique_core.world import World  # noqa: E402

OUT = Path(__file__).parent / "figures" / "step1"
PAPER = {"modis": (0.80, 2.47), "landsat": (0.83, 2.43)}
DAY = dt.date(2023, 7, 20)
NOTE = "Simulated data (UNIQUE embedded default)"


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    def cell(col, v):
        if isinstance(v, float) and np.isnan(v):
            return ""
        if col == "n":
            return f"{int(v):,}"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    for _, r in df.iterrows():
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(cols, r)) + " |")
    return "\n".join(lines)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    md = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.4))
    for ax, sensor in zip(axes, ("modis", "landsat")):
        m = load_model(sensor)
        cv = m.metrics
        rows = [{"method": k, **v["overall"]} for k, v in cv["methods"].items()]
        rows.append({"method": "paper (EGU26-4160)", "n": None, "r": PAPER[sensor][0], "rmse": PAPER[sensor][1],
                     "bias": None, "r2": None})
        md.append(f"### GPP_{'M' if sensor == 'modis' else 'L'} ({sensor}): {cv['sites']} sites, "
                  f"{cv['site_days']:,} site-days, {cv['folds']} spatial folds\n")
        md.append(_md(pd.DataFrame(rows)))
        lgb, mod17 = cv["methods"]["lightgbm"]["overall"], cv["methods"]["mod17"]["overall"]
        md.append(f"\nLightGBM's RMSE is {100 * (1 - lgb['rmse'] / mod17['rmse']):.0f} % below MOD17's "
                  f"(target: at least 25 %).\n")
        by = pd.DataFrame([{"pft": p, **v} for p, v in cv["methods"]["lightgbm"]["by_pft"].items()])
        by17 = {p: v["rmse"] for p, v in cv["methods"]["mod17"]["by_pft"].items()}
        by["mod17_rmse"] = by["pft"].map(by17)
        md.append("Per plant type (LightGBM, with MOD17's RMSE beside it):\n\n" + _md(by))
        board = pd.DataFrame([{k: b.get(k) for k in ("learner", "r", "rmse", "bias", "flaml_cv_rmse")}
                              for b in cv["automl_leaderboard"]])
        md.append("\nAutoML leaderboard (FLAML search, then each learner's best configuration on the same 20 "
                  "spatial folds, fits on 60,000-row samples):\n\n" + _md(board))
        gain = m.booster.feature_importance("gain")
        imp = pd.DataFrame({"feature": m.features, "share_of_gain": gain / gain.sum()}).sort_values(
            "share_of_gain", ascending=False).head(8)
        md.append("\nFeature importance (top 8, share of gain):\n\n" + _md(imp) + "\n")
        from unique_core.config import models_dir

        sample = pd.read_csv(models_dir() / f"gpp_{sensor}" / "cv_predictions_sample.csv")
        hi = float(np.percentile(sample[["gpp", "pred_lightgbm"]].to_numpy(), 99.5))
        ax.hexbin(sample["gpp"], sample["pred_lightgbm"], gridsize=60, extent=(0, hi, 0, hi), mincnt=1,
                  cmap="viridis", bins="log")
        ax.plot([0, hi], [0, hi], "w--", lw=1)
        ax.set_xlabel("tower GPP (gC m$^{-2}$ d$^{-1}$)")
        ax.set_ylabel("out-of-fold prediction (gC m$^{-2}$ d$^{-1}$)")
        ax.set_title(f"GPP_{'M' if sensor == 'modis' else 'L'}: r {lgb['r']:.3f}, RMSE {lgb['rmse']:.2f}")
    fig.text(0.01, 0.005, NOTE, fontsize=7, color="0.35")
    fig.tight_layout()
    with atomic_path(OUT / "cv_scatter.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    # maps against the truth
    world = World()
    region = get_region("gimje")
    gm = maps.gpp_m_map(load_model("modis"), world, DAY, region)
    truth_c = world.day_coarse(region, DAY).gpp
    landsat_day = [d for d, _, _ in world.landsat_dates(region, 2023) if d >= DAY][0]
    gl = maps.gpp_l_map(load_model("landsat"), world, region, landsat_day)
    truth_f = world.day(region, landsat_day).gpp
    ok_c, ok_f = np.isfinite(gm.values), np.isfinite(gl.values)
    mm, ml = metrics(truth_c[ok_c], gm.values[ok_c]), metrics(truth_f[ok_f], gl.values[ok_f])
    fig, axes = plt.subplots(2, 2, figsize=(12, 11))
    for ax, (arr, title) in zip(axes.ravel(), [(gm.values, f"GPP_M (500 m), {DAY}"),
                                               (np.where(ok_c, truth_c, np.nan), "true GPP (500 m)"),
                                               (gl.values, f"GPP_L (30 m), {landsat_day}"),
                                               (np.where(ok_f, truth_f, np.nan), "true GPP (30 m)")]):
        im = ax.imshow(arr, cmap="YlGn", vmin=0, vmax=15)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, fraction=0.03, label="GPP (gC m$^{-2}$ d$^{-1}$)")
    fig.suptitle(f"Gimje plain. GPP_M vs truth: r {mm['r']:.2f}, RMSE {mm['rmse']:.2f}, bias {mm['bias']:+.2f}; "
                 f"GPP_L vs truth: r {ml['r']:.2f}, RMSE {ml['rmse']:.2f}, bias {ml['bias']:+.2f} gC m$^{{-2}}$ d$^{{-1}}$")
    fig.text(0.01, 0.005, NOTE, fontsize=7, color="0.35")
    with atomic_path(OUT / "maps_vs_truth.png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    md.append(f"\n### Maps against the simulated truth (Gimje plain)\n\nGPP_M on {DAY} at 500 m: r {mm['r']:.3f}, "
              f"RMSE {mm['rmse']:.3f}, bias {mm['bias']:+.3f} gC m-2 d-1 (n {mm['n']}). GPP_L on {landsat_day} at "
              f"30 m: r {ml['r']:.3f}, RMSE {ml['rmse']:.3f}, bias {ml['bias']:+.3f} (n {ml['n']:,}).\n")
    write_text(OUT / "tables.md", "\n".join(md))
    print("\n".join(md))
    write_text(OUT / "maps_vs_truth.json", json.dumps({"gpp_m_vs_truth": mm, "gpp_l_vs_truth": ml}, indent=2))


if __name__ == "__main__":
    main()
