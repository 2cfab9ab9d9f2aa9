"""Choose S2's base map on the validation tiles, against GPP_L (what a real-data user could do).

The S2 shipped before E6 added its residual to bilinear GPP_M; the candidate, trained with
`unique downscale train --scheme s2 --base-map unmix --out FOLDER`, adds it to land-cover unmixing
and sees that map as a channel. Both are scored on the same 150 px windows of the two validation
tiles' clear Landsat dates of the training years (never a test tile, never the simulated truth):
RMSE and MAE of the ensemble mean (4 members, DDIM 10) against GPP_L on clear land pixels, pooled,
by plant type and with a 90 % block-bootstrap interval (blocks: tile-years) of the RMSE ratio.
The rule, set before the run: the unmixing S2 ships if its pooled RMSE is the lower (it did, in E6).

    mkdir -p /tmp/s2_bilinear
    git show fd31e6f:assets/models/downscale_s2/weights.safetensors > /tmp/s2_bilinear/weights.safetensors
    git show fd31e6f:assets/models/downscale_s2/config.json > /tmp/s2_bilinear/config.json
    python docs/choose_s2_base.py --bilinear /tmp/s2_bilinear   # the unmixing S2: the shipped one, or --unmix FOLDER
    # about 3 minutes on 2 cores; writes docs/figures/step2/s2_base_choice.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unique_core import metrics as M
from unique_core.atomic import write_text
from unique_core.downscale import registry
from unique_core.downscale.evaluate import predict_window, test_windows
from unique_core.world import World

OUT = Path(__file__).resolve().parent / "figures" / "step2" / "s2_base_choice.json"
PER_TILE_YEAR = 10
MEMBERS, STEPS = 4, 10
MIN_PFT_PIXELS = 1000


def _windows(world, base_map: str) -> list:
    _, val_tiles = registry.split_tiles()
    # seeds apart from the calibration's (seed = year): other windows of the same validation tile-years
    return [w for t in val_tiles for y in registry.TRAIN_YEARS
            for w in test_windows(world, [t], y, PER_TILE_YEAR, seed=10_000 + y, base_map=base_map)]


def _score(model, windows) -> tuple[dict, np.ndarray]:
    """Pooled scores against GPP_L and the per-window (squared error, pixels) rows for the bootstrap."""
    rows, total, by_pft = [], [], {}
    for k, w in enumerate(windows):
        mean = predict_window("s2", {"s2": model}, w, members=MEMBERS, steps=STEPS, seed=k).mean(axis=0)
        cl = np.isfinite(w.gpp_l) & w.land
        s = M.pooled(w.gpp_l[cl], mean[cl])
        total.append(s)
        rows.append((s["se"], s["n"]))
        for p in np.unique(w.pft[cl]):
            sel = cl & (w.pft == p)
            by_pft.setdefault(str(p), []).append(M.pooled(w.gpp_l[sel], mean[sel]))
    add = lambda parts: {key: sum(p[key] for p in parts) for key in parts[0]}  # noqa: E731
    res = M.from_pooled(add(total))
    pft = {p: round(M.from_pooled(add(v))["rmse"], 4) for p, v in sorted(by_pft.items())
           if sum(x["n"] for x in v) > MIN_PFT_PIXELS}
    return {"rmse": res["rmse"], "mae": res["mae"], "pixels": res["n"], "by_pft": pft}, np.array(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bilinear", type=Path, required=True, help="model folder of the S2 on the bilinear GPP_M base")
    ap.add_argument("--unmix", type=Path, default=None, help="model folder of the S2 on the unmixing base (shipped)")
    args = ap.parse_args()
    t0 = time.time()
    world = World()
    models = {"bilinear": registry.load("s2", args.bilinear), "unmix": registry.load("s2", args.unmix)}
    for name, want in (("bilinear", "gpp_m"), ("unmix", "unmix")):
        if models[name].config.base_map != want:
            raise SystemExit(f"--{name}: that S2 is on the {models[name].config.base_map} base, not {want}")
    res, rows, seen, blocks = {}, {}, [], None
    for name, model in models.items():
        wins = _windows(world, model.config.base_map)
        seen.append([w.region.name for w in wins])
        blocks = np.array([f"{w.region.name.split('-')[0]}-{w.date.year}" for w in wins])
        res[name], rows[name] = _score(model, wins)
        res[name] |= {"base_map": model.config.base_map, "windows": len(wins)}
        print(f"{name} base: RMSE {res[name]['rmse']:.4f}, MAE {res[name]['mae']:.4f} gC m-2 d-1 against GPP_L "
              f"on {res[name]['pixels']:,} clear validation pixels; by PFT {res[name]['by_pft']}")
    if seen[0] != seen[1]:
        raise SystemExit("the two base maps drew different windows")
    ratio = res["unmix"]["rmse"] / res["bilinear"]["rmse"]
    both = np.concatenate([rows["bilinear"], rows["unmix"]], axis=1)  # (windows, 4): se, n of each
    ci = M.block_bootstrap(both, blocks, lambda v: float(np.sqrt(v[:, 2].sum() / v[:, 3].sum())
                                                          / np.sqrt(v[:, 0].sum() / v[:, 1].sum())), n_boot=400)
    ships = res["unmix"]["rmse"] < res["bilinear"]["rmse"]
    print(f"unmix / bilinear RMSE {ratio:.4f} (90 % CI {ci[0]:.4f}-{ci[1]:.4f}): "
          f"{'the unmixing S2 ships' if ships else 'the bilinear S2 stays'}")
    report = {"rule": "the unmixing S2 ships if its pooled RMSE against GPP_L on the validation windows is the lower",
              "members": MEMBERS, "ddim_steps": STEPS, "reference": "GPP_L on clear land pixels, validation tiles",
              "units": "gC m-2 d-1", "years": list(registry.TRAIN_YEARS), **res, "rmse_ratio": round(ratio, 4),
              "rmse_ratio_ci90": [round(c, 4) for c in ci], "unmix_ships": bool(ships),
              "seconds": round(time.time() - t0, 1)}
    write_text(OUT, json.dumps(report, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
