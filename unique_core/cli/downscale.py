"""`unique downscale`: Step 2, diffusion downscaling of GPP_M to 30 m (S1, S2) and its peers."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from unique_core.cli.common import (BboxOpt, BoxCRS, CrsOpt, MAX_MEMBERS, MAX_STEPS, RegionOpt, Scheme, SourceOpt,
                                    command, group, parse_day, progress_bar, require_suffix, resolve_region, source,
                                    source_label, staged_progress, write_json)
from unique_core.errors import UniqueError

ds_app = group("downscale", "Step 2: diffusion downscaling of GPP_M to 30 m (S1, S2, S3).")


class Kind(str, Enum):
    diffusion = "diffusion"
    regression = "regression"


class BaseMap(str, Enum):
    gpp_l = "gpp_l"
    gpp_m = "gpp_m"
    gpp_l_change = "gpp_l_change"
    unmix = "unmix"


class Variant(str, Enum):
    two_sided = "two_sided"
    past = "past"


ModelOpt = typer.Option(None, "--model", help="Model folder (default: shipped).")


@command(ds_app, "data")
def downscale_data(years: str = typer.Option("2020-2023", "--years", help="Years, e.g. 2020-2023."),
                   workers: int = typer.Option(1, "--workers", min=1, max=64,
                                               help="Processes (each holds a world; ~1.5 GB)."),
                   scheme: Scheme = typer.Option(Scheme.s2, "--scheme",
                                                 help="s1/s2: GPP_M-GPP_L pairs of whole tiles; s3: the same on "
                                                      "quarters of the tiles plus the withheld-scene Landsat inputs.")):
    """Make the Step 2 samples (GPP_M and GPP_L pairs on clear days) of every tile and year (resumable)."""
    from unique_core.downscale.data import make_s3_shards, make_shards, s3_jobs
    from unique_core.downscale.registry import split_tiles

    y0, _, y1 = years.partition("-")
    try:
        span = range(int(y0), int(y1 or y0) + 1)
    except ValueError:
        raise UniqueError(f"--years {years!r}: give a year or a range such as 2020-2023") from None
    if scheme == Scheme.s3:
        jobs = s3_jobs(*split_tiles(), list(span))
        bar, update = progress_bar("S3 boxes", "box-year")
        make_s3_shards(jobs, progress=update)
        bar.close()
        typer.echo(f"S3 samples ready for {len(jobs)} box-years")
        return
    tiles = sum(split_tiles(), ())
    jobs = [(t, y) for y in span for t in tiles]  # year-major, so that the training years are ready first
    bar, update = progress_bar("tile-years", "tile-year")
    make_shards(jobs, workers=workers, progress=update)
    bar.close()
    typer.echo(f"samples ready for {len(jobs)} tile-years")


@command(ds_app, "train")
def downscale_train(scheme: Scheme = typer.Option(..., "--scheme"), kind: Kind = typer.Option(Kind.diffusion, "--kind"),
                    steps: int = typer.Option(8000, "--steps", min=1,
                                              help="Optimiser steps (shipped: S2 8000, S1 6000, regression 4000)."),
                    base: int = typer.Option(16, "--base", min=4, max=128, help="UNet base channels."),
                    batch: int = typer.Option(12, "--batch", min=1), crop: int = typer.Option(64, "--crop", min=16),
                    out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default assets/models/...)."),
                    base_map: Optional[BaseMap] = typer.Option(None, "--base-map",
                                                               help="The map the residual is added to. S3: gpp_l (interpolated GPP_L, the default), gpp_m (today's GPP_M) or gpp_l_change (interpolated GPP_L plus GPP_M's change since its views). S1/S2: gpp_m (bilinear GPP_M, the default) or, S2 only, unmix (land-cover unmixing of GPP_M, also fed as a channel).")):
    """Train S1/S2/S3 (or the regression baseline) on the training tiles and years; resumes from its checkpoint."""
    from unique_core.downscale.model import DownscaleConfig
    from unique_core.downscale.pipeline import train_s3, train_shipped

    if scheme == Scheme.s3 and kind != Kind.diffusion:
        raise UniqueError("S3 is a diffusion scheme: drop --kind regression")
    bmap = (base_map or (BaseMap.gpp_l if scheme == Scheme.s3 else BaseMap.gpp_m)).value
    try:
        DownscaleConfig(scheme=scheme.value, kind=kind.value, base_map=bmap)  # a base map the scheme takes
    except ValueError as exc:
        raise UniqueError(f"--base-map: {exc}") from None
    bar, update = progress_bar(f"training {scheme.value} {kind.value}", "step")
    if scheme == Scheme.s3:
        target, card = train_s3(steps=steps, base=base, batch=batch, crop=crop, base_map=bmap, out=out,
                                progress=lambda i, n, loss: update(i, n))
    else:
        target, card = train_shipped(scheme.value, kind.value, steps=steps, base=base, batch=batch, crop=crop,
                                     base_map=bmap, out=out, progress=lambda i, n, loss: update(i, n))
    bar.close()
    typer.echo(f"saved {card['name']} ({card['parameters']:,} parameters) to {target}")


@command(ds_app, "calibrate")
def downscale_calibrate(scheme: Scheme = typer.Option(..., "--scheme"),
                        windows: int = typer.Option(12, "--windows", min=1, help="150 px validation windows."),
                        members: int = typer.Option(8, "--members", min=4, max=MAX_MEMBERS,
                                                    help="Raw members per window the spread model is fitted on."),
                        steps: str = typer.Option("5,10,25,50", "--steps",
                                                  help="DDIM step counts to fit, comma-separated (bands are "
                                                       "allowed between the smallest and the largest)."),
                        model_dir: Optional[Path] = ModelOpt):
    """Fit the spread model of S1/S2 (any member count, the given step counts) on the validation tiles of the
    training years against GPP_L (never the test tiles or the truth)."""
    from unique_core.downscale.pipeline import calibrate_shipped

    try:
        grid = tuple(sorted({int(x) for x in steps.split(",") if x.strip()}))
    except ValueError:
        raise UniqueError(f"--steps {steps!r}: give DDIM step counts such as 5,10,25,50") from None
    if not grid or grid[0] < 1 or grid[-1] > MAX_STEPS:
        raise UniqueError(f"--steps {steps!r}: step counts must lie in 1..{MAX_STEPS}")
    bar, update = staged_progress("calibrating", "window")
    folder, info = calibrate_shipped(scheme.value, windows=windows, members=members, steps=grid, folder=model_dir,
                                     progress=update)
    bar.close()
    for K, k, a, raw in zip(info["steps"], info["k"], info["a"], info["raw_spread_skill"]):
        typer.echo(f"{scheme.value} DDIM {K}: raw spread/skill {raw:.3f}; k {k:.3f}, GPP_M error factor {a:.3f}; "
                   f"band spread/skill by members {info['band_spread_skill_by_members'][str(K)]}")
    typer.echo(f"spread model ({info['windows']} validation windows) written to {Path(folder) / 'config.json'}")


class Method(str, Enum):
    diffusion = "diffusion"
    bilinear = "bilinear"
    nearest = "nearest"
    unmix = "unmix"
    unmix_residual = "unmix_residual"
    starfm = "starfm"
    gpp_l_two_sided = "gpp_l_two_sided"
    gpp_l_past = "gpp_l_past"


@command(ds_app, "run")
def downscale_run(date: str = typer.Option(..., "--date", "-d"),
                  out: Path = typer.Option(..., "--out", "-o", help="Output GeoTIFF (.tif): band 1 mean, band 2 std."),
                  scheme: Scheme = typer.Option(Scheme.s2, "--scheme", help="Diffusion scheme (--method diffusion)."),
                  method: Method = typer.Option(Method.diffusion, "--method",
                                                help="diffusion (S1/S2), or a peer: bilinear, nearest, unmix, "
                                                     "unmix_residual, starfm, gpp_l_two_sided, gpp_l_past."),
                  region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
                  crs: BoxCRS = CrsOpt, data: Optional[Path] = SourceOpt,
                  members: int = typer.Option(1, "--members", min=1, max=MAX_MEMBERS),
                  steps: int = typer.Option(10, "--steps", min=1, max=MAX_STEPS, help="DDIM steps."),
                  seed: int = typer.Option(0, "--seed"), conserve: bool = typer.Option(
                      False, "--conserve", help="Keep each 1.5 km block's mean equal to GPP_M's."),
                  model_dir: Optional[Path] = ModelOpt,
                  variant: Variant = typer.Option(Variant.two_sided, "--variant",
                                                  help="S3 only: Landsat views before and after the day (two_sided, "
                                                       "reanalysis) or only on or before it (past, near real time).")):
    """Downscale GPP_M to 30 m for a date and region: S1/S2/S3 diffusion, or one of the classical peers."""
    import numpy as np

    from unique_core.io.geotiff import write_cog
    from unique_core.raster import dataarray

    require_suffix(out, ".tif", ".tiff")
    src = source(data)
    day = parse_day(date, src)
    reg = resolve_region(region, bbox, crs)
    if method != Method.diffusion:
        from unique_core.downscale.peers import run_peer

        if not getattr(src, "simulated", True):
            src.check("gpp_l" if method.value.startswith("gpp_l") else "gpp_m", day, reg)
        res = run_peer(method.value, src, reg, day)
        da = dataarray(res.gpp[None], reg.fine, name=f"gpp_{method.value}", units="gC m-2 d-1", band=["mean"],
                       long_name=f"GPP at 30 m by the {method.value} peer")
        write_cog(da, out, tags={"method": method.value, "date": day.isoformat(), "source": source_label(src),
                                 **{k: str(v) for k, v in res.info.items()}})
        typer.echo(f"wrote {out} ({method.value})")
        return
    from unique_core.downscale import registry
    from unique_core.downscale.infer import downscale_region
    from unique_core.gpp.registry import load_model

    if not getattr(src, "simulated", True):
        for product in (("s2", "gpp_l") if scheme == Scheme.s3 else (scheme.value,)):  # S3 needs S2's inputs and Landsat
            src.check(product, day, reg)
    model = registry.load(scheme.value, model_dir)
    bar, update = staged_progress(scheme.value, "step")
    res = downscale_region(model, src, reg, day, load_model("modis"), members=members, steps=steps, seed=seed,
                           conserve=conserve, progress=update, variant=variant.value)
    bar.close()
    bands = [res.mean] + ([res.std] if res.std is not None else [])
    names = ["mean"] + (["std"] if res.std is not None else [])
    da = dataarray(np.stack(bands), reg.fine, name=f"gpp_{scheme.value}", units="gC m-2 d-1", band=names,
                   long_name=f"GPP downscaled to 30 m by diffusion ({scheme.value.upper()}), ensemble of {members}")
    write_cog(da, out, tags={"scheme": scheme.value, "members": str(members),
                             **({"variant": variant.value} if scheme == Scheme.s3 else {}), "steps": str(steps), "seed": str(seed),
                             "conserve": str(conserve), "date": day.isoformat(), "source": source_label(src),
                             "block_mean_rmse_vs_gpp_m": f"{res.conservation_rmse:.4f}"})
    typer.echo(f"wrote {out} ({res.seconds:.1f} s; block-mean difference from GPP_M {res.conservation_rmse:.3f} gC m-2 d-1)")


@command(ds_app, "area")
def downscale_area_cmd(scheme: Scheme = typer.Option(..., "--scheme"), date: str = typer.Option(..., "--date", "-d"),
                       bbox: tuple[float, float, float, float] = typer.Option(..., "--bbox", help="Any box inside Korea."),
                       crs: BoxCRS = CrsOpt, out: Path = typer.Option(..., "--out", "-o"),
                       members: int = typer.Option(1, "--members", min=1, max=MAX_MEMBERS),
                       steps: int = typer.Option(10, "--steps", min=1, max=MAX_STEPS),
                       seed: int = typer.Option(0, "--seed"),
                       tile_blocks: int = typer.Option(10, "--tile-blocks", min=1, max=20,
                                                       help="Tile side in 1.5 km blocks."),
                       scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address "
                                                               "(default: a LocalCluster on this machine)."),
                       workers: int = typer.Option(2, "--workers", min=1, max=256, help="LocalCluster workers.")):
    """Downscale an area of any size, tile by tile on Dask distributed, into one COG."""
    from unique_core.downscale.distributed import downscale_area
    from unique_core.grid import region_from_bbox
    from unique_core.world.climate import parse_date

    area = region_from_bbox(*bbox, crs=crs.value, name="area", max_blocks=None)
    bar, update = progress_bar("tiles", "tile")
    info = downscale_area(area, parse_date(date), scheme.value, out, tile_blocks=tile_blocks, members=members,
                          steps=steps, seed=seed, scheduler=scheduler, n_workers=workers, progress=update)
    bar.close()
    typer.echo(f"wrote {out}: {json.dumps(info)}")


@command(ds_app, "evaluate")
def downscale_evaluate(year: int = typer.Option(2023, "--year", min=2015, max=2023),
                       json_out: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON here."),
                       markdown: Optional[Path] = typer.Option(None, "--markdown", help="Write the tables as markdown."),
                       tiles: Optional[str] = typer.Option(None, "--tiles", help="Test tiles, comma-separated "
                                                           "(default: every held-out test tile)."),
                       methods: Optional[str] = typer.Option(None, "--methods", help="Methods, comma-separated "
                                                             "(default: every peer and every shipped model)."),
                       cadence: int = typer.Option(5, "--cadence", min=1, max=366,
                                                   help="Ordinary days: every Nth day of the year."),
                       max_clear: int = typer.Option(12, "--max-clear", min=1, max=12,
                                                     help="Landsat-clear dates scored per test tile (evenly spread)."),
                       members: int = typer.Option(4, "--members", min=1, max=MAX_MEMBERS),
                       steps: int = typer.Option(10, "--steps", min=1, max=MAX_STEPS),
                       workers: int = typer.Option(1, "--workers", min=1, max=64, help="Processes, one tile each."),
                       seed: int = typer.Option(0, "--seed")):
    """Score the peers and the shipped models on the held-out test tiles: ordinary days against the truth
    (the headline), Landsat-clear dates against the truth and against GPP_L."""
    from unique_core.downscale.evaluate import LEARNED, PEERS, evaluate_heldout, heldout_markdown

    split = lambda text: tuple(x.strip() for x in text.split(",") if x.strip()) if text else None  # noqa: E731
    chosen = split(methods) or PEERS + LEARNED
    unknown = [m for m in chosen if m not in PEERS + LEARNED]
    if unknown:
        raise UniqueError(f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(PEERS + LEARNED)}")
    bar, update = staged_progress("evaluating", "tile-day")
    report = evaluate_heldout(year=year, members=members, steps=steps, cadence=cadence, max_clear=max_clear,
                              tiles=split(tiles),
                              methods=chosen, workers=workers, seed=seed, progress=update,
                              note=lambda text: typer.echo(f"note: {text}", err=True))
    bar.close()
    text = heldout_markdown(report)
    if markdown:
        from unique_core.atomic import write_text

        write_text(markdown, text)
        typer.echo(f"wrote {markdown}")
    if json_out:
        write_json(json_out, report)
    if not (markdown or json_out):
        typer.echo(text)
