"""Product service speed (issue: products).

    python bench/bench_products.py

Targets: loading a cached 30 x 30 km 30 m product <= 0.3 s; a region-year of daily GPP_M time
series by plant type <= 10 s. The series is reported three ways: on first touch of a region (its
30 m static layers are built and kept in the world cache, once per machine), cold (computed from
365 MODIS-like days, the region's static aggregates read from disk, as after the region has been
opened once) and warm (read from the series cache).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from unique_core import analysis  # noqa: E402
from unique_core.grid import get_region  # noqa: E402
from unique_core.products import ProductService  # noqa: E402
from unique_core.world import model as world_model  # noqa: E402

DAY = dt.date(2023, 7, 15)


def main() -> None:
    svc = ProductService()
    region = get_region("gwangneung")
    rows = []
    t0 = time.perf_counter()
    da = svc.get("gpp_true", DAY, region)
    rows.append({"name": f"make gpp_true, 30 x 30 km at 30 m ({da.attrs['cache']})", "seconds": time.perf_counter() - t0})
    s, _ = timed(lambda: svc.get("gpp_true", DAY, region), repeat=5)
    rows.append({"name": "load a cached 30 x 30 km 30 m product (1000 x 1000, COG)", "seconds": s, "target_s": 0.3})
    start, end = dt.date(2023, 1, 1), dt.date(2023, 12, 31)

    def cold_series():
        """The series computed from 365 MODIS-like days: its CSV cache and in-memory aggregates dropped."""
        shutil.rmtree(svc.root / "series", ignore_errors=True)
        world_model._coarse_box.cache_clear()
        t0 = time.perf_counter()
        df = analysis.timeseries(svc, "gpp_m", region, start, end)
        return time.perf_counter() - t0, df

    padded = world_model._pad_blocks(region, world_model.HALO_BLOCKS)
    world_model._tile_path(svc.world.seed, padded).unlink(missing_ok=True)
    s, _ = cold_series()
    rows.append({"name": "region-year daily GPP_M by PFT, first touch (30 m static layers built too)", "seconds": s})
    s, df = cold_series()
    rows.append({"name": "region-year daily GPP_M by PFT, cold (365 days from MODIS)", "seconds": s, "target_s": 10.0})
    s, _ = timed(lambda: analysis.timeseries(svc, "gpp_m", region, start, end), repeat=3)
    rows.append({"name": "region-year daily GPP_M by PFT, warm (from the cache)", "seconds": s, "target_s": 10.0})
    report("products", rows, {"series_rows": len(df), "pfts": [c for c in df.columns if c != "date"]})


if __name__ == "__main__":
    main()
