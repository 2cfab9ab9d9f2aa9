"""Where the shipped Step 1 models live, and loading them with a clear error when they are missing."""

from __future__ import annotations

import functools
from pathlib import Path

from unique_core.errors import ModelError
from unique_core.features import Sensor

MODELS = Path(__file__).resolve().parents[2] / "assets" / "models"


def default_model_dir(sensor: Sensor) -> Path:
    return MODELS / f"gpp_{sensor}"


@functools.lru_cache(maxsize=4)
def _load(path: str):
    from unique_core.gpp.model import GppModel

    return GppModel.load(path)


def load_model(sensor: Sensor, folder: str | Path | None = None):
    """The GPP model of `sensor` (shipped in assets/models unless `folder` is given)."""
    path = Path(folder) if folder else default_model_dir(sensor)
    if not path.exists():
        raise ModelError(f"no {sensor} GPP model at {path}: train one with `unique gpp train --sensor {sensor}`")
    return _load(str(path))
