"""Leaflet maps (folium) that work with no internet: local Leaflet, no tiles, image overlays.

Rasters are reprojected to Web Mercator (EPSG:3857) before they become PNG overlays, since
Leaflet stretches an image linearly between its corners (folium's mercator_project only
stretches rows). Overlays are downsampled for display so pages stay light. The colour bar,
with units, is plain HTML/CSS inside the map (no CDN-loaded legend code).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import folium
import matplotlib
import numpy as np
import xarray as xr
from branca.element import Element, MacroElement
from folium.template import Template  # jinja2's, with folium's filters (tojavascript)
from matplotlib import colormaps
from PIL import Image
from rasterio.warp import Resampling, calculate_default_transform, reproject

from unique_core.grid import CRS
from unique_core.viz.style import LANDCOVER_CATEGORIES, LANDCOVER_COLOURS, Style, style_for

STATIC = "/app/static"
MAX_PIXELS = 900  # longest side of an overlay image
SEA_COLOUR = "#dae8f4"  # the sea of the country picture (land_overlay), also behind it
LANDCOVER_LEGEND_ID = "unique-landcover-legend"


class OfflineMap(folium.Map):
    """A folium map that loads Leaflet from the app's own static folder and nothing else."""

    default_js = [("leaflet", f"{STATIC}/leaflet.js")]
    default_css = [("leaflet_css", f"{STATIC}/leaflet.css")]


class OfflinePopup(folium.Popup):
    """folium's Popup, without jQuery: folium builds the popup's content with `$(...)`, and jQuery
    is not loaded (OfflineMap loads Leaflet only), so that line threw, the rest of the map's
    script never ran and streamlit-folium left the map frame at height 0. Here the content is
    parsed by the browser's own DOM."""

    _template = Template("""
        var {{ this.get_name() }} = L.popup({{ this.options|tojavascript }});
        {% for name, element in this.html._children.items() %}
            var {{ name }} = document.createElement("div");
            {{ name }}.innerHTML = `{{ element.render(**kwargs).replace('\\n', ' ') }}`;
            {{ this.get_name() }}.setContent({{ name }}.firstElementChild || {{ name }});
        {% endfor %}
        {{ this._parent.get_name() }}.bindPopup({{ this.get_name() }});
    """)


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres only, rendered inside the map's own script (streamlit-folium
    keeps only that script, not the page's)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def to_mercator(da: xr.DataArray, *, categorical: bool = False, max_pixels: int = MAX_PIXELS
                ) -> tuple[np.ndarray, list[list[float]]]:
    """Reproject a 2-D raster to EPSG:3857 (downsampled); returns values and lat/lon bounds."""
    src = np.asarray(da.values, dtype=np.float32)
    h, w = src.shape
    transform = da.rio.transform()
    left, top = transform.c, transform.f
    right, bottom = left + transform.a * w, top + transform.e * h
    scale = max(1.0, max(h, w) / max_pixels)
    dst_w, dst_h = max(1, int(round(w / scale))), max(1, int(round(h / scale)))
    dst_transform, dst_w, dst_h = calculate_default_transform(CRS, "EPSG:3857", w, h, left, bottom, right, top,
                                                              dst_width=dst_w, dst_height=dst_h)
    dst = np.full((dst_h, dst_w), np.nan, np.float32)
    reproject(src, dst, src_transform=transform, src_crs=CRS, dst_transform=dst_transform, dst_crs="EPSG:3857",
              src_nodata=np.nan, dst_nodata=np.nan,
              resampling=Resampling.nearest if categorical else Resampling.average)
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    x0, y0 = dst_transform.c, dst_transform.f
    x1, y1 = x0 + dst_transform.a * dst_w, y0 + dst_transform.e * dst_h
    lon0, lat1 = t.transform(x0, y0)
    lon1, lat0 = t.transform(x1, y1)
    return dst, [[lat0, lon0], [lat1, lon1]]


def colorize(values: np.ndarray, style: Style) -> np.ndarray:
    """RGBA uint8 image of values with a style's colour map; NaN transparent."""
    cmap = colormaps[style.cmap]
    norm = np.clip((values - style.vmin) / (style.vmax - style.vmin), 0, 1)
    rgba = (cmap(np.nan_to_num(norm)) * 255).astype(np.uint8)
    rgba[~np.isfinite(values), 3] = 0
    return rgba


def colorize_classes(values: np.ndarray, colours: dict[int, str]) -> np.ndarray:
    rgba = np.zeros((*values.shape, 4), np.uint8)
    for cid, hexcol in colours.items():
        m = values == cid
        rgba[m] = [int(hexcol[i:i + 2], 16) for i in (1, 3, 5)] + [255]
    return rgba


def _data_url(image: Image.Image, fmt: str, **options) -> str:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def png_data_url(rgba: np.ndarray) -> str:
    """An RGBA PNG data URL. Fast deflate (level 1): 0.07 s for 1000 x 1000 against 1.5 s with
    optimize=True, for 10 % more bytes (measured on Jirisan's GPP overlay)."""
    return _data_url(Image.fromarray(rgba, "RGBA"), "PNG", compress_level=1)


PALETTE_LEVELS = 255  # colour-map levels of a paletted overlay; index 0 is transparent (no data)


def palette_data_url(values: np.ndarray, style: Style) -> str:
    """A paletted PNG data URL of values: 255 levels of the style's colour map, NaN transparent.

    One byte per pixel instead of four: Jirisan's 900 x 900 GPP overlay is 0.61 MB against
    1.38 MB as RGBA, and it is encoded in 0.02 s instead of 0.07 s. Matplotlib's own colour maps
    have 256 entries, so nothing visible is lost.
    """
    norm = np.clip((values - style.vmin) / (style.vmax - style.vmin), 0, 1)
    index = np.where(np.isfinite(values), 1 + np.rint(np.nan_to_num(norm) * (PALETTE_LEVELS - 1)), 0)
    colours = (colormaps[style.cmap](np.linspace(0, 1, PALETTE_LEVELS))[:, :3] * 255).round().astype(np.uint8)
    image = Image.fromarray(index.astype(np.uint8), "P")
    image.putpalette(np.vstack([[0, 0, 0], colours]).ravel().tolist())
    return _data_url(image, "PNG", compress_level=1, transparency=0)


def hillshade_data_url(values: np.ndarray) -> str:
    """A grey JPEG data URL of a 0-1 hillshade (sea and no data drawn light grey).

    A hillshade is a smooth photograph-like picture: JPEG at quality 85 keeps it at 0.22 MB for
    900 x 900 pixels against 0.93 MB as an RGBA PNG.
    """
    grey = (np.nan_to_num(np.clip(values, 0, 1), nan=0.85) * 255).astype(np.uint8)
    return _data_url(Image.fromarray(grey, "L"), "JPEG", quality=85)


@dataclass(frozen=True)
class Overlay:
    """A raster ready for Leaflet: an image data URL and its [[south, west], [north, east]] bounds."""

    url: str
    bounds: list[list[float]]


def product_overlay(layer: xr.DataArray, name: str) -> Overlay:
    """A product (2-D DataArray on the project grid) as a paletted overlay in its style's colours."""
    return styled_overlay(layer, style_for(name))


def styled_overlay(layer: xr.DataArray, style: Style) -> Overlay:
    """Any 2-D layer on the project grid as a paletted overlay in `style`'s colours."""
    values, bounds = to_mercator(layer)
    return Overlay(palette_data_url(values, style), bounds)


def period_style(top: float, period: str) -> Style:
    """The colour scale of GPP summed over a period (a region-year cube's annual or seasonal map)."""
    per = "yr$^{-1}$" if period == "year" else f"per {period}"
    return Style(style_for("gpp").cmap, 0.0, float(top), f"GPP summed over the period (gC m$^{{-2}}$ {per})")


def hillshade_overlay(hillshade: xr.DataArray) -> Overlay:
    values, bounds = to_mercator(hillshade)
    return Overlay(hillshade_data_url(values), bounds)


def landcover_overlay(landcover: xr.DataArray) -> Overlay:
    values, bounds = to_mercator(landcover, categorical=True)
    return Overlay(png_data_url(colorize_classes(values, LANDCOVER_COLOURS)), bounds)


def colorbar_html(style: Style, title: str, *, top: int = 10, element_id: str = "") -> str:
    """A horizontal colour bar with ticks and units, as self-contained HTML (`top` in px)."""
    cmap = colormaps[style.cmap]
    stops = ", ".join(matplotlib.colors.to_hex(cmap(k / 10)) + f" {k * 10}%" for k in range(11))
    ticks = np.linspace(style.vmin, style.vmax, 5)
    labels = "".join(f"<span>{t:g}</span>" for t in ticks)
    label = style.label.replace("$^{-2}$", "⁻²").replace("$^{-1}$", "⁻¹")
    ident = f' id="{element_id}"' if element_id else ""
    return (f'<div{ident} style="position:absolute;top:{top}px;right:10px;z-index:1000;background:rgba(255,255,255,.9);'
            f'padding:6px 10px;border-radius:4px;font:12px sans-serif;width:240px">'
            f'<div style="font-weight:600;margin-bottom:3px">{title}</div>'
            f'<div style="height:12px;background:linear-gradient(to right, {stops})"></div>'
            f'<div style="display:flex;justify-content:space-between">{labels}</div>'
            f'<div style="color:#444">{label}</div></div>')


def legend_html(entries: list[tuple[str, str]], title: str, element_id: str = "") -> str:
    rows = "".join(f'<div><span style="display:inline-block;width:12px;height:12px;background:{c};'
                   f'margin-right:5px;border:1px solid #777"></span>{n}</div>' for n, c in entries)
    ident = f' id="{element_id}"' if element_id else ""
    return (f'<div{ident} style="position:absolute;bottom:18px;right:12px;z-index:1000;'
            f'background:rgba(255,255,255,.9);padding:6px 10px;border-radius:4px;font:12px sans-serif">'
            f'<div style="font-weight:600">{title}</div>{rows}</div>')


class LegendFollowsLayer(MacroElement):
    """Shows a legend (an element of the page, by id) only while its layer is on in the layer control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd overlayremove", function (e) {
            var legend = document.getElementById({{ this.element_id|tojson }});
            if (legend && e.name === {{ this.layer_name|tojson }}) {
                legend.style.display = e.type === "overlayadd" ? "" : "none";
            }
        });
        {% endmacro %}
    """)

    def __init__(self, layer_name: str, element_id: str):
        super().__init__()
        self.layer_name = layer_name
        self.element_id = element_id


def base_map(bounds: list[list[float]], *, name: str, title: str, hillshade: Overlay | None = None,
             landcover: Overlay | None = None, towers: list[dict] | None = None,
             basemap_tiles: bool = False, land: Overlay | None = None, coast=None, regions: dict | None = None,
             current=None, spread_title: str | None = None, style: Style | None = None) -> folium.Map:
    """The parts of a map that stay when the date changes: view, hillshade, land cover, towers,
    scale and the colour bar of product `name`.

    The product goes on top as `product_layer`, passed apart (streamlit-folium's
    feature_group_to_add) so that the browser swaps it without reloading the map. towers: dicts with lat,
    lon, name and popup_html. Tiles (OpenStreetMap) only if asked: the data never depend on them.
    Context outside the box, offline: `land` (the country picture), `coast` (viz.basemap.Coast),
    rivers, cities and peaks, and the named `regions` with the `current` one in red.
    `spread_title`: a second colour bar, for the ensemble spread layer (viz.style "std").
    `style`: the colour bar's scale when it is not `name`'s (a period sum's, say).
    """
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2]
    m = OfflineMap(location=centre, tiles=None, zoom_start=11, control_scale=False, prefer_canvas=True)
    m.fit_bounds(bounds)
    if basemap_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online only)").add_to(m)
    if land is not None:
        folium.raster_layers.ImageOverlay(land.url, land.bounds, name="South Korea (simulated land)",
                                          interactive=False, z_index=0).add_to(m)
    if hillshade is not None:
        folium.raster_layers.ImageOverlay(hillshade.url, hillshade.bounds, name="Hillshade (DEM)",
                                          interactive=False, z_index=1).add_to(m)
    if landcover is not None:
        folium.raster_layers.ImageOverlay(landcover.url, landcover.bounds, name="Land cover", opacity=0.7,
                                          interactive=False, z_index=2).add_to(m)
        m.get_root().html.add_child(Element(legend_html(
            list(LANDCOVER_CATEGORIES), "Land cover", element_id=LANDCOVER_LEGEND_ID)))
        LegendFollowsLayer("Land cover", LANDCOVER_LEGEND_ID).add_to(m)
    for t in towers or []:
        folium.CircleMarker([t["lat"], t["lon"]], radius=7, color="#000", weight=2, fill=True, fill_color="#ffeb3b",
                            fill_opacity=1.0, tooltip=t["name"],
                            popup=OfflinePopup(t["popup_html"], max_width=460)).add_to(m)
    if coast is not None or regions:
        from unique_core.viz.basemap import places_layer, regions_layer

        places_layer(coast, all_cities=True).add_to(m)
        regions_layer(regions or {}, current).add_to(m)
    m.get_root().html.add_child(Element(colorbar_html(style or style_for(name), title)))
    if spread_title:
        m.get_root().html.add_child(Element(colorbar_html(style_for("std"), spread_title, top=78,
                                                          element_id=SPREAD_LEGEND_ID)))
        LegendFollowsLayer(SPREAD_LAYER, SPREAD_LEGEND_ID).add_to(m)
    MetricScale().add_to(m)
    return m


SPREAD_LAYER = "Ensemble spread (std)"
SPREAD_LEGEND_ID = "unique-spread-legend"


def spread_layer(overlay: Overlay, *, opacity: float = 0.85) -> folium.FeatureGroup:
    """The ensemble spread (std band of S1/S2) as a layer of its own, above the product."""
    group = folium.FeatureGroup(name=SPREAD_LAYER)
    folium.raster_layers.ImageOverlay(overlay.url, overlay.bounds, name=SPREAD_LAYER, opacity=opacity,
                                      z_index=4).add_to(group)
    return group


def spread_overlay(std: xr.DataArray) -> Overlay:
    """The std band (gC m-2 d-1) as a paletted overlay in the "std" style."""
    values, bounds = to_mercator(std)
    return Overlay(palette_data_url(values, style_for("std")), bounds)


class Swipe(MacroElement):
    """A swipe between two image overlays of one map: a range slider moves a divider, the left
    overlay shows left of it and the right one right of it (CSS clip-path on the two images;
    no plug-in, nothing fetched)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var left = {{ this.left }}, right = {{ this.right }};
            var box = L.DomUtil.create("div", "unique-swipe", map.getContainer());
            box.style.cssText = "position:absolute;left:0;right:0;bottom:28px;z-index:1001;text-align:center;pointer-events:none";
            box.innerHTML = '<div style="display:inline-block;background:rgba(255,255,255,.9);padding:3px 8px;border-radius:4px;font:12px sans-serif;pointer-events:auto">'
                + '<b>' + {{ this.left_title|tojson }} + '</b> &#9664; '
                + '<input type="range" min="0" max="100" value="50" class="unique-swipe-range" style="width:260px;vertical-align:middle"> '
                + '&#9654; <b>' + {{ this.right_title|tojson }} + '</b></div>';
            var line = L.DomUtil.create("div", "unique-swipe-line", map.getContainer());
            line.style.cssText = "position:absolute;top:0;bottom:0;width:2px;background:#fff;box-shadow:0 0 3px #000;z-index:1000;pointer-events:none";
            var range = box.querySelector("input");
            L.DomEvent.disableClickPropagation(box);
            L.DomEvent.disableScrollPropagation(box);
            ["mousedown", "touchstart", "pointerdown"].forEach(function (ev) {
                range.addEventListener(ev, function (e) { e.stopPropagation(); map.dragging.disable(); });
            });
            document.addEventListener("mouseup", function () { map.dragging.enable(); });
            function clip() {
                var size = map.getSize(), x = size.x * range.value / 100;
                line.style.left = (x - 1) + "px";
                var lx = map.containerPointToLayerPoint([x, 0]).x;
                [[left, "left"], [right, "right"]].forEach(function (pair) {
                    var img = pair[0].getElement();
                    if (!img) { return; }
                    var rel = lx - L.DomUtil.getPosition(img).x, w = img.offsetWidth;
                    img.style.clipPath = pair[1] === "left"
                        ? "inset(0px " + Math.max(0, w - rel) + "px 0px 0px)"
                        : "inset(0px 0px 0px " + Math.max(0, rel) + "px)";
                });
            }
            range.addEventListener("input", clip);
            map.on("move zoomend resize viewreset", clip);
            left.on("load", clip); right.on("load", clip);
            setTimeout(clip, 0);
            window.uniqueSwipe = {range: range, clip: clip};
        })();
        {% endmacro %}
    """)

    def __init__(self, left, right, left_title: str, right_title: str):
        super().__init__()
        self.left, self.right = left.get_name(), right.get_name()
        self.left_title, self.right_title = left_title, right_title


def swipe_map(left: Overlay, right: Overlay, *, left_title: str, right_title: str, name: str,
              opacity: float = 0.9, **base) -> folium.Map:
    """A base map (see `base_map`, with `base`'s layers) with two products and a swipe between them."""
    m = base_map(left.bounds, name=name, title=f"{left_title} | {right_title}", **base)
    a = folium.raster_layers.ImageOverlay(left.url, left.bounds, name=left_title, opacity=opacity, z_index=3)
    b = folium.raster_layers.ImageOverlay(right.url, right.bounds, name=right_title, opacity=opacity, z_index=3)
    a.add_to(m)
    b.add_to(m)
    Swipe(a, b, left_title, right_title).add_to(m)
    return m


def product_layer(overlay: Overlay, *, title: str, opacity: float = 0.85) -> folium.FeatureGroup:
    """The product's overlay in a feature group of its own (drawn above the base layers)."""
    group = folium.FeatureGroup(name=title)
    folium.raster_layers.ImageOverlay(overlay.url, overlay.bounds, name=title, opacity=opacity,
                                      z_index=3).add_to(group)
    return group


def layer_control() -> folium.LayerControl:
    """Leaflet's own layer switcher (no external code): product, land cover, hillshade on or off."""
    return folium.LayerControl(position="topleft", collapsed=True)


def land_overlay(land: xr.DataArray) -> Overlay:
    """South Korean land (share 0-1 at 500 m) as a light picture for the country map: land in pale
    green, sea pale blue, so the country shows with no tiles."""
    values, bounds = to_mercator(land, max_pixels=700)
    on_land = np.nan_to_num(values) >= 0.5
    rgba = np.empty((*values.shape, 4), np.uint8)
    rgba[on_land] = (214, 229, 196, 255)
    rgba[~on_land] = (218, 232, 244, 255)
    return Overlay(png_data_url(rgba), bounds)


def relief_overlay(hillshade: xr.DataArray) -> Overlay:
    """The country's hillshade (0-1, NaN at sea) as a grey picture to lay over the land."""
    values, bounds = to_mercator(hillshade, max_pixels=700)
    grey = np.nan_to_num(np.clip(values, 0, 1), nan=1.0)
    rgba = np.empty((*values.shape, 4), np.uint8)
    rgba[..., :3] = (grey * 255).astype(np.uint8)[..., None]
    # darker where the slope faces away from the light; flat land and sea see through
    rgba[..., 3] = np.where(np.isfinite(values), np.clip((1.0 - grey) * 1.6, 0, 0.75) * 255, 0).astype(np.uint8)
    return Overlay(png_data_url(rgba), bounds)


def country_map(land: Overlay, regions: dict, *, coast=None) -> folium.Map:
    """South Korea with its coastline, rivers, cities, peaks and the named regions, labelled (a
    click picks a new box). What changes while the page is open (the relief once made, the box in
    use) is not in it but in `country_layers`, swapped in without rebuilding the map: a rebuilt
    map is a new frame, and a click landing while it is being laid out lands somewhere else.

    regions: name -> Region; coast: viz.basemap.Coast.
    """
    from unique_core.viz.basemap import places_layer, regions_layer

    centre = [(land.bounds[0][0] + land.bounds[1][0]) / 2, (land.bounds[0][1] + land.bounds[1][1]) / 2]
    m = OfflineMap(location=centre, tiles=None, zoom_start=7, control_scale=False, prefer_canvas=True,
                   zoomSnap=0.25)
    m.fit_bounds([[33.1, 125.8], [38.65, 129.7]])
    # the sea beyond the frame's picture in the land picture's sea colour, not Leaflet's grey
    m.get_root().html.add_child(Element(f"<style>.leaflet-container {{background: {SEA_COLOUR}}}</style>"))
    folium.raster_layers.ImageOverlay(land.url, land.bounds, name="South Korea", interactive=False,
                                      z_index=1).add_to(m)
    places_layer(coast).add_to(m)
    regions_layer(regions).add_to(m)
    MetricScale().add_to(m)
    return m


def country_layers(current, relief: Overlay | None = None) -> list[folium.FeatureGroup]:
    """The country map's changing layers: its relief (when made) and the box in use, in red."""
    from unique_core.viz.basemap import CURRENT_COLOUR

    groups = []
    if relief is not None:
        group = folium.FeatureGroup(name="Relief (simulated DEM)")
        folium.raster_layers.ImageOverlay(relief.url, relief.bounds, name="Relief (simulated DEM)",
                                          interactive=False, z_index=2).add_to(group)
        groups.append(group)
    west, south, east, north = current.lonlat_bounds
    box = folium.FeatureGroup(name="Region in use")
    folium.Rectangle([[south, west], [north, east]], color=CURRENT_COLOUR, weight=3, fill=False,
                     tooltip=f"in use: {current.title or current.name}").add_to(box)
    groups.append(box)
    return groups


def value_at(da: xr.DataArray, lat: float, lon: float) -> float | None:
    """The raster's value at a clicked point (lat/lon degrees), or None outside it."""
    from unique_core.grid import from_lonlat

    x, y = from_lonlat(lon, lat)
    t = da.rio.transform()
    col = int((x - t.c) // t.a)
    row = int((y - t.f) // t.e)
    vals = np.asarray(da.values)
    if vals.ndim == 3:
        vals = vals[0]
    if 0 <= row < vals.shape[0] and 0 <= col < vals.shape[1]:
        v = float(vals[row, col])
        return v if np.isfinite(v) else None
    return None
