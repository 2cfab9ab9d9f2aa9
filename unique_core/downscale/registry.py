"""Where the shipped downscaling models live; the default tiles and years of Step 2."""

from __future__ import annotations

import functools
from pathlib import Path

from unique_core.errors import ModelError

from unique_core.config import models_dir

TRAIN_YEARS = (2020, 2021, 2022)
TEST_YEAR = 2023
N_TILES = 16
N_VAL_TILES = 2


def model_dir(name: str) -> Path:
    """name: s1, s2 or regression."""
    return models_dir() / f"downscale_{name}"


@functools.lru_cache(maxsize=4)
def _load(path: str, mtimes_ns: tuple[int, int]):
    from unique_core.downscale.model import Downscaler

    return Downscaler.load(path)


def load(name: str, folder: str | Path | None = None):
    """A downscaling model (s1, s2 or regression): shipped unless `folder` is given; reloaded if it changes."""
    path = Path(folder) if folder else model_dir(name)
    if not (path / "weights.safetensors").exists():
        raise ModelError(f"no {name} downscaling model at {path}: train one with "
                         f"`unique downscale {'train --scheme ' + name if name != 'regression' else 'train --scheme s2 --kind regression'}`")
    config = path / "config.json"
    return _load(str(path), ((path / "weights.safetensors").stat().st_mtime_ns,
                             config.stat().st_mtime_ns if config.exists() else 0))


@functools.lru_cache(maxsize=2)
def split_tiles(seed: int = 2026) -> tuple[tuple, tuple]:
    """(training tiles, validation tiles): the same 16 tiles every time (drawn once per process)."""
    from unique_core.downscale.data import training_tiles

    tiles = tuple(training_tiles(seed, N_TILES))
    return tiles[:-N_VAL_TILES], tiles[-N_VAL_TILES:]


def check_spread_setting(model, members: int, steps: int | None) -> None:
    """ModelError when an ensemble's std band would come from a setting its spread was not calibrated for.

    The spread factor is fitted at one member count and one DDIM step count
    (`spread_calibration` in config.json); the spread of DDIM samples changes with the step
    count, and the plain standard deviation of M members is biased low by sqrt((M-1)/M). A
    calibration may list `valid_members` and `valid_steps` to widen what it covers (for a
    band made with the unbiased, (M+1)/M-corrected estimator, any member count). Single
    members (no band) and the regression model are always allowed.
    """
    cfg = model.config
    if members < 2 or cfg.kind != "diffusion":
        return
    cal = cfg.spread_calibration or {}
    fix = f"`unique downscale calibrate --scheme {cfg.scheme} --members {members} --steps {steps}`"
    if not cal:
        raise ModelError(f"the {cfg.scheme} model's ensemble spread is not calibrated, so its std band would "
                         f"be too narrow: run {fix} first, or use --members 1 (no band)")
    ok_steps = list(cal.get("valid_steps") or [cal.get("ddim_steps")])
    ok_members = list(cal.get("valid_members") or [cal.get("members")])
    if steps not in ok_steps or members not in ok_members:
        raise ModelError(f"the {cfg.scheme} std band is calibrated for {'/'.join(map(str, ok_members))} members and "
                         f"DDIM {'/'.join(map(str, ok_steps))} steps, not {members} members and {steps} steps: use "
                         f"--members {ok_members[0]} --steps {ok_steps[0]}, --members 1 (no band), or run {fix}")
