"""How close can a downscaler trained on GPP_L come to the truth? A diagnostic of the simulation.

    python docs/measure_gpp_l_floor.py            # every 10th day of 2023 on the 14 test tiles

S3 (and every Step 2 model) learns GPP_L, the Landsat model's estimate on clear pixels: what a
real-data user has. Its best possible map on an ordinary day is GPP_L made from that day's own
cloud-free Landsat indices, which no sensor delivers but the simulation can: its surface
reflectance of every day. That map keeps the Landsat model's own error against the truth (Step 1),
and no downscaler trained on GPP_L can be expected to lose it. This script measures it on the
evaluation's days and tiles, beside the interpolated GPP_L peers of the same days, and so the
lowest "S3 / interpolated GPP_L" ratio such training can reach.

The daily reflectance is the simulation's truth side: it is used here for scoring only, never for
training, tuning or calibration. Writes docs/figures/step2/gpp_l_floor.json.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from unique_core import features as F
from unique_core.atomic import write_text
from unique_core.downscale.evaluate import build_heldout
from unique_core.downscale.split import test_tiles
from unique_core.gpp import maps
from unique_core.gpp.registry import load_model
from unique_core.world import World

OUT = Path(__file__).parent / "figures" / "step2" / "gpp_l_floor.json"
YEAR, CADENCE, MAX_CLEAR = 2023, 10, 6  # the held-out evaluation's days (its build is reused)


def gpp_l_on_true_indices(world: World, tile, date: dt.date, l_model) -> np.ndarray:
    """GPP_L (H, W) from the day's own cloud-free simulated reflectance: a view on every day."""
    return gpp_l_from_reflectance(world, tile, date, world.day(tile, date).reflectance, l_model)


def gpp_l_from_reflectance(world: World, tile, date: dt.date, refl: np.ndarray, l_model) -> np.ndarray:
    """GPP_L (H, W) from a cloud-free reflectance (6, H, W: blue, green, red, nir, swir1, swir2)."""
    st = world.static(tile)
    vis = F.vegetation_indices(refl[0], refl[2], refl[3], refl[4])
    zero = np.zeros(st.land.shape, np.float32)
    feats = {**vis, "days_since_clear": zero, "days_to_clear": zero,
             **maps.met_inputs(world, tile.fine, st.elevation, date), "pft": maps.pft_map(st.fractions)}
    return maps.predict_on(l_model, feats, st.land)


def main() -> None:
    world = World()
    l_model = load_model("landsat")
    sums = {k: [0.0, 0] for k in ("gpp_l_true_indices", "gpp_l_two_sided", "gpp_l_past")}
    per_tile = {}
    t0 = time.time()
    tiles = test_tiles()
    for i, tile in enumerate(tiles):
        with np.load(build_heldout(world, tile, YEAR, cadence=CADENCE, max_clear=MAX_CLEAR)) as f:
            z = {k: f[k] for k in ("eval_days", "is_cadence", "truth", "gpp_l_two_sided", "gpp_l_past")}
        land = world.static(tile).land
        tile_sums = {k: [0.0, 0] for k in sums}
        for e, t in enumerate(z["eval_days"]):
            d = dt.date.fromordinal(int(t))
            if not z["is_cadence"][e] or (d.timetuple().tm_yday - 1) % CADENCE:
                continue
            truth = z["truth"][e].astype(np.float64)[land]
            preds = {"gpp_l_true_indices": gpp_l_on_true_indices(world, tile, d, l_model)[land],
                     "gpp_l_two_sided": z["gpp_l_two_sided"][e].astype(np.float64)[land],
                     "gpp_l_past": z["gpp_l_past"][e].astype(np.float64)[land]}
            for k, p in preds.items():
                ok = np.isfinite(p)
                for acc in (sums[k], tile_sums[k]):
                    acc[0] += float(((p[ok] - truth[ok]) ** 2).sum())
                    acc[1] += int(ok.sum())
        per_tile[tile.name] = {k: (s / n) ** 0.5 for k, (s, n) in tile_sums.items()}
        print(f"[{i + 1}/{len(tiles)}] {tile.name}: " + ", ".join(f"{k} {v:.3f}" for k, v in per_tile[tile.name].items()),
              file=sys.stderr, flush=True)
    rmse = {k: (s / n) ** 0.5 for k, (s, n) in sums.items()}
    out = {"year": YEAR, "cadence_days": CADENCE, "tiles": len(tiles),
           "note": "simulation diagnostic: GPP_L from each day's own cloud-free simulated reflectance (truth side, "
                   "scoring only) against the truth, on the held-out evaluation's ordinary days",
           "rmse_vs_truth": rmse, "per_tile": per_tile,
           "lowest_ratio_vs_two_sided": rmse["gpp_l_true_indices"] / rmse["gpp_l_two_sided"],
           "lowest_ratio_vs_past": rmse["gpp_l_true_indices"] / rmse["gpp_l_past"]}
    write_text(OUT, json.dumps(out, indent=1) + "\n")
    print("| map | RMSE vs truth (gC m-2 d-1) |\n| --- | --- |")
    for k, v in rmse.items():
        print(f"| {k} | {v:.3f} |")
    print(f"{time.time() - t0:.0f} s (held-out inputs built on first use)")
    print(f"lowest S3 / interpolated GPP_L a GPP_L-trained model can reach: two-sided "
          f"{out['lowest_ratio_vs_two_sided']:.3f}, past-only {out['lowest_ratio_vs_past']:.3f} (target 0.85)")


if __name__ == "__main__":
    main()
