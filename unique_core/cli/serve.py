"""`unique app` (the dashboard from the installed package) and `unique cache` (size, health, cleaning)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from unique_core.cli.common import app, command, group, user_errors

cache_app = group("cache", "The cache folder (UNIQUE_CACHE_DIR): size, entries, quarantine, cleaning.")


@app.command("app")
@user_errors
def app_cmd(host: str = typer.Option("127.0.0.1", "--host",
                                     help="Address to listen on; 127.0.0.1 serves this machine only."),
            port: int = typer.Option(8501, "--port", min=1, max=65535),
            data: Optional[Path] = typer.Option(None, "--data", envvar="UNIQUE_DATA_DIR",
                                                help="A real-data folder (docs/real-data.md); default: simulated.")):
    """Start the dashboard (Streamlit) from the installed package."""
    from unique_core.launch import run_app

    raise typer.Exit(run_app(host=host, port=port, data_dir=data))


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@command(cache_app, "info")
def cache_info(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Size against UNIQUE_CACHE_MAX_GB, entries and bytes by product, temporaries, the quarantine."""
    from unique_core.cache import info

    rep = info()
    if as_json:
        typer.echo(json.dumps(rep, indent=2, default=str))
        return
    typer.echo(f"{rep['root']}: {_mb(rep['total_bytes'])} of {_mb(rep['max_bytes'])} (UNIQUE_CACHE_MAX_GB)")
    for kind, size in sorted(rep["by_kind"].items()):
        typer.echo(f"  {kind:<16} {_mb(size)}")
    for product, d in sorted(rep["products"].items()):
        typer.echo(f"  product {product:<14} {d['entries']:>5} entries  {_mb(d['bytes'])}")
    q = rep["quarantine"]
    typer.echo(f"  temporaries of killed writers: {rep['temporaries']}; quarantine: {q['files']} files, {_mb(q['bytes'])}")
    for r in q["recent"]:
        typer.echo(f"    quarantined {r.get('file', r.get('path', '?'))}: {r.get('reason', '')}")


@command(cache_app, "clean")
def cache_clean(min_age_h: float = typer.Option(1.0, "--min-age-hours", min=0.0,
                                                help="Only temporaries older than this (a live writer is never touched)."),
                purge_quarantine: bool = typer.Option(False, "--purge-quarantine",
                                                      help="Also delete the quarantined files (their log is kept)."),
                evict: bool = typer.Option(True, "--evict/--no-evict",
                                           help="Bring the cache under UNIQUE_CACHE_MAX_GB, least recently used first.")):
    """Remove killed writers' temporaries (and, with --purge-quarantine, quarantined files); evict to the limit."""
    from unique_core import cache

    rep = cache.clean(min_age_s=min_age_h * 3600.0, purge_quarantine=purge_quarantine)
    removed = cache.evict() if evict else []
    typer.echo(f"removed {len(rep.removed)} temporaries ({_mb(rep.bytes)}), skipped {rep.live} held by a writer and "
               f"{rep.young} younger than {min_age_h:g} h; purged {rep.quarantine_purged} quarantined files; "
               f"evicted {len(removed)} entries")
