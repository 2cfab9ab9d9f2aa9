"""The GPU check of issue 14: CUDA against CPU outputs, a region-year and a Korea-wide day, timed.

Run through bench/gpu_check.sh on a machine with a GPU (it was written without one and has
not been run). Each part prints as it goes and the report is written after each part, so a
run cut short by its time limit still leaves figures.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from unique_core import cube as C  # noqa: E402
from unique_core.downscale import data as D  # noqa: E402
from unique_core.downscale import registry  # noqa: E402
from unique_core.downscale.distributed import tiles_of  # noqa: E402
from unique_core.downscale.engine import half_precision_ok, make_engine  # noqa: E402
from unique_core.downscale.infer import downscale_days  # noqa: E402
from unique_core.gpp.maps import gpp_m_series  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import FRAME, Region, get_region  # noqa: E402
from unique_core.world import World  # noqa: E402
from unique_core.landmask import coarse_land_mask  # noqa: E402

YEAR = 2023
DAY = dt.date(YEAR, 7, 15)
SAMPLE_TILES = int(os.environ.get("GPU_CHECK_TILES", "4"))


def _halo(r: Region, n: int = 1) -> Region:
    return Region(r.name, r.brow0 - n, r.bcol0 - n, r.nbrows + 2 * n, r.nbcols + 2 * n)


def main() -> None:
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this check needs a GPU")
    torch.set_num_threads(min(16, os.cpu_count() or 1))
    extra = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "timed": True}
    rows: list[dict] = []
    world, model, gm_model = World(), registry.load("s2"), load_model("modis")
    region = get_region("gwangneung")

    # 1. the same tile-day on CPU and CUDA (fp32, fp16)
    t0 = time.time()
    gm, _ = gpp_m_series(gm_model, world, _halo(region), DAY, DAY)
    st, land = D.static_channels(world, region), world.static(region).land
    rows.append({"name": "inputs of one 30 x 30 km day (GPP_M + static, cold cache)", "seconds": time.time() - t0})
    maps = {}
    for label, dev, prec in (("cpu fp32", "cpu", "fp32"), ("cuda fp32", "cuda", "fp32"), ("cuda fp16", "cuda", "fp16")):
        eng = make_engine(model, device=dev, engine="torch", precision=prec)
        downscale_days(model, gm, st, region, land, engine=eng, steps=C.DEFAULT_STEPS, world=world)  # warm-up
        torch.cuda.synchronize()
        t0 = time.time()
        maps[label] = downscale_days(model, gm, st, region, land, engine=eng, steps=C.DEFAULT_STEPS, world=world)[0][0]
        torch.cuda.synchronize()
        rows.append({"name": f"S2 30 x 30 km day, sampling only, {label}", "seconds": time.time() - t0})
    ok = land & np.isfinite(maps["cpu fp32"])
    extra["vs_cpu"] = {k: {"max_abs": float(np.nanmax(np.abs(v - maps["cpu fp32"]))),
                           "rmse": float(np.sqrt(np.mean((v[ok] - maps["cpu fp32"][ok]) ** 2)))}
                       for k, v in maps.items() if k != "cpu fp32"}
    print(extra["vs_cpu"])
    precision = "fp16" if half_precision_ok(maps["cpu fp32"], maps["cuda fp16"], land)[0] else "fp32"
    extra["cube_precision"] = precision
    report("gpu_check", rows, extra)

    # 2. a 30 x 30 km region-year on CUDA
    out = Path(os.environ["UNIQUE_CACHE_DIR"]) / "gpu_year.zarr"
    info = C.make_cube("s2", YEAR, region, members=1, out=out, device="cuda", precision=precision,
                       days_per_chunk=32)
    rows.append({"name": f"S2 30 x 30 km region-year on CUDA ({precision}), measured", "seconds": info.seconds,
                 "target_s": 60.0})
    extra["region_year"] = info.to_dict()
    report("gpu_check", rows, extra)

    # 3. a Korea-wide day: a sample of land tiles, extrapolated
    land_mask, _ = coarse_land_mask()
    tiles = [t for t in tiles_of(FRAME, 20) if land_mask[t.coarse.window_in(FRAME.coarse)].any()]
    eng = make_engine(model, device="cuda", engine="torch", precision=precision)
    t_in = t_s = 0.0
    sample = tiles[:: max(1, len(tiles) // SAMPLE_TILES)][:SAMPLE_TILES]
    for t in sample:
        ctx = _halo(t)
        t0 = time.time()
        g, _ = gpp_m_series(gm_model, world, _halo(ctx), DAY, DAY)
        s, lnd = D.static_channels(world, ctx), world.static(ctx).land
        t1 = time.time()
        downscale_days(model, g, s, ctx, lnd, engine=eng, steps=C.DEFAULT_STEPS, world=world)
        torch.cuda.synchronize()
        t_in, t_s = t_in + t1 - t0, t_s + time.time() - t1
    n = len(sample)
    rows.append({"name": f"Korea-wide 30 m day: inputs per tile (mean of {n}, cold cache)", "seconds": t_in / n})
    rows.append({"name": f"Korea-wide 30 m day: CUDA sampling per tile (mean of {n})", "seconds": t_s / n})
    rows.append({"name": f"Korea-wide 30 m day on one GPU ({len(tiles)} tiles, extrapolated, inputs serial)",
                 "seconds": len(tiles) * (t_in + t_s) / n, "target_s": 300.0})
    rows.append({"name": "Korea-wide 30 m day, GPU sampling alone (extrapolated)", "seconds": len(tiles) * t_s / n})
    extra["land_tiles"] = len(tiles)
    report("gpu_check", rows, extra)


if __name__ == "__main__":
    main()
