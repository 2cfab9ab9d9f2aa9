"""Step 1 prediction speed (issue: Step 1).

    python bench/bench_step1.py

Targets (2 CPU cores): a Korea-wide 500 m GPP_M day <= 2 s and a 30 x 30 km GPP_L map <= 3 s,
prediction only (the shipped LightGBM models, land cells only). Input preparation (MODIS
window, Landsat scenes, meteorology) is timed separately and reported without a target.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from unique_core.gpp import maps  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import get_region  # noqa: E402
from unique_core.world import World  # noqa: E402

DAY = dt.date(2023, 7, 15)


def main() -> None:
    world = World()
    m, l_ = load_model("modis"), load_model("landsat")
    rows = []
    t0 = time.perf_counter()
    feats, grid, land = maps.modis_inputs(world, DAY, None)
    rows.append({"name": "GPP_M inputs, Korea at 500 m (33 MODIS days, meteorology)", "seconds": time.perf_counter() - t0})
    s, _ = timed(lambda: maps.predict_on(m, feats, land), repeat=3)
    rows.append({"name": f"GPP_M prediction, Korea at 500 m ({int(land.sum()):,} land cells)", "seconds": s, "target_s": 2.0})
    region = get_region("gwangneung")
    d = [x for x, _, _ in world.landsat_dates(region, 2023) if x >= DAY][0]
    t0 = time.perf_counter()
    lf, lland = maps.landsat_inputs(world, region, d)
    rows.append({"name": "GPP_L inputs, 30 x 30 km (Landsat scenes +-64 days, meteorology)", "seconds": time.perf_counter() - t0})
    s, _ = timed(lambda: maps.predict_on(l_, lf, lland), repeat=3)
    rows.append({"name": f"GPP_L prediction, 30 x 30 km at 30 m ({int(lland.sum()):,} land pixels)", "seconds": s, "target_s": 3.0})
    report("step1", rows, {"model": {"trees": m.booster.num_trees(), "params": m.config.get("params")}})


if __name__ == "__main__":
    main()
