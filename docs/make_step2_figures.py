"""Figures and tables of docs/step2.md, from the shipped downscaling models and their evaluation.

    unique downscale evaluate --year 2023 --json assets/models/downscale_evaluation.json --curve
    python docs/make_step2_figures.py

Writes docs/figures/step2/{tables.md, windows.png, steps_curve.png, training.png}. The maps are
two 2023 test windows (150 x 150 px, 4.5 km) chosen by the evaluation's own seeded draw: the
first with mostly forest and the first with mostly cropland or paddy.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from unique_core.atomic import atomic_path, write_text  # noqa: E402
from unique_core.config import models_dir  # noqa: E402
from unique_core.downscale import registry  # noqa: E402
from unique_core.downscale.evaluate import PAPER, predict_window, test_windows  # noqa: E402
from unique_core.world import World  # noqa: E402

OUT = Path(__file__).parent / "figures" / "step2"
NOTE = "Simulated data (UNIQUE embedded default)"
UNITS = "gC m$^{-2}$ d$^{-1}$"
LABELS = {"gpp_m_bilinear": "GPP_M bilinear", "regression": "regression UNet (S2 inputs)", "s1": "S1 diffusion",
          "s2": "S2 diffusion", "s2_conserved": "S2 + block-mean conservation"}


def _f(v, fmt=".3f"):
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, fmt)


def tables(ev: dict, curve_bil: dict | None = None) -> str:
    md = [f"### Test year {ev['year']}: {ev['windows']} windows of {ev['window_px']} x {ev['window_px']} px, "
          f"ensembles of {ev['members']} members, DDIM {ev['ddim_steps']} steps\n",
          "| method | RMSE vs GPP_L | r vs GPP_L | bias vs GPP_L | ratio to bilinear | paper RMSE | paper ratio "
          "| RMSE vs truth | r vs truth | SSIM vs truth | CRPS vs truth | spread/skill vs GPP_L | block-mean error |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m, r in ev["methods"].items():
        gl, tr = r["vs_gpp_l"], r["vs_truth"]
        md.append(f"| {LABELS.get(m, m)} | {_f(gl['rmse'])} | {_f(gl['r'])} | {_f(gl['bias'], '+.3f')} | "
                  f"{_f(r['rmse_ratio_to_bilinear'], '.2f')} | {_f(r.get('paper_rmse_vs_gpp_l'), '.2f')} | "
                  f"{_f(r.get('paper_ratio_to_gpp_m'), '.2f')} | {_f(tr['rmse'])} | {_f(tr['r'])} | "
                  f"{_f(r['ssim_vs_truth'])} | {_f(r.get('crps_vs_truth'))} | {_f(r.get('spread_skill_vs_gpp_l'), '.2f')} | "
                  f"{_f(r['conservation_rmse'])} |")
    pfts = sorted({p for r in ev["methods"].values() for p in r["by_pft_vs_truth"]})
    md += ["\nRMSE against the truth per plant type (dominant vegetated class of the 30 m pixel):\n",
           "| method | " + " | ".join(pfts) + " |", "| --- |" + " --- |" * len(pfts)]
    for m, r in ev["methods"].items():
        md.append(f"| {LABELS.get(m, m)} | " + " | ".join(_f(r["by_pft_vs_truth"].get(p, {}).get("rmse")) for p in pfts)
                  + " |")
    if "rmse_against_steps_s2" in ev:
        md += ["\nS2 against sampler steps (ensemble mean of 2 members, the first 6 test windows):\n",
               "| sampler | steps | RMSE vs GPP_L | RMSE vs truth | s per window |", "| --- | --- | --- | --- | --- |"]
        for row in ev["rmse_against_steps_s2"]:
            md.append(f"| {row['sampler']} | {row['steps']} | {row['rmse_vs_gpp_l']:.3f} | {row['rmse_vs_truth']:.3f} "
                      f"| {row['seconds_per_window']:.2f} |")
        if curve_bil:
            md.append(f"| GPP_M bilinear (same windows) | | {curve_bil['vs_gpp_l']:.3f} | {curve_bil['vs_truth']:.3f} | |")
    md.append(f"\nPaper (EGU26-4160), RMSE against GPP_L: GPP_M {PAPER['gpp_m_bilinear']}, S1 {PAPER['s1']}, "
              f"S2 {PAPER['s2']} gC m-2 d-1.\n")
    return "\n".join(md)


def steps_curve(ev: dict, bilinear: dict | None) -> None:
    """RMSE against sampler steps; `bilinear`: the baseline's RMSEs on the same windows."""
    rows = ev.get("rmse_against_steps_s2")
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = [r["steps"] for r in rows]
    ax.plot(x, [r["rmse_vs_gpp_l"] for r in rows], "o-", label="S2 vs GPP_L")
    ax.plot(x, [r["rmse_vs_truth"] for r in rows], "s-", label="S2 vs truth")
    if bilinear:
        ax.axhline(bilinear["vs_gpp_l"], color="0.5", ls="--", lw=1, label="GPP_M bilinear vs GPP_L")
        ax.axhline(bilinear["vs_truth"], color="0.5", ls=":", lw=1, label="GPP_M bilinear vs truth")
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"DDIM {s}" if r["sampler"] == "ddim" else f"DDPM {s}" for s, r in zip(x, rows)], fontsize=8)
    ax.set_xlabel("sampler and number of network evaluations")
    ax.set_ylabel(f"RMSE ({UNITS})")
    ax.legend(fontsize=8)
    ax.set_title("S2: 2-member mean against sampler steps (6 test windows)", fontsize=10)
    fig.text(0.01, 0.005, NOTE, fontsize=7, color="0.35")
    fig.tight_layout()
    with atomic_path(OUT / "steps_curve.png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def training_curves() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    for ax, name in zip(axes, ("s2", "s1", "regression")):
        card_path = models_dir() / f"downscale_{name}" / "card.json"
        if not card_path.exists():
            ax.set_visible(False)
            continue
        h = json.loads(card_path.read_text())["history"]
        tr = [(x["step"], x["train_loss"]) for x in h if "train_loss" in x]
        va = [(x["step"], x["val_loss"]) for x in h if "val_loss" in x]
        ax.plot(*zip(*tr), lw=1, label="training (25-step mean)")
        if va:
            ax.plot(*zip(*va), "o-", label="validation tiles (EMA)")
        ax.set_yscale("log")
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("masked loss (network units, dimensionless)")
        ax.set_title(LABELS[name])
        ax.legend(fontsize=8)
    fig.text(0.01, 0.005, NOTE, fontsize=7, color="0.35")
    fig.tight_layout()
    with atomic_path(OUT / "training.png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def curve_bilinear(wins, n: int) -> dict:
    """The bilinear baseline's RMSE on the first `n` evaluation windows (those of the steps curve)."""
    from unique_core.gpp.cv import metrics

    yl, pl, yt, pt = [], [], [], []
    for w in wins[:n]:
        cl = np.isfinite(w.gpp_l) & w.land
        yl.append(w.gpp_l[cl]); pl.append(w.gpp_m_up[cl]); yt.append(w.truth[w.land]); pt.append(w.gpp_m_up[w.land])
    return {"vs_gpp_l": metrics(np.concatenate(yl), np.concatenate(pl))["rmse"],
            "vs_truth": metrics(np.concatenate(yt), np.concatenate(pt))["rmse"]}


def window_maps(wins, wins_s2) -> None:
    """wins_s2: the same windows made for S2's base map (its conditioning and base)."""
    models = {n: registry.load(n) for n in ("regression", "s1", "s2")}
    picked = []
    for want, share in ((("ENF", "DBF", "MF"), 0.5), (("CRO", "RICE"), 0.3)):
        for k, w in enumerate(wins):  # growing-season windows show the most detail
            if (6 <= w.date.month <= 9 and np.isin(w.pft[w.land], want).mean() > share
                    and all(w is not p for p, _ in picked)):
                picked.append((w, wins_s2[k]))
                break
    cols = ["GPP_M (500 m)", "GPP_M bilinear", "regression", "S1 mean", "S2 mean", "S2 std", "GPP_L (clear)", "truth (30 m)"]
    fig, axes = plt.subplots(len(picked), len(cols), figsize=(2.35 * len(cols), 2.6 * len(picked) + 0.6), squeeze=False)
    for row, (w, w_s2) in zip(axes, picked):
        s2 = predict_window("s2", models, w_s2, members=8, steps=10, seed=0)
        s1 = predict_window("s1", models, w, members=8, steps=10, seed=0)
        reg = predict_window("regression", models, w, members=1, steps=None, seed=0)[0]
        land = lambda a: np.where(w.land, a, np.nan)  # noqa: E731
        panels = [w.gpp_m, land(w.gpp_m_up), land(reg), land(s1.mean(0)), land(s2.mean(0)), land(s2.std(0)),
                  land(w.gpp_l), land(w.truth)]
        for k, (ax, arr, title) in enumerate(zip(row, panels, cols)):
            if title == "S2 std":
                im_sd = ax.imshow(arr, cmap="magma", vmin=0, vmax=2)
            else:
                im = ax.imshow(arr, cmap="YlGn", vmin=0, vmax=15)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title if w is picked[0][0] else "", fontsize=9)
        row[0].set_ylabel(f"{w.date}\n{w.region.name.split('-')[0]}", fontsize=8)
    fig.subplots_adjust(left=0.04, right=0.91, bottom=0.16, top=0.9, wspace=0.08, hspace=0.12)
    fig.colorbar(im, cax=fig.add_axes([0.925, 0.16, 0.012, 0.74]), label=f"GPP ({UNITS})")
    sd = axes[-1, 5].get_position()
    fig.colorbar(im_sd, cax=fig.add_axes([sd.x0, 0.08, sd.width, 0.025]), orientation="horizontal",
                 label=f"S2 std ({UNITS})")
    fig.text(0.01, 0.005, NOTE + "; 2023 test windows, 4.5 x 4.5 km; 8 members, DDIM 10 steps", fontsize=7,
             color="0.35")
    with atomic_path(OUT / "windows.png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    ev = json.loads((models_dir() / "downscale_evaluation.json").read_text())
    world = World()
    tiles = sum(registry.split_tiles(), ())
    wins = test_windows(world, tiles, ev["year"], ev["windows"])  # the evaluation's own seeded draw
    curve_bil = curve_bilinear(wins, 6) if "rmse_against_steps_s2" in ev else None
    md = tables(ev, curve_bil)
    write_text(OUT / "tables.md", md)
    print(md)
    steps_curve(ev, curve_bil)
    training_curves()
    window_maps(wins, test_windows(world, tiles, ev["year"], ev["windows"],
                                   base_map=registry.load("s2").config.base_map))


def split_map(report: dict) -> None:
    """docs/figures/step2/split.png: training, validation and test tiles on the land mask."""
    from matplotlib.patches import Rectangle

    from unique_core.grid import FRAME_XMAX, FRAME_XMIN, FRAME_YMAX, FRAME_YMIN
    from unique_core.landmask import coarse_land_mask

    land, _ = coarse_land_mask()
    fig, ax = plt.subplots(figsize=(6.4, 6.8))
    ax.imshow(land, extent=(FRAME_XMIN, FRAME_XMAX, FRAME_YMIN, FRAME_YMAX), cmap="Greys", vmin=0, vmax=3.5,
              interpolation="nearest")
    colours = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#d62728"}
    for kind, boxes in report["split"].items():
        if kind not in colours:
            continue
        for k, (x0, y0, x1, y1) in enumerate(boxes):
            grow = 3000 if kind == "test" else 0  # 4.5 km boxes drawn a little larger to be seen
            ax.add_patch(Rectangle((x0 - grow, y0 - grow), x1 - x0 + 2 * grow, y1 - y0 + 2 * grow, fill=kind != "train",
                                   alpha=0.85 if kind == "test" else 1, ec=colours[kind], fc=colours[kind], lw=1.5,
                                   label=f"{kind} ({len(boxes)})" if k == 0 else None))
    scored = {tuple(b) for b in report["split"]["test"]}
    for k, (x0, y0, x1, y1) in enumerate(b for b in report["split"].get("test_all", []) if tuple(b) not in scored):
        ax.add_patch(Rectangle((x0 - 3000, y0 - 3000), x1 - x0 + 6000, y1 - y0 + 6000, fill=False, ec="#d62728",
                               ls="--", lw=1, label="test, not scored yet" if k == 0 else None))
    for name, (x0, y0, x1, y1) in zip(report["split"]["test_names"], report["split"]["test"]):
        ax.annotate(name.replace("_", " "), ((x0 + x1) / 2, y1 + 3000), fontsize=6, ha="center", color="#d62728")
    ax.set_xlim(FRAME_XMIN, FRAME_XMAX)
    ax.set_ylim(FRAME_YMIN, FRAME_YMAX)
    ax.set_xlabel("EPSG:5179 x (m)")
    ax.set_ylabel("EPSG:5179 y (m)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Step 2 split: 12 km training/validation tiles, 4.5 km test tiles\n{NOTE}", fontsize=9)
    OUT.mkdir(parents=True, exist_ok=True)
    with atomic_path(OUT / "split.png") as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
    plt.close(fig)


def heldout() -> None:
    """The held-out section: split.png and heldout_tables.md from assets/models/downscale_evaluation.json."""
    from unique_core.downscale.evaluate import heldout_markdown

    report = json.loads((models_dir() / "downscale_evaluation.json").read_text())
    split_map(report)
    write_text(OUT / "heldout_tables.md", heldout_markdown(report))


if __name__ == "__main__":
    import sys

    if "--heldout" in sys.argv:
        heldout()
        raise SystemExit(0)
    main()
