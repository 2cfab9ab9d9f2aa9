"""What every `unique` command shares: the root app, error handling, options, regions, sources.

Error contract (tested in tests/test_cli.py):
- a `UniqueError` (something the user can fix) prints one line, `error: ...`, and exits 2;
- anything else prints one line naming the exception and the log file that holds its
  traceback, and exits 1; `unique --debug ...` (or UNIQUE_DEBUG=1) shows the traceback instead;
- option ranges are typer's (`min=`, `max=`), so a bad value is a usage error (exit 2).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import logging.handlers
import os
from enum import Enum
from pathlib import Path
from typing import Callable, Optional

import typer

from unique_core.errors import DataError, DateError, UniqueError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="UNIQUE: daily 30 m GPP maps of South Korea (simulated default or real data).")

_state = {"debug": bool(os.environ.get("UNIQUE_DEBUG"))}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show the full traceback of unexpected errors.")):
    """UNIQUE: daily 30 m GPP maps of South Korea (simulated default or real data)."""
    if debug:
        _state["debug"] = True
    if _LIMITS_ERROR is not None:
        typer.echo(f"error: {_LIMITS_ERROR}", err=True)
        raise typer.Exit(2)


def group(name: str, help: str) -> typer.Typer:
    """A sub-command group of the root app."""
    sub = typer.Typer(no_args_is_help=True, help=help, pretty_exceptions_enable=False)
    app.add_typer(sub, name=name)
    return sub


def log_path() -> Path:
    """The CLI's log file (tracebacks of unexpected errors): UNIQUE_CACHE_DIR/logs/cli.log."""
    from unique_core.config import cache_dir

    folder = cache_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "cli.log"


def _log_exception(command: str) -> Path | None:
    try:
        path = log_path()
        logger = logging.getLogger("unique.cli")
        if not logger.handlers:
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=2)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
            logger.propagate = False
        logger.exception("unexpected error in `unique %s`", command)
        return path
    except OSError:  # a read-only or full cache folder must not hide the original error
        return None


def user_errors(func: Callable) -> Callable:
    """One line for every error: UniqueError exits 2, anything unexpected exits 1 with the log's path."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except UniqueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into a line
            if _state["debug"]:
                raise
            where = _log_exception(func.__name__.replace("_", " ", 1))
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            tail = f"; the traceback is in {where}" if where else ""
            typer.echo(f"error: unexpected {type(exc).__name__}: {detail}{tail} "
                       "(run `unique --debug ...` to see it here)", err=True)
            raise typer.Exit(1) from None

    return wrapper


def command(sub: typer.Typer, name: str, **kwargs) -> Callable:
    """Register `func` as `unique <group> <name>` with the error contract above."""

    def register(func: Callable) -> Callable:
        return sub.command(name, **kwargs)(user_errors(func))

    return register


class BoxCRS(str, Enum):
    epsg5179 = "EPSG:5179"
    lonlat = "EPSG:4326"


class Scheme(str, Enum):
    s1 = "s1"
    s2 = "s2"
    s3 = "s3"


class Sensor(str, Enum):
    modis = "modis"
    landsat = "landsat"


class PartitionOpt(str, Enum):
    NT = "NT"
    DT = "DT"
    mean = "mean"


RegionOpt = typer.Option(None, "--region", "-r", help="A named region (see `unique world regions`).")
BboxOpt = typer.Option(None, "--bbox", help="XMIN YMIN XMAX YMAX instead of --region (at most 30 x 30 km, "
                       "or UNIQUE_MAX_BOX_KM).")
CrsOpt = typer.Option(BoxCRS.epsg5179, "--crs", help="CRS of --bbox: EPSG:5179 metres or EPSG:4326 lon/lat degrees.")
SourceOpt = typer.Option(None, "--data", envvar="UNIQUE_DATA_DIR",
                         help="A real-data folder (docs/real-data.md); default: the simulated South Korea.")


def _limits():
    """The deployer's limits (unique_core.limits), or the ceilings and the error of a bad variable.

    Read when the CLI is imported, because typer's option ranges are fixed then; a bad variable
    is reported by the root callback as a one-line error (exit 2), not as an import traceback.
    """
    from unique_core.limits import Limits, LimitsError

    try:
        return Limits.from_env(), None
    except LimitsError as exc:
        return Limits(), exc


LIMITS, _LIMITS_ERROR = _limits()
MAX_MEMBERS = LIMITS.max_members  # UNIQUE_MAX_MEMBERS, at most 16
MAX_STEPS = LIMITS.max_steps  # UNIQUE_MAX_STEPS, at most 100
MembersOpt = typer.Option(min(4, MAX_MEMBERS), "--members", min=1, max=MAX_MEMBERS,
                          help="Ensemble members (S1/S2; at most UNIQUE_MAX_MEMBERS).")
StepsOpt = typer.Option(min(10, MAX_STEPS), "--steps", min=1, max=MAX_STEPS,
                        help="DDIM steps (S1/S2; at most UNIQUE_MAX_STEPS).")


def resolve_region(region: Optional[str], bbox: Optional[tuple[float, float, float, float]], crs: BoxCRS):
    """The Region named by exactly one of --region and --bbox."""
    from unique_core.grid import get_region, region_from_bbox

    if (region is None) == (bbox is None):
        raise UniqueError("give exactly one of --region NAME or --bbox XMIN YMIN XMAX YMAX")
    if region is not None:
        return get_region(region)
    box = region_from_bbox(*bbox, crs=crs.value)
    LIMITS.check_box_km(*box.size_km, source="the --bbox box")
    return box


def source(data: Optional[Path]):
    """The data source: the real-data folder given (or UNIQUE_DATA_DIR), else the simulated world."""
    if data is None:
        from unique_core.world import World

        return World()
    from unique_core.io.realdata import RealDataSource

    if not Path(data).is_dir():
        raise DataError(f"{data}: no such folder; give --data a folder laid out as docs/real-data.md describes")
    return RealDataSource(data)


def source_label(src) -> str:
    """What a file's provenance tag says about where its inputs came from."""
    if getattr(src, "simulated", True):
        return f"UNIQUE simulated world, seed {src.seed}"
    return f"real data ({src.identity})"


def parse_day(text: str, src=None) -> dt.date:
    """A YYYY-MM-DD date: inside the simulated period for the simulation, any date for real data."""
    if src is None or getattr(src, "simulated", True):
        from unique_core.world.climate import parse_date

        return parse_date(text)
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise DateError(f"{text!r} is not a date: give YYYY-MM-DD, e.g. 2023-07-15") from None


class _LazyBar:
    """A tqdm bar on stderr that appears with the first progress report, so early errors print alone."""

    def __init__(self, desc: str, unit: str):
        self.desc, self.unit, self.bar = desc, unit, None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.desc, unit=self.unit)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def set_description(self, text: str) -> None:
        self.desc = text
        if self.bar is not None:
            self.bar.set_description(text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(desc: str, unit: str):
    """A progress bar on stderr and a `(done, total)` callback that moves it."""
    bar = _LazyBar(desc, unit)
    return bar, bar.update


def staged_progress(desc: str, unit: str):
    """A bar and a `(what, done, total)` callback, as the product service reports."""
    bar, update = progress_bar(desc, unit)
    return bar, lambda what, i, n: (bar.set_description(what), update(i, n))


def write_json(path: Path, payload) -> None:
    """Write a JSON report atomically and say so."""
    import json

    from unique_core.atomic import write_text

    write_text(path, json.dumps(payload, indent=2, default=float))
    typer.echo(f"wrote {path}")


def require_suffix(out: Path, *suffixes: str) -> None:
    if out.suffix.lower() not in suffixes:
        raise UniqueError(f"--out must end in {' or '.join(suffixes)}, not {out.name!r}")
