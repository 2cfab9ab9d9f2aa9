"""The embedded default: a deterministic simulated South Korea (see model.World)."""

from unique_core.world.model import DEFAULT_SEED, WORLD_VERSION, World

__all__ = ["World", "DEFAULT_SEED", "WORLD_VERSION"]
