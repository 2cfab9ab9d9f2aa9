"""The country base layer, offline: coastline, rivers, cities, peaks and the named regions, labelled.

Everything is drawn from what the package holds: the coast is the outline of South Korea's
land at 500 m (the mask the simulated world is built on, unique_core.landmask), shipped as a
small picture, assets/south_korea_land_500m.png, so the first map of a fresh server costs no
coastline computation (the mask takes 10-15 s to make from global-land-mask; tests check the
shipped copy equals it, `python -m unique_core.viz.basemap` rewrites it). Rivers, cities and
peaks come from unique_core.korea, and the named regions from assets/regions.json. The
simulated world has no provinces, so none are drawn. Labels are Leaflet DivIcons (plain HTML):
no marker images, no tiles, no CDN.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from unique_core.grid import FRAME, FRAME_XMIN, FRAME_YMAX, Grid, to_lonlat
from unique_core.korea import CITIES, PEAKS, RIVERS

LAND_ASSET = "south_korea_land_500m.png"  # in assets/: the frame's 500 m land mask, one bit a cell

COAST_COLOUR = "#37474f"
RIVER_COLOUR = "#4f8fc9"
REGION_COLOUR = "#2e7d32"
CURRENT_COLOUR = "#c62828"
LABEL_CSS = ("font:600 11px sans-serif;color:#263238;white-space:nowrap;"
             "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff")
BIG_CITY_M = 1.0  # cities of at least a million people are labelled on the country map


def shipped_land_mask() -> tuple[np.ndarray, Grid]:
    """South Korean land at 500 m over the frame (bool), from the shipped picture, and its grid.

    ResourceError (one line, how to fix) when the file is missing or is not the frame's size.
    """
    from PIL import Image

    from unique_core.resources import ResourceError, asset

    path = asset(LAND_ASSET)
    with Image.open(path) as img:
        mask = np.asarray(img.convert("1"), dtype=bool)
    grid = FRAME.coarse
    if mask.shape != grid.shape:
        raise ResourceError(f"{path} is {mask.shape[1]} x {mask.shape[0]} cells, the frame is {grid.width} x "
                            f"{grid.height}: rewrite it with `python -m unique_core.viz.basemap`")
    return mask, grid


def write_land_mask_asset() -> str:
    """Write assets/south_korea_land_500m.png from unique_core.landmask (atomic); returns its path."""
    import io

    from PIL import Image

    from unique_core.atomic import write_bytes
    from unique_core.landmask import coarse_land_mask
    from unique_core.resources import assets_dir

    mask, _ = coarse_land_mask()
    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool)).save(buf, format="PNG", optimize=True)
    path = assets_dir() / LAND_ASSET
    write_bytes(path, buf.getvalue())
    return str(path)


@dataclass(frozen=True)
class Coast:
    """Coastlines as lists of [lat, lon] vertices (degrees), simplified for display."""

    lines: tuple[tuple[tuple[float, float], ...], ...]


def coastlines(land: np.ndarray, grid: Grid, *, min_vertices: int = 6, tolerance_deg: float = 0.004) -> Coast:
    """The outline of a 0/1 land mask on `grid` (the 0.5 contour), in degrees.

    Rings shorter than `min_vertices` (specks of a pixel or two) are left out; the rest are
    simplified (Douglas-Peucker, `tolerance_deg`, about 400 m) so the map stays light.
    """
    import contourpy
    import shapely

    gen = contourpy.contour_generator(z=np.asarray(land, dtype=np.float64))
    lines = []
    for xy in gen.lines(0.5):
        if len(xy) < min_vertices:
            continue
        cols, rows = xy[:, 0], xy[:, 1]
        x = FRAME_XMIN + (grid.col0 + cols + 0.5) * grid.res
        y = FRAME_YMAX - (grid.row0 + rows + 0.5) * grid.res
        lon, lat = to_lonlat(x, y)
        simple = shapely.simplify(shapely.LineString(np.column_stack([lon, lat])), tolerance_deg)
        coords = np.asarray(simple.coords)
        if len(coords) >= 3:
            lines.append(tuple((round(float(b), 5), round(float(a), 5)) for a, b in coords))
    return Coast(tuple(lines))


class _Places(MacroElement):
    """Every place drawn by one script from JSON (one template for hundreds of shapes: folium
    compiles a template per element, which took seconds for the coast's few hundred rings)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var group = {{ this._parent.get_name() }}, d = {{ this.data|tojson }};
            function label(text, lat, lon, colour, dx, dy) {
                L.marker([lat, lon], {interactive: false, keyboard: false, icon: L.divIcon({className: "unique-label",
                    iconSize: [1, 1], iconAnchor: [0, 0], html: '<div style="' + d.css.replace("#263238", colour)
                    + ';transform:translate(' + dx + 'px,' + dy + 'px)">' + text + '</div>'})}).addTo(group);
            }
            if (d.coast.length) {
                L.polyline(d.coast, {color: d.coast_colour, weight: 1.2, opacity: 0.9, interactive: false}).addTo(group);
            }
            d.rivers.forEach(function (r) {
                L.polyline(r.line, {color: d.river_colour, weight: 2, opacity: 0.85}).bindTooltip(r.name).addTo(group);
            });
            d.cities.forEach(function (c) {
                L.circleMarker([c.lat, c.lon], {radius: c.big ? 4 : 2.5, color: "#263238", weight: 1, fill: true,
                    fillColor: c.big ? "#fff" : "#90a4ae", fillOpacity: 1}).bindTooltip(c.tip).addTo(group);
                if (c.label) { label(c.name, c.lat, c.lon, "#263238", 6, -8); }
            });
            d.peaks.forEach(function (p) {
                L.marker([p.lat, p.lon], {icon: L.divIcon({className: "unique-peak", iconSize: [12, 12], iconAnchor: [6, 7],
                    html: '<div style="color:#5d4037;font-size:12px;line-height:12px">&#9650;</div>'})})
                    .bindTooltip(p.tip).addTo(group);
            });
            d.regions.forEach(function (r) {
                L.rectangle(r.box, {color: d.region_colour, weight: 1.5, fill: true, fillOpacity: 0.12})
                    .bindTooltip(r.name).addTo(group);
                label(r.name, r.box[1][0], r.box[0][1], d.region_colour, 0, -16);
            });
            if (d.current) {
                L.rectangle(d.current.box, {color: d.current_colour, weight: 3, fill: false})
                    .bindTooltip("in use: " + d.current.name).addTo(group);
            }
        })();
        {% endmacro %}
    """)

    def __init__(self, data: dict):
        super().__init__()
        self.data = data


def _box(r) -> list[list[float]]:
    west, south, east, north = r.lonlat_bounds
    return [[round(south, 5), round(west, 5)], [round(north, 5), round(east, 5)]]


def places_layer(coast: Coast | None, *, all_cities: bool = False, peaks: bool = True,
                 name: str = "Places (coast, rivers, cities)") -> folium.FeatureGroup:
    """Coastline, rivers, cities (labelled: the big ones, or `all_cities`) and peaks."""
    group = folium.FeatureGroup(name=name)
    _Places({"css": LABEL_CSS, "coast_colour": COAST_COLOUR, "river_colour": RIVER_COLOUR,
             "region_colour": REGION_COLOUR, "current_colour": CURRENT_COLOUR,
             "coast": [list(map(list, line)) for line in (coast.lines if coast else ())],
             "rivers": [{"name": n, "line": [[lat, lon] for lon, lat in course]} for n, _, course in RIVERS],
             "cities": [{"name": c.name, "lat": c.lat, "lon": c.lon, "big": c.population_m >= BIG_CITY_M,
                         "label": c.population_m >= BIG_CITY_M or all_cities,
                         "tip": f"{c.name} ({c.population_m:g} M people)"} for c in CITIES],
             "peaks": [{"lat": p.lat, "lon": p.lon, "tip": f"{p.name} ({p.height_m:,.0f} m)"} for p in PEAKS] if peaks else [],
             "regions": [], "current": None}).add_to(group)
    return group


def regions_layer(regions: dict, current=None, *, name: str = "Named regions") -> folium.FeatureGroup:
    """The named regions as labelled boxes, and the region in use in red (regions: name -> Region)."""
    group = folium.FeatureGroup(name=name)
    _Places({"css": LABEL_CSS, "coast_colour": COAST_COLOUR, "river_colour": RIVER_COLOUR,
             "region_colour": REGION_COLOUR, "current_colour": CURRENT_COLOUR, "coast": [], "rivers": [],
             "cities": [], "peaks": [],
             "regions": [{"name": r.title or r.name, "box": _box(r)} for r in regions.values()],
             "current": {"name": current.title or current.name, "box": _box(current)} if current is not None else None,
             }).add_to(group)
    return group


if __name__ == "__main__":
    print(f"land mask written to {write_land_mask_asset()}")
