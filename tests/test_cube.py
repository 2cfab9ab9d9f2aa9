"""The region-year cube: equal to the daily product, resumable, CF metadata, annual maps and PFT totals.

A seeded tiny S2 network (the shipped one's shape is tested by bench/bench_cube.py) keeps a
whole year of sampling to seconds; everything else (GPP_M model, world, patches, noise) is
the real path.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest
import rasterio
import torch
import xarray as xr

from unique_core import cube as C
from unique_core.analysis import pft_areas_km2, pft_means, pft_weights, totals
from unique_core.config import models_dir
from unique_core.downscale import data as D
from unique_core.downscale.engine import make_engine, select_device
from unique_core.downscale.infer import downscale_region, sample_residual, sample_residual_days
from unique_core.downscale.model import DownscaleConfig, Downscaler
from unique_core.errors import DateError, ModelError, ProductError
from unique_core.grid import Region
from unique_core.products import ProductService

REGION = Region("cube-test", 66, 160, 1, 1)  # 1.5 x 1.5 km near Gwangneung: 50 x 50 px
YEAR = 2023


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # a year of tiny-network calls: on a shared 2-core machine one thread is several times faster
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny(scheme: str = "s2", seed: int = 0, mults: tuple[int, ...] = (1,)) -> Downscaler:
    torch.manual_seed(seed)
    # base 4 without downsampling (the year-long tests); base 8 with one (GroupNorm needs it)
    m = Downscaler(DownscaleConfig(scheme=scheme, base=4 if len(mults) == 1 else 8, mults=mults))
    torch.nn.init.normal_(m.net.out.weight, std=0.05)  # the shipped init is zero: give it an output
    return m


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    for step1 in ("gpp_modis", "gpp_landsat"):  # GPP_M is the input; both carry Step 1's errors into the band
        shutil.copytree(models_dir() / step1, folder / step1)
    tiny = _tiny()
    tiny.config.spread_scale = 1.5
    # a neutral fitted spread model (k = 1, no GPP_M term: downscale/uncertainty.py) so a 2-member
    # cube may have a band; the daily product it is compared with uses the same
    tiny.config.spread_calibration = {"model": "finite_ensemble", "steps": [1, 10], "k": [1.0, 1.0], "a": [0.0, 0.0]}
    tiny.save(folder / "downscale_s2")
    return folder


@pytest.fixture(scope="module")
def env(models, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("UNIQUE_MODELS_DIR", str(models))
    svc = ProductService(root=tmp_path_factory.mktemp("products"))
    yield svc
    mp.undo()


@pytest.fixture(scope="module")
def cube(env):
    return C.make_cube("s2", YEAR, REGION, members=2, steps=3, days_per_chunk=64, device="cpu", service=env)


def test_make_cube__cf_layout_and_every_day(cube):
    assert cube.days == 365 and cube.chunks_total == 6 and cube.chunks_computed == 6
    ds = C.open_cube(cube.path)
    assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["product"] == "s2"
    assert ds["gpp"].shape == (365, 50, 50) and ds["gpp_std"].shape == (365, 50, 50)
    assert ds["gpp_m"].shape == (365, 3, 3)
    assert ds["gpp"].attrs["units"] == "g m-2 d-1" and ds["gpp"].attrs["grid_mapping"] == "spatial_ref"
    assert "EPSG" in ds["spatial_ref"].attrs["crs_wkt"] or "Korea" in ds["spatial_ref"].attrs["crs_wkt"]
    t = ds["time"].values
    assert str(t[0])[:10] == "2023-01-01" and str(t[-1])[:10] == "2023-12-31"
    assert np.all(np.diff(t).astype("timedelta64[D]").astype(int) == 1)
    g = ds["gpp"].values
    land = np.isfinite(g[0])
    assert land.mean() > 0.5 and np.isfinite(g[:, land]).all() and np.nanmin(g) >= 0
    assert (ds["gpp"].x.values[1] - ds["gpp"].x.values[0]) == 30.0
    # summer above winter, as the input says
    assert np.nanmean(g[180:220]) > np.nanmean(g[0:40])


def test_make_cube__days_equal_the_daily_product(env, cube, world):
    from unique_core.downscale import registry
    from unique_core.gpp.registry import load_model

    ds = C.open_cube(cube.path)
    model = registry.load("s2")
    for day in (dt.date(YEAR, 1, 1), dt.date(YEAR, 7, 20), dt.date(YEAR, 12, 31)):
        k = (day - dt.date(YEAR, 1, 1)).days
        ref = downscale_region(model, world, REGION, day, load_model("modis"), members=2, steps=3, seed=0)
        np.testing.assert_allclose(ds["gpp"].values[k], ref.mean, atol=1e-4, equal_nan=True)
        np.testing.assert_allclose(ds["gpp_std"].values[k], ref.std, atol=1e-4, equal_nan=True)
        np.testing.assert_allclose(ds["gpp_m"].values[k], ref.gpp_m[3:-3, 3:-3], atol=1e-5, equal_nan=True)


def test_make_cube__resumes_after_a_kill(env, cube, tmp_path):
    out = tmp_path / "resume.zarr"

    class Killed(Exception):
        pass

    def die_after_two_chunks(stage, done, total):
        if stage == "days" and done >= 128:
            raise Killed()

    with pytest.raises(Killed):
        C.make_cube("s2", YEAR, REGION, members=2, steps=3, days_per_chunk=64, out=out, service=env,
                    progress=die_after_two_chunks)
    assert sorted(p.name for p in (out / "_progress").glob("*.done")) == ["chunk_0000.done", "chunk_0001.done"]
    assert not C.is_complete(out)
    with pytest.raises(ProductError, match="not complete.*again"):
        C.open_cube(out)
    again = C.make_cube("s2", YEAR, REGION, members=2, steps=3, days_per_chunk=64, out=out, service=env)
    assert again.chunks_computed == 4 and C.is_complete(out)
    np.testing.assert_allclose(C.open_cube(out)["gpp"].values, C.open_cube(cube.path)["gpp"].values,
                               atol=1e-6, equal_nan=True)
    assert C.make_cube("s2", YEAR, REGION, members=2, steps=3, days_per_chunk=64, out=out,
                       service=env).chunks_computed == 0


def test_make_cube__netcdf_out(env, cube, tmp_path):
    out = tmp_path / "cube.nc"
    info = C.make_cube("s2", YEAR, REGION, members=2, steps=3, days_per_chunk=64, out=out, service=env)
    assert info.chunks_computed == 0 and info.netcdf == out  # made from the cached store
    with xr.open_dataset(out, engine="netcdf4") as nc:
        assert nc.attrs["Conventions"] == "CF-1.8" and nc["gpp"].attrs["units"] == "g m-2 d-1"
        np.testing.assert_allclose(nc["gpp"].values, C.open_cube(cube.path)["gpp"].values, equal_nan=True)
        assert str(nc["time"].values[0])[:10] == "2023-01-01"


def test_cube_maps__annual_and_seasons_are_sums_of_days(cube, tmp_path):
    maps = C.cube_maps(cube.path, out_dir=tmp_path / "maps")
    assert set(maps) == {f"{v}_{p}" for v in ("gpp", "gpp_m") for p in C.PERIODS}
    g = C.open_cube(cube.path)["gpp"].values.astype(np.float64)
    with rasterio.open(maps["gpp_year"]) as src:
        annual = src.read(1)
        assert src.crs.to_epsg() == 5179 and src.units[0] == "gC m-2"
        assert tuple(src.transform)[:6] == tuple(REGION.fine.transform)[:6]
    np.testing.assert_allclose(annual, np.sum(g, axis=0), rtol=1e-5, equal_nan=True)
    parts = [rasterio.open(maps[f"gpp_{s}"]).read(1) for s in ("JF", "MAM", "JJA", "SON", "D")]
    np.testing.assert_allclose(np.sum(parts, axis=0), annual, rtol=1e-4, equal_nan=True)
    jja = np.sum(g[151:243], axis=0)  # 1 June - 31 August 2023
    np.testing.assert_allclose(parts[2], jja, rtol=1e-5, equal_nan=True)
    with rasterio.open(maps["gpp_m_year"]) as src:
        assert src.res == (500.0, 500.0) and src.shape == (3, 3)


def _ramp_cube(path, year: int, region: Region = REGION):
    """A complete cube whose every pixel holds the day of the year (1, 2, ...) as S2 and twice it as GPP_M."""
    import zarr

    days = C.year_days(year)
    C._init_store(path, "s2", year, region, days, 64, 1, {"product": "s2", "year": year, "region": region.key,
                                                           "region_name": region.name, "model_hash": "ramp",
                                                           "unique_key": "ramp"})
    group = zarr.open_group(str(path), mode="r+")
    doy = np.arange(1, len(days) + 1, dtype=np.float32)[:, None, None]
    group["gpp"][:] = np.broadcast_to(doy, group["gpp"].shape)
    group["gpp_m"][:] = np.broadcast_to(2 * doy, group["gpp_m"].shape)
    (path / "_progress" / "complete").write_text("{}")
    return path


@pytest.mark.parametrize("year, known", [
    # sums of day numbers: JF = 1..59, MAM = 60..151, JJA = 152..243, SON = 244..334, D = 335..365 (2023)
    (2023, {"year": 66795, "JF": 1770, "MAM": 9706, "JJA": 18170, "SON": 26299, "D": 10850}),
    (2020, {"year": 67161, "JF": 1830, "MAM": 9798, "JJA": 18262, "SON": 26390, "D": 10881}),  # leap year
])
def test_cube_maps_and_totals__one_winter_convention_with_known_sums(env, tmp_path, year, known):
    path = _ramp_cube(tmp_path / "ramp.zarr", year)
    maps = C.cube_maps(path, out_dir=tmp_path / "maps")
    table = C.cube_totals(path, service=env)
    names = C.period_names(year)
    assert names["JF"].startswith(f"part of DJF {year - 1}-{str(year)[-2:]}: {year}-01-01 to {year}-02-")
    assert names["D"].startswith(f"part of DJF {year}-{str(year + 1)[-2:]}: {year}-12-01 to {year}-12-31")
    for var, factor in (("gpp", 1), ("gpp_m", 2)):
        for code, value in known.items():
            with rasterio.open(maps[f"{var}_{code}"]) as src:
                assert src.tags()["period_name"] == names[code]
                np.testing.assert_allclose(src.read(1), factor * value, rtol=1e-6)
            row = table[(table["variable"] == var) & (table["period"] == names[code]) & (table["pft"] == "all")]
            assert len(row) == 1 and row["gpp_gC_m2"].iloc[0] == pytest.approx(factor * value, abs=0.05)
    assert set(table["period"]) == set(names.values())  # no other period in the totals of a cube


def test_cube_totals__daily_pft_means_and_tonnes(env, cube, world):
    series = C.cube_pft_series(cube.path, service=env)
    assert len(series) == 365 and series["date"].iloc[0] == dt.date(YEAR, 1, 1)
    weights = pft_weights(world.static(REGION).fractions)
    g = C.open_cube(cube.path)["gpp"].values
    for k in (0, 200):
        expected = pft_means(g[k], weights)
        for p, v in expected.items():
            assert series[p].iloc[k] == pytest.approx(v, rel=1e-5, nan_ok=True)
    table = C.cube_totals(cube.path, service=env)
    ref = totals(series, pft_areas_km2(weights, 30.0))
    mine = table[table["variable"] == "gpp"].drop(columns="variable").reset_index(drop=True)
    assert mine.equals(ref)
    year = mine[mine["kind"] == "year"]
    assert len(year) and (year["days"] == 365).all() and year["complete"].all()
    present = year[year["sampled_days"] > 0]  # plant types absent from the box have no value at all
    assert len(present) >= 2 and (present["sampled_days"] == 365).all()  # every day measured, none interpolated
    row = present.sort_values("area_km2").iloc[-1]
    # tonnes come from the unrounded area; the table's area is rounded to 0.01 km2
    assert row["carbon_t"] == pytest.approx(row["gpp_gC_m2"] * row["area_km2"], abs=0.0051 * row["gpp_gC_m2"] + 0.1)
    assert set(table["variable"]) == {"gpp", "gpp_m"}


def test_make_cube__gpp_m_product(env, world, tmp_path):
    from unique_core.gpp.maps import gpp_m_map
    from unique_core.gpp.registry import load_model

    info = C.make_cube("gpp_m", YEAR, REGION, out=tmp_path / "m.zarr", days_per_chunk=100, service=env)
    ds = C.open_cube(info.path)
    assert set(ds.data_vars) == {"gpp_m"} and ds["gpp_m"].shape == (365, 3, 3)
    ref = gpp_m_map(load_model("modis"), world, dt.date(YEAR, 5, 5), REGION).values
    np.testing.assert_allclose(ds["gpp_m"].values[124], ref, atol=1e-5, equal_nan=True)


def test_find_cube__only_complete_cached_cubes(env, cube):
    assert C.find_cube("s2", YEAR, REGION, members=2, steps=3, service=env) == cube.path
    assert C.find_cube("s2", YEAR, REGION, members=3, steps=3, service=env) is None


@pytest.mark.parametrize("kwargs, error, match", [
    ({"product": "gpp_l"}, ProductError, "no region-year cube for product 'gpp_l'"),
    ({"year": 1990}, DateError, "1990-01-01 is outside the simulated period"),
    ({"out": "cube.tif"}, ProductError, "ending in .zarr or .nc"),
    ({"members": 0}, ProductError, "members must be 1-64"),
    ({"days_per_chunk": 0}, ProductError, "days per chunk must be 1-366"),
    ({"region": Region("big", 60, 150, 21, 4)}, ProductError, "at most 30 x 30 km.*Dask"),
])
def test_make_cube__user_errors(env, kwargs, error, match):
    args = {"product": "s2", "year": YEAR, "region": REGION, **kwargs}
    with pytest.raises(error, match=match):
        C.make_cube(args.pop("product"), args.pop("year"), args.pop("region"), service=env, **args)


def test_make_cube__refuses_a_store_of_other_settings(env, cube, tmp_path):
    out = tmp_path / "other.zarr"
    shutil.copytree(cube.path, out)
    with pytest.raises(ProductError, match="other settings.*delete it or choose another --out"):
        C.make_cube("s2", YEAR, REGION, members=1, steps=3, out=out, service=env)
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(ProductError, match="not a UNIQUE cube"):
        C.make_cube("s2", YEAR, REGION, out=tmp_path / "junk.zarr", service=env)
    with pytest.raises(ProductError, match="not a UNIQUE cube"):
        C.open_cube(tmp_path / "junk.zarr")


# ------------------------------------------------------------------ engines, devices, batching
def test_select_device__auto_follows_torch():
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert select_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_select_device__cuda_without_gpu():
    with pytest.raises(ModelError, match="no GPU.*--device auto or --device cpu"):
        select_device("cuda")


@pytest.mark.parametrize("kwargs, match", [
    ({"engine": "tensorrt"}, "unknown inference engine 'tensorrt'"),
    ({"precision": "int8"}, "unknown precision 'int8'"),
    ({"engine": "torch", "precision": "fp16", "device": "cpu"}, "fp16 is for CUDA"),
    ({"engine": "onnxruntime", "precision": "bf16"}, "onnxruntime runs in fp32"),
    ({"batch": 0}, "batch must be at least 1"),
])
def test_make_engine__user_errors(kwargs, match):
    with pytest.raises(ModelError, match=match):
        make_engine(_tiny(), **kwargs)


def test_engine_choice__auto_engine_and_batches_per_device():
    from unique_core.downscale.engine import CUDA_BATCH, auto_engine, default_batch, onnx_ready

    model = _tiny()
    # the logic of the GPU path, without a GPU: CUDA takes torch and large batches
    assert auto_engine(torch.device("cuda"), model) == "torch" and default_batch(torch.device("cuda")) == CUDA_BATCH
    cpu = torch.device("cpu")
    assert auto_engine(cpu, model) == ("onnxruntime" if onnx_ready() else "torch")
    eng = make_engine(model, device="cpu")
    described = {k: eng.describe()[k] for k in ("engine", "device", "precision", "batch")}
    assert described == {"engine": auto_engine(cpu, model), "device": "cpu", "precision": "fp32",
                         "batch": default_batch(cpu, auto_engine(cpu, model))}
    assert make_engine(model, device="cpu", precision="bf16").name == "torch"  # half precision: torch autocast
    regression = Downscaler(DownscaleConfig(scheme="s2", kind="regression", base=4, mults=(1,)))
    assert auto_engine(cpu, regression) == "torch"


def test_half_precision__autocast_runs_and_is_accepted_only_when_close(world):
    from unique_core.downscale.engine import HALF_PRECISION_TOLERANCE, half_precision_ok

    model = _tiny(mults=(1, 2))
    region = Region("r", 66, 160, 2, 2)
    up = _cond(world, region, [dt.date(YEAR, 8, 1)])
    static = D.static_channels(world, region)
    ref = sample_residual_days(model, up, static, region.fine, members=1, steps=3)[0, 0]
    half = make_engine(model, device="cpu", engine="torch", precision="bf16", batch=2)  # CUDA's fp16 path, on CPU
    got = sample_residual_days(model, up, static, region.fine, engine=half, members=1, steps=3)[0, 0]
    assert got.dtype == np.float32 and np.isfinite(got).all()
    assert 0 < np.abs(got - ref).max() < 0.1  # bf16 rounds: close to fp32, not equal
    mask = np.ones(ref.shape, bool)
    assert half_precision_ok(ref, ref + 0.5 * HALF_PRECISION_TOLERANCE, mask) == (True, pytest.approx(0.005))
    assert half_precision_ok(ref, ref + 2 * HALF_PRECISION_TOLERANCE, mask)[0] is False
    overflow = ref.copy()
    overflow[0, 0] = np.inf
    assert half_precision_ok(ref, overflow, mask) == (False, float("inf"))


def _cond(world, region, days):
    from unique_core.gpp.maps import gpp_m_series
    from unique_core.gpp.registry import load_model

    halo = Region("h", region.brow0 - 1, region.bcol0 - 1, region.nbrows + 2, region.nbcols + 2)
    gm, _ = gpp_m_series(load_model("modis"), world, halo, days[0], days[-1])
    return np.stack([D.upsample(g, region) for g in gm]) / D.GPP_SCALE


def test_sample_residual_days__batches_equal_one_patch_at_a_time(world):
    region = Region("r", 66, 160, 4, 4)  # 200 px: four 160 px patches with overlaps
    model = _tiny(mults=(1, 2))  # with a downsampling: patches padded to a multiple of 2
    model.config.spread_scale = 1.7
    up = _cond(world, region, [dt.date(YEAR, 6, 1), dt.date(YEAR, 6, 2)])
    static = D.static_channels(world, region)
    ref = np.stack([sample_residual(model, np.concatenate([u[None], static]).astype(np.float32), region.fine,
                                    members=2, steps=3, seed=4) for u in up])
    for batch in (1, 3, 16):
        eng = make_engine(model, device="cpu", engine="torch", batch=batch)
        got = sample_residual_days(model, up, static, region.fine, engine=eng, members=2, steps=3, seed=4)
        assert got.shape == (2, 2, 200, 200)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)  # float rounding of other batch sizes


@pytest.mark.parametrize("name, precision, atol", [("onnxruntime", "fp32", 1e-4), ("openvino", "fp32", 1e-4)])
def test_cpu_engines__same_weights_same_maps(world, tmp_path, monkeypatch, name, precision, atol):
    pytest.importorskip(name)
    pytest.importorskip("onnx")
    model = _tiny(mults=(1, 2))
    region = Region("r", 66, 160, 2, 2)
    up = _cond(world, region, [dt.date(YEAR, 8, 1)])
    static = D.static_channels(world, region)
    ref = sample_residual_days(model, up, static, region.fine, members=1, steps=3)
    eng = make_engine(model, device="cpu", engine=name, precision=precision, batch=2)
    got = sample_residual_days(model, up, static, region.fine, engine=eng, members=1, steps=3)
    np.testing.assert_allclose(got, ref, atol=atol)


def test_onnxruntime_engine__a_batch_split_over_sessions_equals_one_session():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from unique_core.downscale.engine import OnnxRuntimeEngine

    model = _tiny(mults=(1, 2))
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((5, model.config.in_channels, 32, 48))
                         .astype(np.float32))
    one = OnnxRuntimeEngine(model, batch=5, sessions=1)
    three = OnnxRuntimeEngine(model, batch=5, sessions=3)
    assert len(one.sessions) == 1 and len(three.sessions) == 3 and three.describe()["sessions"] == 3
    ref, got = one(x, 700), three(x, 700)
    assert got.shape == (5, 1, 32, 48)
    assert float(ref.abs().max()) > 0  # the network answers, so equality says something
    np.testing.assert_allclose(got.numpy(), ref.numpy(), atol=1e-6)
    np.testing.assert_allclose(three(x[:1], 700).numpy(), ref[:1].numpy(), atol=1e-6)  # fewer patches than sessions
    with torch.inference_mode():
        torch_ref = model.net(x, torch.full((5,), 700, dtype=torch.long))
    np.testing.assert_allclose(got.numpy(), torch_ref.numpy(), atol=1e-4)


def test_quiet_torch_threads__one_torch_thread_beside_other_engines_then_restored():
    from unique_core.downscale.engine import Engine, quiet_torch_threads

    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with quiet_torch_threads(Engine("onnxruntime", torch.device("cpu"), "fp32", 2)):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with quiet_torch_threads(Engine("torch", torch.device("cpu"), "fp32", 8)):  # torch keeps its threads
            assert torch.get_num_threads() == 2
        with quiet_torch_threads(Engine("onnxruntime", torch.device("cpu"), "fp32", 2, quiet_host=False)):
            assert torch.get_num_threads() == 2  # the bench's comparison
        with pytest.raises(RuntimeError), quiet_torch_threads(Engine("openvino", torch.device("cpu"), "fp32", 8)):
            raise RuntimeError("a failed batch")
        assert torch.get_num_threads() == 2  # restored after an error too
    finally:
        torch.set_num_threads(n)


@pytest.mark.parametrize("scheme", ["s1", "s2", "s3"])
def test_sample_day__the_engine_path_equals_sample_residual(world, scheme):
    """The daily products and the evaluation sample DDIM through the engine: same maps."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from unique_core.downscale.engine import OnnxRuntimeEngine, shared_engine
    from unique_core.downscale.infer import sample_day

    region = Region("r", 66, 160, 4, 4)  # 200 px: four overlapping patches
    torch.manual_seed(1)
    model = Downscaler(DownscaleConfig(scheme=scheme, base=8, mults=(1, 2)))
    torch.nn.init.normal_(model.net.out.weight, std=0.05)
    model.config.spread_scale = 1.3
    up = _cond(world, region, [dt.date(YEAR, 7, 1)])
    extra = model.config.in_channels - 2  # the channels beside x_t and GPP_M
    rest = np.random.default_rng(2).standard_normal((extra, 200, 200)).astype(np.float32)
    cond = np.concatenate([up, rest]).astype(np.float32)
    ref = sample_residual(model, cond, region.fine, members=2, steps=3, seed=5)
    for eng in (None, OnnxRuntimeEngine(model, batch=3, sessions=2)):
        got = sample_day(model, cond, region.fine, members=2, steps=3, seed=5, engine=eng)
        assert got.shape == ref.shape == (2, 200, 200)
        np.testing.assert_allclose(got, ref, atol=1e-4)
    assert shared_engine(model) is shared_engine(model)  # one engine per model in a process
    assert shared_engine(model).name == "onnxruntime"


def test_quiet_torch_threads__overlapping_users_restore_once():
    from unique_core.downscale.engine import Engine, quiet_torch_threads

    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ort_engine = Engine("onnxruntime", torch.device("cpu"), "fp32", 2)
        with quiet_torch_threads(ort_engine):
            with quiet_torch_threads(ort_engine):  # a second sampler in another thread of the process
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == 1  # the first is still sampling
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(n)


def _page(**query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=300)
    at.query_params.update({"region": "custom", "bbox": "127.14,37.74,127.17,37.77", "date": "2023-07-20",
                            "ts_products": "s2", **query})
    at.run()
    at.switch_page("pages/timeseries.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_timeseries_page__s2_from_the_cube_or_the_command_that_makes_it():
    from unique_core.grid import region_from_bbox

    at = _page()
    region = at.session_state["selection"].region
    command = C.cube_command("s2", YEAR, region)
    assert command == "unique products cube --product s2 --year 2023 --bbox {:.0f} {:.0f} {:.0f} {:.0f}".format(
        *region.bounds)
    assert region_from_bbox(*region.bounds).key == region.key  # the command makes this very box
    assert any(command in i.value for i in at.info) and not at.get("plotly_chart")
    # a cube of the default settings in the (test session's) product cache: the page reads it
    svc = ProductService()
    path = C.cube_cache_path(svc, "s2", YEAR, region, C._params("s2", 1, C.DEFAULT_STEPS, 0, False))
    path.parent.mkdir(parents=True, exist_ok=True)
    _ramp_cube(path, YEAR, region)
    assert C.find_cube("s2", YEAR, region, service=svc) == path
    at = _page(ts_start="2023-06-01", ts_end="2023-08-31")
    assert not any(command in i.value for i in at.info) and at.get("plotly_chart")
    table = at.dataframe[0].value
    assert {"S2 gC m-2", "GPP_M gC m-2", "S2 t C", "GPP_M t C"} <= set(table.columns)
    jja = table[(table["period"] == "JJA 2023 (92 days)") & (table["pft"] == "all")].iloc[0]
    assert jja["S2 gC m-2"] == pytest.approx(18170, abs=0.05)  # days 152..243 of the ramp, every day
    assert jja["GPP_M gC m-2"] == pytest.approx(2 * 18170, abs=0.1)


def test_year_days__a_real_folder_has_no_simulated_period(real_data_dir):
    # a real-data cube of 2024 is not refused for being outside 2015-2023 (issue 15: real data has its files' dates)
    from unique_core.io.realdata import RealDataSource

    assert len(C.year_days(2024, RealDataSource(real_data_dir))) == 366
    with pytest.raises(DateError, match="outside the simulated period"):
        C.year_days(2024)
    with pytest.raises(DateError, match="outside the simulated period"):
        C.year_days(2024, ProductService().world)
