"""The land-cover classes of UNIQUE: one table that everything else imports.

Classes follow the Korean Ministry of Environment's land-cover map (level-2 codes where it
splits a class we use, level-1 otherwise). Each class maps to a MOD17 biome (its BPLUT
column in the `mod17` package, UMD numbering) and to a FLUXNET/IGBP plant functional type,
which is how towers, Step 1 models and time series by plant type see it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LandClass:
    id: int  # value in class rasters; 0 is "no data / outside South Korea"
    key: str  # short machine name, also the fraction band name
    name: str
    moe_code: int  # Ministry of Environment land-cover code
    colour: str  # hex, MoE-like legend colours
    mod17_biome: str | None  # BPLUT column (None: no photosynthesis)
    pft: str | None  # IGBP plant functional type for analysis (None: not vegetation)


CLASSES: tuple[LandClass, ...] = (
    LandClass(1, "urban", "Urban / built-up", 100, "#e8463a", "Grass", "URB"),
    LandClass(2, "paddy", "Rice paddy", 210, "#f2e35b", "Crop", "CRO"),
    LandClass(3, "field", "Dry field", 220, "#d9a441", "Crop", "CRO"),
    LandClass(4, "deciduous", "Deciduous forest", 310, "#43a047", "DBF", "DBF"),
    LandClass(5, "coniferous", "Coniferous forest", 320, "#1b5e20", "ENF", "ENF"),
    LandClass(6, "mixed", "Mixed forest", 330, "#2e7d32", "MF", "MF"),
    LandClass(7, "grassland", "Grassland", 400, "#9ccc65", "Grass", "GRA"),
    LandClass(8, "wetland", "Wetland", 500, "#7e57c2", "Grass", "WET"),
    LandClass(9, "barren", "Barren", 600, "#bdb6a6", None, None),
    LandClass(10, "water", "Water", 700, "#3f7fbf", None, None),
)

BY_KEY = {c.key: c for c in CLASSES}
BY_ID = {c.id: c for c in CLASSES}
KEYS = tuple(c.key for c in CLASSES)
N_CLASSES = len(CLASSES)
NODATA = 0

# Plant functional types used for analysis, in display order. Rice is kept apart from other
# crops because its season, water and productivity differ so much in Korea.
PFTS: tuple[str, ...] = ("DBF", "ENF", "MF", "RICE", "CRO", "GRA", "WET", "URB")
PFT_NAMES = {"DBF": "Deciduous broadleaf forest", "ENF": "Evergreen needleleaf forest",
             "MF": "Mixed forest", "RICE": "Rice paddy", "CRO": "Dry cropland",
             "GRA": "Grassland", "WET": "Wetland", "URB": "Urban vegetation"}


def analysis_pft(key: str) -> str | None:
    """The analysis PFT of a class key (rice paddies are their own type)."""
    if key == "paddy":
        return "RICE"
    return BY_KEY[key].pft


def class_index(key: str) -> int:
    """Position of a class in fraction stacks (0-based, the order of CLASSES)."""
    return KEYS.index(key)
