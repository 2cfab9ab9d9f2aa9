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


# ------------------------------------------------------------------ the country-year: tiles x days on Dask
_WORKER: dict = {}  # per worker process: the loaded models and engine (loaded once, reused by every task)


def _worker_context(scheme: str, device: str, engine: str, precision: str, batch: int | None):
    key = (scheme, device, engine, precision, batch, os.environ.get("UNIQUE_MODELS_DIR"))
    if key not in _WORKER:
        from unique_core.downscale import registry
        from unique_core.downscale.engine import make_engine
        from unique_core.gpp.registry import load_model
        from unique_core.world import World

        model = registry.load(scheme) if scheme != "gpp_m" else None
        eng = make_engine(model, device=device, engine=engine, precision=precision, batch=batch) if model else None
        _WORKER.clear()  # one configuration per worker at a time: bounded memory
        _WORKER[key] = (World(), load_model("modis"), model, eng)
    return _WORKER[key]


def _cube_task(path: str, tile: Region, area: Region, k: int, a: int, b: int, first: dt.date, product: str,
               params: dict, env: dict, device: str, engine: str, precision: str, batch: int | None) -> float:
    """One Dask task: days a..b-1 of one tile, run on the tile plus a one-block halo of context,
    written into the store's chunks of that tile and those days, then marked done."""
    for name, value in env.items():
        if value:
            os.environ[name] = value
    import zarr

    from unique_core.atomic import write_text
    from unique_core.downscale import data as D
    from unique_core.downscale.infer import downscale_days
    from unique_core.gpp.maps import gpp_m_series

    t0 = time.time()
    world, gm_model, model, eng = _worker_context(product, device, engine, precision, batch)
    ctx = Region(tile.name, tile.brow0 - 1, tile.bcol0 - 1, tile.nbrows + 2, tile.nbcols + 2)  # context halo
    inputs = Region(tile.name, ctx.brow0 - 1, ctx.bcol0 - 1, ctx.nbrows + 2, ctx.nbcols + 2)  # + upsampling halo
    gm, _ = gpp_m_series(gm_model, world, inputs, first + dt.timedelta(a), first + dt.timedelta(b - 1))
    group = zarr.open_group(path, mode="r+")
    fr, fc = tile.fine.window_in(area.fine)
    cr, cc = tile.coarse.window_in(area.coarse)
    group["gpp_m"][a:b, cr, cc] = gm[:, 6:-6, 6:-6]
    if model is not None:
        static = D.static_channels(world, ctx) if model.config.scheme == "s2" else None
        mean, std = downscale_days(model, gm, static, ctx, world.static(ctx).land, engine=eng,
                                   members=params["members"], steps=params["steps"], seed=params["seed"],
                                   world=world, dates=[first + dt.timedelta(d) for d in range(a, b)])
        inner = (slice(None), slice(FINE_PER_BLOCK, -FINE_PER_BLOCK), slice(FINE_PER_BLOCK, -FINE_PER_BLOCK))
        group["gpp"][a:b, fr, fc] = mean[inner]
        if std is not None:
            group["gpp_std"][a:b, fr, fc] = std[inner]
    write_text(Path(path) / "_progress" / f"tile_{k:05d}_days_{a:03d}.done", "")
    return time.time() - t0


def cube_area(area: Region, year: int, out: str | Path, *, product: str = "s2", tile_blocks: int = 20,
              days_per_task: int = 32, members: int = 1, steps: int | None = None, seed: int = 0,
              start: dt.date | None = None, end: dt.date | None = None, scheduler: str | None = None,
              n_workers: int = 2, threads_per_worker: int = 1, processes: bool = True, device: str = "cpu",
              engine: str = "auto", precision: str = "auto", batch: int | None = None,
              progress: Progress = None) -> dict:
    """Daily GPP over an area of any size (up to the whole frame) into one Zarr store, on Dask.

    Tasks are tiles x groups of `days_per_task` days; the store's chunks are exactly one tile by
    one group of days, so every task writes its own chunks and no two tasks touch the same file.
    Each tile is downscaled with one block of halo (patches at its edges see their
    surroundings). Tiles without land are skipped (their chunks stay NaN, never written).
    Resumable: a task marks its chunks done after writing them, and a new call with the same
    store runs only the unmarked tasks. `scheduler`: an existing cluster's address; otherwise a
    LocalCluster of `n_workers` is started. `start`/`end` cut the year (tests, trial runs).
    Returns counts and timings (s).
    """
    from dask.distributed import Client, LocalCluster, as_completed

    from unique_core import cube as C
    from unique_core.errors import ProductError
    from unique_core.grid import FRAME
    from unique_core.products import ProductService
    from unique_core.landmask import coarse_land_mask

    out = Path(out)
    if out.suffix != ".zarr":
        raise ProductError(f"{out}: the area cube is a Zarr store: give a path ending in .zarr")
    if product not in C.CUBE_PRODUCTS:
        raise ProductError(f"no area cube for product {product!r}; choose one of: {', '.join(C.CUBE_PRODUCTS)}")
    if tile_blocks < 2 or days_per_task < 1:
        raise ProductError(f"tile_blocks must be at least 2 and days_per_task at least 1 "
                           f"(got {tile_blocks}, {days_per_task})")
    steps = int(steps or C.DEFAULT_STEPS)
    days = C.year_days(year)
    if start or end:
        days = [d for d in days if (start is None or d >= start) and (end is None or d <= end)]
        if not days:
            raise ProductError(f"no day of {year} lies between {start} and {end}")
    t0 = time.time()
    service = ProductService()
    params = C._params(product, members, steps, seed, False)
    ident = {"area": area.key, "tile_blocks": tile_blocks, "days_per_task": days_per_task,
             "first": days[0].isoformat(), "last": days[-1].isoformat()}
    key = C.cube_key(service, product, year, area, {**params, **ident})
    if out.exists():
        C._check_existing(out, key)
    else:
        attrs = {"Conventions": "CF-1.8", "title": f"UNIQUE {product.upper()} daily GPP, {year}, {area.name}",
                 "institution": "UNIQUE (reimplementation of EGU26-4160)", "product": product, "year": int(year),
                 "region": area.key, "region_name": area.name, "cube_version": C.CUBE_VERSION,
                 "model_hash": C._model_hash(service, product), "unique_key": key,
                 "parameters": __import__("json").dumps(params, sort_keys=True), "days_per_chunk": days_per_task,
                 "tile_blocks": tile_blocks, "sampler": "ddim" if product != "gpp_m" else "none",
                 "history": f"unique_core.downscale.distributed.cube_area on Dask ({len(days)} days)"}
        C._init_store(out, product, year, area, days, days_per_task, members, attrs, tile_blocks=tile_blocks)
    land, _ = coarse_land_mask()
    tiles = []
    for k, t in enumerate(tiles_of(area, tile_blocks)):
        rows, cols = t.coarse.window_in(FRAME.coarse)
        if land[rows, cols].any():
            tiles.append((k, t))
    groups = [(a, min(a + days_per_task, len(days))) for a in range(0, len(days), days_per_task)]
    jobs = [(k, t, a, b) for k, t in tiles for a, b in groups
            if not (out / "_progress" / f"tile_{k:05d}_days_{a:03d}.done").exists()]
    env = {n: os.environ.get(n) for n in ("UNIQUE_MODELS_DIR", "UNIQUE_CACHE_DIR", "UNIQUE_DATA_DIR")}
    cluster = None
    task_seconds: list[float] = []
    if jobs:
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            futures = [client.submit(_cube_task, str(out), t, area, k, a, b, days[0], product, params, env, device,
                                     engine, precision, batch, pure=False) for k, t, a, b in jobs]
            for n, fut in enumerate(as_completed(futures)):
                task_seconds.append(fut.result())
                fut.release()
                if progress:
                    progress(n + 1, len(jobs))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    from unique_core.atomic import write_text

    if not C.is_complete(out):
        write_text(out / "_progress" / "complete", "")
    return {"path": str(out), "tiles": len(tiles), "tiles_without_land": len(tiles_of(area, tile_blocks)) - len(tiles),
            "day_groups": len(groups), "tasks_total": len(tiles) * len(groups), "tasks_run": len(jobs),
            "days": len(days), "seconds": round(time.time() - t0, 2),
            "mean_task_seconds": round(float(np.mean(task_seconds)), 2) if task_seconds else None,
            "workers": n_workers if not scheduler else None}
