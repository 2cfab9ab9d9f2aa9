"""`unique flux`: eddy-covariance (FLUXNET daily) files."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from unique_core.cli.common import PartitionOpt, command, group

flux_app = group("flux", "Eddy-covariance (FLUXNET daily) files.")


@command(flux_app, "summary")
def flux_summary(files: list[Path] = typer.Argument(..., help="FLUXNET2015 / AmeriFlux / ICOS daily CSV files."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON."),
                 min_qc: float = typer.Option(0.8, "--min-qc", min=0.0, max=1.0,
                                              help="Days pass when NEE_VUT_REF_QC >= this."),
                 partition: PartitionOpt = typer.Option(PartitionOpt.NT, "--partition", help="GPP partitioning.")):
    """Per file: site id, years, days, days passing QC, mean GPP of those days, and problems found.

    Exits 1 when a file gives no usable day (nothing could be summarised)."""
    from unique_core.io.fluxnet import summarize

    out = [asdict(summarize(f, min_qc=min_qc, partition=partition.value)) for f in files]
    if as_json:
        typer.echo(json.dumps(out, indent=2))
    else:
        for s in out:
            years = f"{s['years'][0]}-{s['years'][-1]}" if s["years"] else "-"
            gpp = f"{s['mean_gpp_passing']:.2f}" if s["mean_gpp_passing"] is not None else "-"
            typer.echo(f"{s['site_id'] or '?':<8} {years:<10} days {s['days']:>5}  passing QC "
                       f"{s['days_passing_qc']:>5}  mean GPP {gpp} gC m-2 d-1"
                       + "".join(f"\n    problem: {p}" for p in s["problems"]))
    if any(not s["days_passing_qc"] for s in out):
        raise typer.Exit(1)
