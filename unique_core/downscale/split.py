"""The three-way spatial split of Step 2: training, validation and held-out test tiles.

- Training and validation tiles: the 16 tiles of 12 x 12 km that the shipped models were
  trained on (14) and early-stopped and spread-calibrated on (2), drawn at random over
  Korea's land (`registry.split_tiles`).
- Test tiles: 4.5 x 4.5 km boxes (3 x 3 blocks: exactly one of the paper's 150 x 150 px
  windows, 9 x 9 MODIS cells) placed by hand on the landscapes a user cares about (western
  rice plains, eastern mountains, Jeju, urban edges, coasts), every one at least
  MARGIN_BLOCKS (6 km) away from every training and validation tile, so nothing the
  shipped models saw (not even the one-block halo of their GPP_M inputs) touches them.
  Nothing is trained, tuned or calibrated on them.

Bounds are written into every shipped model's config.json (`tiles`), in EPSG:5179 metres,
so anyone can check that a box is unseen (`unseen`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from unique_core.errors import RegionError
from unique_core.grid import BLOCK, FRAME_XMIN, FRAME_YMAX, Region, from_lonlat

TEST_BLOCKS = 3  # 4.5 km: one 150 px window
MARGIN_BLOCKS = 4  # 6 km between a test tile and any training or validation tile

# (name, landscape, lon, lat) of each test tile's centre
TEST_SITES: tuple[tuple[str, str, float, float], ...] = (
    ("gimje_plain", "western rice plain", 126.80, 35.796),
    ("naju_plain", "western rice plain", 126.659, 34.97),
    ("haenam_farms", "south-western farmland", 126.58, 34.63),
    ("seosan_coast", "west coast", 126.42, 36.76),
    ("taebaek_mountains", "eastern mountains", 128.95, 37.16),
    ("pyeongchang_highland", "eastern mountains", 128.55, 37.66),
    ("jirisan_slopes", "southern mountains", 127.66, 35.34),
    ("andong_hills", "inland hills and valleys", 128.72, 36.56),
    ("jeju_north", "Jeju", 126.45, 33.45),
    ("jeju_east", "Jeju", 126.80, 33.43),
    ("seoul_hanam_edge", "urban edge", 127.20, 37.54),
    ("daejeon_edge", "urban edge", 127.31, 36.40),
    ("gangneung_coast", "east coast", 128.90, 37.77),
    ("suncheon_bay", "south coast", 127.50, 34.88),
)


@dataclass(frozen=True)
class Split:
    train: tuple[Region, ...]
    validation: tuple[Region, ...]
    test: tuple[Region, ...]

    def to_json(self) -> dict:
        """{"train": [[xmin, ymin, xmax, ymax], ...], "validation": [...], "test": [...]} in EPSG:5179 m."""
        return {k: [list(r.bounds) for r in getattr(self, k)] for k in ("train", "validation", "test")}


def _box(name: str, lon: float, lat: float, title: str) -> Region:
    x, y = from_lonlat(lon, lat)
    bcol = round((x - FRAME_XMIN) / BLOCK - TEST_BLOCKS / 2)
    brow = round((FRAME_YMAX - y) / BLOCK - TEST_BLOCKS / 2)
    return Region(name, brow, bcol, TEST_BLOCKS, TEST_BLOCKS, title=title)


def gap_blocks(a: Region, b: Region) -> int:
    """Blocks of clear space between two boxes (0 when they touch, negative when they overlap)."""
    gr = max(b.brow0 - (a.brow0 + a.nbrows), a.brow0 - (b.brow0 + b.nbrows))
    gc = max(b.bcol0 - (a.bcol0 + a.nbcols), a.bcol0 - (b.bcol0 + b.nbcols))
    return max(gr, gc)


def test_tiles() -> tuple[Region, ...]:
    """The held-out test tiles (see TEST_SITES)."""
    return tuple(_box(n, lon, lat, f"{n.replace('_', ' ')} ({land})") for n, land, lon, lat in TEST_SITES)


@functools.lru_cache(maxsize=2)
def shipped_split(seed: int = 2026) -> Split:
    """The split of the shipped models: their training and validation tiles, and the test tiles."""
    from unique_core.downscale.registry import split_tiles

    train, val = split_tiles(seed)
    split = Split(tuple(train), tuple(val), test_tiles())
    check_disjoint(split)
    return split


def check_disjoint(split: Split, margin: int = MARGIN_BLOCKS) -> None:
    """RegionError when a test tile lies within `margin` blocks of a training or validation tile."""
    for t in split.test:
        for s in (*split.train, *split.validation):
            if gap_blocks(t, s) < margin:
                raise RegionError(f"test tile {t.name} is {gap_blocks(t, s) * BLOCK / 1000:.1f} km from "
                                  f"tile {s.name} ({s.key}); test tiles need {margin * BLOCK / 1000:.0f} km: "
                                  "move it in unique_core/downscale/split.py TEST_SITES")


def unseen(region: Region, split: Split | None = None, margin: int = 0) -> bool:
    """True when `region` is at least `margin` blocks away from every training and validation tile."""
    split = split or shipped_split()
    return all(gap_blocks(region, s) >= margin for s in (*split.train, *split.validation))


def write_tiles(config_path: str | Path, split: Split | None = None) -> dict:
    """Add (or replace) the `tiles` key of a model's config.json; returns the new config."""
    from unique_core.atomic import write_text
    from unique_core.errors import ModelError

    path = Path(config_path)
    if not path.exists():
        raise ModelError(f"{path}: no config.json to add the split to; train or copy a model there first")
    cfg = json.loads(path.read_text())
    cfg["tiles"] = (split or shipped_split()).to_json()
    cfg["tiles_crs"] = "EPSG:5179"
    write_text(path, json.dumps(cfg, indent=2))
    return cfg
