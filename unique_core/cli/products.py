"""`unique products`: run or load, list, export, time series, precompute."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from unique_core.cli.common import (BboxOpt, BoxCRS, CrsOpt, MembersOpt, RegionOpt, SourceOpt, StepsOpt, command,
                                    group, parse_day, progress_bar, resolve_region, source, staged_progress)
from unique_core.cube import DEFAULT_STEPS as CUBE_STEPS
from unique_core.errors import UniqueError

products_app = group("products", "Products: run or load, list, export, time series.")
ProductOpt = typer.Option(..., "--product", "-p", help="gpp_m, gpp_l, s1, s2, gpp_true, gpp_true_500m, modis_ndvi, landsat_ndvi, dem, fractions, ...")


def _params(product: str, members: int, steps: int, seed: int, conserve: bool) -> dict | None:
    """The sampler's settings for a downscaled product (s1, s2, s3, s3_past); None for the others."""
    from unique_core.products import DIFFUSION_PRODUCTS

    if product not in DIFFUSION_PRODUCTS:
        return None
    return {"members": members, "steps": steps, "seed": seed, "conserve": conserve}


def _region(region, bbox, crs, country: bool):
    from unique_core.grid import FRAME

    if country:
        if region or bbox:
            raise UniqueError("give --country or a region, not both")
        return FRAME
    return resolve_region(region, bbox, crs)


def service(data: Optional[Path]):
    """The product service over the simulated world, or over the real-data folder given."""
    from unique_core.products import ProductService

    src = source(data)
    return ProductService() if getattr(src, "simulated", True) else ProductService(world=src)


@command(products_app, "get")
def products_get(product: str = ProductOpt, date: Optional[str] = typer.Option(None, "--date", "-d"),
                 region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                 crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country", help="500 m products only."),
                 data: Optional[Path] = SourceOpt, members: int = MembersOpt, steps: int = StepsOpt,
                 seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(False, "--conserve"),
                 as_json: bool = typer.Option(False, "--json")):
    """Load a product from the cache, or make it (with progress) and cache it."""
    svc = service(data)
    reg = _region(region, bbox, crs, country)
    day = parse_day(date, svc.world) if date else None
    bar, update = staged_progress(product, "step")
    da = svc.get(product, day, reg, _params(product, members, steps, seed, conserve), progress=update)
    bar.close()
    finite = np.isfinite(da.values)
    info = {"product": product, "date": date, "region": reg.name, "cache": da.attrs["cache"], "shape": list(da.shape),
            "units": da.attrs.get("units"), "provenance": da.attrs["provenance"],
            "mean": float(np.nanmean(da.values)) if finite.any() else None}
    mean = f"{info['mean']:.3f} {info['units']}" if info["mean"] is not None else "no valid pixel"
    typer.echo(json.dumps(info, indent=2, default=str) if as_json else
               f"{product} {date or ''} {reg.name}: {info['cache']}, mean {mean}")


@command(products_app, "list")
def products_list(data: Optional[Path] = SourceOpt, as_json: bool = typer.Option(False, "--json")):
    """The product catalog: what is cached, made by which model, when, in how long."""
    entries = service(data).list()
    if as_json:
        typer.echo(json.dumps(entries, indent=2, default=str))
        return
    for e in entries:
        typer.echo(f"{e['product']:<14} {e['date'] or 'static':<10} {e['region_name'] or e['region_key']:<16} "
                   f"{e['compute_seconds']:7.1f} s  {e['created']}  {'ok' if e['valid'] else 'stale'}")


@command(products_app, "export")
def products_export(product: str = ProductOpt, date: Optional[str] = typer.Option(None, "--date", "-d"),
                    region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                    crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country"),
                    data: Optional[Path] = SourceOpt,
                    fmt: str = typer.Option("tif", "--format", help="tif (COG) or nc (CF NetCDF)."),
                    out_dir: Path = typer.Option(Path("exports"), "--out-dir", help="Folder to write into."),
                    members: int = MembersOpt, steps: int = StepsOpt,
                    seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(False, "--conserve")):
    """Export a product as COG or NetCDF, with a STAC item beside it."""
    from unique_core.io.export import export_product

    if fmt not in ("tif", "nc"):
        raise UniqueError("--format must be tif or nc")
    if out_dir.exists() and not out_dir.is_dir():
        raise UniqueError(f"--out-dir {out_dir} is a file, not a folder: give a folder to write into")
    svc = service(data)
    reg = _region(region, bbox, crs, country)
    day = parse_day(date, svc.world) if date else None
    da = svc.get(product, day, reg, _params(product, members, steps, seed, conserve))
    try:
        f, item = export_product(da, out_dir, product=product, date=day, region_name=reg.name, region_key=reg.key,
                                 bounds=reg.bounds, fmt=fmt, simulated=svc.simulated)
    except PermissionError as exc:
        raise UniqueError(f"cannot write into {out_dir}: {exc.strerror}; give --out-dir a folder you can write to") from None
    typer.echo(f"wrote {f} and {item}")


@command(products_app, "timeseries")
def products_timeseries(product: str = typer.Option("gpp_m", "--product", "-p"),
                        region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                        crs: BoxCRS = CrsOpt, data: Optional[Path] = SourceOpt,
                        start: str = typer.Option("2023-01-01", "--start"),
                        end: str = typer.Option("2023-12-31", "--end"),
                        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the series as CSV."),
                        totals_csv: Optional[Path] = typer.Option(None, "--totals", help="Seasonal/annual totals CSV."),
                        totals_sampled: str = typer.Option(
                            "interpolate", "--totals-sampled",
                            help="A series sampled on some days (S1/S2/GPP_L/truth): 'interpolate' linearly to daily "
                                 "values before summing, or 'refuse'.")):
    """Mean GPP by plant functional type over a region and date range."""
    from unique_core import analysis
    from unique_core.io.export import export_csv

    if totals_sampled not in ("interpolate", "refuse"):
        raise UniqueError(f"--totals-sampled {totals_sampled!r}: choose interpolate or refuse")
    svc = service(data)
    reg = resolve_region(region, bbox, crs)
    d0, d1 = parse_day(start, svc.world), parse_day(end, svc.world)
    if d1 < d0:
        raise UniqueError(f"--end {end} is before --start {start}")
    bar, update = staged_progress(product, "step")
    df = analysis.timeseries(svc, product, reg, d0, d1, progress=update)
    bar.close()
    if csv:
        export_csv(df, csv)
        typer.echo(f"wrote {csv}")
    if totals_csv:
        areas = analysis.product_pft_areas_km2(svc, product, reg)
        export_csv(analysis.totals(df, areas, sampled=totals_sampled, name=product), totals_csv)
        typer.echo(f"wrote {totals_csv}")
    if not csv:
        typer.echo(df.describe().to_string())


@command(products_app, "precompute")
def products_precompute(year: int = typer.Option(2023, "--year"),
                        regions: str = typer.Option("default", "--regions", help="'default' (all named) or names, comma-separated."),
                        products: str = typer.Option("gpp_m,gpp_true,s2", "--products"),
                        cadence: int = typer.Option(16, "--cadence", min=1, max=366, help="Every Nth day of the year."),
                        start: Optional[str] = typer.Option(None, "--start", help="First day (default 1 January)."),
                        end: Optional[str] = typer.Option(None, "--end", help="Last day (default 31 December)."),
                        data: Optional[Path] = SourceOpt):
    """Make products ahead of a demo (resumable: what is cached is skipped)."""
    from unique_core.grid import get_region, named_regions
    from unique_core.products import SPECS

    svc = service(data)
    names = list(named_regions()) if regions == "default" else [r.strip() for r in regions.split(",") if r.strip()]
    regs = [get_region(n) for n in names]
    prods = [p.strip() for p in products.split(",") if p.strip()]
    for p in prods:
        if p not in SPECS:
            raise UniqueError(f"unknown product {p!r}; choose from {', '.join(SPECS)}")
    d0 = parse_day(start, svc.world) if start else dt.date(year, 1, 1)
    d1 = parse_day(end, svc.world) if end else dt.date(year, 12, 31)
    if d1 < d0:
        raise UniqueError(f"the last day {d1} is before the first {d0}")
    days = [d0 + dt.timedelta(k) for k in range(0, (d1 - d0).days + 1, cadence)]
    jobs = [(p, d, r) for r in regs for d in days for p in prods]
    if not jobs:
        raise UniqueError("nothing to make: give at least one region and one product")
    bar, update = progress_bar("precompute", "product")
    made = 0
    for k, (p, d, r) in enumerate(jobs):
        made += svc.get(p, d if SPECS[p].dynamic else None, r).attrs["cache"] == "computed"
        update(k + 1, len(jobs))
    bar.close()
    typer.echo(f"{len(jobs)} products ready ({made} made now, {len(jobs) - made} from the cache)")


class _Choice:
    DEVICES = ("auto", "cpu", "cuda")
    ENGINES = ("auto", "torch", "onnxruntime", "openvino")
    PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def _one_of(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        raise UniqueError(f"{option} {value!r}: choose one of {', '.join(allowed)}")
    return value


@command(products_app, "cube")
def products_cube(product: str = typer.Option("s2", "--product", "-p", help="s2, s1 or gpp_m."),
                  year: int = typer.Option(2023, "--year"),
                  region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                  crs: BoxCRS = CrsOpt,
                  members: int = typer.Option(1, "--members", min=1, max=16, help="Ensemble members (S1/S2)."),
                  steps: int = typer.Option(CUBE_STEPS, "--steps", min=1, max=100,
                                           help=f"DDIM steps (S1/S2; default {CUBE_STEPS}, docs/cube.md)."),
                  seed: int = typer.Option(0, "--seed"),
                  out: Optional[Path] = typer.Option(None, "--out", "-o",
                                                     help="PATH.zarr or PATH.nc (default: kept in the product cache)."),
                  device: str = typer.Option("auto", "--device", help="auto, cpu or cuda (auto: CUDA when present)."),
                  engine: str = typer.Option("auto", "--engine", help="auto, torch, onnxruntime or openvino."),
                  precision: str = typer.Option("auto", "--precision", help="auto, fp32, fp16 (CUDA) or bf16."),
                  maps_dir: Optional[Path] = typer.Option(None, "--maps", help="Also write the annual and seasonal "
                                                          "GPP maps (gC m-2 per period) as COGs into this folder."),
                  totals_csv: Optional[Path] = typer.Option(None, "--totals", help="Also write the totals by plant "
                                                            "type (gC m-2 and t C, from daily values) as CSV."),
                  as_json: bool = typer.Option(False, "--json")):
    """Every day of a year at 30 m (S1/S2) or 500 m (GPP_M) into one Zarr store: resumable, memory bounded."""
    from unique_core.cube import cube_maps, cube_totals, make_cube

    if out is not None and out.suffix.lower() not in (".zarr", ".nc"):
        raise UniqueError(f"--out must end in .zarr or .nc, not {out.name!r}")
    reg = resolve_region(region, bbox, crs)
    bar, update = staged_progress(f"{product} {year}", "day")
    info = make_cube(product, year, reg, members=members, steps=steps, seed=seed, out=out,
                     device=_one_of(device, _Choice.DEVICES, "--device"),
                     engine=_one_of(engine, _Choice.ENGINES, "--engine"),
                     precision=_one_of(precision, _Choice.PRECISIONS, "--precision"), progress=update)
    bar.close()
    report = info.to_dict()
    if maps_dir:
        report["maps"] = {k: str(v) for k, v in cube_maps(info.path, out_dir=maps_dir).items()}
    if totals_csv:
        from unique_core.io.export import export_csv

        export_csv(cube_totals(info.path), totals_csv)
        report["totals"] = str(totals_csv)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        typer.echo(f"{product} {year} {reg.name}: {info.days} days in {info.path} ({info.chunks_computed} of "
                   f"{info.chunks_total} chunks made now, {info.seconds:.0f} s)"
                   + (f"; NetCDF {info.netcdf}" if info.netcdf else ""))
        for k, v in report.get("maps", {}).items():
            typer.echo(f"  map {k}: {v}")
        if totals_csv:
            typer.echo(f"  totals: {totals_csv}")


@command(products_app, "cube-area")
def products_cube_area(year: int = typer.Option(2023, "--year"),
                       out: Path = typer.Option(..., "--out", "-o", help="The Zarr store to write (PATH.zarr)."),
                       bbox: Optional[tuple[float, float, float, float]] = BboxOpt, crs: BoxCRS = CrsOpt,
                       country: bool = typer.Option(False, "--country", help="All of South Korea's frame."),
                       product: str = typer.Option("s2", "--product", "-p", help="s2 or s1."),
                       start: Optional[str] = typer.Option(None, "--start", help="First day (default 1 January)."),
                       end: Optional[str] = typer.Option(None, "--end", help="Last day (default 31 December)."),
                       tile_blocks: int = typer.Option(20, "--tile-blocks", min=2, max=20,
                                                       help="Tile side in 1.5 km blocks."),
                       days_per_task: int = typer.Option(32, "--days-per-task", min=1, max=366),
                       members: int = typer.Option(1, "--members", min=1, max=16),
                       steps: int = typer.Option(CUBE_STEPS, "--steps", min=1, max=100),
                       scheduler: Optional[str] = typer.Option(None, "--scheduler", help="A Dask scheduler address "
                                                               "(default: a LocalCluster on this machine)."),
                       workers: int = typer.Option(2, "--workers", min=1, max=1024, help="LocalCluster workers."),
                       device: str = typer.Option("cpu", "--device", help="auto, cpu or cuda (on each worker)."),
                       engine: str = typer.Option("auto", "--engine", help="auto, torch, onnxruntime or openvino.")):
    """Daily 30 m GPP over an area of any size (up to the country) for a year, tiles x days on Dask, one Zarr store."""
    from unique_core.downscale.distributed import cube_area
    from unique_core.grid import FRAME, region_from_bbox

    if out.suffix.lower() != ".zarr":
        raise UniqueError(f"--out must end in .zarr, not {out.name!r}")
    if country == (bbox is not None):
        raise UniqueError("give exactly one of --country or --bbox XMIN YMIN XMAX YMAX")
    area = FRAME if country else region_from_bbox(*bbox, crs=crs.value, name="area", max_blocks=None)
    d0 = parse_day(start) if start else None
    d1 = parse_day(end) if end else None
    bar, update = progress_bar(f"{product} {year}", "task")
    info = cube_area(area, year, out, product=product, tile_blocks=tile_blocks, days_per_task=days_per_task,
                     members=members, steps=steps, start=d0, end=d1, scheduler=scheduler, n_workers=workers,
                     device=_one_of(device, _Choice.DEVICES, "--device"),
                     engine=_one_of(engine, _Choice.ENGINES, "--engine"), progress=update)
    bar.close()
    typer.echo(json.dumps(info, default=str))
