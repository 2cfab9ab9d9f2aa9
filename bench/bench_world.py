"""Speed of the simulated world (issue: foundation).

    python bench/bench_world.py

Targets (2 CPU cores): static layers of a 30 x 30 km region at 30 m <= 20 s; one day of
dynamic 30 m fields for that region <= 3 s; one day of country-wide 500 m MODIS-like fields
<= 5 s after the one-time country cache (built first if missing, and timed separately).
One-time caches (coastline, 0.1 degree climate) are built before timing and reported too.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from common import report, timed  # noqa: E402

from unique_core.grid import get_region  # noqa: E402
from unique_core.world import World  # noqa: E402
from unique_core.world.model import _static  # noqa: E402


def main() -> None:
    world = World()
    rows = []
    t0 = time.perf_counter()
    world.climate.year(2023)  # one-time: coastline, lattice geography, 2015-2023 climate
    rows.append({"name": "one-time caches: coastline + 2015-2023 climate", "seconds": time.perf_counter() - t0})
    # warm the numba kernels on a small box so compilation is not timed
    world.day(get_region("jeju").subregion(0, 0, 1, 1), dt.date(2023, 7, 1))
    for name in ("gwangneung", "jirisan", "gimje"):
        region = get_region(name)
        s, _ = timed(lambda: _static(world.seed, region.fine, False))
        rows.append({"name": f"static layers, {name} 30 x 30 km at 30 m", "seconds": s, "target_s": 20.0})
    region = get_region("gwangneung")
    world.static(region)
    for date in (dt.date(2023, 4, 20), dt.date(2023, 7, 15)):
        s, _ = timed(lambda: world.day(region, date), repeat=2)
        rows.append({"name": f"one day of 30 m fields, gwangneung {date}", "seconds": s, "target_s": 3.0})
    acq = world.landsat_dates(region, 2023)[20][0]
    s, _ = timed(lambda: world.landsat(region, acq))
    rows.append({"name": f"a Landsat-like scene with clouds, gwangneung {acq}", "seconds": s})
    t0 = time.perf_counter()
    world.static_coarse_country()
    rows.append({"name": "one-time country cache (all land tiles at 30 m)", "seconds": time.perf_counter() - t0})
    for date in (dt.date(2023, 1, 15), dt.date(2023, 7, 15)):
        s, _ = timed(lambda: world.modis_country(date), repeat=2)
        rows.append({"name": f"country-wide 500 m MODIS-like day {date}", "seconds": s, "target_s": 5.0})
    report("world", rows)


if __name__ == "__main__":
    main()
