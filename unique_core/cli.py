"""The `unique` command: a thin layer over unique_core. User errors print one line, exit 2."""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from unique_core.errors import UniqueError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="UNIQUE: daily 30 m GPP maps of South Korea (simulated default or real data).")
world_app = typer.Typer(no_args_is_help=True, help="The embedded simulated South Korea.")
app.add_typer(world_app, name="world")
flux_app = typer.Typer(no_args_is_help=True, help="Eddy-covariance (FLUXNET daily) files.")
app.add_typer(flux_app, name="flux")
gpp_app = typer.Typer(no_args_is_help=True, help="Step 1: GPP_M (MODIS) and GPP_L (Landsat) LightGBM models.")
app.add_typer(gpp_app, name="gpp")
ds_app = typer.Typer(no_args_is_help=True, help="Step 2: diffusion downscaling of GPP_M to 30 m (S1, S2).")
app.add_typer(ds_app, name="downscale")
products_app = typer.Typer(no_args_is_help=True, help="Products: run or load, list, export, time series.")
app.add_typer(products_app, name="products")
ingest_app = typer.Typer(no_args_is_help=True, help="Real data: check a folder, or fill one from STAC catalogues.")
app.add_typer(ingest_app, name="ingest")


class Scheme(str, Enum):
    s1 = "s1"
    s2 = "s2"


class Kind(str, Enum):
    diffusion = "diffusion"
    regression = "regression"


class Sensor(str, Enum):
    modis = "modis"
    landsat = "landsat"


class PartitionOpt(str, Enum):
    NT = "NT"
    DT = "DT"
    mean = "mean"


DataOpt = typer.Option(None, "--data", help="A flux-network folder (docs/real-data.md); default: the simulated "
                       "network, built on first use.")


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
        from unique_core.viz.render import render_png
        from unique_core.viz.style import LANDCOVER_CATEGORIES
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


@flux_app.command("summary")
@user_errors
def flux_summary(files: list[Path] = typer.Argument(..., help="FLUXNET2015 / AmeriFlux / ICOS daily CSV files."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                 min_qc: float = typer.Option(0.8, "--min-qc", help="Days pass when NEE_VUT_REF_QC >= this."),
                 partition: PartitionOpt = typer.Option(PartitionOpt.NT, "--partition", help="GPP partitioning.")):
    """Per file: site id, years, days, days passing QC, mean GPP of those days, and problems found."""
    from dataclasses import asdict

    from unique_core.io.fluxnet import summarize

    out = [asdict(summarize(f, min_qc=min_qc, partition=partition.value)) for f in files]
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    for s in out:
        years = f"{s['years'][0]}-{s['years'][-1]}" if s["years"] else "-"
        gpp = f"{s['mean_gpp_passing']:.2f}" if s["mean_gpp_passing"] is not None else "-"
        typer.echo(f"{s['site_id'] or '?':<8} {years:<10} days {s['days']:>5}  passing QC {s['days_passing_qc']:>5}  "
                   f"mean GPP {gpp} gC m-2 d-1" + ("".join(f"\n    problem: {p}" for p in s["problems"])))


def network_folder(data: Optional[Path]) -> Path:
    """The flux-network folder to use: the one given, or the simulated network (built if missing)."""
    if data is not None:
        if not data.is_dir():
            raise UniqueError(f"{data}: not a folder")
        return data
    from tqdm import tqdm

    from unique_core.world.network import build_network, default_folder

    folder = default_folder()
    if (folder / "manifest.json").exists():
        return folder
    typer.echo(f"building the simulated flux network in {folder} (once, about 10-20 minutes)", err=True)
    bar = tqdm(total=309, unit="site", desc="flux sites")
    build_network(folder, progress=lambda i, n, sid: bar.update(i - bar.n))
    bar.close()
    return folder


@gpp_app.command("cv")
@user_errors
def gpp_cv(sensor: Sensor = typer.Option(..., "--sensor"), folds: int = typer.Option(20, "--folds"),
           json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full results as JSON here."),
           data: Optional[Path] = DataOpt,
           automl_budget: float = typer.Option(120.0, "--automl-budget", help="Seconds of FLAML search (0: skip)."),
           min_qc: float = typer.Option(0.8, "--min-qc"),
           partition: PartitionOpt = typer.Option(PartitionOpt.NT, "--partition"),
           predictions: Optional[Path] = typer.Option(None, "--predictions", help="CSV of 20,000 out-of-fold predictions."),
           leaderboard_from: Optional[Path] = typer.Option(None, "--leaderboard-from",
                                                           help="Reuse the AutoML leaderboard of an earlier JSON.")):
    """Spatial cross-validation of LightGBM against MOD17 and a climatology, and the AutoML leaderboard."""
    from tqdm import tqdm

    from unique_core.gpp.cv import automl_leaderboard, cross_validate
    from unique_core.gpp.data import training_table

    folder = network_folder(data)
    bar = tqdm(unit="site", desc="reading sites")
    table = training_table(folder, sensor.value, min_qc=min_qc, partition=partition.value,
                           progress=lambda i, n: (setattr(bar, "total", n), bar.update(i - bar.n)))
    bar.close()
    bar = tqdm(total=folds, unit="fold", desc=f"{sensor.value} spatial CV")
    res = cross_validate(table, sensor.value, n_folds=folds, progress=lambda i, n: bar.update(i - bar.n))
    bar.close()
    if leaderboard_from:
        board = json.loads(Path(leaderboard_from).read_text()).get("automl_leaderboard", [])
    else:
        board = automl_leaderboard(table, sensor.value, n_folds=folds, time_budget=automl_budget) if automl_budget > 0 else []
    if predictions:
        from unique_core.io.export import export_csv

        sample = res.predictions.sample(min(20000, len(res.predictions)), random_state=0)
        export_csv(sample[["site_id", "date", "pft_name", "fold", "gpp", "pred_lightgbm", "pred_mod17"]], predictions)
    report = {"sensor": sensor.value, "folds": folds, "data": str(folder), "min_qc": min_qc,
              "partition": partition.value, "sites": int(table["site_id"].nunique()),
              "site_days": int(res.predictions.shape[0]), "seconds": round(res.seconds, 1),
              "methods": res.summary, "automl_leaderboard": board}
    for method, m in res.summary.items():
        o = m["overall"]
        typer.echo(f"{method:<12} r {o['r']:.3f}  RMSE {o['rmse']:.3f}  bias {o['bias']:+.3f}  R2 {o['r2']:.3f}  "
                   f"(n {o['n']}) gC m-2 d-1")
    for b in board:
        if b.get("rmse") is not None:
            typer.echo(f"automl {b['learner']:<10} r {b['r']:.3f}  RMSE {b['rmse']:.3f}")
    if json_out:
        from unique_core.atomic import write_text

        write_text(json_out, json.dumps(report, indent=2, default=float))
        typer.echo(f"wrote {json_out}")


@gpp_app.command("train")
@user_errors
def gpp_train(sensor: Sensor = typer.Option(..., "--sensor"),
              out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default assets/models/gpp_<sensor>)."),
              data: Optional[Path] = DataOpt, cv_json: Optional[Path] = typer.Option(
                  None, "--cv-json", help="A `unique gpp cv` JSON whose metrics go into metrics.json."),
              min_qc: float = typer.Option(0.8, "--min-qc"),
              partition: PartitionOpt = typer.Option(PartitionOpt.NT, "--partition")):
    """Train on all sites and save the model (LightGBM text + config + metrics + features)."""
    from unique_core.gpp.data import training_table
    from unique_core.gpp.model import GppModel
    from unique_core.gpp.registry import default_model_dir

    folder = network_folder(data)
    table = training_table(folder, sensor.value, min_qc=min_qc, partition=partition.value)
    model = GppModel.fit(table, sensor.value)
    model.config.update({"data": "simulated flux network (UNIQUE embedded default)" if data is None else str(data),
                         "min_qc": min_qc, "partition": partition.value})
    if cv_json:
        model.metrics = json.loads(Path(cv_json).read_text())
    target = out or default_model_dir(sensor.value)
    model.save(target)
    typer.echo(f"saved {sensor.value} model ({model.config['training_rows']} site-days, "
               f"{model.config['training_sites']} sites) to {target}")


@gpp_app.command("map")
@user_errors
def gpp_map(sensor: Sensor = typer.Option(..., "--sensor"), date: str = typer.Option(..., "--date", "-d"),
            out: Path = typer.Option(..., "--out", "-o", help="Output GeoTIFF (.tif)."),
            region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
            crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country", help="GPP_M over all of South Korea."),
            model_dir: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: shipped)."),
            truth_png: bool = typer.Option(False, "--compare-truth", help="Also print RMSE/r against the true GPP.")):
    """Map GPP_M (500 m) or GPP_L (30 m) for a date over a region (or GPP_M for the country)."""
    from tqdm import tqdm

    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model
    from unique_core.io.geotiff import write_cog
    from unique_core.world import World
    from unique_core.world.climate import parse_date

    if out.suffix.lower() not in (".tif", ".tiff"):
        raise UniqueError(f"--out must end in .tif, not {out.name!r}")
    day = parse_date(date)
    model = load_model(sensor.value, model_dir)
    world = World()
    if country:
        if sensor != Sensor.modis:
            raise UniqueError("--country works for --sensor modis (GPP_L is made per region at 30 m)")
        reg = None
    else:
        reg = resolve_region(region, bbox, crs)
    bar = tqdm(unit="scene" if sensor == Sensor.landsat else "day", desc=f"{sensor.value} inputs")
    prog = lambda i, n: (setattr(bar, "total", n), bar.update(i - bar.n))
    da = maps.gpp_m_map(model, world, day, reg, prog) if sensor == Sensor.modis else maps.gpp_l_map(model, world, reg, day, prog)
    bar.close()
    write_cog(da, out, tags={"source": "UNIQUE simulated world, seed 2026", "date": day.isoformat(),
                             "model": model.digest})
    typer.echo(f"wrote {out}")
    if truth_png:
        from unique_core.gpp.evaluate import compare_with_truth

        typer.echo(json.dumps(compare_with_truth(da, world, day, reg), indent=2))


def _tqdm_progress(desc: str, unit: str):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=unit)

    def update(done, total):
        bar.total = total
        bar.update(done - bar.n)

    return bar, update


@ds_app.command("data")
@user_errors
def downscale_data(years: str = typer.Option("2020-2023", "--years", help="Years, e.g. 2020-2023."),
                   workers: int = typer.Option(1, "--workers", min=1, help="Processes (each holds a world; ~1.5 GB).")):
    """Make the Step 2 samples (GPP_M and GPP_L pairs on clear days) of every tile and year (resumable)."""
    from unique_core.downscale.data import make_shards
    from unique_core.downscale.registry import split_tiles

    y0, _, y1 = years.partition("-")
    span = range(int(y0), int(y1 or y0) + 1)
    train_tiles, val_tiles = split_tiles()
    # year-major, so that the training years are ready first
    jobs = [(t, y) for y in span for t in train_tiles + val_tiles]
    bar, update = _tqdm_progress("tile-years", "tile-year")
    make_shards(jobs, workers=workers, progress=update)
    bar.close()
    typer.echo(f"samples ready for {len(jobs)} tile-years")


@ds_app.command("train")
@user_errors
def downscale_train(scheme: Scheme = typer.Option(..., "--scheme"), kind: Kind = typer.Option(Kind.diffusion, "--kind"),
                    steps: int = typer.Option(8000, "--steps", help="Optimiser steps (shipped: S2 8000, S1 6000, regression 4000)."),
                    base: int = typer.Option(16, "--base", help="UNet base channels."),
                    batch: int = typer.Option(12, "--batch"), crop: int = typer.Option(64, "--crop"),
                    out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default assets/models/...).")):
    """Train S1/S2 (or the regression baseline) on 2020-2022; resumes from its checkpoint."""
    from unique_core.downscale import data as D
    from unique_core.downscale.model import DownscaleConfig
    from unique_core.downscale.registry import TRAIN_YEARS, model_dir, split_tiles
    from unique_core.downscale.train import TrainConfig, train
    from unique_core.config import cache_dir
    from unique_core.world import World

    world = World()
    train_tiles, val_tiles = split_tiles()
    missing = [(t.key, y) for t in train_tiles + val_tiles for y in TRAIN_YEARS if not D.shard_path(t, y, world.seed).exists()]
    if missing:
        raise UniqueError(f"{len(missing)} tile-years have no samples yet: run `unique downscale data` first")
    name = scheme.value if kind == Kind.diffusion else "regression"
    train_s = D.load_samples(world, train_tiles, list(TRAIN_YEARS), scheme.value)
    val_s = D.load_samples(world, val_tiles, list(TRAIN_YEARS), scheme.value)
    cfg = DownscaleConfig(scheme=scheme.value, kind=kind.value, base=base)
    tcfg = TrainConfig(steps=steps, batch=batch, crop=crop)
    ckpt = cache_dir() / "downscale-checkpoints" / f"{name}-b{base}"
    bar, update = _tqdm_progress(f"training {name}", "step")
    model, summary = train(cfg, train_s, val_s, tcfg, ckpt, lambda i, n, loss: update(i, n))
    bar.close()
    import platform

    import torch

    card = {"name": name, "scheme": scheme.value, "kind": kind.value, "config": cfg.to_json(), **summary,
            "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}",
            "training_tiles": [t.key for t in train_tiles], "validation_tiles": [t.key for t in val_tiles],
            "years": list(TRAIN_YEARS), "data_seed": world.seed,
            "parameters": sum(p.numel() for p in model.net.parameters())}
    target = out or model_dir(name)
    model.save(target, card=card)
    typer.echo(f"saved {name} ({card['parameters']:,} parameters) to {target}")


@ds_app.command("calibrate")
@user_errors
def downscale_calibrate(scheme: Scheme = typer.Option(..., "--scheme"),
                        windows: int = typer.Option(24, "--windows", help="150 px validation windows."),
                        members: int = typer.Option(8, "--members", min=2), steps: int = typer.Option(10, "--steps"),
                        model_dir_opt: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: shipped).")):
    """Fit the ensemble-spread factor of S1/S2 on the validation tiles of the training years (not the test year)."""
    import json

    from unique_core.atomic import write_text
    from unique_core.downscale import registry
    from unique_core.downscale.evaluate import calibrate_spread, test_windows
    from unique_core.world import World

    world = World()
    folder = model_dir_opt or registry.model_dir(scheme.value)
    model = registry.load(scheme.value, folder)
    _, val_tiles = registry.split_tiles()
    per_year = -(-windows // len(registry.TRAIN_YEARS))
    wins = [w for year in registry.TRAIN_YEARS for w in test_windows(world, val_tiles, year, per_year, seed=year)]
    info = calibrate_spread(model, wins, members=members, steps=steps)
    info["tiles"] = [t.key for t in val_tiles]
    info["years"] = list(registry.TRAIN_YEARS)
    cfg = json.loads((Path(folder) / "config.json").read_text())
    cfg["spread_scale"], cfg["spread_calibration"] = info["spread_scale"], info
    write_text(Path(folder) / "config.json", json.dumps(cfg, indent=2))
    typer.echo(f"{scheme.value}: raw spread/skill {info['raw_spread_skill']:.3f} on {info['windows']} validation "
               f"windows; spread scale {info['spread_scale']:.3f} written to {folder / 'config.json'}")


@ds_app.command("run")
@user_errors
def downscale_run(scheme: Scheme = typer.Option(..., "--scheme"), date: str = typer.Option(..., "--date", "-d"),
                  out: Path = typer.Option(..., "--out", "-o", help="Output GeoTIFF (.tif): band 1 mean, band 2 std."),
                  region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                  crs: BoxCRS = CrsOpt, members: int = typer.Option(1, "--members", min=1, max=64),
                  steps: int = typer.Option(10, "--steps", min=1, max=1000, help="DDIM steps."),
                  seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(
                      False, "--conserve", help="Keep each 1.5 km block's mean equal to GPP_M's."),
                  model_dir: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: shipped).")):
    """Downscale GPP_M to 30 m with S1 or S2 for a date and region."""
    import numpy as np

    from unique_core.downscale import registry
    from unique_core.downscale.infer import downscale_region
    from unique_core.gpp.registry import load_model
    from unique_core.io.geotiff import write_cog
    from unique_core.raster import dataarray
    from unique_core.world import World
    from unique_core.world.climate import parse_date

    if out.suffix.lower() not in (".tif", ".tiff"):
        raise UniqueError(f"--out must end in .tif, not {out.name!r}")
    day = parse_date(date)
    reg = resolve_region(region, bbox, crs)
    model = registry.load(scheme.value, model_dir)
    bar, update = _tqdm_progress(f"{scheme.value}", "step")
    res = downscale_region(model, World(), reg, day, load_model("modis"), members=members, steps=steps, seed=seed,
                           conserve=conserve, progress=lambda what, i, n: (bar.set_description(what), update(i, n)))
    bar.close()
    bands = [res.mean] + ([res.std] if res.std is not None else [])
    names = ["mean"] + (["std"] if res.std is not None else [])
    da = dataarray(np.stack(bands), reg.fine, name=f"gpp_{scheme.value}", units="gC m-2 d-1", band=names,
                   long_name=f"GPP downscaled to 30 m by diffusion ({scheme.value.upper()}), ensemble of {members}")
    write_cog(da, out, tags={"scheme": scheme.value, "members": str(members), "steps": str(steps), "seed": str(seed),
                             "conserve": str(conserve), "date": day.isoformat(), "source": "UNIQUE simulated world",
                             "block_mean_rmse_vs_gpp_m": f"{res.conservation_rmse:.4f}"})
    typer.echo(f"wrote {out} ({res.seconds:.1f} s; block-mean difference from GPP_M {res.conservation_rmse:.3f} gC m-2 d-1)")


@ds_app.command("area")
@user_errors
def downscale_area_cmd(scheme: Scheme = typer.Option(..., "--scheme"), date: str = typer.Option(..., "--date", "-d"),
                       bbox: tuple[float, float, float, float] = typer.Option(..., "--bbox", help="Any box inside Korea."),
                       crs: BoxCRS = CrsOpt, out: Path = typer.Option(..., "--out", "-o"),
                       members: int = typer.Option(1, "--members"), steps: int = typer.Option(10, "--steps"),
                       seed: int = typer.Option(0, "--seed"),
                       tile_blocks: int = typer.Option(10, "--tile-blocks", help="Tile side in 1.5 km blocks."),
                       scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address "
                                                               "(default: a LocalCluster on this machine)."),
                       workers: int = typer.Option(2, "--workers", help="LocalCluster workers.")):
    """Downscale an area of any size, tile by tile on Dask distributed, into one COG."""
    from unique_core.downscale.distributed import downscale_area
    from unique_core.grid import region_from_bbox
    from unique_core.world.climate import parse_date

    area = region_from_bbox(*bbox, crs=crs.value, name="area", max_blocks=None)
    bar, update = _tqdm_progress("tiles", "tile")
    info = downscale_area(area, parse_date(date), scheme.value, out, tile_blocks=tile_blocks, members=members,
                          steps=steps, seed=seed, scheduler=scheduler, n_workers=workers, progress=update)
    bar.close()
    typer.echo(f"wrote {out}: {json.dumps(info)}")


@ds_app.command("evaluate")
@user_errors
def downscale_evaluate(year: int = typer.Option(2023, "--year"), json_out: Optional[Path] = typer.Option(None, "--json"),
                       windows: int = typer.Option(48, "--windows", help="150 x 150 px test windows."),
                       members: int = typer.Option(8, "--members"), steps: int = typer.Option(10, "--steps"),
                       curve: bool = typer.Option(False, "--curve", help="Also RMSE against DDIM steps and full DDPM."),
                       curve_windows: int = typer.Option(6, "--curve-windows")):
    """Score GPP_M-bilinear, regression, S1, S2 (and S2 with conservation) on the test year."""
    from unique_core.downscale import registry
    from unique_core.downscale.evaluate import evaluate, rmse_against_steps, test_windows
    from unique_core.errors import ModelError
    from unique_core.world import World

    world = World()
    tiles = sum(registry.split_tiles(), ())
    models = {}
    for name in ("regression", "s1", "s2"):
        try:
            models[name] = registry.load(name)
        except ModelError as exc:
            typer.echo(f"note: {exc}", err=True)
    wins = test_windows(world, tiles, year, windows)
    bar, update = _tqdm_progress("evaluating", "window")
    table = evaluate(models, wins, members=members, steps=steps,
                     progress=lambda m, i, n: (bar.set_description(m), update(i, n)))
    bar.close()
    report = {"year": year, "windows": len(wins), "window_px": 150, "members": members, "ddim_steps": steps,
              "methods": table}
    if curve and "s2" in models:
        report["rmse_against_steps_s2"] = rmse_against_steps(models["s2"], wins[:curve_windows])
    for m, r in table.items():
        typer.echo(f"{m:<16} vs GPP_L RMSE {r['vs_gpp_l']['rmse']:.3f} r {r['vs_gpp_l']['r']:.3f} | vs truth RMSE "
                   f"{r['vs_truth']['rmse']:.3f} r {r['vs_truth']['r']:.3f} | ratio {r['rmse_ratio_to_bilinear']}")
    if json_out:
        from unique_core.atomic import write_text

        write_text(json_out, json.dumps(report, indent=2, default=float))
        typer.echo(f"wrote {json_out}")


def _diffusion_params(product: str, members: int, steps: int, seed: int, conserve: bool) -> dict | None:
    return {"members": members, "steps": steps, "seed": seed, "conserve": conserve} if product in ("s1", "s2") else None


def _product_region(region, bbox, crs, country: bool):
    from unique_core.grid import FRAME

    if country:
        if region or bbox:
            raise UniqueError("give --country or a region, not both")
        return FRAME
    return resolve_region(region, bbox, crs)


@products_app.command("get")
@user_errors
def products_get(product: str = typer.Option(..., "--product", "-p"), date: Optional[str] = typer.Option(None, "--date", "-d"),
                 region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                 crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country", help="500 m products only."),
                 members: int = typer.Option(4, "--members"), steps: int = typer.Option(10, "--steps"),
                 seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(False, "--conserve"),
                 as_json: bool = typer.Option(False, "--json")):
    """Load a product from the cache, or make it (with progress) and cache it."""
    from unique_core.products import ProductService
    from unique_core.world.climate import parse_date

    svc = ProductService()
    reg = _product_region(region, bbox, crs, country)
    day = parse_date(date) if date else None
    bar, update = _tqdm_progress(product, "step")
    da = svc.get(product, day, reg, _diffusion_params(product, members, steps, seed, conserve),
                 progress=lambda what, i, n: (bar.set_description(what), update(i, n)))
    bar.close()
    info = {"product": product, "date": date, "region": reg.name, "cache": da.attrs["cache"], "shape": list(da.shape),
            "units": da.attrs.get("units"), "provenance": da.attrs["provenance"],
            "mean": float(np.nanmean(da.values)) if np.isfinite(da.values).any() else None}
    typer.echo(json.dumps(info, indent=2, default=str) if as_json else
               f"{product} {date or ''} {reg.name}: {info['cache']}, mean {info['mean']:.3f} {info['units']}")


@products_app.command("list")
@user_errors
def products_list(as_json: bool = typer.Option(False, "--json")):
    """The product catalog: what is cached, made by which model, when, in how long."""
    from unique_core.products import ProductService

    entries = ProductService().list()
    if as_json:
        typer.echo(json.dumps(entries, indent=2, default=str))
        return
    for e in entries:
        typer.echo(f"{e['product']:<14} {e['date'] or 'static':<10} {e['region_name'] or e['region_key']:<16} "
                   f"{e['compute_seconds']:7.1f} s  {e['created']}  {'ok' if e['valid'] else 'stale'}")


@products_app.command("export")
@user_errors
def products_export(product: str = typer.Option(..., "--product", "-p"), date: Optional[str] = typer.Option(None, "--date", "-d"),
                    region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                    crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country"),
                    fmt: str = typer.Option("tif", "--format", help="tif (COG) or nc (CF NetCDF)."),
                    out_dir: Path = typer.Option(Path("exports"), "--out-dir"),
                    members: int = typer.Option(4, "--members"), steps: int = typer.Option(10, "--steps"),
                    seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(False, "--conserve")):
    """Export a product as COG or NetCDF, with a STAC item beside it."""
    from unique_core.io.export import export_product
    from unique_core.products import ProductService
    from unique_core.world.climate import parse_date

    if fmt not in ("tif", "nc"):
        raise UniqueError("--format must be tif or nc")
    svc = ProductService()
    reg = _product_region(region, bbox, crs, country)
    day = parse_date(date) if date else None
    da = svc.get(product, day, reg, _diffusion_params(product, members, steps, seed, conserve))
    f, item = export_product(da, out_dir, product=product, date=day, region_name=reg.name, bounds=reg.bounds, fmt=fmt)
    typer.echo(f"wrote {f} and {item}")


@products_app.command("timeseries")
@user_errors
def products_timeseries(product: str = typer.Option("gpp_m", "--product", "-p"),
                        region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                        crs: BoxCRS = CrsOpt, start: str = typer.Option("2023-01-01", "--start"),
                        end: str = typer.Option("2023-12-31", "--end"),
                        csv: Optional[Path] = typer.Option(None, "--csv", help="Write the series as CSV."),
                        totals_csv: Optional[Path] = typer.Option(None, "--totals", help="Seasonal/annual totals CSV.")):
    """Mean GPP by plant functional type over a region and date range."""
    from unique_core import analysis
    from unique_core.io.export import export_csv
    from unique_core.products import ProductService
    from unique_core.world.climate import parse_date

    svc = ProductService()
    reg = resolve_region(region, bbox, crs)
    d0, d1 = parse_date(start), parse_date(end)
    if d1 < d0:
        raise UniqueError(f"--end {end} is before --start {start}")
    bar, update = _tqdm_progress(product, "step")
    df = analysis.timeseries(svc, product, reg, d0, d1, progress=lambda w, i, n: (bar.set_description(w), update(i, n)))
    bar.close()
    if csv:
        export_csv(df, csv)
        typer.echo(f"wrote {csv}")
    if totals_csv:
        fr = svc.get("fractions", None, reg).values
        weights = analysis.pft_weights(np.asarray(fr))
        res = 500.0 if product in ("gpp_m", "gpp_true_500m") else 30.0
        if res == 500.0:
            weights = analysis.pft_weights(svc.world.static_coarse(reg).fractions)
        export_csv(analysis.totals(df, analysis.pft_areas_km2(weights, res)), totals_csv)
        typer.echo(f"wrote {totals_csv}")
    if not csv:
        typer.echo(df.describe().to_string())


@products_app.command("precompute")
@user_errors
def products_precompute(year: int = typer.Option(2023, "--year"),
                        regions: str = typer.Option("default", "--regions", help="'default' (all named) or names, comma-separated."),
                        products: str = typer.Option("gpp_m,gpp_true,s2", "--products"),
                        cadence: int = typer.Option(16, "--cadence", help="Every Nth day of the year."),
                        start: Optional[str] = typer.Option(None, "--start", help="First day (default 1 January)."),
                        end: Optional[str] = typer.Option(None, "--end", help="Last day (default 31 December).")):
    """Make products ahead of a demo (resumable: what is cached is skipped)."""
    import datetime as dt

    from unique_core.grid import get_region, named_regions
    from unique_core.products import SPECS, ProductService
    from unique_core.world.climate import parse_date

    names = list(named_regions()) if regions == "default" else [r.strip() for r in regions.split(",")]
    regs = [get_region(n) for n in names]
    prods = [p.strip() for p in products.split(",")]
    for p in prods:
        if p not in SPECS:
            raise UniqueError(f"unknown product {p!r}; choose from {', '.join(SPECS)}")
    d0 = parse_date(start) if start else dt.date(year, 1, 1)
    d1 = parse_date(end) if end else dt.date(year, 12, 31)
    days = [d0 + dt.timedelta(k) for k in range(0, (d1 - d0).days + 1, cadence)]
    svc = ProductService()
    jobs = [(p, d, r) for r in regs for d in days for p in prods]
    bar, update = _tqdm_progress("precompute", "product")
    made = 0
    for k, (p, d, r) in enumerate(jobs):
        da = svc.get(p, d if SPECS[p].dynamic else None, r)
        made += da.attrs["cache"] == "computed"
        update(k + 1, len(jobs))
    bar.close()
    typer.echo(f"{len(jobs)} products ready ({made} made now, {len(jobs) - made} from the cache)")


@ingest_app.command("check")
@user_errors
def ingest_check_cmd(folder: Path = typer.Argument(..., help="A real-data folder (docs/real-data.md)."),
                     as_json: bool = typer.Option(False, "--json")):
    """What is in a real-data folder, what it can make (products and dates), and what is missing or wrong."""
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
    raise typer.Exit(0 if report["ok"] else 1)


@ingest_app.command("stac")
@user_errors
def ingest_stac(out: Path = typer.Option(..., "--out", help="The real-data folder to fill."),
                bbox: tuple[float, float, float, float] = typer.Option(..., "--bbox", help="lon/lat box."),
                start: str = typer.Option(..., "--start"), end: str = typer.Option(..., "--end"),
                catalog: str = typer.Option("planetary-computer", "--catalog",
                                            help="planetary-computer, earth-search, or a STAC API URL."),
                collections: str = typer.Option("landsat-c2-l2,modis-09GA-061,cop-dem-glo-30,esa-worldcover",
                                                "--collections"),
                items_file: Optional[Path] = typer.Option(None, "--items", help="Recorded STAC items (JSON) instead of "
                                                          "a search (offline).")):
    """Search public STAC catalogues (needs internet) and put MODIS, Landsat, DEM and WorldCover into the folder."""
    import datetime as dt

    import pystac

    from unique_core.io.stac import fetch, search

    if items_file:
        items = list(pystac.ItemCollection.from_file(str(items_file)))
    else:
        items = search(catalog, [c.strip() for c in collections.split(",")], bbox,
                       dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    bar, update = _tqdm_progress("assets", "item")
    counts = fetch(items, out, update)
    bar.close()
    typer.echo(json.dumps(counts))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
