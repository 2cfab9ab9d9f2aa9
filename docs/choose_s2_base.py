"""Choose S2's base map on the validation tiles, against GPP_L (what a real-data user could do).

The shipped S2 adds its residual to bilinear GPP_M; a candidate trained with
`unique downscale train --scheme s2 --base-map unmix --out FOLDER` adds it to land-cover unmixing
and sees that map as a channel. Both are scored on the same 150 px windows of the two validation
tiles' clear Landsat dates of the training years (never a test tile, never the simulated truth):
RMSE and MAE of the ensemble mean (4 members, DDIM 10) against GPP_L on clear land pixels, pooled,
by plant type and with a 90 % block-bootstrap interval (blocks: tile-years) of the RMSE ratio.
The rule, set before the run: the candidate ships if its pooled RMSE is the lower.

    python docs/choose_s2_base.py FOLDER     # about 3 minutes on 2 cores; writes docs/figures/step2/s2_base_choice.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unique_core.atomic import write_text
from unique_core.downscale import registry
from unique_core.downscale.evaluate import predict_window, test_windows
from unique_core.world import World

OUT = Path(__file__).resolve().parent / "figures" / "step2" / "s2_base_choice.json"
PER_TILE_YEAR = 10
MEMBERS, STEPS = 4, 10


def _windows(world, base_map: str) -> list:
    _, val_tiles = registry.split_tiles()
    # seeds apart from the calibration's (seed = year): other windows of the same validation tile-years
    return [w for t in val_tiles for y in registry.TRAIN_YEARS
            for w in test_windows(world, [t], y, PER_TILE_YEAR, seed=10_000 + y, base_map=base_map)]


def _score(model, windows) -> dict:
    sq, ab, n, blocks, pft_sq = [], [], [], [], {}
    for k, w in enumerate(windows):
        mean = predict_window("s2", {"s2": model}, w, members=MEMBERS, steps=STEPS, seed=k).mean(axis=0)
        cl = np.isfinite(w.gpp_l) & w.land
        e = mean[cl] - w.gpp_l[cl]
        sq.append(float((e ** 2).sum()))
        ab.append(float(np.abs(e).sum()))
        n.append(int(cl.sum()))
        blocks.append(f"{w.region.name.split('-')[0]}-{w.date.year}")
        for p in np.unique(w.pft[cl]):
            s = pft_sq.setdefault(str(p), [0.0, 0])
            sel = w.pft[cl] == p
            s[0] += float((e[sel] ** 2).sum())
            s[1] += int(sel.sum())
    return {"rmse": float(np.sqrt(sum(sq) / sum(n))), "mae": float(sum(ab) / sum(n)), "pixels": int(sum(n)),
            "by_pft": {p: round(float(np.sqrt(s / c)), 4) for p, (s, c) in sorted(pft_sq.items()) if c > 1000},
            "_sq": sq, "_n": n, "_blocks": blocks}


def _ratio_interval(a: dict, b: dict, reps: int = 400, seed: int = 0) -> list[float]:
    """90 % interval of RMSE(b) / RMSE(a) from resampling tile-year blocks of windows (same windows)."""
    keys = sorted(set(a["_blocks"]))
    idx = {k: [i for i, bk in enumerate(a["_blocks"]) if bk == k] for k in keys}
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(reps):
        pick = [i for k in rng.choice(keys, len(keys)) for i in idx[k]]
        ra = np.sqrt(sum(a["_sq"][i] for i in pick) / sum(a["_n"][i] for i in pick))
        rb = np.sqrt(sum(b["_sq"][i] for i in pick) / sum(b["_n"][i] for i in pick))
        out.append(rb / ra)
    return [round(float(q), 4) for q in np.quantile(out, [0.05, 0.95])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("candidate", type=Path, help="model folder of the S2 on the unmixing base")
    args = ap.parse_args()
    t0 = time.time()
    world = World()
    shipped = registry.load("s2")
    candidate = registry.load("s2", args.candidate)
    if candidate.config.base_map == shipped.config.base_map:
        raise SystemExit(f"{args.candidate}: the candidate has the shipped S2's base map "
                         f"({shipped.config.base_map}); train it with --base-map unmix")
    res, seen = {}, []
    for name, model in (("shipped", shipped), ("candidate", candidate)):
        wins = _windows(world, model.config.base_map)
        seen.append([(w.region.name, w.region.brow0, w.region.bcol0) for w in wins])
        res[name] = _score(model, wins)
        res[name]["base_map"] = model.config.base_map
        res[name]["windows"] = len(wins)
        print(f"{name} ({model.config.base_map} base): RMSE {res[name]['rmse']:.4f}, MAE {res[name]['mae']:.4f} "
              f"gC m-2 d-1 against GPP_L on {res[name]['pixels']:,} clear validation pixels; by PFT {res[name]['by_pft']}")
    assert seen[0] == seen[1], "the two base maps drew different windows"
    ratio = res["candidate"]["rmse"] / res["shipped"]["rmse"]
    ci = _ratio_interval(res["shipped"], res["candidate"])
    ships = res["candidate"]["rmse"] < res["shipped"]["rmse"]
    print(f"candidate / shipped RMSE {ratio:.4f} (90 % CI {ci[0]:.4f}-{ci[1]:.4f}): "
          f"{'the candidate ships' if ships else 'the shipped S2 stays'}")
    for r in res.values():
        for k in ("_sq", "_n", "_blocks"):
            r.pop(k)
    report = {"rule": "the candidate ships if its pooled RMSE against GPP_L on the validation windows is the lower",
              "members": MEMBERS, "ddim_steps": STEPS, "reference": "GPP_L on clear land pixels, validation tiles",
              "years": list(registry.TRAIN_YEARS), **res, "rmse_ratio": round(ratio, 4), "rmse_ratio_ci90": ci,
              "candidate_ships": bool(ships), "seconds": round(time.time() - t0, 1)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_text(OUT, json.dumps(report, indent=2))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
