"""S3 (temporal fusion) speed on CPU, with the shipped S3 weights.

    python bench/bench_s3.py

Target (issue 11, 2 CPU cores): one 150 x 150 patch, DDIM 10, one member <= 0.5 s (sampling only,
as bench_step2 measures S2). Also measured: the patch with its inputs (GPP_M, the Landsat stack of
the 64 days around the day, interpolation, GPP_L and GPP_M on the views' dates), two-sided and
past-only, the inputs alone and their GPP_M-on-the-views part, and the load average at the time
(these machines are shared: say it beside the numbers).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from unique_core.downscale import data as D  # noqa: E402
from unique_core.downscale import registry  # noqa: E402
from unique_core.downscale.infer import downscale_region, sample_residual  # noqa: E402
from unique_core.features import LANDSAT_MAX_GAP  # noqa: E402
from unique_core.gpp.maps import gpp_m_map, landsat_stack  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import Region  # noqa: E402
from unique_core.world import World  # noqa: E402

DAY = dt.date(2023, 7, 15)
THREADS = 2


def main() -> None:
    torch.set_num_threads(THREADS)
    world = World()
    s3 = registry.load("s3")
    gm_model, gl_model = load_model("modis"), load_model("landsat")
    patch = Region("patch", 300, 180, 3, 3)
    padded = Region("p", patch.brow0 - 1, patch.bcol0 - 1, 5, 5)
    up = D.upsample(gpp_m_map(gm_model, world, DAY, padded).values, patch)
    gl, gv, since, until = D.s3_inputs(world, patch, DAY, "two_sided", gl_model, gm_model)
    cond = D.s3_cond(up, D.static_channels(world, patch), gl, gv, since, until, "two_sided")
    rows = []
    s, _ = timed(lambda: sample_residual(s3, cond, patch.fine, members=1, steps=10, seed=0), repeat=3)
    rows.append({"name": "S3 150 x 150 patch, DDIM 10, sampling only", "seconds": s, "target_s": 0.5})
    for variant in ("two_sided", "past"):
        s, _ = timed(lambda: downscale_region(s3, world, patch, DAY, gm_model, members=1, steps=10, variant=variant,
                                              gpp_l_model=gl_model), repeat=2)
        rows.append({"name": f"S3 patch, DDIM 10, inputs + sampling ({variant})", "seconds": s})
    s, _ = timed(lambda: D.s3_inputs(world, patch, DAY, "two_sided", gl_model, gm_model), repeat=2)
    rows.append({"name": "S3 patch, Landsat inputs + GPP_M with the views' vegetation (two_sided)", "seconds": s})
    gap = dt.timedelta(LANDSAT_MAX_GAP)
    times, _, _ = landsat_stack(world, patch, DAY - gap, DAY + gap)
    s, _ = timed(lambda: D.gpp_m_with_view_vegetation(gm_model, world, D.view_vegetation(world, patch, times), DAY),
                 repeat=2)
    rows.append({"name": "  of which GPP_M with the views' vegetation", "seconds": s})
    report("s3", rows, {"threads": THREADS, "day": DAY.isoformat(), "load_average": list(os.getloadavg()),
                        "parameters": int(sum(p.numel() for p in s3.net.parameters())),
                        "model": {k: s3.config.to_json()[k] for k in ("base", "mults", "base_map")}})


if __name__ == "__main__":
    main()
