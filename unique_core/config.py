"""Where UNIQUE keeps its caches and where it looks for real data: set by whoever starts it.

Environment variables (never browser input):
- UNIQUE_CACHE_DIR: caches of the simulated world and computed products
  (default: ~/.cache/unique).
- UNIQUE_DATA_DIR: a folder of real data in the layout of docs/real-data.md (optional).
- UNIQUE_MODELS_DIR: trained models (default: the shipped assets/models, found through
  unique_core.resources, so an installed wheel uses its own copy).
"""

from __future__ import annotations

import os
from pathlib import Path

from unique_core.resources import shipped_models_dir


def cache_dir() -> Path:
    """The cache folder, created on first use."""
    path = Path(os.environ.get("UNIQUE_CACHE_DIR") or Path.home() / ".cache" / "unique")
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path | None:
    """The real-data folder named by UNIQUE_DATA_DIR, or None for the simulated default."""
    value = os.environ.get("UNIQUE_DATA_DIR")
    return Path(value) if value else None


def models_dir() -> Path:
    """The folder of trained models: UNIQUE_MODELS_DIR, or the shipped assets/models."""
    value = os.environ.get("UNIQUE_MODELS_DIR")
    return Path(value) if value else shipped_models_dir()
