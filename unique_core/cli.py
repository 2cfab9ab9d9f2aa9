"""The `unique` command: a thin layer over unique_core. User errors print one line, exit 2."""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from unique_core.errors import UniqueError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="UNIQUE: daily 30 m GPP maps of South Korea (simulated default or real data).")
world_app = typer.Typer(no_args_is_help=True, help="The embedded simulated South Korea.")
app.add_typer(world_app, name="world")


class BoxCRS(str, Enum):
    epsg5179 = "EPSG:5179"
    lonlat = "EPSG:4326"


def user_errors(func):
    """Turn UniqueError into a one-line message on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UniqueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


RegionOpt = typer.Option(None, "--region", "-r", help="A named region (see `unique world regions`).")
BboxOpt = typer.Option(None, "--bbox", help="XMIN YMIN XMAX YMAX instead of --region (at most 30 x 30 km).")
CrsOpt = typer.Option(BoxCRS.epsg5179, "--crs", help="CRS of --bbox: EPSG:5179 metres or EPSG:4326 lon/lat degrees.")


def resolve_region(region: Optional[str], bbox: Optional[tuple[float, float, float, float]],
                   crs: BoxCRS):
    from unique_core.grid import get_region, region_from_bbox

    if (region is None) == (bbox is None):
        raise UniqueError("give exactly one of --region NAME or --bbox XMIN YMIN XMAX YMAX")
    if region is not None:
        return get_region(region)
    return region_from_bbox(*bbox, crs=crs.value)


@world_app.command("regions")
@user_errors
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


@world_app.command("render")
@user_errors
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
    reg = resolve_region(region, bbox, crs)
    day = parse_date(date) if date else None
    world = World(seed)
    da = make_layer(world, layer, reg, day)
    if suffix == ".png":
        from unique_core.viz.render import LANDCOVER_CATEGORIES, render_png
        from unique_core.world.layers import CLOUD_CLASSES, CLOUD_COLOURS

        title = f"{LAYERS[layer].title}: {reg.title or reg.name}" + (f", {day.isoformat()}" if day else "")
        if layer == "fractions":
            raise UniqueError("fractions has one band per class: write it as .tif")
        cats = None
        if layer == "landcover":
            cats = LANDCOVER_CATEGORIES
        elif layer == "cloud":
            cats = tuple(zip(CLOUD_CLASSES, CLOUD_COLOURS))
        render_png(da, out, title=title, categories=cats)
    else:
        from unique_core.io.geotiff import write_cog

        nodata = 0 if da.dtype.kind == "u" and layer == "landcover" else None
        write_cog(da, out, nodata=nodata, tags={"source": f"UNIQUE simulated world, seed {seed}",
                                                "region": reg.name, "date": day.isoformat() if day else ""},
                  overview_resampling="nearest" if layer in ("landcover", "cloud") else "average")
    typer.echo(f"wrote {out}")


@world_app.command("cache")
@user_errors
def world_cache(seed: int = typer.Option(2026, "--seed", help="Seed of the simulated world.")):
    """Build the country-wide 500 m cache (all land tiles at 30 m, minutes, once)."""
    from tqdm import tqdm

    from unique_core.world import World

    world = World(seed)
    bar = tqdm(total=len(world.country_tiles()), unit="tile", desc="country tiles (30 x 30 km)")
    world.static_coarse_country(lambda done, total: bar.update(done - bar.n))
    bar.close()
    typer.echo("country-wide 500 m cache ready")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
