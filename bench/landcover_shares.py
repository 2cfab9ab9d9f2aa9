"""Country land-cover shares of the simulated Korea, from random 3 x 3 km samples of land.

    python bench/landcover_shares.py [--samples 300] [--seed 2026]

Prints each class's share of South Korean land beside the facts of SCIENCE.md and writes
bench/reports/landcover_shares.json. The decision biases in unique_core/world/landcover.py
were tuned with this script.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unique_core.atomic import write_text  # noqa: E402
from unique_core.grid import FRAME, Region
from unique_core.landcover import CLASSES
from unique_core.world import World
from unique_core.landmask import coarse_land_mask

TARGETS = {  # share of land, SCIENCE.md (forest split by Korea Forest Service 2020 type shares)
    "urban": 0.075, "paddy": 0.085, "field": 0.08, "deciduous": 0.20, "coniferous": 0.23,
    "mixed": 0.17, "grassland": 0.04, "wetland": 0.01, "barren": 0.02, "water": 0.03,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    world = World(args.seed)
    land, g = coarse_land_mask()
    rng = np.random.default_rng(1)
    rows, cols = np.nonzero(land)
    totals = np.zeros(len(CLASSES))
    land_px = 0
    t0 = time.time()
    for k in rng.choice(len(rows), args.samples, replace=False):
        br, bc = rows[k] // 3, cols[k] // 3
        r = Region("s", min(br, FRAME.nbrows - 2), min(bc, FRAME.nbcols - 2), 2, 2)
        st = world.static(r)
        f = st.fractions[:, st.land]
        totals += f.sum(axis=1)
        land_px += st.land.sum()
    shares = totals / land_px
    report = {}
    print(f"{'class':<12}{'simulated':>10}{'target':>8}")
    for c, s in zip(CLASSES, shares):
        print(f"{c.key:<12}{s:>10.3f}{TARGETS[c.key]:>8.3f}")
        report[c.key] = {"simulated": round(float(s), 4), "target": TARGETS[c.key]}
    forest = sum(shares[i] for i, c in enumerate(CLASSES) if c.key in ("deciduous", "coniferous", "mixed"))
    crop = sum(shares[i] for i, c in enumerate(CLASSES) if c.key in ("paddy", "field"))
    print(f"forest {forest:.3f} (target 0.63), cropland {crop:.3f} (target 0.165); {time.time() - t0:.0f} s")
    out = Path(__file__).parent / "reports" / "landcover_shares.json"
    write_text(out, json.dumps({"samples": args.samples, "seed": args.seed, "shares": report,
                               "forest": round(float(forest), 4), "cropland": round(float(crop), 4)}, indent=2))


if __name__ == "__main__":
    main()
