"""How far more ensemble members could take S2's and S3's ensemble mean (from a held-out evaluation).

Members are independent draws given the inputs, so the squared error of an M-member mean is
MSE(M) = MSE(inf) + s^2 / M, with s^2 the members' own (uncalibrated) variance. The evaluation's
pooled terms give the calibrated members' variance (spread/skill x RMSE, squared, x M / (M + 1));
dividing by the calibration's c^2 (`uncertainty.member_scale`) gives s^2. Printed: RMSE at the
evaluated M (a check), 8, 16 (the most the app and CLI allow) and infinitely many members, in
gC m-2 d-1 and as ratios to land-cover unmixing and bilinear GPP_M (ordinary days, against the truth).
With the floor diagnostic's JSON, also the share of the distance from unmixing to S2's floor
without the crop calendars that S2 has closed.

    python docs/measure_ensemble_limit.py            # the shipped evaluation and models; seconds
    python docs/measure_ensemble_limit.py --evaluation E.json --s2-config C.json   # e.g. E5's, from git show
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from unique_core.config import models_dir
from unique_core.downscale.model import DownscaleConfig
from unique_core.downscale.uncertainty import member_scale

FLOOR = Path(__file__).resolve().parent / "figures" / "step2" / "s2_floor.json"


def limits(rmse: float, spread_skill: float, config: DownscaleConfig, members: int, steps: int) -> dict[int, float]:
    """RMSE of the ensemble mean at 8, 16 and infinitely many (key 0) members, and at `members`."""
    var = (spread_skill * rmse) ** 2 * members / (members + 1)  # calibrated members' mean variance
    s2 = var / member_scale(config, members, steps) ** 2
    inf = rmse ** 2 - s2 / members
    return {m: math.sqrt(inf + (s2 / m if m else 0.0)) for m in (members, 8, 16, 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaluation", type=Path, default=models_dir() / "downscale_evaluation.json")
    ap.add_argument("--s2-config", type=Path, default=models_dir() / "downscale_s2" / "config.json")
    ap.add_argument("--s3-config", type=Path, default=models_dir() / "downscale_s3" / "config.json")
    args = ap.parse_args()
    ev = json.loads(args.evaluation.read_text())
    o = ev["ordinary"]["methods"]
    unmix, bil = o["unmix"]["truth"]["rmse"], o["gpp_m_bilinear"]["truth"]["rmse"]
    print(f"{ev['members']} members, DDIM {ev['ddim_steps']}; RMSE in gC m-2 d-1 (x unmixing, x bilinear GPP_M)")
    for method, cfg_path, ref in (("s2", args.s2_config, None), ("s3", args.s3_config, "gpp_l_two_sided"),
                                  ("s3_past", args.s3_config, "gpp_l_past")):
        if method not in o:
            continue
        cfg = DownscaleConfig.from_json(json.loads(cfg_path.read_text()))
        lim = limits(o[method]["truth"]["rmse"], o[method]["spread_skill"], cfg, ev["members"], ev["ddim_steps"])
        extra = f", x {ref} {lim[0] / o[ref]['truth']['rmse']:.3f}" if ref else ""
        print(f"  {method}: " + "; ".join(f"{'inf' if m == 0 else m} members {r:.3f} ({r / unmix:.3f}, {r / bil:.3f})"
                                        for m, r in lim.items()) + extra)
    if FLOOR.exists():  # docs/measure_s2_floor.py
        f = json.loads(FLOOR.read_text())["rmse_vs_truth"]["calendar_mean_gpp_l"]["all"]
        closed = (unmix - o["s2"]["truth"]["rmse"]) / (unmix - f)
        print(f"  S2 has closed {closed:.0%} of the distance from unmixing ({unmix:.3f}) to its floor without the "
              f"crop calendars ({f:.3f}); 0.85 x unmixing asks {0.15 * unmix / (unmix - f):.0%}")

if __name__ == "__main__":
    main()
