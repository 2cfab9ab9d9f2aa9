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
                  out: str | Path | None = None, progress: Callable[[int, int, float], None] | None = None
                  ) -> tuple[Path, dict]:
    """Train S1/S2 (or the regression baseline) on the training tiles and years, save it with its card."""
    import torch

    from unique_core.config import cache_dir
    from unique_core.downscale import data as D
    from unique_core.downscale.model import DownscaleConfig
    from unique_core.downscale.registry import TRAIN_YEARS, model_dir, split_tiles
    from unique_core.downscale.train import TrainConfig, train
    from unique_core.world import World

    world = World()
    train_tiles, val_tiles = split_tiles()
    missing = [(t.key, y) for t in train_tiles + val_tiles for y in TRAIN_YEARS
               if not D.shard_path(t, y, world.seed).exists()]
    if missing:
        raise UniqueError(f"{len(missing)} tile-years have no samples yet: run `unique downscale data` first")
    name = scheme if kind == "diffusion" else "regression"
    train_s = D.load_samples(world, train_tiles, list(TRAIN_YEARS), scheme)
    val_s = D.load_samples(world, val_tiles, list(TRAIN_YEARS), scheme)
    cfg = DownscaleConfig(scheme=scheme, kind=kind, base=base)
    ckpt = cache_dir() / "downscale-checkpoints" / f"{name}-b{base}"
    model, summary = train(cfg, train_s, val_s, TrainConfig(steps=steps, batch=batch, crop=crop), ckpt, progress)
    card = {"name": name, "scheme": scheme, "kind": kind, "config": cfg.to_json(), **summary,
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}",
            "training_tiles": [t.key for t in train_tiles], "validation_tiles": [t.key for t in val_tiles],
            "years": list(TRAIN_YEARS), "data_seed": world.seed,
            "parameters": sum(p.numel() for p in model.net.parameters())}
    target = Path(out) if out else model_dir(name)
    model.save(target, card=card)
    return target, card


def calibrate_shipped(scheme: str, *, windows: int, members: int, steps: int,
                      folder: str | Path | None = None) -> tuple[Path, dict]:
    """Fit the ensemble-spread factor on the validation tiles of the training years; write it to config.json."""
    from unique_core.downscale import registry
    from unique_core.downscale.evaluate import calibrate_spread, test_windows
    from unique_core.world import World

    world = World()
    folder = Path(folder or registry.model_dir(scheme))
    model = registry.load(scheme, folder)
    _, val_tiles = registry.split_tiles()
    per_year = -(-windows // len(registry.TRAIN_YEARS))
    wins = [w for year in registry.TRAIN_YEARS for w in test_windows(world, val_tiles, year, per_year, seed=year)]
    info = calibrate_spread(model, wins, members=members, steps=steps)
    info["tiles"] = [t.key for t in val_tiles]
    info["years"] = list(registry.TRAIN_YEARS)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["spread_scale"], cfg["spread_calibration"] = info["spread_scale"], info
    write_text(folder / "config.json", json.dumps(cfg, indent=2))
    return folder, info
