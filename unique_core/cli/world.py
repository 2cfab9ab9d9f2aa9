"""`unique world`: the embedded simulated South Korea."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from unique_core.cli.common import BboxOpt, BoxCRS, CrsOpt, RegionOpt, command, group, progress_bar, resolve_region
from unique_core.errors import UniqueError

world_app = group("world", "The embedded simulated South Korea.")


@command(world_app, "regions")
def world_regions(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the named regions and their bounds."""
    from unique_core.grid import named_regions

    regions = [r.to_dict() for r in named_regions().values()]
    if as_json:
        typer.echo(json.dumps({"crs": "EPSG:5179", "regions": regions}, indent=2))
        return
    for r in regions:
        b = r["bounds_lonlat"]
        typer.echo(f"{r['name']:<15} {r['title']:<32} {b[0]:.3f}-{b[2]:.3f} E  {b[1]:.3f}-{b[3]:.3f} N  "
                   f"{r['size_km'][0]:.0f} x {r['size_km'][1]:.0f} km")


@command(world_app, "render")
def world_render(
    layer: str = typer.Option(..., "--layer", "-l", help="dem, hillshade, slope, landcover, fractions, "
                              "gpp_true, gpp_true_500m, ndvi_true, modis_ndvi, landsat_ndvi, cloud"),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .tif (GeoTIFF) or .png (picture)."),
    date: Optional[str] = typer.Option(None, "--date", "-d", help="YYYY-MM-DD (2015-2023) for daily layers."),
    region: Optional[str] = RegionOpt,
    bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
    crs: BoxCRS = CrsOpt,
    seed: int = typer.Option(2026, "--seed", help="Seed of the simulated world."),
):
    """Render a layer of the simulated world for a region (and date) to GeoTIFF or PNG."""
    from unique_core.world import World
    from unique_core.world.climate import parse_date
    from unique_core.world.layers import LAYERS, make_layer

    suffix = out.suffix.lower()
    if suffix not in (".tif", ".tiff", ".png"):
        raise UniqueError(f"--out must end in .tif or .png, not {out.name!r}")
    if suffix == ".png" and layer == "fractions":
        raise UniqueError("fractions has one band per class: write it as .tif")
    reg = resolve_region(region, bbox, crs)
    day = parse_date(date) if date else None
    da = make_layer(World(seed), layer, reg, day)
    if suffix == ".png":
        from unique_core.viz.render import render_png
        from unique_core.viz.style import LANDCOVER_CATEGORIES
        from unique_core.world.layers import CLOUD_CLASSES, CLOUD_COLOURS

        title = f"{LAYERS[layer].title}: {reg.title or reg.name}" + (f", {day.isoformat()}" if day else "")
        cats = {"landcover": LANDCOVER_CATEGORIES, "cloud": tuple(zip(CLOUD_CLASSES, CLOUD_COLOURS))}.get(layer)
        render_png(da, out, title=title, categories=cats)
    else:
        from unique_core.io.geotiff import write_cog

        nodata = 0 if da.dtype.kind == "u" and layer == "landcover" else None
        write_cog(da, out, nodata=nodata, tags={"source": f"UNIQUE simulated world, seed {seed}",
                                                "region": reg.name, "date": day.isoformat() if day else ""},
                  overview_resampling="nearest" if layer in ("landcover", "cloud") else "average")
    typer.echo(f"wrote {out}")


@command(world_app, "cache")
def world_cache(seed: int = typer.Option(2026, "--seed", help="Seed of the simulated world.")):
    """Build the country-wide 500 m cache (all land tiles at 30 m, minutes, once)."""
    from unique_core.world import World

    world = World(seed)
    bar, update = progress_bar("country tiles (30 x 30 km)", "tile")
    world.static_coarse_country(update)
    bar.close()
    typer.echo("country-wide 500 m cache ready")
