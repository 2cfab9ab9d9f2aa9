"""One colour scale per quantity, shared by PNG renders, the app's maps and its charts."""

from __future__ import annotations

from dataclasses import dataclass

from unique_core.landcover import CLASSES


@dataclass(frozen=True)
class Style:
    cmap: str
    vmin: float
    vmax: float
    label: str  # colour-bar label, with units


GPP = Style("YlGn", 0.0, 15.0, "GPP (gC m$^{-2}$ d$^{-1}$)")
STYLES: dict[str, Style] = {
    # the simulated summits reach 1,915 m (Jirisan) and 1,947 m (Hallasan), the DEM 1,994 m
    "dem": Style("terrain", 0.0, 2000.0, "elevation (m)"),
    "hillshade": Style("gray", 0.0, 1.0, "hillshade (unitless)"),
    "slope": Style("magma_r", 0.0, 45.0, "slope (degrees)"),
    "gpp": GPP,
    "gpp_true": GPP,
    "gpp_true_500m": GPP,
    "gpp_m": GPP,
    "gpp_l": GPP,
    "s1": GPP,
    "s2": GPP,
    "s3": GPP,
    "s3_past": GPP,
    "ndvi": Style("RdYlGn", -0.2, 1.0, "NDVI (unitless)"),
    "ndvi_true": Style("RdYlGn", -0.2, 1.0, "NDVI (unitless)"),
    "modis_ndvi": Style("RdYlGn", -0.2, 1.0, "NDVI (unitless)"),
    "landsat_ndvi": Style("RdYlGn", -0.2, 1.0, "NDVI (unitless)"),
    "std": Style("magma", 0.0, 3.0, "ensemble std (gC m$^{-2}$ d$^{-1}$)"),
    "difference": Style("RdBu_r", -5.0, 5.0, "difference (gC m$^{-2}$ d$^{-1}$)"),
    "fractions": Style("viridis", 0.0, 1.0, "area fraction (unitless)"),
}

# One colour per product on every page (maps' colour scales aside): lines, markers, histograms.
PRODUCT_COLOURS = {"gpp_m": "#1f77b4", "gpp_l": "#ff7f0e", "s1": "#9467bd", "s2": "#2ca02c",
                   "s3": "#d62728", "s3_past": "#e377c2",
                   "gpp_true": "#222222", "gpp_true_500m": "#222222", "tower": "#7f7f7f"}
PRODUCT_LABELS = {"gpp_m": "GPP_M", "gpp_l": "GPP_L", "s1": "S1", "s2": "S2", "s3": "S3", "s3_past": "S3 (past only)",
                  "gpp_true": "Truth (simulated)",
                  "gpp_true_500m": "Truth (simulated)", "tower": "Tower"}


def product_colour(label: str) -> str:
    """The colour of a product given its name or its display label ("GPP_M (500 m)", "S2", ...)."""
    if label in PRODUCT_COLOURS:
        return PRODUCT_COLOURS[label]
    head = label.split(" ")[0].lower()
    if head == "truth":
        return PRODUCT_COLOURS["gpp_true"]
    return PRODUCT_COLOURS.get(head, "#8c564b")


LANDCOVER_COLOURS = {c.id: c.colour for c in CLASSES}
LANDCOVER_NAMES = {c.id: c.name for c in CLASSES}
LANDCOVER_CATEGORIES = tuple((c.name, c.colour) for c in CLASSES)  # (name, colour) by class value 1..n


def style_for(name: str) -> Style:
    """The style of a layer or product name (GPP-like names share the GPP scale)."""
    if name in STYLES:
        return STYLES[name]
    if "gpp" in name:
        return GPP
    if "ndvi" in name:
        return STYLES["ndvi"]
    return Style("viridis", 0.0, 1.0, name)
