"""The `unique` command: one module per command group, each only parsing, calling the core, printing.

    unique world ...       the embedded simulated South Korea          (cli/world.py)
    unique flux ...        FLUXNET daily files                         (cli/flux.py)
    unique gpp ...         Step 1 models: cross-validation, training, maps (cli/gpp.py)
    unique downscale ...   Step 2: S1/S2 and their peers                (cli/downscale.py)
    unique products ...    run or load, export, series                  (cli/products.py)
    unique ingest ...      real data: check, inspect, STAC              (cli/ingest.py)
    unique app             the dashboard                               (cli/serve.py)
    unique cache ...       cache size, quarantine, cleaning            (cli/serve.py)

Errors: cli/common.py (one line each; exit 2 for user errors, 1 for unexpected ones).
"""

from __future__ import annotations

import sys

from unique_core.cli import downscale, flux, gpp, ingest, products, serve, world  # noqa: F401  (register the groups)
from unique_core.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":
    main()
