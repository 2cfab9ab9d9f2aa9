"""Real-format files, from a seeded fixture folder, through the readers, the products and the app."""

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
from real_fixtures import DATE, REGION  # noqa: E402

from unique_core.errors import DataError, ProductError  # noqa: E402
from unique_core.io.realdata import RealDataSource, ingest_check  # noqa: E402
from unique_core.products import ProductService  # noqa: E402


@pytest.fixture(scope="module")
def real_dir(real_data_dir):
    return real_data_dir


@pytest.fixture()
def copy_dir(real_dir, tmp_path):
    """A private copy to break."""
    dst = tmp_path / "data"
    shutil.copytree(real_dir, dst, ignore=shutil.ignore_patterns("flux"))
    return dst


def test_ingest_check__a_complete_folder(real_dir):
    r = ingest_check(real_dir)
    assert r["ok"], r["problems"]
    assert len(r["found"]["landsat_scenes"]) >= 2 and r["found"]["modis_days"] >= 33
    assert DATE.isoformat() in r["usable"]["gpp_m_dates"] and r["usable"]["gpp_l_dates"]
    assert r["usable"]["step1_training"]


def test_ingest_check__cli_json(real_dir):
    from typer.testing import CliRunner

    from unique_core.cli import app

    res = CliRunner().invoke(app, ["ingest", "check", str(real_dir), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["ok"] is True


def test_readers__equal_the_simulated_source(real_dir, world):
    """The fixture is the simulated world written in real formats: reading it back must agree."""
    src = RealDataSource(real_dir)
    sim, real = world.static(REGION), src.static(REGION)
    assert np.abs(real.elevation - sim.elevation).mean() < 2.0  # m, after two reprojections
    assert np.abs(real.fractions - sim.fractions).mean() < 0.02
    d = src.landsat_dates(REGION, 2023)[1][0]
    assert (src.landsat(REGION, d)["QA_PIXEL"] == world.landsat(REGION, d)["QA_PIXEL"]).mean() > 0.99
    era, lat = src.climate.day(DATE), world.climate.day(DATE)
    ok = np.isfinite(era["tmean"])
    np.testing.assert_allclose(era["tmean"][ok], lat["tmean"][ok], atol=0.01)  # degC from K
    np.testing.assert_allclose(era["sw"][ok], lat["sw"][ok], rtol=1e-3)  # W m-2 from J m-2 per day
    np.testing.assert_allclose(era["precip"][ok], lat["precip"][ok], atol=0.01)  # mm from m
    np.testing.assert_allclose(era["vpd"][ok], lat["vpd"][ok], atol=0.05)  # hPa from dewpoint


def test_end_to_end__gpp_m_gpp_l_s2_and_a_time_series(real_dir, tmp_path):
    from unique_core import analysis

    svc = ProductService(tmp_path / "p", world=RealDataSource(real_dir))
    gm = svc.get("gpp_m", DATE, REGION)
    assert gm.rio.crs.to_epsg() == 5179 and np.isfinite(gm.values).mean() > 0.9 and np.nanmean(gm.values) > 1
    landsat_day = RealDataSource(real_dir).landsat_dates(REGION, 2023)[1][0]
    gl = svc.get("gpp_l", landsat_day, REGION)
    assert gl.shape == REGION.fine.shape and np.nanmean(gl.values) > 0.5
    s2 = svc.get("s2", DATE, REGION, {"members": 2, "steps": 5})
    assert s2.sizes["band"] == 2 and np.nanmean(s2.sel(band="mean").values) > 0.5
    ts = analysis.timeseries(svc, "gpp_m", REGION, DATE - dt.timedelta(5), DATE + dt.timedelta(5))
    assert len(ts) == 11 and ts["all"].notna().all()


def _strip_crs(path):
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read()
    profile.pop("crs", None)
    path.unlink()
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def test_bad_input__no_crs(copy_dir):
    scenes = sorted(p for p in (copy_dir / "landsat").iterdir() if p.is_dir())
    band = next(scenes[0].glob("*_SR_B4.TIF"))
    _strip_crs(band)
    qa = next(scenes[1].glob("*_QA_PIXEL.TIF"))
    _strip_crs(qa)
    assert any(qa.name in p and "no CRS" in p for p in ingest_check(copy_dir)["problems"])
    src = RealDataSource(copy_dir)
    scene = next(s for s in src.scenes if s.files["SR_B4"] == band)
    with pytest.raises(DataError, match=r"SR_B4\.TIF: no CRS; Landsat files carry their UTM zone"):
        from unique_core.io.landsat import read_scene

        read_scene(scene, REGION.fine)


def test_bad_input__wrong_crs_means_the_dem_is_elsewhere(copy_dir):
    with rasterio.open(copy_dir / "dem" / "dem.tif", "r+") as ds:
        ds.crs = "EPSG:32633"  # UTM 33N: Central Europe
    with pytest.raises(DataError, match="does not cover this region"):
        RealDataSource(copy_dir).static(REGION)


def test_bad_input__mtl_scale_and_dates(copy_dir):
    mtl = next((copy_dir / "landsat").rglob("*_MTL.txt"))
    text = mtl.read_text().replace("REFLECTANCE_MULT_BAND_4 = 2.75E-05", "REFLECTANCE_MULT_BAND_4 = 2.0E-05")
    mtl.write_text(text)
    mtl2 = sorted((copy_dir / "landsat").rglob("*_MTL.txt"))[1]
    t2 = mtl2.read_text()
    mtl2.write_text(t2.replace("DATE_ACQUIRED = 2023", "DATE_ACQUIRED = 2021"))
    problems = " ".join(ingest_check(copy_dir)["problems"])
    assert "are not Collection 2 Level-2's" in problems and mtl.name in problems
    assert "does not match the product ID's date" in problems


def test_bad_input__missing_modis_scale_factor_is_a_warning(copy_dir):
    f = next((copy_dir / "modis").rglob("*sur_refl_b01.tif"))
    with rasterio.open(f) as src:
        profile, data = src.profile, src.read(1)
    f.unlink()
    with rasterio.open(f, "w", **profile) as dst:
        dst.write(data, 1)  # no scales, no scale_factor tag
    r = ingest_check(copy_dir)
    assert any(f.name in w and "no scale factor" in w for w in r["warnings"])


def test_bad_input__truncated_and_corrupt_files(copy_dir):
    qa = next((copy_dir / "landsat").rglob("*_QA_PIXEL.TIF"))
    qa.write_bytes(qa.read_bytes()[:500])
    (copy_dir / "era5land" / "broken.nc").write_bytes(b"not netcdf")
    problems = " ".join(ingest_check(copy_dir)["problems"])
    assert f"{qa.name}: unreadable" in problems and "download it again" in problems
    assert "broken.nc: not a readable NetCDF file" in problems


def test_bad_input__all_cloud_scene_is_reported(copy_dir):
    qa = sorted((copy_dir / "landsat").rglob("*_QA_PIXEL.TIF"))[1]
    with rasterio.open(qa, "r+") as ds:
        data = ds.read(1)
        ds.write(np.where(data != 1, 22280, 1).astype("uint16"), 1)  # cloud, high confidence
    assert any(qa.name in w and "every pixel is cloud" in w for w in ingest_check(copy_dir)["warnings"])


def test_bad_input__unknown_landcover_classes(copy_dir):
    table = copy_dir / "landcover" / "classes.csv"
    table.write_text("\n".join(l for l in table.read_text().splitlines() if not l.startswith("310")) + "\n")
    with pytest.raises(DataError, match=r"values \[310\] are not in classes.csv; add a row value,class"):
        RealDataSource(copy_dir).static(REGION)


def test_bad_input__nothing_half_written(copy_dir, tmp_path):
    shutil.rmtree(copy_dir / "modis")
    svc = ProductService(tmp_path / "p", world=RealDataSource(copy_dir))
    with pytest.raises(ProductError, match="no usable MODIS day within 16 days"):
        svc.get("gpp_m", DATE, REGION)
    assert svc.catalog.all() == []
    assert not list((tmp_path / "p").rglob("*.tif"))


def test_app__the_data_source_switch_runs_pages_on_the_folder(real_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("UNIQUE_DATA_DIR", str(real_dir))
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.query_params.update({"source": "real", "region": "custom", "date": DATE.isoformat(),
                            "bbox": "127.14,37.74,127.17,37.77"})
    at.run()
    assert not at.exception
    assert any("Real data" in s.value for s in at.success)


def test_ingest_check__missing_folder_is_one_line(tmp_path):
    with pytest.raises(DataError, match=r"nonexistent: no such folder; give a real-data folder laid out as "
                                        r"docs/real-data.md describes"):
        ingest_check(tmp_path / "nonexistent")


def test_ingest_check__one_bad_file_never_stops_the_others(copy_dir):
    """Issue 15: a product id dated 20230230, a broken MTL JSON and an empty classes.csv crashed the check."""
    scene = sorted(p for p in (copy_dir / "landsat").iterdir() if p.is_dir())[0]
    bad = copy_dir / "landsat" / scene.name.replace(scene.name[17:25], "20230230")
    shutil.copytree(scene, bad)
    for f in bad.iterdir():
        f.rename(bad / f.name.replace(scene.name, bad.name))
    other = sorted(p for p in (copy_dir / "landsat").iterdir() if p.is_dir())[-1]
    mtl = next(other.glob("*_MTL.txt"))
    mtl.unlink()
    (other / mtl.name.replace(".txt", ".json")).write_text('{"LANDSAT_METADATA_FILE": {"PRODUCT_CONT')
    (copy_dir / "landcover" / "classes.csv").write_text("")
    r = ingest_check(copy_dir)
    text = " ".join(r["problems"])
    assert "acquisition date 20230230 is not a calendar date" in text
    assert "_MTL.json: the JSON metadata is broken" in text
    assert "classes.csv: empty: write a header value,class" in text
    assert r["usable"]["gpp_m_dates"] and r["usable"]["gpp_l_dates"]  # the other files still count
    assert r["claims"]["gpp_m"] == {"claimed": True, "can_make": True, "why": None}
    assert r["claims"]["s2"]["can_make"] is False and "classes.csv" in r["claims"]["s2"]["why"]
    assert r["cannot_make"] == ["s1", "s2", "static_layers"] and r["ok"] is False


def test_ingest_check__era5_in_celsius_without_units_is_refused(copy_dir):
    """Issue 15: read as kelvin, this gave GPP_M 5.8 instead of 8.2 and passed the check."""
    import xarray as xr

    f = next((copy_dir / "era5land").glob("*.nc"))
    ds = xr.load_dataset(f)
    for v in ("t2m", "t2m_min", "t2m_max", "d2m"):
        ds[v] = ds[v] - 273.15
        ds[v].attrs.pop("units", None)
        ds[v].encoding.pop("units", None)
    f.unlink()
    ds.to_netcdf(f)
    r = ingest_check(copy_dir)
    assert any(f.name in p and "variable t2m has no units attribute" in p for p in r["problems"])
    assert r["claims"]["gpp_m"]["can_make"] is False and "gpp_m" in r["cannot_make"]


def test_ingest_check__truncated_dem_and_1e30_dem(copy_dir):
    dem = copy_dir / "dem" / "dem.tif"
    with rasterio.open(dem, "r+") as ds:
        a = ds.read(1)
        a[:5] = 1e30
        ds.write(a, 1)
    assert any("dem.tif: values such as 1e+30 are not elevations" in p for p in ingest_check(copy_dir)["problems"])
    dem.write_bytes(dem.read_bytes()[: dem.stat().st_size // 2])
    r = ingest_check(copy_dir)
    assert any("dem.tif" in p and ("truncated" in p or "unreadable" in p) for p in r["problems"]), r["problems"]
    assert r["claims"]["static_layers"]["can_make"] is False


def test_real_source__period_is_the_files_and_simulation_only_members_refuse(real_dir, world):
    """RealDataSource as a DataSource: no simulated period; what only the simulation has says so."""
    from unique_core.errors import DateError
    from unique_core.gpp import maps

    src = RealDataSource(real_dir)
    assert src.period is None and src.simulated is False and str(real_dir) in src.name
    assert src.check_date(dt.date(2031, 5, 1)) == dt.date(2031, 5, 1)  # whether files hold it is check()'s job
    with pytest.raises(DateError, match="not a date"):
        src.check_date("2023-07-15")
    for call in (lambda: src.static_coarse_country(), lambda: src.day_country(DATE),
                 lambda: src.modis_country(DATE)):
        with pytest.raises(ProductError, match="made per region"):
            call()
    for call in (lambda: src.day(REGION, DATE), lambda: src.day_coarse(REGION, DATE)):
        with pytest.raises(ProductError, match="only for the simulated world"):
            call()
    # the maps cut days to a source's period: the simulation's, never the real folder's
    start = dt.date(2015, 1, 10)
    assert maps._days(world, start, 29, 0)[0] == dt.date(2015, 1, 1)
    assert len(maps._days(src, start, 29, 0)) == 30 and maps._days(src, start, 29, 0)[0] == dt.date(2014, 12, 12)
    assert list(maps.source_years(src, dt.date(2022, 11, 1), dt.date(2024, 2, 1))) == [2022, 2023, 2024]
    assert list(maps.source_years(world, dt.date(2022, 11, 1), dt.date(2024, 2, 1))) == [2022, 2023]
