"""Step 2 downscaling speed on CPU (issue: Step 2), with the shipped S2 weights.

    python bench/bench_step2.py

Targets (2 CPU cores): one 150 x 150 patch <= 1 s; a 30 x 30 km region <= 60 s. Also measured:
what channels_last and the number of DDIM steps change, ensembles, and an estimate for the
whole country at 30 m from a Dask LocalCluster run (2 workers) on a 30 x 30 km area.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from unique_core.downscale import data as D  # noqa: E402
from unique_core.downscale import registry  # noqa: E402
from unique_core.downscale.distributed import downscale_area  # noqa: E402
from unique_core.downscale.infer import downscale_region, sample_residual  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import COARSE_RES, FINE_RES, Region, get_region  # noqa: E402
from unique_core.world import World  # noqa: E402
from unique_core.landmask import coarse_land_mask  # noqa: E402

DAY = dt.date(2023, 7, 15)
THREADS = 2


def _patch_sampler(model, cond, grid, steps):
    """The product path (sample_residual): one 150 x 150 patch, padded to 152 (divisible by 4)."""
    return lambda: sample_residual(model, cond, grid, members=1, steps=steps, seed=0)


def _raw_sampler(model, cond, steps, fmt: torch.memory_format):
    """model.sample on one padded patch with weights and input in memory format `fmt`."""
    def run():
        model.net.to(memory_format=fmt)
        try:
            c = torch.from_numpy(np.pad(cond, ((0, 0), (0, 2), (0, 2)), mode="reflect"))[None].contiguous(memory_format=fmt)
            g = torch.Generator().manual_seed(0)
            with torch.inference_mode():
                return model.sample(c, lambda k, shape: torch.randn(shape, generator=g), steps=steps)
        finally:
            model.net.to(memory_format=torch.channels_last)  # as Downscaler.load leaves it

    return run


def main() -> None:
    torch.set_num_threads(THREADS)
    world = World()
    s2 = registry.load("s2")
    gm_model = load_model("modis")
    rows = []

    # --- one 150 x 150 patch (3 x 3 blocks of 1.5 km)
    patch = Region("patch", 300, 180, 3, 3)
    padded = Region("p", patch.brow0 - 1, patch.bcol0 - 1, 5, 5)
    from unique_core.gpp.maps import gpp_m_map

    gm = gpp_m_map(gm_model, world, DAY, padded).values
    up = D.upsample(gm, patch)
    base = D.s2_base(gm, patch, s2.config.base_map, *D.base_fractions(world, patch, s2.config.base_map), up=up)
    cond = D.s2_cond(up, base, D.static_channels(world, patch), s2.config.base_map)
    for steps in (5, 10):
        s, _ = timed(_patch_sampler(s2, cond, patch.fine, steps), repeat=3)
        rows.append({"name": f"S2 150 x 150 patch, DDIM {steps}, sampling only", "seconds": s, "target_s": 1.0})
    for label, fmt in (("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)):
        s, _ = timed(_raw_sampler(s2, cond, 10, fmt), repeat=3)
        rows.append({"name": f"S2 patch, DDIM 10, weights + input {label}", "seconds": s})
    s, _ = timed(lambda: downscale_region(s2, world, patch, DAY, gm_model, members=1, steps=10), repeat=3)
    rows.append({"name": "S2 150 x 150 patch, DDIM 10, inputs + sampling", "seconds": s, "target_s": 1.0})

    # --- a 30 x 30 km region (1000 x 1000 px)
    region = get_region("gwangneung")
    t0 = time.perf_counter()
    res = downscale_region(s2, world, region, DAY, gm_model, members=1, steps=10)
    rows.append({"name": "S2 30 x 30 km region, DDIM 10, 1 member", "seconds": time.perf_counter() - t0, "target_s": 60.0})
    t0 = time.perf_counter()
    downscale_region(s2, world, region, DAY, gm_model, members=4, steps=10)
    rows.append({"name": "S2 30 x 30 km region, DDIM 10, 4 members", "seconds": time.perf_counter() - t0})

    # --- the whole country, estimated from a Dask LocalCluster run on a 30 x 30 km area
    land, _ = coarse_land_mask()
    land_px = float(land.sum()) * (COARSE_RES / FINE_RES) ** 2
    with tempfile.TemporaryDirectory() as tmp:
        info = downscale_area(region, DAY, "s2", Path(tmp) / "area.tif", tile_blocks=10, members=1, steps=10,
                              n_workers=THREADS)
    area_px = region.fine.height * region.fine.width
    country_s = info["seconds"] * land_px / area_px
    rows.append({"name": "Dask LocalCluster (2 workers x 1 thread), 30 x 30 km", "seconds": info["seconds"]})
    rows.append({"name": "all of South Korea's land at 30 m, estimated", "seconds": country_s})
    report("step2", rows, {"threads": THREADS, "day": DAY.isoformat(), "region_block_rmse": res.conservation_rmse,
                           "country_land_pixels_30m": land_px, "country_estimate_hours_2_cores": country_s / 3600,
                           "dask": info, "gpu": torch.cuda.is_available()})
    print(f"  country at 30 m on {THREADS} cores: about {country_s / 3600:.1f} h "
          f"({land_px / 1e6:.0f} M land pixels); it scales with the number of workers")


if __name__ == "__main__":
    main()
