"""`unique ingest`: real data, checked in a folder or fetched from STAC catalogues."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import typer

from unique_core.cli.common import command, group, progress_bar
from unique_core.errors import DataError, DateError

ingest_app = group("ingest", "Real data: check a folder, or fill one from STAC catalogues.")


@command(ingest_app, "check")
def ingest_check_cmd(folder: Path = typer.Argument(..., help="A real-data folder (docs/real-data.md)."),
                     as_json: bool = typer.Option(False, "--json")):
    """What is in a real-data folder, what it can make (products and dates), and what is missing or wrong.

    Exits 1 when a product the folder claims cannot be made."""
    from unique_core.io.realdata import ingest_check

    report = ingest_check(folder)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        u = report["usable"]
        typer.echo(f"{folder}: {len(report['found'].get('landsat_scenes', []))} Landsat scenes, "
                   f"{report['found'].get('modis_days', 0)} MODIS days, {len(report['found'].get('era5land', []))} "
                   f"ERA5-Land files; GPP_M on {len(u.get('gpp_m_dates', []))} days, GPP_L on "
                   f"{len(u.get('gpp_l_dates', []))} days, S1/S2 on {len(u.get('s1_s2_dates', []))} days")
        for w in report["warnings"]:
            typer.echo(f"  warning: {w}")
        for p in report["problems"]:
            typer.echo(f"  problem: {p}")
        for p in report["cannot_make"]:
            typer.echo(f"  cannot make {p}: {report['claims'][p].get('why', '')}".rstrip(": "))
    raise typer.Exit(1 if report["cannot_make"] else 0)


@command(ingest_app, "inspect")
def ingest_inspect(paths: list[Path] = typer.Argument(..., help="Files or folders of any supported kind, anywhere "
                                                      "in the world."),
                   as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """What UNIQUE reads from each file: kind, product, dates, CRS, bounds, scaled bands, per-kind figures.

    Exits 1 when a file has a problem (each is named with its reason)."""
    from unique_core.io.inspect import inspect

    entries = inspect(paths)
    if as_json:
        typer.echo(json.dumps(entries, indent=2, default=str))
    else:
        for e in entries:
            dates = e["dates"]
            when = (dates[0] if len(dates) == 1 else f"{dates[0]}..{dates[-1]} ({len(dates)} dates)") if dates else "-"
            typer.echo(f"{e['file']}: {e['kind']} {e['product'] or ''} {when} {e['crs'] or ''}".rstrip())
            for k, v in (e.get("figures") or {}).items():
                typer.echo(f"    {k}: {v}")
            for w in e["warnings"]:
                typer.echo(f"    warning: {w}")
            for p in e["problems"]:
                typer.echo(f"    problem: {p}")
    if not entries:
        raise DataError(f"no supported file in {', '.join(map(str, paths))}: see docs/real-data.md for the kinds read")
    if any(e["problems"] for e in entries):
        raise typer.Exit(1)


def _iso(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DateError(f"{what} {text!r} is not a date: give YYYY-MM-DD") from None


@command(ingest_app, "stac")
def ingest_stac(out: Path = typer.Option(..., "--out", help="The real-data folder to fill."),
                bbox: tuple[float, float, float, float] = typer.Option(
                    ..., "--bbox", help="WEST SOUTH EAST NORTH in degrees, at most 1 degree a side."),
                start: str = typer.Option(..., "--start", help="First day, YYYY-MM-DD."),
                end: str = typer.Option(..., "--end", help="Last day, YYYY-MM-DD."),
                catalog: str = typer.Option("planetary-computer", "--catalog",
                                            help="planetary-computer, earth-search, or an http(s) STAC API URL."),
                collections: str = typer.Option("landsat,modis,dem,landcover", "--collections",
                                                help="Comma-separated kinds (landsat, modis, dem, landcover) or "
                                                     "collection ids."),
                items_file: Optional[Path] = typer.Option(None, "--items", help="Recorded STAC items (JSON) instead of "
                                                          "a search (offline)."),
                save_items: Optional[Path] = typer.Option(None, "--save-items",
                                                          help="Also write the items found (unsigned GeoJSON).")):
    """Search public STAC catalogues (needs internet) and put MODIS, Landsat, DEM and WorldCover into the folder.

    Remote COGs are read by windows for the box only; downloads resume and land atomically."""
    from unique_core.io.stac import check_bbox, ingest

    check_bbox(bbox)
    d0, d1 = _iso(start, "--start"), _iso(end, "--end")
    if d1 < d0:
        raise DateError(f"--end {end} is before --start {start}")
    bar, update = progress_bar("assets", "item")
    counts = ingest(out, bbox=bbox, start=d0, end=d1, catalog=catalog,
                    collections=[c.strip() for c in collections.split(",") if c.strip()],
                    items_file=items_file, save_items=save_items, progress=update)
    bar.close()
    typer.echo(json.dumps(counts, default=str))
