"""Where the shipped Step 1 models live, and loading them with a clear error when they are missing."""

from __future__ import annotations

import functools
from pathlib import Path

from unique_core.errors import ModelError
from unique_core.features import Sensor

from unique_core.config import models_dir


def default_model_dir(sensor: Sensor) -> Path:
    return models_dir() / f"gpp_{sensor}"


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int):
    from unique_core.gpp.model import GppModel

    return GppModel.load(path)


def load_model(sensor: Sensor, folder: str | Path | None = None):
    """The GPP model of `sensor` (shipped in assets/models unless `folder` is given).

    Loaded once per process, and again if the model file changes (a retrained model).
    """
    path = Path(folder) if folder else default_model_dir(sensor)
    if not (path / "model.txt").exists():
        raise ModelError(f"no {sensor} GPP model at {path}: train one with `unique gpp train --sensor {sensor}`")
    return _load(str(path), (path / "model.txt").stat().st_mtime_ns)
