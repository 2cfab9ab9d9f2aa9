"""Downscaling areas of any size on Dask distributed: tiles in parallel, output written by windows.

The area is cut into tiles of `tile_blocks` x `tile_blocks` blocks. Each Dask task downscales its
tile grown by one block of halo (so patches near the tile's edge see their surroundings, and the
frame-anchored noise is the same in the overlap) and returns the tile's inner part. Results are
written into a tiled GeoTIFF window by window as they arrive, so at most a few tiles are ever in
memory, and the file becomes a COG at the end (atomically). A LocalCluster is started unless a
scheduler address is given.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from unique_core.atomic import atomic_path
from unique_core.grid import CRS, FINE_PER_BLOCK, Region

Progress = Callable[[int, int], None] | None


def tiles_of(area: Region, tile_blocks: int) -> list[Region]:
    out = []
    for br in range(0, area.nbrows, tile_blocks):
        for bc in range(0, area.nbcols, tile_blocks):
            out.append(area.subregion(br, bc, min(tile_blocks, area.nbrows - br), min(tile_blocks, area.nbcols - bc),
                                      name=f"{area.name}-{br}-{bc}"))
    return out


def _downscale_tile(tile: Region, date: dt.date, scheme: str, members: int, steps: int, seed: int,
                    models_dir: str | None) -> tuple[Region, np.ndarray, np.ndarray | None, float]:
    """One Dask task: the tile's mean (and std) from a run over the tile plus a one-block halo."""
    if models_dir:
        os.environ["UNIQUE_MODELS_DIR"] = models_dir
    from unique_core.downscale import registry
    from unique_core.downscale.infer import downscale_region
    from unique_core.gpp.registry import load_model
    from unique_core.world import World

    t0 = time.time()
    halo = Region(tile.name, tile.brow0 - 1, tile.bcol0 - 1, tile.nbrows + 2, tile.nbcols + 2)
    res = downscale_region(registry.load(scheme), World(), halo, date, load_model("modis"), members=members,
                           steps=steps, seed=seed)
    inner = (slice(FINE_PER_BLOCK, -FINE_PER_BLOCK), slice(FINE_PER_BLOCK, -FINE_PER_BLOCK))
    std = res.std[inner] if res.std is not None else None
    return tile, res.mean[inner], std, time.time() - t0


def downscale_area(area: Region, date: dt.date, scheme: str, out: str | Path, *, tile_blocks: int = 10,
                   members: int = 1, steps: int = 10, seed: int = 0, scheduler: str | None = None,
                   n_workers: int = 2, processes: bool = True, progress: Progress = None) -> dict:
    """Downscale `area` (any number of blocks) into the COG `out`; returns timing and tile counts."""
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(out)
    t0 = time.time()
    tiles = tiles_of(area, tile_blocks)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes, dashboard_address=None)
        client = Client(cluster)
    models_dir = os.environ.get("UNIQUE_MODELS_DIR")
    bands = 2 if members > 1 else 1
    grid = area.fine
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": bands, "dtype": "float32",
               "crs": CRS, "transform": grid.transform, "tiled": True, "blockxsize": 256, "blockysize": 256,
               "compress": "deflate", "nodata": np.nan, "BIGTIFF": "IF_SAFER"}
    tile_seconds = []
    stage = out.with_name(f".{out.stem}.stage.tif")  # tiles land here window by window
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with rasterio.open(stage, "w", **profile) as dst:
            futures = [client.submit(_downscale_tile, t, date, scheme, members, steps, seed, models_dir, pure=False)
                       for t in tiles]
            for k, fut in enumerate(as_completed(futures)):
                tile, mean, std, secs = fut.result()
                fut.release()
                win = Window(tile.fine.col0 - grid.col0, tile.fine.row0 - grid.row0, tile.fine.width, tile.fine.height)
                dst.write(mean.astype(np.float32), 1, window=win)
                if bands == 2:
                    dst.write(std.astype(np.float32), 2, window=win)
                tile_seconds.append(secs)
                if progress:
                    progress(k + 1, len(tiles))
            dst.set_band_description(1, "mean")
            if bands == 2:
                dst.set_band_description(2, "std")
            dst.units = ["gC m-2 d-1"] * bands
        with atomic_path(out, suffix=".tif") as final:
            rasterio.shutil.copy(stage, final, driver="COG", compress="DEFLATE", predictor=3, blocksize=256)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        stage.unlink(missing_ok=True)
    return {"tiles": len(tiles), "seconds": round(time.time() - t0, 1),
            "mean_tile_seconds": round(float(np.mean(tile_seconds)), 2), "workers": n_workers if not scheduler else None}
