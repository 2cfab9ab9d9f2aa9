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
    model = _load(str(path), ((path / "weights.safetensors").stat().st_mtime_ns,
                              config.stat().st_mtime_ns if config.exists() else 0))
    check_channels(model, path)
    return model


def check_channels(model, path: Path) -> None:
    """ModelError when a model was trained on other conditioning channels than this code makes for its scheme."""
    from unique_core.downscale.data import channels

    want = channels(model.config.scheme, model.config.base_map)
    default = "gpp_l" if model.config.scheme == "s3" else "gpp_m"  # `unique downscale train`'s --base-map
    if tuple(model.config.channels) != want:
        raise ModelError(f"the {model.config.scheme} model at {path} was trained on the channels "
                         f"{', '.join(model.config.channels)}, but this version of UNIQUE conditions "
                         f"{model.config.scheme} on {', '.join(want)}: retrain it with "
                         f"`unique downscale train --scheme {model.config.scheme}"
                         f"{'' if model.config.base_map == default else ' --base-map ' + model.config.base_map}` "
                         f"(after `unique downscale data "
                         f"--scheme {model.config.scheme}`), or use the UNIQUE version it was trained with")


@functools.lru_cache(maxsize=2)
def split_tiles(seed: int = 2026) -> tuple[tuple, tuple]:
    """(training tiles, validation tiles): the same 16 tiles every time (drawn once per process)."""
    from unique_core.downscale.data import training_tiles

    tiles = tuple(training_tiles(seed, N_TILES))
    return tiles[:-N_VAL_TILES], tiles[-N_VAL_TILES:]


def check_spread_setting(model, members: int, steps: int | None) -> None:
    """ModelError when an ensemble's band would come from a setting its spread model does not cover.

    See downscale/uncertainty.py: 2..16 members and DDIM step counts within the fitted range;
    single members (no band) and the regression model are always allowed.
    """
    from unique_core.downscale.uncertainty import check_setting

    check_setting(model.config, members, steps)
