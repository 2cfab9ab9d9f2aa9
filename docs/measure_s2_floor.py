"""How close can a downscaler that sees no Landsat (S2) come to the truth? A diagnostic of the simulation.

    python docs/measure_s2_floor.py               # every 10th day of 2023 on the 14 test tiles

S2 sees the day's GPP_M, the DEM and the land-cover fractions. In the simulated Korea each crop
parcel (about 90 x 45 m) follows a calendar drawn at random: which crops it grows (one summer crop;
a winter crop, then a summer crop; two vegetable crops) and when it is sown, or for rice when it is
transplanted and whether barley comes first (`world/vegetation.py: canopy`). None of S2's inputs
carries that draw: the 500 m MODIS cells are rendered with their cells' average calendar, and the
DEM and the land cover do not depend on it. So on a crop pixel the best any such model can do is the
expected GPP over the draw, given everything else about the pixel and the day.

This script computes that expectation by rendering each evaluation day 20 times, with every parcel's
draw set to each of 20 evenly spaced quantiles of the uniform draw (which gives the calendars
exactly their shares), and averaging:

- `calendar_mean_truth`: the mean of the 20 true GPPs. Its error against the truth is what no map
  made without the parcels' calendars can avoid (the conditional mean has the least squared error
  of any function of less information): a lower bound for S2, the regression UNet and unmixing.
- `calendar_mean_gpp_l`: the mean of the 20 GPP_L maps made from each render's cloud-free
  reflectance: what a model trained on GPP_L (every Step 2 model) would approach if it knew
  everything about the pixel except its calendar. It keeps the Landsat model's error too.
- `gpp_l_true_indices`: GPP_L from the day's own reflectance (the floor of
  `measure_gpp_l_floor.py`), for reference.

The renders are the simulation's truth side: scoring only, never training, tuning or calibration.
Reads the RMSEs of the peers and S2 on the same windows from assets/models/downscale_evaluation.json
and writes docs/figures/step2/s2_floor.json.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from measure_gpp_l_floor import CADENCE, MAX_CLEAR, YEAR, gpp_l_from_reflectance
from unique_core.atomic import write_text
from unique_core.downscale.evaluate import _pft_names, build_heldout
from unique_core.downscale.split import test_tiles
from unique_core.gpp.registry import load_model
from unique_core.world import World

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "figures" / "step2" / "s2_floor.json"
EVALUATION = ROOT / "assets" / "models" / "downscale_evaluation.json"
DRAWS = (np.arange(20) + 0.5) / 20  # quantiles of the parcels' uniform draw: calendar shares 0.45/0.30/0.25 exactly
KEYS = ("calendar_mean_truth", "calendar_mean_gpp_l", "gpp_l_true_indices")
CROPS = ("CRO", "RICE")


def calendar_means(world: World, tile, date: dt.date, l_model) -> tuple[np.ndarray, np.ndarray]:
    """(mean true GPP, mean GPP_L) over the parcels' calendar draws, each (H, W)."""
    truth = np.zeros(tile.fine.shape)
    gpp_l = np.zeros(tile.fine.shape)
    for u in DRAWS:
        day = world.day_with_parcels(tile, date, float(u))
        truth += day.gpp
        gpp_l += gpp_l_from_reflectance(world, tile, date, day.reflectance, l_model)
    return truth / len(DRAWS), gpp_l / len(DRAWS)


def main() -> None:
    world = World()
    l_model = load_model("landsat")
    groups = ("all", *CROPS)
    sums = {(k, g): [0.0, 0] for k in KEYS for g in groups}
    t0 = time.time()
    tiles = test_tiles()
    windows = 0
    for i, tile in enumerate(tiles):
        with np.load(build_heldout(world, tile, YEAR, cadence=CADENCE, max_clear=MAX_CLEAR)) as f:
            z = {k: f[k] for k in ("eval_days", "is_cadence", "truth")}
        st = world.static(tile)
        land, pft = st.land, _pft_names(st.fractions)
        masks = {"all": land, **{c: land & (pft == c) for c in CROPS}}
        for e, t in enumerate(z["eval_days"]):
            d = dt.date.fromordinal(int(t))
            if not z["is_cadence"][e] or (d.timetuple().tm_yday - 1) % CADENCE:
                continue
            windows += 1
            truth = z["truth"][e].astype(np.float64)
            own = world.day(tile, d)
            if np.abs(own.gpp[land] - truth[land]).max() > 0.02:  # the stored truth is float16
                raise RuntimeError(f"{tile.name} {d}: the world's truth differs from the held-out build's")
            mean_truth, mean_gpp_l = calendar_means(world, tile, d, l_model)
            preds = {"calendar_mean_truth": mean_truth, "calendar_mean_gpp_l": mean_gpp_l,
                     "gpp_l_true_indices": gpp_l_from_reflectance(world, tile, d, own.reflectance, l_model)}
            for k, p in preds.items():
                for g, m in masks.items():
                    ok = m & np.isfinite(p)
                    sums[k, g][0] += float(((p[ok] - truth[ok]) ** 2).sum())
                    sums[k, g][1] += int(ok.sum())
        print(f"[{i + 1}/{len(tiles)}] {tile.name}: {windows} windows, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    rmse = {k: {g: (sums[k, g][0] / sums[k, g][1]) ** 0.5 for g in groups} for k in KEYS}
    ordinary = json.loads(EVALUATION.read_text())["ordinary"]["methods"]
    if ordinary["s2"]["windows"] != windows:
        raise RuntimeError(f"{EVALUATION.name} scored {ordinary['s2']['windows']} ordinary windows, this script "
                           f"{windows}: rerun `unique downscale evaluate` with --cadence {CADENCE} --max-clear {MAX_CLEAR}")
    shipped = {m: {"all": ordinary[m]["truth"]["rmse"], **{c: ordinary[m]["by_pft"][c]["rmse"] for c in CROPS}}
               for m in ("s2", "regression", "unmix", "gpp_m_bilinear")}
    needed = {"s2_le_0.85_unmix": 0.85 * shipped["unmix"]["all"], "s2_le_0.70_bilinear": 0.70 * shipped["gpp_m_bilinear"]["all"]}
    out = {"year": YEAR, "cadence_days": CADENCE, "tiles": len(tiles), "windows": windows, "draws": len(DRAWS),
           "note": "simulation diagnostic: renders with the crop parcels' calendar draws replaced by each of "
                   f"{len(DRAWS)} quantiles (truth side, scoring only), against the truth, on the held-out "
                   "evaluation's ordinary days",
           "rmse_vs_truth": rmse, "shipped_rmse_vs_truth": shipped, "s2_rmse_needed": needed,
           "lowest_ratio_vs_unmix": rmse["calendar_mean_gpp_l"]["all"] / shipped["unmix"]["all"],
           "lowest_ratio_vs_bilinear": rmse["calendar_mean_gpp_l"]["all"] / shipped["gpp_m_bilinear"]["all"]}
    write_text(OUT, json.dumps(out, indent=1) + "\n")
    print("| map (ordinary days, against the truth) | all land | CRO | RICE |\n| --- | --- | --- | --- |")
    for k, v in {**rmse, **{f"shipped {m}": v for m, v in shipped.items()}}.items():
        print(f"| {k} | " + " | ".join(f"{v[g]:.3f}" for g in groups) + " |")
    print(f"S2 needs {needed['s2_le_0.85_unmix']:.3f} (0.85 x unmixing) and {needed['s2_le_0.70_bilinear']:.3f} "
          f"(0.70 x bilinear); lowest ratios a GPP_L-trained model without calendars reaches: unmixing "
          f"{out['lowest_ratio_vs_unmix']:.3f}, bilinear {out['lowest_ratio_vs_bilinear']:.3f}")
    print(f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
