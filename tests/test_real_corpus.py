"""Every file of ../shared/data/real (real files written by others, INDEX.md) read correctly or refused
precisely, and the seeded real-shape edge cases (tests/fixtures/make_real_edge_cases.py) beside them.

Attribution: FLUXNET2015 and FluxDataKit data CC-BY-4.0 (sites CN-Cng, DE-Hai, FR-Pue, CH-Lae); ESA
WorldCover CC-BY-4.0 (ESA WorldCover project 2021); Landsat and MODIS public domain (USGS, NASA);
ERA5 under the Copernicus licence. Provenance of each file: ../shared/data/real/INDEX.md.
"""

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import make_real_edge_cases as edge  # noqa: E402

from unique_core.errors import DataError  # noqa: E402
from unique_core.io import era5, extracts, fluxnet, landsat, modis  # noqa: E402
from unique_core.io import surface as S  # noqa: E402
from unique_core.io.inspect import inspect  # noqa: E402

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"the shared corpus of real files ({REAL}) is absent")
SCENE_ID = "LC08_L2SP_008059_20191201_20200825_02_T1"
FLUX = REAL / "fluxnet"


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return edge.make_all(tmp_path_factory.mktemp("edge"))


@pytest.fixture(scope="module")
def corpus():
    return {Path(e["file"]).relative_to(REAL).as_posix(): e for e in inspect(REAL)}


# ------------------------------------------------------------------ the corpus as a whole
def test_inspect__every_real_file_is_reported_and_json_safe(corpus):
    files = {f.relative_to(REAL).as_posix() for f in REAL.rglob("*") if f.is_file()}
    scene_files = {f for f in files if SCENE_ID in f}
    reported = set(corpus)
    assert files - scene_files <= reported  # every file but the scene's (one entry for the scene)
    assert f"landsat/{SCENE_ID}" in reported
    json.dumps(list(corpus.values()), allow_nan=False)
    unknown = {k for k, e in corpus.items() if e["kind"] == "unknown"}
    assert unknown == {"INDEX.md", "appeears/bluegreen_time_series/time-series-MCD43A4-061-metadata.xml"}
    for k in unknown:
        assert "not a format UNIQUE reads" in corpus[k]["problems"][0]


# ------------------------------------------------------------------ Landsat
def test_landsat__real_mtl_is_read_by_group_not_last_key():
    for form in ("txt", "json", "xml"):
        meta = landsat.parse_mtl(REAL / "landsat" / SCENE_ID / f"{SCENE_ID}_MTL.{form}")
        assert float(meta[landsat.L2_GROUP]["REFLECTANCE_MULT_BAND_4"]) == pytest.approx(2.75e-5)
        assert float(meta[landsat.L2_GROUP]["REFLECTANCE_ADD_BAND_4"]) == pytest.approx(-0.2)
        assert float(meta["LEVEL1_RADIOMETRIC_RESCALING"]["REFLECTANCE_ADD_BAND_4"]) == pytest.approx(-0.1)
        assert meta["PRODUCT_CONTENTS"]["LANDSAT_PRODUCT_ID"] == SCENE_ID
        assert meta["LEVEL1_PROCESSING_RECORD"]["LANDSAT_PRODUCT_ID"].startswith("LC08_L1TP")


def test_landsat__real_scene_is_usable_with_each_mtl_form(tmp_path):
    (scene,) = landsat.discover(REAL / "landsat")
    assert scene.usable, scene.problems
    assert scene.mtl.name.endswith("_MTL.txt") and scene.date == dt.date(2019, 12, 1) and scene.tier == "T1"
    west, south, east, north = scene.bounds_lonlat
    assert -77 < west < east < -73 and 0 < south < north < 3  # Colombia, EPSG:32618
    for drop, used in (("txt", "json"), ("json", "xml")):
        shutil.copytree(REAL / "landsat" / SCENE_ID, tmp_path / SCENE_ID, dirs_exist_ok=True)
        for form in ("txt", "json")[:("txt", "json").index(drop) + 1]:
            (tmp_path / SCENE_ID / f"{SCENE_ID}_MTL.{form}").unlink(missing_ok=True)
        (s,) = landsat.discover(tmp_path)
        assert s.usable and s.mtl.suffix == f".{used}", s.problems


def test_landsat__real_scene_values_clear_fraction_and_ndvi():
    (scene,) = landsat.discover(REAL / "landsat")
    fig = landsat.check_values(scene)
    assert scene.usable, scene.problems
    # INDEX.md: 81 % cloud. Clear = QA bits 0-4 zero, counted over non-fill pixels.
    with rasterio.open(scene.files["QA_PIXEL"]) as q:
        qa = q.read(1)
    valid = (qa & 1) == 0
    assert fig["clear_fraction"] == pytest.approx(((qa & 0b11111) == 0).sum() / valid.sum(), rel=1e-6)
    assert 0.05 < fig["clear_fraction"] < 0.25
    assert 0.5 < fig["mean_clear_ndvi"] < 0.95  # clear tropical land in December


def test_landsat__real_445m_scene_resampled_onto_a_30m_grid():
    (scene,) = landsat.discover(REAL / "landsat")
    with rasterio.open(scene.files["SR_B4"]) as src:
        cx, cy = (src.bounds.left + src.bounds.right) / 2, (src.bounds.bottom + src.bounds.top) / 2
        full = src.read(1)
        row, col = src.index(cx + 15, cy - 15)
    target = S.Target(Affine(30, 0, cx - 1500, 0, -30, cy + 1500), (100, 100), "EPSG:32618")
    out = landsat.read_scene(scene, target)
    assert out["SR_B4"].dtype == np.uint16 and out["SR_B4"].shape == (100, 100)
    # nearest neighbour: the 30 m pixel at the centre carries the 445 m source pixel under it
    assert out["SR_B4"][50, 50] == full[row, col] or out["QA_PIXEL"][50, 50] & 1
    assert len(np.unique(out["SR_B4"])) < 100  # 30 m pixels repeat the coarse source pixels


# ------------------------------------------------------------------ MODIS
def test_modis__real_mcd43a4_aws_layout_day():
    days = modis.discover(REAL / "modis" / "MCD43A4")
    assert list(days) == [dt.date(2017, 1, 6)]
    day = days[dt.date(2017, 1, 6)]
    assert day.usable and day.product == "MCD43A4", day.problems
    assert {f"sur_refl_b0{b}" for b in (1, 2, 3, 4, 6, 7)} <= set(day.layers)
    with rasterio.open(day.files["sur_refl_b01"]) as src:
        a = src.read(1)
        ok = np.nonzero(a != 32767)
        r, c = ok[0][len(ok[0]) // 2], ok[1][len(ok[1]) // 2]
        x, y = src.xy(r, c)
        res = src.res[0]
    # a 4 x 4 target on the file's own sinusoidal cells around a valid pixel
    target = S.Target(Affine(res, 0, x - 2 * res + res / 2 - res, 0, -res, y + 2 * res - res / 2 + res), (4, 4),
                      modis.SINUSOIDAL)
    out = modis.read_day(day, target)
    assert out["sur_refl_b01"].dtype == np.int16 and set(out) >= {*modis.BANDS, modis.STATE}
    src_vals = a[r - 2:r + 2, c - 2:c + 2]
    good = (out["sur_refl_b01"] != modis.FILL)
    assert good.any()
    # scale 0.0001 in, x 10000 integers out: the values are those of the file where not fill
    np.testing.assert_array_equal(out["sur_refl_b01"][good], src_vals[good])
    assert ((out[modis.STATE] == 1) | (out[modis.STATE] == 8)).all()


def test_modis__real_cropped_all_fill_and_mod13_divisor(corpus):
    e = corpus["modis/stactools_modis/MCD43A4.A2022073.h28v08.006.2022082044758_B01_cropped.TIF"]
    assert e["product"] == "MCD43A4" and e["dates"] == ["2022-03-14"]
    assert any("every pixel is fill (32767)" in w for w in e["warnings"])
    day = modis.discover(REAL / "modis" / "stactools_modis")[dt.date(2022, 3, 14)]
    assert not day.usable and "no file for sur_refl_b02" in day.problems[0]
    m13 = corpus["modis/stactools_modis/MOD13A1.A2022081.h09v05.006.2022101145817_BR_B06_cropped.TIF"]
    band = m13["bands"][0]
    assert band["scale"] == pytest.approx(1e-4)  # scale_factor 10000 is a divisor
    with rasterio.open(REAL / "modis/stactools_modis/MOD13A1.A2022081.h09v05.006.2022101145817_BR_B06_cropped.TIF") as s:
        assert band["mean"] == pytest.approx(s.read(1).mean() / 10000.0, abs=2e-6)  # JSON keeps 6 decimals
    assert "is a divisor" in m13["figures"]["scale_convention"]
    assert modis.physical_scale(10000.0, "MOD13A1") == pytest.approx(1e-4)
    assert modis.physical_scale(0.0001, "MOD09GA") == pytest.approx(1e-4)


def test_modis__real_hdf4_granule(corpus):
    e = corpus["modis/stactools_modis/MOD10A2.A2022033.h09v05.061.2022042050729.hdf"]
    try:
        import pyhdf  # noqa: F401
    except ImportError:
        assert "needs the pyhdf package" in e["problems"][0]
        return
    assert e["product"] == "MOD10A2" and e["dates"] == ["2022-02-02"] and not e["problems"]
    assert {b["name"] for b in e["bands"]} == {"Maximum_Snow_Extent", "Eight_Day_Snow_Cover"}
    west, south, east, north = e["bounds_lonlat"]
    assert 29.9 < south < 30.1 and 39.9 < north < 40.1 and -140 < west < east < -90  # tile h09v05
    assert any("GPP_M is made from" in w for w in e["warnings"])


def test_modis__real_ecs_metadata_and_appeears_area_rasters(corpus):
    m = corpus["modis/stactools_modis/MOD13Q1.A2022017.h12v11.061.2022034232400.hdf.xml"]
    assert m["kind"] == "modis-metadata" and m["product"] == "MOD13Q1" and m["dates"] == ["2022-01-17", "2022-02-01"]
    g = corpus["appeears/bluegreen_raster/MCD12Q2.006_Greenup_0_doy2010001_aid0001.tif"]
    assert g["product"] == "MCD12Q2" and g["dates"] == ["2010-01-01"] and g["crs"] == "EPSG:4326"
    with rasterio.open(REAL / "appeears/bluegreen_raster/MCD12Q2.006_Greenup_0_doy2010001_aid0001.tif") as s:
        a = s.read(1)
    assert g["figures"]["valid_fraction"] == pytest.approx((a != 32767).mean(), abs=2e-6)
    assert g["bands"][0]["scale"] == 1.0 and g["bands"][0]["min"] == a[a != 32767].min()  # scale_factor 1.0: days
    assert modis.parse_name("MOD13Q1.061__250m_16_days_NDVI_doy2023193_aid0001.tif")[:2] == \
        ("MOD13Q1", dt.date(2023, 7, 12))
    with pytest.raises(DataError, match="day of year 400 does not exist in 2023"):
        modis.parse_name("MOD09GA.061_sur_refl_b01_1_doy2023400_aid0001.tif")
    req = corpus["appeears/bluegreen_raster/raster-request.json"]
    assert req["kind"] == "appeears-request" and req["figures"]["layers"] == ["MCD12Q2.006:Greenup"]
    assert corpus["appeears/bluegreen_raster/MCD12Q2-006-QA-Overall-0-lookup.csv"]["figures"]["values"]["0"] == "Best"


def test_appeears__real_point_csv_fill_left_raw_becomes_missing():
    path = REAL / "appeears/bluegreen_time_series/time-series-MCD43A4-061-results.csv"
    t = extracts.read_appeears_points(path)
    raw = pd.read_csv(path)
    b3 = t[t["layer"] == "Nadir_Reflectance_Band3"]
    assert len(b3) == len(raw) == 365 and (b3["site_id"] == "US-Ha1").all()
    assert b3["value"].notna().sum() == (raw["MCD43A4_061_Nadir_Reflectance_Band3"] != 32767).sum()
    assert b3["value"].max() < 1.0  # valid values come scaled; 32767 fill is gone
    with pytest.raises(DataError, match=r"MCD43A4 point sample with Nadir_Reflectance_Band3, Nadir_Reflectance_Band4 "
                                        r"only; UNIQUE needs"):
        extracts.read_modis_extract(path)


# ------------------------------------------------------------------ ERA5
def test_era5__real_xclim_station_file_read_but_refused_for_maps():
    path = REAL / "era5/xclim_ERA5_daily_surface_cancities_1990-1993.nc"
    info = era5.inspect(path)
    assert info["units"]["t2m"] == {"from": "K", "to": "degC"} and info["units"]["tp"]["from"] == "kg m-2 s-1"
    assert info["days"] == 1461 and info["start"] == "1990-01-01" and info["end"] == "1993-12-31"
    import xarray as xr

    ds = xr.open_dataset(path)
    assert info["daily_means"]["tmean"] == pytest.approx(float(ds["tas"].mean()) - 273.15, abs=1e-3)
    assert info["daily_means"]["precip"] == pytest.approx(float(np.clip(ds["pr"], 0, None).mean()) * 86400, rel=1e-3)
    with pytest.raises(DataError, match=r"dimensions \(location, time\): values at points, not on a latitude/longitude"):
        era5.RealClimate([path])


def test_era5__hourly_cds_valid_time_expver_packed(cases):
    path = cases["era5_hourly"]
    import xarray as xr

    raw = xr.open_dataset(path, mask_and_scale=False)
    assert raw["t2m"].dtype == np.int16 and "expver" in raw.coords and "valid_time" in raw.dims
    rc = era5.RealClimate([path])
    assert rc.dates == [dt.date(2024, 7, 1), dt.date(2024, 7, 2), dt.date(2024, 7, 3)]  # days closed at 00 UTC
    day = rc.day(dt.date(2024, 7, 2))
    ok = np.isfinite(day["tmean"])
    hours = np.arange(1, 25)
    flux = np.clip(np.sin((hours % 24 - 6) / 12 * np.pi), 0, None) * 800.0
    np.testing.assert_allclose(day["sw"][ok], flux.mean(), rtol=2e-3)  # accumulated from 00 UTC, read at 00 UTC
    np.testing.assert_allclose(day["precip"][ok], 4.8, rtol=2e-3)  # 0.2 mm an hour, m -> mm
    assert 22 < np.nanmean(day["tmean"]) < 27  # 298 K +- 5 K, in degC
    # the old CDS form: an expver dimension, ERA5T (0005) where the final ERA5 (0001) is missing
    ds = xr.open_dataset(path).drop_vars(["expver", "number"])
    two = xr.concat([ds.where(ds["valid_time"] < ds["valid_time"][-24]), ds], dim="expver").assign_coords(
        expver=["0001", "0005"])
    p2 = path.with_name("era5_expver_dim.nc")
    two.to_netcdf(p2)
    np.testing.assert_allclose(era5.RealClimate([p2]).day(dt.date(2024, 7, 3))["sw"], rc.day(dt.date(2024, 7, 3))["sw"],
                               rtol=1e-5)


def test_era5__hourly_per_hour_amounts_are_summed(cases, tmp_path):
    """ERA5 single levels store each hour's own amount (no running total): the day's sum is the sum."""
    import xarray as xr

    ds = xr.open_dataset(cases["era5_hourly"]).drop_vars(["expver", "number"])
    for v in ("ssrd", "tp"):
        running = ds[v].values
        hour = pd.DatetimeIndex(ds["valid_time"].values).hour.to_numpy()
        per_hour = np.where((hour == 1)[:, None, None], running, running - np.roll(running, 1, axis=0))
        ds[v] = (ds[v].dims, per_hour, ds[v].attrs)
    ds.to_netcdf(tmp_path / "era5_hourly_amounts.nc")
    a = era5.RealClimate([tmp_path / "era5_hourly_amounts.nc"]).day(dt.date(2024, 7, 2))
    b = era5.RealClimate([cases["era5_hourly"]]).day(dt.date(2024, 7, 2))
    np.testing.assert_allclose(a["sw"], b["sw"], rtol=5e-3)
    np.testing.assert_allclose(a["precip"], b["precip"], rtol=5e-3)


def test_era5__celsius_without_units_and_out_of_range(cases, tmp_path):
    with pytest.raises(DataError, match=r"variable t2m has no units attribute: UNIQUE does not guess"):
        era5.RealClimate([cases["era5_celsius"]])
    import xarray as xr

    ds = xr.open_dataset(cases["era5_celsius"])
    ds["t2m"].attrs["units"] = "K"
    ds["d2m"].attrs["units"] = "K"
    ds.to_netcdf(tmp_path / "k.nc")
    with pytest.raises(DataError, match=r"t2m from -2.* degC after conversion from 'K': outside the physical range -90 to "
                                        r"60 degC \(the units say K but the values look like degC"):
        era5.RealClimate([tmp_path / "k.nc"])


# ------------------------------------------------------------------ FLUXNET
@pytest.mark.parametrize("name", ["FLX_CN-Cng_FLUXNET2015_SUBSET_DD_2007-2010_1-4.csv",
                                  "FLX_DE-Hai_FLUXNET2015_SUBSET_DD_2000-2012_1-4.csv"])
def test_fluxnet__real_subset_dd_days_passing_qc(name):
    df = fluxnet.read_fluxnet(FLUX / name)
    raw = pd.read_csv(FLUX / name)
    keep = (raw["NEE_VUT_REF_QC"] >= 0.8) & (raw["GPP_NT_VUT_REF"] != -9999)
    assert df["qc_pass"].sum() == keep.sum() and len(df) == len(raw)
    assert df.loc[df["qc_pass"], "gpp"].mean() == pytest.approx(raw.loc[keep, "GPP_NT_VUT_REF"].mean())
    assert df["site_id"].iloc[0] == name[4:10] and df["vpd"].max() < 40  # hPa
    unc = raw["NEE_VUT_REF_RANDUNC"].where(raw["NEE_VUT_REF_RANDUNC"] != -9999)  # the daily NEE's random error
    np.testing.assert_allclose(df["nee_randunc"], unc)
    assert 0.01 < df["nee_randunc"].mean() < 1.0  # gC m-2 d-1: small beside a day's GPP


def test_fluxnet__real_fluxdatakit_reexport():
    path = FLUX / "FLX_CH-Lae_FLUXDATAKIT_FULLSET_DD_2004_2014_2-3.csv"
    df = fluxnet.read_fluxnet(path)
    raw = pd.read_csv(path)
    assert df["site_id"].iloc[0] == "CH-Lae" and df["date"].iloc[0] == dt.date(2004, 1, 1)
    assert df.attrs["qc_column"] == "GPP_NT_VUT_REF_QC"
    np.testing.assert_allclose(df["ta"], raw["TA_F_MDS"])
    assert df["qc_pass"].sum() == ((raw["GPP_NT_VUT_REF_QC"] >= 0.8) & raw["GPP_NT_VUT_REF"].notna()).sum()
    assert "NEE_VUT_REF_RANDUNC" not in raw and df["nee_randunc"].isna().all()  # optional: missing, not an error


@pytest.mark.parametrize("step, word", [("MM", "a monthly"), ("YY", "a yearly")])
def test_fluxnet__real_mm_yy_refused_with_what_to_download(step, word):
    path = FLUX / f"FLX_FR-Pue_FLUXNET2015_FULLSET_{step}_2007-2014_2-3.csv"
    with pytest.raises(DataError, match=rf"{word} \({step}\) file, not daily: UNIQUE needs the daily file; download the "
                                        r"_DD_ file of the same product \(FLX_FR-Pue_FLUXNET2015_FULLSET_DD_2007-2014"):
        fluxnet.read_fluxnet(path)


def test_fluxnet__absurd_header_refused_early(tmp_path):
    """Issue 13: a 3-million-column header is refused from its first 64 kB, before any parsing."""
    path = tmp_path / "FLX_XX-Big_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    with open(path, "w") as fh:
        fh.write("TIMESTAMP," + ",".join(f"C{k}" for k in range(3_000_000)) + "\n20190101\n")
    assert path.stat().st_size > 20_000_000
    with pytest.raises(DataError, match=r"no line break in the first 64 kB: the header is longer than any FLUXNET header "
                                        r"\(limit 64 kB, 1000 columns\)"):
        fluxnet.read_fluxnet(path)
    wide = tmp_path / "FLX_XX-Wid_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    wide.write_text("TIMESTAMP," + ",".join(f"C{k}" for k in range(5000)) + "\n")
    with pytest.raises(DataError, match="5001 columns, more than the 1000 of any FLUXNET file"):
        fluxnet.read_fluxnet(wide)


def test_fluxnet__ragged_text_inf_and_implausible_named(tmp_path):
    src = FLUX / "FLX_CN-Cng_FLUXNET2015_SUBSET_DD_2007-2010_1-4.csv"
    lines = src.read_text().splitlines()
    header = lines[0].split(",")
    gi, qi, vi = header.index("GPP_NT_VUT_REF"), header.index("NEE_VUT_REF_QC"), header.index("VPD_F")

    def write(edit, name):
        rows = [ln.split(",") for ln in lines[1:40]]
        edit(rows)
        p = tmp_path / name
        p.write_text("\n".join([lines[0]] + [",".join(r) for r in rows]) + "\n")
        return p

    ragged = write(lambda r: r[4].append("1.0"), "FLX_CN-Rg1_FLUXNET2015_SUBSET_DD_2007-2007_1-4.csv")
    with pytest.raises(DataError, match=r"ragged rows: line 6 \(1 in all\) have 74 fields, the header 73"):
        fluxnet.read_fluxnet(ragged)
    text = write(lambda r: r[9].__setitem__(gi, "n/a"), "FLX_CN-Tx1_FLUXNET2015_SUBSET_DD_2007-2007_1-4.csv")
    with pytest.raises(DataError, match=r"column GPP_NT_VUT_REF holds text where numbers belong: line 11 \(1 row\)"):
        fluxnet.read_fluxnet(text)
    inf = write(lambda r: r[2].__setitem__(gi, "inf"), "FLX_CN-Inf_FLUXNET2015_SUBSET_DD_2007-2007_1-4.csv")
    with pytest.raises(DataError, match=r"column GPP_NT_VUT_REF holds infinite values: line 4"):
        fluxnet.read_fluxnet(inf)
    qc = write(lambda r: [r[k].__setitem__(qi, "80") for k in (3, 7)], "FLX_CN-Qc1_FLUXNET2015_SUBSET_DD_2007-2007_1-4.csv")
    with pytest.raises(DataError, match=r"column NEE_VUT_REF_QC outside the plausible 0 to 1 fraction of good "
                                        r"half-hours: lines 5, 9 \(2 rows\)"):
        fluxnet.read_fluxnet(qc)
    vpd = write(lambda r: r[1].__setitem__(vi, "606"), "FLX_CN-Vpd_FLUXNET2015_SUBSET_DD_2007-2007_1-4.csv")
    with pytest.raises(DataError, match=r"column VPD_F outside the plausible 0 to 100 hPa \(FLUXNET stores VPD in hPa: "
                                        r"is it Pa\?\): line 3"):
        fluxnet.read_fluxnet(vpd)
    s = fluxnet.summarize(vpd)
    assert s.problems and "VPD_F" in s.problems[0]  # reported, never a traceback


# ------------------------------------------------------------------ DEM and land cover
def test_dem__real_lonlat_dem_read_by_window(corpus):
    e = corpus["dem/pysheds_dem.tif"]
    assert e["kind"] == "dem" and e["figures"]["elevation_min_m"] == 147 and e["figures"]["elevation_max_m"] == 298
    path = REAL / "dem/pysheds_dem.tif"
    # a 30 m UTM 14N grid over the middle of the DEM (Texas)
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32614", always_xy=True).transform(-97.33, 32.67)
    target = S.Target(Affine(30, 0, x - 3000, 0, -30, y + 3000), (200, 200), "EPSG:32614")
    z = S.read_dem(path, target)
    assert np.isfinite(z).all() and 147 <= z.min() and z.max() <= 298


def test_dem__utm_and_1e30_and_all_nodata(cases, tmp_path):
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True).transform(edge.X0 + 4500,
                                                                                          edge.Y1 - 4500)
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat

    x, y = from_lonlat(lon, lat)
    grid = Grid(30.0, int((FRAME_YMAX - y) // 30) - 50, int((x - FRAME_XMIN) // 30) - 50, 100, 100)
    z = S.read_dem(cases["dem_utm"], grid)
    assert np.isfinite(z).all() and 40 < z.min() and z.max() < 620
    with pytest.raises(DataError, match=r"dem.tif: values such as 1e\+30 are not elevations in metres \(expected -500 "
                                        r"to 9000 m\): if 1e\+30 marks missing data, set it as nodata"):
        S.read_dem(cases["dem_1e30"], S.Target(Affine(30, 0, edge.X0, 0, -30, edge.Y1), (300, 300), "EPSG:32652"))
    empty = edge._tif(tmp_path / "nodata.tif", np.full((50, 50), -9999.0), res=30, dtype="float32", nodata=-9999.0)
    with pytest.raises(DataError, match=r"nodata.tif: every pixel is nodata: the DEM holds no elevation"):
        scan = S.scan_band(empty)
        S.check_dem_values(empty, scan.vmin, scan.vmax)


def test_raster__wrong_crs_for_its_coordinates(tmp_path):
    metres_as_degrees = edge._tif(tmp_path / "m.tif", np.ones((20, 20)), res=30, dtype="float32", crs="EPSG:4326")
    with pytest.raises(DataError, match=r"m.tif: the CRS \(EPSG:4326\) is in degrees but the coordinates reach .*: they "
                                        r"are metres"):
        S.read_dem(metres_as_degrees, S.Target(Affine(30, 0, edge.X0, 0, -30, edge.Y1), (10, 10), "EPSG:32652"))
    degrees_as_metres = edge._tif(tmp_path / "d.tif", np.ones((20, 20)), res=0.001, dtype="float32", crs="EPSG:32652",
                                  x0=127.0, y1=37.8)
    with pytest.raises(DataError, match=r"d.tif: the CRS \(EPSG:32652\) is in metres but .* look like longitudes and "
                                        r"latitudes: set EPSG:4326"):
        S.bounds_lonlat(degrees_as_metres)


def test_raster__declared_size_beyond_the_read_limit(tmp_path):
    big = tmp_path / "big.tif"
    with rasterio.open(big, "w", driver="GTiff", width=60000, height=60000, count=1, dtype="float32", crs="EPSG:32652",
                       transform=Affine(1, 0, edge.X0, 0, -1, edge.Y1), tiled=True, compress="deflate",
                       sparse_ok=True):
        pass  # header only: the declared size is what matters
    assert big.stat().st_size < 5_000_000
    target = S.Target(Affine(30, 0, edge.X0, 0, -30, edge.Y1), (1000, 1000), "EPSG:32652")
    with pytest.raises(DataError, match=r"big.tif: reading this window \(30002 x 30002 px of float32\) would take 3434 MB, "
                                        r"more than the 256 MB limit of one read"):
        S.read_dem(big, target)


_MEMORY_SCRIPT = r"""
import resource, sys, json
from affine import Affine
from unique_core.io import surface as S
path = sys.argv[1]
table = {10: "mixed", 20: "grassland", 30: "grassland", 40: "field", 50: "urban", 60: "barren", 70: "barren",
         80: "water", 90: "wetland", 95: "wetland", 100: "grassland"}
# 30 km x 30 km at 30 m in UTM 32N (about 7.2 E, 0.9-1.2 N), inside tile N00E006 (6-9 E, 0-3 N)
target = S.Target(Affine(30, 0, 300000, 0, -30, 130000), (1000, 1000), "EPSG:32632")
f = S.read_fractions(path, table, target)
# VmHWM: this process's own peak (ru_maxrss keeps the parent's peak across fork and exec on Linux)
try:
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak_mb": peak, "sum": float(f.sum()), "shape": list(f.shape)}))
"""


def test_landcover__real_worldcover_tile_read_by_strips_within_300_mb():
    """The 36000 x 36000 tile (1.3 GB decoded) for a 30 km region: peak memory of a fresh process."""
    tile = REAL / "landcover/ESA_WorldCover_10m_2021_v200_N00E006_Map.tif"
    res = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(tile)], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["shape"] == [10, 1000, 1000] and out["sum"] > 0.5e6  # fractions sum to 1 where mapped
    assert out["peak_mb"] < 300, out


def test_landcover__real_worldcover_class_shares(corpus):
    e = corpus["landcover/ESA_WorldCover_10m_2021_v200_N00E006_Map.tif"]
    shares = e["figures"]["class_shares"]
    assert e["product"] == "ESA WorldCover" and abs(sum(shares.values()) - 1) < 1e-3
    assert max(shares, key=shares.get) == "80 permanent water"  # the tile is mostly Gulf of Guinea
    assert "decimated" in e["figures"]["estimated_from"]


def test_landcover__empty_or_headless_classes_csv(cases, tmp_path):
    with pytest.raises(DataError, match=r"classes.csv: empty: write a header value,class and one row per land-cover "
                                        r"value"):
        S.read_class_table(cases["classes_empty"])
    p = tmp_path / "classes.csv"
    p.write_text("value,class\n")
    with pytest.raises(DataError, match="has a header but no rows"):
        S.read_class_table(p)
    p.write_text("value,class\nten,urban\n")
    with pytest.raises(DataError, match=r"column 'value' must hold integers \(lines \[2\]\)"):
        S.read_class_table(p)


# ------------------------------------------------------------------ Landsat edge cases
def _grid_over_scene(folder: Path, half: int = 50):
    from pyproj import Transformer

    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat

    with rasterio.open(next(folder.glob("*_QA_PIXEL.TIF"))) as q:
        cx, cy = (q.bounds.left + q.bounds.right) / 2, (q.bounds.bottom + q.bounds.top) / 2
    lon, lat = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True).transform(cx, cy)
    x, y = from_lonlat(lon, lat)
    return Grid(30.0, int((FRAME_YMAX - y) // 30) - half, int((x - FRAME_XMIN) // 30) - half, 2 * half, 2 * half)


def test_landsat__60m_scene_resampled_to_the_project_grid(cases):
    (scene,) = landsat.discover(cases["scene_60m"])
    assert scene.usable and scene.satellite == "LC09", scene.problems
    out = landsat.read_scene(scene, _grid_over_scene(cases["scene_60m"]))
    refl = out["SR_B5"].astype(float) * landsat.SCALE + landsat.OFFSET
    ok = out["QA_PIXEL"] != 1
    assert ok.mean() > 0.9 and abs(refl[ok].mean() - 0.35) < 0.01  # NIR as written, through two CRSs


@pytest.mark.parametrize("case, message", [
    ("scene_float", r"_SR_B4.TIF: float32 values, not Collection 2's uint16 digital numbers"),
    ("scene_shifted", r"_SR_B2.TIF: mean value \d+ is reflectance -0.1\d with Collection 2's scale .* the band is shifted "
                      r"or from Collection 1"),
    ("scene_bad_date", r"the product ID's acquisition date 20230230 is not a calendar date"),
    ("scene_broken_json", r"_MTL.json: the JSON metadata is broken .*: download it again"),
    ("scene_truncated", r"_SR_B5.TIF: unreadable or truncated .*download it again"),
])
def test_landsat__bad_scenes_refused_naming_the_file(cases, case, message):
    (scene,) = landsat.discover(cases[case])
    landsat.check_values(scene)
    assert not scene.usable
    assert any(__import__("re").search(message, p) for p in scene.problems), scene.problems
    with pytest.raises(DataError, match=message):
        landsat.read_scene(scene, _grid_over_scene(cases[case]))


def test_landsat__tier2_all_cloud_is_usable_but_empty(cases):
    (scene,) = landsat.discover(cases["scene_t2_cloud"])
    fig = landsat.check_values(scene)
    assert scene.usable and scene.tier == "T2" and fig["clear_fraction"] == 0.0 and np.isnan(fig["mean_clear_ndvi"])
    assert any("Tier 2" in w for w in scene.warnings)


def test_landsat__saturated_pixels_masked(cases, tmp_path):
    folder = tmp_path / cases["scene_60m"].name
    shutil.copytree(cases["scene_60m"], folder)
    rs = next(folder.glob("*_QA_RADSAT.TIF"))
    with rasterio.open(rs, "r+") as ds:
        a = ds.read(1)
        a[:, :60] = 1 << 4  # band 5 saturated on the western half
        ds.write(a, 1)
    (scene,) = landsat.discover(tmp_path)
    grid = _grid_over_scene(folder)
    out = landsat.read_scene(scene, grid)
    west, east = out["QA_PIXEL"][:, :30], out["QA_PIXEL"][:, -30:]
    assert (west == 1).all() and (east != 1).mean() > 0.9


def test_inspect__edge_cases_figures_and_problems(cases):
    got = {Path(e["file"]).name: e for e in inspect([cases["scene_60m"], cases["era5_hourly"], cases["dem_1e30"],
                                                      cases["classes_empty"]])}
    scene = got[cases["scene_60m"].name]
    assert scene["kind"] == "landsat" and scene["dates"] == ["2023-05-18"] and scene["crs"] == "EPSG:32652"
    # written as NIR 0.35 and red 0.04 (+- 0.01 noise): NDVI about 0.79
    assert 0.75 < scene["figures"]["mean_clear_ndvi"] < 0.83
    nir = next(b for b in scene["bands"] if b["name"] == "SR_B5")
    assert nir["scale"] == pytest.approx(2.75e-5) and abs(nir["mean"] - 0.35) < 0.01
    e5 = got["era5land_hourly_cds.nc"]
    assert e5["figures"]["step_hours"] == 1.0 and e5["figures"]["units"]["ssrd"] == {"from": "J m**-2",
                                                                                      "to": "W m-2 (daily mean)"}
    assert e5["dates"] == ["2024-07-01", "2024-07-04"] and not e5["problems"]
    assert "values such as 1e+30 are not elevations" in got["dem.tif"]["problems"][0]
    assert "classes.csv: empty" in got["classes.csv"]["problems"][0]
    with pytest.raises(DataError, match="no such file or folder"):
        inspect([cases["scene_60m"] / "missing.TIF"])


def test_modis__hdf4_granule_onto_the_500m_grid(cases):
    if cases["modis_hdf4"] is None:  # pyhdf absent: the granule is refused with the way out
        pytest.skip("pyhdf is not installed: the HDF4 path is covered by the message test in test_modis__real_hdf4")
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat

    days = modis.discover(cases["modis_hdf4"].parent)
    day = days[dt.date(2024, 7, 1)]  # A2024183: 2024 is a leap year
    assert day.usable and day.product == "MOD09GA" and day.layers[modis.STATE].sds == "state_1km_1", day.problems
    x, y = from_lonlat(127.1, 37.8)
    grid = Grid(500.0, int((FRAME_YMAX - y) // 500) - 5, int((x - FRAME_XMIN) // 500) - 5, 10, 10)
    out = modis.read_day(day, grid)
    for k, b in enumerate(modis.BANDS):
        band = int(b[-1])
        assert abs(out[b].astype(float).mean() - 1000 * band) < 10  # DN 1000 * band +- 20, area-averaged
    assert (out[modis.STATE] == 8).all()


def test_fluxnet__half_hourly_refused_with_what_to_download(tmp_path):
    hh = tmp_path / "FLX_XX-Hhh_FLUXNET2015_FULLSET_HH_2019-2019_1-4.csv"
    hh.write_text("TIMESTAMP_START,TIMESTAMP_END,NEE_VUT_REF\n201901010000,201901010030,1.0\n")
    with pytest.raises(DataError, match=r"a half-hourly \(HH\) file, not daily: .*FLX_XX-Hhh_FLUXNET2015_FULLSET_DD_"):
        fluxnet.read_fluxnet(hh)
    renamed = tmp_path / "site_export.csv"
    renamed.write_text(hh.read_text())
    with pytest.raises(DataError, match=r"TIMESTAMP_START/END columns make it a half-hourly or hourly file"):
        fluxnet.read_fluxnet(renamed)


def test_cli__ingest_inspect_json_on_real_files():
    from typer.testing import CliRunner

    from unique_core.cli import app

    res = CliRunner().invoke(app, ["ingest", "inspect", str(REAL / "dem/pysheds_dem.tif"),
                                   str(REAL / "landsat" / SCENE_ID), "--json"])
    assert res.exit_code == 0, res.output
    entries = json.loads(res.stdout)
    assert [e["kind"] for e in entries] == ["dem", "landsat"]
    bad = CliRunner().invoke(app, ["ingest", "inspect", str(FLUX / "FLX_FR-Pue_FLUXNET2015_FULLSET_MM_2007-2014_2-3.csv"),
                                   "--json"])
    assert bad.exit_code == 1 and "a monthly (MM) file, not daily" in json.loads(bad.stdout)[0]["problems"][0]


@pytest.mark.parametrize("name, product, date, role", [
    ("MOD09GA.061_sur_refl_b01_1_doy2023138_aid0001.tif", "MOD09GA", dt.date(2023, 5, 18), "sur_refl_b01"),
    ("MYD09GA.061_state_1km_1_doy2024060_aid0001.tif", "MYD09GA", dt.date(2024, 2, 29), "state_1km"),
    ("MCD43A4.061_Nadir_Reflectance_Band2_doy2023001_aid0001.tif", "MCD43A4", dt.date(2023, 1, 1), "sur_refl_b02"),
    ("MCD43A4.061_BRDF_Albedo_Band_Mandatory_Quality_Band7_doy2023001_aid0001.tif", "MCD43A4", dt.date(2023, 1, 1),
     "quality_b07"),
    ("MCD43A2.061_BRDF_Albedo_Band_Quality_Band1_doy2023001_aid0001.tif", "MCD43A2", dt.date(2023, 1, 1),
     "quality_b01"),
    ("MCD43A4.A2017006.h21v11.006.2017018074804_B06qa.TIF", "MCD43A4", dt.date(2017, 1, 6), "quality_b06"),
    ("MOD09GA.A2023196.h28v05.061.sur_refl_b07.tif", "MOD09GA", dt.date(2023, 7, 15), "sur_refl_b07"),
    ("MOD13Q1.061__250m_16_days_NDVI_doy2023193_aid0001.tif", "MOD13Q1", dt.date(2023, 7, 12), None),
])
def test_modis__names_give_product_date_and_role(name, product, date, role):
    p, d, layer = modis.parse_name(name)
    assert (p, d, modis.role(p, layer)) == (product, date, role)
