"""The shipped Step 2 models' recipes, end to end: train and calibrate on the tile split.

The CLI (`unique downscale train|calibrate`) only parses and prints; what is read,
trained, scored and written lives here, so the commands and the docs' figures share one path.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Callable

from unique_core.atomic import write_text
from unique_core.errors import UniqueError


def train_shipped(scheme: str, kind: str, *, steps: int, base: int, batch: int, crop: int,
                  base_map: str = "gpp_m", out: str | Path | None = None,
                  progress: Callable[[int, int, float], None] | None = None) -> tuple[Path, dict]:
    """Train S1/S2 (or the regression baseline) on the training tiles and years, save it with its card.

    base_map: the map the residual is added to (`data.s2_base`): bilinear GPP_M, or (S2) unmixing.
    """
    import torch

    from unique_core.config import cache_dir
    from unique_core.downscale import data as D
    from unique_core.downscale.model import DownscaleConfig
    from unique_core.downscale.registry import TRAIN_YEARS, model_dir, split_tiles
    from unique_core.downscale.split import write_tiles
    from unique_core.downscale.train import TrainConfig, train
    from unique_core.world import World

    world = World()
    train_tiles, val_tiles = split_tiles()
    missing = [(t.key, y) for t in train_tiles + val_tiles for y in TRAIN_YEARS
               if not D.shard_path(t, y, world.seed).exists()]
    if missing:
        raise UniqueError(f"{len(missing)} tile-years have no samples yet: run `unique downscale data` first")
    name = scheme if kind == "diffusion" else "regression"
    cfg = DownscaleConfig(scheme=scheme, kind=kind, base=base, base_map=base_map)  # checks the base map
    train_s = D.load_samples(world, train_tiles, list(TRAIN_YEARS), scheme, base_map)
    val_s = D.load_samples(world, val_tiles, list(TRAIN_YEARS), scheme, base_map)
    ckpt = cache_dir() / "downscale-checkpoints" / (f"{name}-b{base}" + ("" if base_map == "gpp_m" else f"-{base_map}"))
    model, summary = train(cfg, train_s, val_s, TrainConfig(steps=steps, batch=batch, crop=crop), ckpt, progress)
    card = {"name": name, "scheme": scheme, "kind": kind, "config": cfg.to_json(), **summary,
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}",
            "training_tiles": [t.key for t in train_tiles], "validation_tiles": [t.key for t in val_tiles],
            "years": list(TRAIN_YEARS), "data_seed": world.seed,
            "parameters": sum(p.numel() for p in model.net.parameters())}
    target = Path(out) if out else model_dir(name)
    model.save(target, card=card)
    write_tiles(target / "config.json")  # the split's bounds, so anyone can check that a box is unseen
    return target, card


def calibrate_shipped(scheme: str, *, windows: int, members: int, steps: tuple[int, ...],
                      folder: str | Path | None = None, progress=None) -> tuple[Path, dict]:
    """Fit the spread model (downscale/uncertainty.py) on the validation tiles of the training years; write it to config.json."""
    from unique_core.downscale import data as D
    from unique_core.downscale import registry
    from unique_core.downscale.evaluate import calibrate_spread, test_windows
    from unique_core.world import World

    world = World()
    folder = Path(folder or registry.model_dir(scheme))
    model = registry.load(scheme, folder)
    _, val_tiles = registry.split_tiles()
    if scheme == "s3":
        wins = s3_windows(world, windows)
        info = calibrate_spread(model, wins, world, members=members, steps=tuple(steps), progress=progress)
        info["tiles"] = sorted({w.region.name.split("-")[0] for w in wins})
        return folder, _write_calibration(folder, info)
    # the validation tile-years whose samples are made (`unique downscale data` makes them all)
    pairs = [(t, y) for y in registry.TRAIN_YEARS for t in val_tiles if D.shard_path(t, y, world.seed).exists()]
    if not pairs:
        raise UniqueError("the validation tiles have no samples yet: run `unique downscale data` first")
    per = -(-windows // len(pairs))
    wins = [w for t, y in pairs for w in test_windows(world, [t], y, per, seed=y, base_map=model.config.base_map)]
    info = calibrate_spread(model, wins, world, members=members, steps=tuple(steps), progress=progress)
    info["tile_years"] = [[t.key, y] for t, y in pairs]
    return folder, _write_calibration(folder, info)


def _write_calibration(folder: Path, info: dict) -> dict:
    """Store a fitted spread model in a model's config.json (written atomically); returns it."""
    cfg = json.loads((folder / "config.json").read_text())
    cfg["spread_calibration"] = info
    # members are scaled by uncertainty.member_scale at every setting; 1 leaves nothing else to scale them
    cfg["spread_scale"] = 1.0
    write_text(folder / "config.json", json.dumps(cfg, indent=2))
    return info


def s3_windows(world, n: int, seed: int = 0) -> list:
    """`n` 150 px windows (3 x 3 blocks) of S3's validation samples against GPP_L, for its spread calibration:
    the variants alternate, each window's Landsat input is the withheld-scene one of its samples."""
    import numpy as np

    from unique_core.downscale import data as D
    from unique_core.downscale.evaluate import WINDOW, Window, _pft_names

    samples = [s for box, y in s3_boxes("validation") for s in D.load_s3_samples(world, [box], [y])]
    rng = np.random.default_rng(seed)
    out = []
    for k in rng.permutation(len(samples)):
        s = samples[k]
        bi, bj = (int(rng.integers(0, s.tile.nbrows - 2)), int(rng.integers(0, s.tile.nbcols - 2)))
        sl = (slice(bi * 50, bi * 50 + WINDOW), slice(bj * 50, bj * 50 + WINDOW))
        if s.mask[sl].mean() < 0.25:
            continue
        variant = D.VARIANTS[len(out) % 2]
        gl, gv, since, until = (a[sl].astype(np.float32) for a in s.views[variant])
        up = s.gpp_m_up[sl]
        region = s.tile.subregion(bi, bj, 3, 3, name=f"{s.tile.name}-{s.date}-{variant}")
        st = world.static(region)
        gm = s.gpp_m[3:-3, 3:-3][bi * 3: bi * 3 + 9, bj * 3: bj * 3 + 9]
        out.append(Window(region, s.date, D.s3_cond(up, s.static[:, sl[0], sl[1]], gl, gv, since, until, variant), up,
                          s.gpp_l[sl], np.full(up.shape, np.nan, np.float32), st.land, gm, _pft_names(st.fractions),
                          base=D.s3_base(up, gl, s.base_map, gv)))
        if len(out) >= n:
            break
    return out


def s3_boxes(split: str, years: tuple[int, ...] | None = None) -> list[tuple]:
    """(box, year) of the S3 samples made so far on the training or validation tiles (quarters of them)."""
    from unique_core.downscale import data as D
    from unique_core.downscale.registry import TRAIN_YEARS, split_tiles
    from unique_core.world import DEFAULT_SEED

    tiles = split_tiles()[0 if split == "train" else 1]
    return [(D.s3_quarter(t, q), y) for t in tiles for q in range(4) for y in (years or TRAIN_YEARS)
            if D.s3_shard_path(D.s3_quarter(t, q), y, DEFAULT_SEED).exists()]


def train_s3(*, steps: int, base: int, batch: int, crop: int, base_map: str = "gpp_l", threads: int = 2,
             out: str | Path | None = None, progress: Callable[[int, int, float], None] | None = None
             ) -> tuple[Path, dict]:
    """Train S3 (one network for the two-sided and past-only variants) on the S3 samples of the
    training tiles, early-stopping loss on the validation tiles'; save it with its card and split."""
    import torch

    from unique_core.config import cache_dir
    from unique_core.downscale import data as D
    from unique_core.downscale.model import DownscaleConfig
    from unique_core.downscale.registry import model_dir
    from unique_core.downscale.split import write_tiles
    from unique_core.downscale.train import TrainConfig, train
    from unique_core.world import World

    world = World()
    tr, va = s3_boxes("train"), s3_boxes("validation")
    if not tr or not va:
        raise UniqueError("S3 has no samples on the training or validation tiles yet: run `unique downscale data "
                          "--scheme s3` first")
    load = lambda jobs: [s for box, y in jobs for s in D.load_s3_samples(world, [box], [y], base_map)]
    train_s, val_s = load(tr), load(va)
    cfg = DownscaleConfig(scheme="s3", kind="diffusion", base=base, base_map=base_map)
    ckpt = cache_dir() / "downscale-checkpoints" / f"s3-{base_map}-b{base}"
    model, summary = train(cfg, train_s, val_s, TrainConfig(steps=steps, batch=batch, crop=crop, threads=threads), ckpt,
                           progress)
    card = {"name": "s3", "scheme": "s3", "kind": "diffusion", "config": cfg.to_json(), **summary,
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}",
            "training_boxes": [f"{b.key}_{y}" for b, y in tr], "validation_boxes": [f"{b.key}_{y}" for b, y in va],
            "withheld_scene": "each pair's Landsat input is interpolated from the other acquisitions only",
            "data_seed": world.seed, "parameters": sum(p.numel() for p in model.net.parameters())}
    target = Path(out) if out else model_dir("s3")
    model.save(target, card=card)
    write_tiles(target / "config.json")
    return target, card
