"""`unique gpp`: Step 1, GPP_M (MODIS) and GPP_L (Landsat) LightGBM models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from unique_core.cli.common import (BboxOpt, BoxCRS, CrsOpt, PartitionOpt, RegionOpt, Sensor, SourceOpt, command,
                                    group, parse_day, progress_bar, require_suffix, resolve_region, source,
                                    source_label, write_json)
from unique_core.errors import DataError, UniqueError

gpp_app = group("gpp", "Step 1: GPP_M (MODIS) and GPP_L (Landsat) LightGBM models.")

NetworkOpt = typer.Option(None, "--data", help="A flux-network folder, or a real-data folder holding one in flux/ "
                          "(docs/real-data.md); default: the simulated network, built on first use.")


def network_folder(data: Optional[Path]) -> Path:
    """The flux-network folder to use: the one given (or its flux/), or the simulated network (built if missing)."""
    if data is not None:
        if not data.is_dir():
            raise DataError(f"{data}: no such folder; give --data a flux-network folder (docs/real-data.md)")
        return data / "flux" if (data / "flux").is_dir() else data
    from unique_core.world.network import build_network, default_folder

    folder = default_folder()
    if (folder / "manifest.json").exists():
        return folder
    typer.echo(f"building the simulated flux network in {folder} (once, about 10-20 minutes)", err=True)
    bar, update = progress_bar("flux sites", "site")
    build_network(folder, progress=lambda i, n, sid: update(i, n))
    bar.close()
    return folder


@command(gpp_app, "cv")
def gpp_cv(sensor: Sensor = typer.Option(..., "--sensor"),
           folds: int = typer.Option(20, "--folds", min=2, max=100),
           json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full results as JSON here."),
           data: Optional[Path] = NetworkOpt,
           automl_budget: float = typer.Option(120.0, "--automl-budget", min=0.0,
                                               help="Seconds of FLAML search (0: skip)."),
           min_qc: float = typer.Option(0.8, "--min-qc", min=0.0, max=1.0),
           partition: PartitionOpt = typer.Option(PartitionOpt.NT, "--partition"),
           predictions: Optional[Path] = typer.Option(None, "--predictions", help="CSV of 20,000 out-of-fold predictions."),
           leaderboard_from: Optional[Path] = typer.Option(None, "--leaderboard-from",
                                                           help="Reuse the AutoML leaderboard of an earlier JSON.")):
    """Spatial cross-validation of LightGBM against MOD17 and a climatology, and the AutoML leaderboard."""
    from unique_core.gpp.cv import automl_leaderboard, cross_validate
    from unique_core.gpp.data import training_table

    folder = network_folder(data)
    bar, update = progress_bar("reading sites", "site")
    table = training_table(folder, sensor.value, min_qc=min_qc, partition=partition.value, progress=update)
    bar.close()
    bar, update = progress_bar(f"{sensor.value} spatial CV", "fold")
    res = cross_validate(table, sensor.value, n_folds=folds, progress=update)
    bar.close()
    if leaderboard_from:
        board = json.loads(Path(leaderboard_from).read_text()).get("automl_leaderboard", [])
    else:
        board = automl_leaderboard(table, sensor.value, n_folds=folds, time_budget=automl_budget) if automl_budget > 0 else []
    if predictions:
        from unique_core.io.export import export_csv

        sample = res.predictions.sample(min(20000, len(res.predictions)), random_state=0)
        cols = ["site_id", "date", "pft_name", "fold", "gpp", "nee_randunc", "pred_lightgbm", "pred_mod17"]
        export_csv(sample[[c for c in cols if c in sample]], predictions)
    for method, m in res.summary.items():
        o = m["overall"]
        typer.echo(f"{method:<12} r {o['r']:.3f}  RMSE {o['rmse']:.3f}  bias {o['bias']:+.3f}  R2 {o['r2']:.3f}  "
                   f"(n {o['n']}) gC m-2 d-1")
    for b in board:
        if b.get("rmse") is not None:
            typer.echo(f"automl {b['learner']:<10} r {b['r']:.3f}  RMSE {b['rmse']:.3f}")
    if json_out:
        write_json(json_out, {"sensor": sensor.value, "folds": folds, "data": str(folder), "min_qc": min_qc,
                              "partition": partition.value, "sites": int(table["site_id"].nunique()),
                              "site_days": int(res.predictions.shape[0]), "seconds": round(res.seconds, 1),
                              "methods": res.summary, "automl_leaderboard": board})


@command(gpp_app, "train")
def gpp_train(sensor: Sensor = typer.Option(..., "--sensor"),
              out: Optional[Path] = typer.Option(None, "--out", help="Model folder (default assets/models/gpp_<sensor>)."),
              data: Optional[Path] = NetworkOpt, cv_json: Optional[Path] = typer.Option(
                  None, "--cv-json", help="A `unique gpp cv` JSON whose metrics go into metrics.json."),
              min_qc: float = typer.Option(0.8, "--min-qc", min=0.0, max=1.0),
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


@command(gpp_app, "map")
def gpp_map(sensor: Sensor = typer.Option(..., "--sensor"), date: str = typer.Option(..., "--date", "-d"),
            out: Path = typer.Option(..., "--out", "-o", help="Output GeoTIFF (.tif)."),
            region: Optional[str] = RegionOpt, bbox: Optional[tuple[float, float, float, float]] = BboxOpt,
            crs: BoxCRS = CrsOpt, country: bool = typer.Option(False, "--country", help="GPP_M over all of South Korea."),
            data: Optional[Path] = SourceOpt,
            model_dir: Optional[Path] = typer.Option(None, "--model", help="Model folder (default: shipped)."),
            compare_truth: bool = typer.Option(False, "--compare-truth",
                                               help="Also print RMSE/r against the true GPP (simulated world only).")):
    """Map GPP_M (500 m) or GPP_L (30 m) for a date over a region (or GPP_M for the country)."""
    from unique_core.gpp import maps
    from unique_core.gpp.registry import load_model
    from unique_core.io.geotiff import write_cog

    require_suffix(out, ".tif", ".tiff")
    src = source(data)
    day = parse_day(date, src)
    if compare_truth and not getattr(src, "simulated", True):
        raise UniqueError("--compare-truth needs the simulated world: real data has no true GPP")
    model = load_model(sensor.value, model_dir)
    if country:
        if sensor != Sensor.modis:
            raise UniqueError("--country works for --sensor modis (GPP_L is made per region at 30 m)")
        reg = None
    else:
        reg = resolve_region(region, bbox, crs)
    if not getattr(src, "simulated", True):
        if reg is None:
            raise UniqueError("--country needs the simulated world; give --region or --bbox for real data")
        src.check("gpp_m" if sensor == Sensor.modis else "gpp_l", day, reg)
    bar, update = progress_bar(f"{sensor.value} inputs", "scene" if sensor == Sensor.landsat else "day")
    da = maps.gpp_m_map(model, src, day, reg, update) if sensor == Sensor.modis else maps.gpp_l_map(model, src, reg, day, update)
    bar.close()
    write_cog(da, out, tags={"source": source_label(src), "date": day.isoformat(), "model": model.digest})
    typer.echo(f"wrote {out}")
    if compare_truth:
        from unique_core.gpp.evaluate import compare_with_truth

        typer.echo(json.dumps(compare_with_truth(da, src, day, reg), indent=2))
