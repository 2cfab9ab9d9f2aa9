"""Region-year cubes of daily S2 (issue 14): speed on CPU, engines, DDIM steps, Dask extrapolation.

    python bench/bench_cube.py            # speed: about 10-20 min on 2 idle cores -> reports/cube.json
    BENCH_CUBE_QUICK=1 python bench/bench_cube.py   # fewer days (a smoke run)
    python bench/bench_cube.py curve      # DDIM steps and patch layouts on the VALIDATION tiles
                                          # -> reports/cube_steps.json (about 10 min idle)
    python bench/bench_cube.py small      # only the 6 x 6 km region-year -> reports/cube_small.json
    python bench/bench_cube.py threads    # ONNX Runtime's thread layout -> reports/cube_threads.json

Targets (2 CPU cores, 1 member): a 6 x 6 km region-year <= 60 s; a 30 x 30 km region-year
<= 15 min. The 6 x 6 km year is made whole with make_cube's defaults; the 30 x 30 km year is
timed on a block of days and extrapolated (labelled as such), with its GPP_M year measured
whole. Every timed row also has its CPU seconds (process time, all threads): on the shared
machine wall time includes waiting for other people's jobs, CPU time does not. Also: the CPU
engines on the shipped weights (per patch, map difference from torch), and a small Dask run
extrapolated to all of Korea for a year. `curve` compares DDIM steps and patch layouts on
the validation tiles against GPP_L (the simulated truth is reported for scoring only; nothing
is chosen on it, and no test tile is used). The load average is recorded.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from unique_core import cube as C  # noqa: E402
from unique_core.downscale import data as D  # noqa: E402
from unique_core.downscale import registry  # noqa: E402
from unique_core.downscale.engine import bf16_capable, make_engine  # noqa: E402
from unique_core.downscale.infer import OVERLAP, PATCH, _starts, downscale_days  # noqa: E402
from unique_core.gpp.maps import gpp_l_map, gpp_m_series  # noqa: E402
from unique_core.gpp.registry import load_model  # noqa: E402
from unique_core.grid import FRAME, Region, get_region  # noqa: E402
from unique_core.world import World  # noqa: E402

THREADS = 2
YEAR = 2023
QUICK = bool(os.environ.get("BENCH_CUBE_QUICK"))
STEP_DAYS = [dt.date(YEAR, 4, 20), dt.date(YEAR, 7, 15), dt.date(YEAR, 10, 10)]


def _halo(r: Region, n: int = 1) -> Region:
    return Region(r.name, r.brow0 - n, r.bcol0 - n, r.nbrows + 2 * n, r.nbcols + 2 * n)


def _rmse(a, b, mask) -> float:
    ok = mask & np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2)))


def _detail(m: np.ndarray, up: np.ndarray, mask: np.ndarray) -> float:
    """Spatial detail a map adds to bilinear GPP_M: the standard deviation of (map - up) over land."""
    ok = mask & np.isfinite(m)
    return float(np.std((m - up)[ok]))


LAYOUTS = {"daily 160/32": (160, 32), "tile 208/16": (208, 16), "whole tile": (10_000, 0)}


def validation_curve(model, world, eng, extra: dict) -> list[dict]:
    """DDIM steps and patch layouts on the VALIDATION tiles (never the test tiles), 3 days each.

    For each tile-day and each (layout, steps): RMSE against the daily product's own layout at
    DDIM 10, against GPP_L (the choice is made on these two), the detail added to bilinear
    GPP_M (a smoother map is not a better one: detail is compared with GPP_L's), the CPU
    seconds of the sampling (process time, so that the shared machine's load does not enter),
    and, for scoring only, RMSE against the simulated truth.
    """
    from unique_core.downscale.infer import sample_residual_days
    from unique_core.downscale.registry import split_tiles

    gm_model, gl_model = load_model("modis"), load_model("landsat")
    rows = []
    for tile in split_tiles()[1]:
        static = D.static_channels(world, tile)
        land = world.static(tile).land
        fractions = D.base_fractions(world, tile, model.config.base_map)
        for day in STEP_DAYS:
            gm, _ = gpp_m_series(gm_model, world, _halo(tile), day, day)
            up = D.upsample(gm[0], tile).astype(np.float32)
            base = D.s2_base(gm[0], tile, model.config.base_map, *fractions, up=up)
            gpp_l = gpp_l_map(gl_model, world, tile, day).values
            truth = world.day(tile, day).gpp
            maps, cpu = {}, {}
            for layout, (patch, overlap) in LAYOUTS.items():
                for s in ((10, 5, 3, 2, 1) if layout != "tile 208/16" else (5, 3)):
                    t0 = time.process_time()
                    res = sample_residual_days(model, D.s2_daily(up, base, model.config.base_map)[None], static, tile.fine,
                                               engine=eng, steps=s, patch=patch, overlap=overlap)[0, 0]
                    cpu[layout, s] = time.process_time() - t0
                    maps[layout, s] = np.where(land, np.clip(base + model.config.res_scale * res, 0, None), np.nan)
            ref = maps["daily 160/32", 10]
            for (layout, s), m in maps.items():
                rows.append({"tile": tile.key, "date": day.isoformat(), "layout": layout, "steps": s,
                             "cpu_s": round(cpu[layout, s], 2),
                             "rmse_vs_daily_ddim10": round(_rmse(m, ref, land), 4),
                             "rmse_vs_gpp_l": round(_rmse(m, gpp_l, land), 4),
                             "detail": round(_detail(m, up, land), 4), "detail_gpp_l": round(_detail(gpp_l, up, land), 4),
                             "rmse_vs_truth_scoring_only": round(_rmse(m, truth, land), 4)})
                r = rows[-1]
                print(f"  {tile.key} {r['date']} {layout:>12} DDIM {s:>2}: cpu {r['cpu_s']:6.1f} s, vs daily "
                      f"DDIM 10 {r['rmse_vs_daily_ddim10']:.3f}, vs GPP_L {r['rmse_vs_gpp_l']:.3f}, detail "
                      f"{r['detail']:.3f} (GPP_L {r['detail_gpp_l']:.3f}), vs truth "
                      f"{r['rmse_vs_truth_scoring_only']:.3f} gC m-2 d-1", flush=True)
    extra["validation_curve"] = rows
    return rows


def engines(model, world, region, rows: list, extra: dict) -> dict:
    """Forward pass per 160 px patch for each CPU engine (its default batch, and batch 8), wall and
    CPU seconds, and the map difference from torch on one 6 x 6 km day."""
    candidates = [("torch", "fp32"), ("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")]
    gm, _ = gpp_m_series(load_model("modis"), world, _halo(region), STEP_DAYS[1], STEP_DAYS[1])
    static = D.static_channels(world, region)
    land = world.static(region).land
    ref = None
    out = {}
    for name, prec in candidates:
        if name != "torch" and importlib.util.find_spec(name) is None:
            continue
        label = f"{name} {prec}"
        out[label] = {}
        for batch in sorted({make_engine(model, device="cpu", engine=name, precision=prec).batch, 8}):
            eng = make_engine(model, device="cpu", engine=name, precision=prec, batch=batch)
            x = torch.randn(batch, model.config.in_channels, PATCH, PATCH)
            eng(x, 500)  # warm-up (compilation, allocation)
            reps = max(2, 16 // batch)
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(reps):
                eng(x, 500)
            wall, cpu = [(time.perf_counter() - w0) / reps / batch, (time.process_time() - c0) / reps / batch]
            out[label][f"batch {batch}"] = {"s_per_patch_step": round(wall, 4), "cpu_s_per_patch_step": round(cpu, 4)}
            rows.append({"name": f"engine {label}: one 160 px patch, one step (batch {batch})", "seconds": wall,
                         "cpu_s": round(cpu, 4)})
            print(f"  {label} batch {batch}: {wall * 1000:.1f} ms per patch-step ({cpu * 1000:.1f} ms CPU)", flush=True)
        m = downscale_days(model, gm, static, region, land, engine=eng, members=1, steps=C.DEFAULT_STEPS,
                           world=world)[0][0]
        ref = m if ref is None else ref
        out[label] |= {"map_max_abs_diff_vs_torch": float(np.nanmax(np.abs(m - ref))),
                       "map_rmse_vs_torch": round(_rmse(m, ref, land), 5)}
        print(f"  {label}: map vs torch max |d| {out[label]['map_max_abs_diff_vs_torch']:.4f}, "
              f"rmse {out[label]['map_rmse_vs_torch']:.5f}", flush=True)
    extra["engines"] = out
    extra["bf16_units"] = bf16_capable()
    return out


def thread_layouts(model, world, rows: list, extra: dict) -> None:
    """What the CPU engine's thread layout costs (`threads`): ONNX Runtime as one session of
    THREADS threads or as THREADS one-thread sessions side by side, per 160 px patch (batch 2),
    and per patch-step of the cube's sampling loop (16 days of the 6 x 6 km box: four 160 px
    patches a day, DDIM 3) with
    torch's own threads quiet (single-threaded) or not while ONNX Runtime runs."""
    from unique_core.downscale.engine import OnnxRuntimeEngine

    region = small_box()
    gm, _ = gpp_m_series(load_model("modis"), world, _halo(region), dt.date(YEAR, 6, 1), dt.date(YEAR, 6, 16))
    static, land = D.static_channels(world, region), world.static(region).land
    patches = len(_starts(region.fine.shape[0], PATCH, OVERLAP)) * len(_starts(region.fine.shape[1], PATCH, OVERLAP))
    layouts = {"one session of 2 threads": dict(sessions=1, threads_per_session=THREADS),
               "2 one-thread sessions (shipped)": dict(sessions=THREADS)}
    x = torch.randn(2, model.config.in_channels, PATCH, PATCH)
    out: dict = {}
    maps = {}
    for label, kw in layouts.items():
        eng = OnnxRuntimeEngine(model, batch=2, **kw)
        eng(x, 500)
        reps = 20
        _, wall, cpu = _timed(lambda: [eng(x, 500) for _ in range(reps)])
        out[label] = {"network_s_per_patch": round(wall / reps / 2, 4), "cpu_s_per_patch": round(cpu / reps / 2, 4)}
        rows.append({"name": f"onnxruntime {label}: one 160 px patch (batch 2)", "seconds": wall / reps / 2,
                     "cpu_s": round(cpu / reps / 2, 4)})
        for quiet in (False, True):
            eng.quiet_host = quiet
            n = len(gm) * patches * C.DEFAULT_STEPS  # patch-steps
            (m, _), wall, cpu = _timed(lambda: downscale_days(model, gm, static, region, land, engine=eng, members=1,
                                                              steps=C.DEFAULT_STEPS, world=world))
            key = f"{label}, torch {'single-threaded' if quiet else f'{torch.get_num_threads()} threads'}"
            out[key] = {"loop_s_per_patch_step": round(wall / n, 4), "cpu_s_per_patch_step": round(cpu / n, 4)}
            rows.append({"name": f"cube loop, {key}: one patch-step", "seconds": wall / n, "cpu_s": round(cpu / n, 4)})
            maps[key] = m
    ref = next(iter(maps.values()))
    extra["thread_layouts"] = out
    extra["thread_layouts_max_map_difference"] = max(float(np.nanmax(np.abs(m - ref))) for m in maps.values())
    for k, v in out.items():
        print(f"  {k}: {v}")
    print(f"  maps of every layout agree within {extra['thread_layouts_max_map_difference']:.2e} gC m-2 d-1")


def _timed(fn):
    """(result, wall seconds, CPU seconds of this process and its threads)."""
    w0, c0 = time.time(), time.process_time()
    out = fn()
    return out, time.time() - w0, time.process_time() - c0


def small_box():
    """The 6 x 6 km box of the small-year target: the centre of Gwangneung."""
    return get_region("gwangneung").subregion(4, 4, 4, 4, name="gwangneung-6km")


def small_year(world, model, eng, rows: list, extra: dict, tmp: Path) -> None:
    """The 6 x 6 km target: a region-year of daily S2 with the cube's defaults (1 member)."""
    small = small_box()
    label = f"DDIM {C.DEFAULT_STEPS}, {eng.name} batch {eng.batch}"
    if QUICK:
        (gm, _), t_gm, c_gm = _timed(lambda: gpp_m_series(load_model("modis"), world, _halo(small),
                                                          dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)))
        st, land = D.static_channels(world, small), world.static(small).land
        _, wall, cpu = _timed(lambda: downscale_days(model, gm[:32], st, small, land, engine=eng, members=1,
                                                     steps=C.DEFAULT_STEPS, world=world))
        rows.append({"name": f"S2 6 x 6 km region-year, 1 member, {label} (extrapolated from 32 days)",
                     "seconds": t_gm + wall * 365 / 32, "cpu_s": round(c_gm + cpu * 365 / 32, 1), "target_s": 60.0})
    else:
        info, wall, cpu = _timed(lambda: C.make_cube("s2", YEAR, small, members=1, out=tmp / "small.zarr",
                                                     device="cpu"))
        rows.append({"name": f"S2 6 x 6 km region-year, 1 member, {label} (measured)", "seconds": info.seconds,
                     "cpu_s": round(cpu, 1), "target_s": 60.0})
        extra["small_cube"] = info.to_dict()
        _, wall, cpu = _timed(lambda: (C.cube_maps(info.path, out_dir=tmp / "maps"), C.cube_totals(info.path)))
        rows.append({"name": "annual + seasonal COGs and PFT totals from the 6 km cube", "seconds": wall,
                     "cpu_s": round(cpu, 1)})


def speed(world, model, rows: list, extra: dict, tmp: Path) -> None:
    """The two CPU targets with the cube's defaults (engine auto, DDIM C.DEFAULT_STEPS, 1 member)."""
    g = get_region("gwangneung")
    print("CPU engines:")
    engines(model, world, small_box(), rows, extra)
    report("cube", rows, extra)
    eng = make_engine(model, device="cpu")
    extra["cube_engine"] = eng.describe()
    label = f"DDIM {C.DEFAULT_STEPS}, {eng.name} batch {eng.batch}"
    small_year(world, model, eng, rows, extra, tmp)  # whole (or 32 days when QUICK)
    report("cube", rows, extra)

    # --- 30 x 30 km region-year: GPP_M year whole; sampling timed on a block of days
    (gm, _), t_gm, c_gm = _timed(lambda: gpp_m_series(load_model("modis"), world, _halo(g), dt.date(YEAR, 1, 1),
                                                      dt.date(YEAR, 12, 31)))
    (st, land), t_static, c_static = _timed(lambda: (D.static_channels(world, g), world.static(g).land))
    n = 2 if QUICK else 8
    _, wall, cpu = _timed(lambda: downscale_days(model, gm[180:180 + n], st, g, land, engine=eng, members=1,
                                                 steps=C.DEFAULT_STEPS, world=world))
    per_day, cpu_day = wall / n, cpu / n
    rows.append({"name": "30 x 30 km: GPP_M for the year (one vectorised pass)", "seconds": t_gm,
                 "cpu_s": round(c_gm, 1)})
    rows.append({"name": f"30 x 30 km: one day of S2 sampling ({label}, mean of {n})", "seconds": per_day,
                 "cpu_s": round(cpu_day, 2)})
    rows.append({"name": f"S2 30 x 30 km region-year, 1 member, {label} (extrapolated from {n} days)",
                 "seconds": t_gm + t_static + per_day * 365, "cpu_s": round(c_gm + c_static + cpu_day * 365, 1),
                 "target_s": 900.0})
    extra["load_average_after_speed"] = os.getloadavg()
    report("cube", rows, extra)

    # --- Dask: a small measured run, extrapolated to the country-year
    from unique_core.downscale.distributed import cube_area, tiles_of
    from unique_core.landmask import coarse_land_mask

    area = Region("dask-bench", g.brow0, g.bcol0, 8, 8)  # 12 x 12 km: 4 tiles of 6 km
    nd = 2 if QUICK else 4
    info = cube_area(area, YEAR, tmp / "area.zarr", product="s2", tile_blocks=4, days_per_task=nd,
                     start=dt.date(YEAR, 7, 1), end=dt.date(YEAR, 7, nd), n_workers=2)
    rows.append({"name": f"Dask LocalCluster (2 workers): 12 x 12 km, {nd} days (measured)", "seconds": info["seconds"]})
    land_mask, _ = coarse_land_mask()
    tiles = [t for t in tiles_of(FRAME, 20) if land_mask[t.coarse.window_in(FRAME.coarse)].any()]
    # one tile-day of 30 km with its halo ~ (22/20)^2 of the 30 km region-day measured above
    tile_day = per_day * (22 / 20) ** 2 + (t_gm + t_static) / 365
    cpu_seconds = len(tiles) * 365 * tile_day
    extra["country_year"] = {
        "land_tiles_30km": len(tiles), "tile_day_seconds_2_threads": round(tile_day, 2),
        "cpu_core_hours_2_threads": round(cpu_seconds / 3600, 1),
        **{f"hours_on_{w}_workers_of_2_threads": round(cpu_seconds / w / 3600, 1) for w in (8, 32, 128)},
        "gpu": "not measured: no GPU was lent to this task; run bench/gpu_check.sh where one is, and divide "
               "the country-year's tile-days by its measured tile-days per second per GPU",
    }
    print(f"  country-year: {len(tiles)} land tiles x 365 days x {tile_day:.1f} s = "
          f"{cpu_seconds / 3600:.0f} h on one 2-thread worker")


def main() -> None:
    torch.set_num_threads(THREADS)
    world = World()
    model = registry.load("s2")
    extra: dict = {"load_average_start": os.getloadavg(), "threads": THREADS, "year": YEAR, "quick": QUICK,
                   "steps": C.DEFAULT_STEPS}
    if sys.argv[1:] == ["curve"]:  # the steps and layouts on the validation tiles (bench/reports/cube_steps.json)
        print("DDIM steps and patch layouts on the validation tiles (3 days each):")
        validation_curve(model, world, make_engine(model, device="cpu"), extra)
        extra["load_average_end"] = os.getloadavg()
        report("cube_steps", [], extra)
        return
    rows: list[dict] = []
    if sys.argv[1:] == ["threads"]:  # the engine's thread layout (bench/reports/cube_threads.json, about 2 min)
        thread_layouts(model, world, rows, extra)
        extra["load_average_end"] = os.getloadavg()
        report("cube_threads", rows, extra)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if sys.argv[1:] == ["small"]:  # only the 6 x 6 km region-year (a few minutes; bench/reports/cube_small.json)
            eng = make_engine(model, device="cpu")
            extra["cube_engine"] = eng.describe()
            small_year(world, model, eng, rows, extra, Path(tmp))
            extra["load_average_end"] = os.getloadavg()
            report("cube_small", rows, extra)
            return
        speed(world, model, rows, extra, Path(tmp))
    extra["load_average_end"] = os.getloadavg()
    report("cube", rows, extra)


if __name__ == "__main__":
    main()
