"""Map overlays: placement, image encodings, offline maps, and a base map that stays in the browser."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from unique_core.grid import to_lonlat
from unique_core.viz import maps
from unique_core.viz.style import style_for
from unique_core.world.layers import make_layer


def _image(url: str) -> Image.Image:
    head, data = url.split(",", 1)
    assert head.startswith("data:image/") and head.endswith(";base64")
    return Image.open(io.BytesIO(base64.b64decode(data)))


@pytest.fixture(scope="module")
def hillshade(world, small_region):
    return make_layer(world, "hillshade", small_region, None)


def test_to_mercator__bounds_are_the_region_corners(hillshade, small_region):
    _, bounds = maps.to_mercator(hillshade)
    x0, y0, x1, y1 = small_region.bounds
    lons, lats = zip(*(to_lonlat(x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))))
    (south, west), (north, east) = bounds
    # the Mercator box holds the (slightly rotated) EPSG:5179 square to within a 30 m pixel
    pixel = 4e-4  # degrees: 30 m is 2.7e-4 of latitude and 3.3e-4 of longitude at 37 N
    assert south <= min(lats) + pixel and north >= max(lats) - pixel
    assert west <= min(lons) + pixel and east >= max(lons) - pixel
    assert north - south < (max(lats) - min(lats)) * 1.05 and east - west < (max(lons) - min(lons)) * 1.05


def test_palette_overlay__colours_and_transparency_round_trip():
    style = style_for("gpp_true")
    values = np.linspace(style.vmin - 1, style.vmax + 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    values[:3] = np.nan
    img = _image(maps.palette_data_url(values, style))
    assert img.format == "PNG" and img.mode == "P"
    index = np.asarray(img)
    assert (index[:3] == 0).all() and (index[3:] > 0).all()
    assert img.info["transparency"] == 0
    rgb = np.asarray(img.convert("RGBA")).astype(int)
    assert (rgb[:3, :, 3] == 0).all() and (rgb[3:, :, 3] == 255).all()
    expected = maps.colorize(values, style).astype(int)
    # 255 palette levels against matplotlib's 256: a colour differs by at most a few units
    assert np.abs(rgb[3:, :, :3] - expected[3:, :, :3]).max() <= 4


def test_hillshade_overlay__grey_jpeg_close_to_the_shading(hillshade):
    values = np.clip(np.asarray(hillshade.values, np.float32), 0, 1)
    img = _image(maps.hillshade_data_url(values))
    assert img.format == "JPEG" and img.mode == "L"
    grey = np.asarray(img).astype(float) / 255
    assert np.abs(grey - values).mean() < 0.02


def test_base_map__offline_with_colour_bar_and_scale(hillshade):
    hs = maps.hillshade_overlay(hillshade)
    m = maps.base_map(hs.bounds, name="gpp_true", title="True GPP", hillshade=hs)
    html = m.get_root().render()
    assert set(re.findall(r'(?:src|href)="([^"]+)"', html)) == {"/app/static/leaflet.js", "/app/static/leaflet.css"}
    assert "gC m⁻² d⁻¹" in html and "control.scale({imperial: false})" in html
    assert maps.LANDCOVER_LEGEND_ID not in html  # no land cover, no legend


def test_base_map__land_cover_legend_follows_its_layer(world, small_region, hillshade):
    lc = maps.landcover_overlay(make_layer(world, "landcover", small_region, None))
    m = maps.base_map(lc.bounds, name="gpp_true", title="True GPP", landcover=lc)
    html = m.get_root().render()
    assert f'id="{maps.LANDCOVER_LEGEND_ID}"' in html and "Deciduous forest" in html
    assert '"overlayadd overlayremove"' in html and 'e.name === "Land cover"' in html


def test_base_map__same_script_whatever_the_product_layer(world, small_region, hillshade):
    """streamlit-folium keeps the map in the browser while its script's hash holds: the product
    layer (another day, another opacity) must travel apart from it."""
    import datetime as dt

    from streamlit_folium import _get_map_string, generate_js_hash

    hs = maps.hillshade_overlay(hillshade)
    scripts, urls = [], []
    for day, opacity in ((dt.date(2023, 7, 20), 0.85), (dt.date(2023, 7, 21), 0.5)):
        layer = make_layer(world, "gpp_true", small_region, day)
        overlay = maps.product_overlay(layer, "gpp_true")
        m = maps.base_map(overlay.bounds, name="gpp_true", title="True GPP", hillshade=hs)
        m.get_root().render()
        scripts.append(generate_js_hash(_get_map_string(m), "map"))
        (image,) = maps.product_layer(overlay, title="True GPP", opacity=opacity)._children.values()
        assert image.url == overlay.url and image.options["opacity"] == opacity
        urls.append(overlay.url)
    assert scripts[0] == scripts[1]
    assert urls[0] != urls[1]


def test_base_map__tower_popups_need_no_jquery(hillshade):
    """The offline map loads Leaflet only: folium's own Popup calls jQuery's $(...), which threw there
    and stopped the map's script (the frame stayed at height 0 whenever the towers were on)."""
    hs = maps.hillshade_overlay(hillshade)
    towers = [{"lat": 37.75, "lon": 127.15, "name": "KR-Gwa (Gwangneung)",
               "popup_html": "<b>KR-Gwa</b> Gwangneung<br><img src='data:image/png;base64,AAAA' width=\"400\">"},
              {"lat": 34.55, "lon": 126.57, "name": "KR-Hnm (Haenam)", "popup_html": "<b>KR-Hnm</b> Haenam"}]
    html = maps.base_map(hs.bounds, name="dem", title="Elevation", hillshade=hs, towers=towers).get_root().render()
    script = html[html.index("<script>"):]
    assert "$(" not in script and "jQuery" not in script
    assert script.count(".bindPopup(") == 2 and script.count('"maxWidth": 460') == 2
    assert "<b>KR-Gwa</b> Gwangneung" in script and "<b>KR-Hnm</b> Haenam" in script
    assert _external_sources(html) == set()


def _external_sources(html: str) -> set[str]:
    return {u for u in re.findall(r'(?:src|href)="([^"]+)"', html) if not u.startswith(("/app/static/", "data:"))}


def test_coastlines__outline_of_a_square_island_in_degrees():
    from unique_core.grid import FRAME, from_lonlat
    from unique_core.viz.basemap import coastlines

    grid = FRAME.coarse
    land = np.zeros((200, 200))
    land[50:150, 60:160] = 1  # 50 x 50 km at 500 m, near the frame's north-west corner
    land[5, 5] = 1  # a one-pixel speck: left out
    coast = coastlines(land, grid)
    assert len(coast.lines) == 1
    lats, lons = np.array(coast.lines[0]).T
    x, y = from_lonlat(lons, lats)
    x0, x1 = 727_500 + 60 * 500, 727_500 + 160 * 500  # the island's pixel edges in metres
    y1, y0 = 2_074_500 - 50 * 500, 2_074_500 - 150 * 500
    # every vertex lies on the square's outline, to within the simplification (about 400 m)
    off = np.minimum.reduce([np.abs(x - x0), np.abs(x - x1), np.abs(y - y0), np.abs(y - y1)])
    assert off.max() < 600 and (x > x0 - 600).all() and (x < x1 + 600).all()
    assert x.max() - x.min() > 49_000 and y.max() - y.min() > 49_000  # the whole island, not a part


def test_country_map__coast_rivers_cities_regions_labelled_offline():
    from unique_core.grid import named_regions
    from unique_core.korea import RIVERS
    from unique_core.viz.basemap import Coast

    land = maps.Overlay("data:image/png;base64,AAAA", [[33.0, 125.0], [38.7, 130.0]])
    coast = Coast(((( 35.0, 126.0), (35.1, 126.1), (35.2, 126.0)),))
    m = maps.country_map(land, named_regions(), coast=coast)
    html = m.get_root().render()
    assert _external_sources(html) == set()
    for label in ("Seoul", "Busan", "Jirisan", "Gwangneung forest", "Hangang"):
        assert label in html, label
    assert all(f'"name": "{name}"' in html for name, _, _ in RIVERS)  # each river, drawn by one script
    assert '"coast": [[[35.0, 126.0], [35.1, 126.1], [35.2, 126.0]]]' in html


def test_country_map__what_changes_is_swapped_in_and_the_map_stays_the_same():
    """The relief (once made) and the box in use are layers apart: the map's own script is the
    same whatever they are, so streamlit-folium keeps the map (a rebuilt map moved a click)."""
    import re

    from streamlit_folium import _get_feature_group_string, _get_map_string, generate_js_hash

    from unique_core.grid import get_region, named_regions

    land = maps.Overlay("data:image/png;base64,AAAA", [[33.0, 125.0], [38.7, 130.0]])
    relief = maps.Overlay("data:image/png;base64,BBBB", [[33.0, 125.0], [38.7, 130.0]])
    scripts = {generate_js_hash(_get_map_string(maps.country_map(land, named_regions())), "k") for _ in range(2)}
    assert len(scripts) == 1  # built twice, the same map for the browser
    before, after = maps.country_layers(get_region("jirisan")), maps.country_layers(get_region("gimje"), relief)
    assert len(before) == 1 and len(after) == 2  # the relief joins the box in use
    west, south, east, north = get_region("gimje").lonlat_bounds
    box = _get_feature_group_string(after[-1], maps.country_map(land, named_regions()))  # as the browser gets it
    assert re.search(r"L\.rectangle\(\s*" + re.escape(f"[[{south!r}, {west!r}], [{north!r}, {east!r}]]"), box)
    assert "in use: Gimje plain" in box and '"color": "#c62828"' in box  # drawn red, named
    assert "BBBB" in _get_feature_group_string(after[0], maps.country_map(land, named_regions()))


def test_shipped_land_mask__is_the_mask_the_world_is_built_on():
    """The country map's land and coast come from assets/south_korea_land_500m.png: it must be
    unique_core.landmask's mask cell for cell (rewrite it with `python -m unique_core.viz.basemap`)."""
    from unique_core.grid import FRAME
    from unique_core.landmask import coarse_land_mask
    from unique_core.viz.basemap import shipped_land_mask

    shipped, grid = shipped_land_mask()
    mask, mask_grid = coarse_land_mask()
    assert grid == mask_grid == FRAME.coarse and shipped.dtype == bool
    assert np.array_equal(shipped, mask), f"{(shipped != mask).sum()} cells differ"
    assert 0.2 < shipped.mean() < 0.35  # South Korea is about a quarter of the frame


def test_country_map__drawn_without_computing_the_land_mask(monkeypatch):
    """The first map of a fresh server: the land picture and coast are read from the package,
    never made from global-land-mask (10-15 s on 2 cores)."""
    import unique_core.landmask as landmask
    from unique_core.grid import named_regions
    from unique_core.ui import cached

    def refuse():
        raise AssertionError("the country map computed the land mask")

    monkeypatch.setattr(landmask, "_frame_arrays", refuse)
    cached.land_overlay.clear()
    cached.coast.clear()
    land, coast = cached.land_overlay(), cached.coast()
    html = maps.country_map(land, named_regions(), coast=coast).get_root().render()
    assert len(coast.lines) > 50 and land.url.startswith("data:image/png;base64,")
    (south, west), (north, east) = land.bounds
    assert south < 33.2 and north > 38.6 and west < 125.1 and east > 130.0  # the whole frame
    assert _external_sources(html) == set()


def test_region_map__context_spread_and_colour_bars(world, small_region, hillshade):
    from unique_core.grid import named_regions
    from unique_core.raster import dataarray
    from unique_core.viz.basemap import Coast

    hs = maps.hillshade_overlay(hillshade)
    m = maps.base_map(hs.bounds, name="s2", title="S2", hillshade=hs, coast=Coast(()), regions=named_regions(),
                      current=small_region, spread_title="Ensemble spread (std), S2")
    html = m.get_root().render()
    assert _external_sources(html) == set()
    assert "Ensemble spread (std), S2" in html and "ensemble std (gC m⁻² d⁻¹)" in html
    assert f'id="{maps.SPREAD_LEGEND_ID}"' in html and f'e.name === "{maps.SPREAD_LAYER}"' in html
    std = dataarray(np.full(small_region.fine.shape, 1.5, np.float32), small_region.fine, name="s2", units="gC m-2 d-1",
                    long_name="ensemble std")
    (image,) = maps.spread_layer(maps.spread_overlay(std))._children.values()
    index = np.asarray(_image(image.url))
    expected = 1 + round(1.5 / 3.0 * (maps.PALETTE_LEVELS - 1))  # the middle of the 0-3 std scale
    assert (index[index > 0] == expected).all()


def test_swipe_map__two_overlays_and_a_slider_that_clips_them(small_region, hillshade):
    from unique_core.viz.basemap import Coast

    hs = maps.hillshade_overlay(hillshade)
    a = maps.Overlay("data:image/png;base64,AAAA", hs.bounds)
    b = maps.Overlay("data:image/png;base64,BBBB", hs.bounds)
    m = maps.swipe_map(a, b, left_title="S2", right_title="GPP_M", name="s2", hillshade=hs, coast=Coast(()))
    html = m.get_root().render()
    assert _external_sources(html) == set()
    assert "base64,AAAA" in html and "base64,BBBB" in html
    assert 'type="range"' in html and "clipPath" in html and "containerPointToLayerPoint" in html


def test_cv_scatter__log_colour_scale_shows_the_sparse_cloud():
    from unique_core.viz import charts

    rng = np.random.default_rng(0)
    obs = np.concatenate([rng.gamma(1.0, 0.5, 20000), rng.uniform(0, 12, 300)])  # a dense corner, a sparse cloud
    pred = obs + rng.normal(0, 1.0, obs.size)
    fig = charts.cv_scatter(obs, pred, "oof")
    heat = fig.data[0]
    z, counts = np.asarray(heat.z, float), np.asarray(heat.customdata, float)
    np.testing.assert_allclose(z[counts > 0], np.log10(counts[counts > 0]))
    assert np.isnan(z[counts == 0]).all()  # empty bins transparent, not the colour of one count
    hi = heat.x[-1] + (heat.x[1] - heat.x[0]) / 2
    inside = (obs >= 0) & (obs <= hi) & (pred >= 0) & (pred <= hi)
    assert counts.sum() == inside.sum()  # every point in range counted once
    assert list(heat.colorbar.ticktext)[:3] == ["1", "10", "100"] and heat.zmin == 0
    assert np.nanmax(z) > 2 and np.nanmin(z) == 0  # hundreds in the dense corner, single site-days in the cloud


def test_pft_panels__one_panel_per_plant_type_and_one_colour_per_product():
    import pandas as pd

    from unique_core.viz import charts
    from unique_core.viz.style import PRODUCT_COLOURS

    days = pd.date_range("2023-06-01", periods=30).date
    a = pd.DataFrame({"date": days, "DBF": 5.0, "RICE": 7.0, "all": 6.0})
    b = pd.DataFrame({"date": days, "DBF": 4.0, "RICE": np.nan, "all": 5.0})
    fig = charts.pft_panels({"gpp_m": a, "gpp_true_500m": b}, title="t")
    titles = [x.text for x in fig.layout.annotations]
    assert titles == ["All vegetation", "Deciduous broadleaf forest", "Rice paddy"]
    assert len(fig.data) == 3 + 2  # gpp_m in three panels, the truth in two (no rice values)
    for trace in fig.data:
        product = "gpp_m" if trace.name == "GPP_M" else "gpp_true_500m"
        assert trace.line.color == PRODUCT_COLOURS[product]
    assert sum(t.showlegend for t in fig.data) == 2  # one legend entry per product
