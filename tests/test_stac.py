"""`unique ingest stac --items`: recorded STAC items with local assets go into the folder layout (no network)."""

import datetime as dt
import json

import numpy as np
import pystac
import rasterio
from affine import Affine
from typer.testing import CliRunner

from unique_core.cli import app


def _tif(path, data, crs="EPSG:32652", transform=Affine(30, 0, 310000, 0, -30, 4180000), nodata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def _item(id_, collection, when, assets):
    item = pystac.Item(id=id_, geometry={"type": "Polygon", "coordinates": [[[127.0, 37.6], [127.1, 37.6], [127.1, 37.7],
                                                                             [127.0, 37.7], [127.0, 37.6]]]},
                       bbox=[127.0, 37.6, 127.1, 37.7], datetime=dt.datetime(*when, tzinfo=dt.timezone.utc),
                       properties={}, collection=collection)
    for key, href in assets.items():
        item.add_asset(key, pystac.Asset(href=str(href)))
    return item


def test_ingest_stac__recorded_items_fill_the_layout(tmp_path):
    assets = tmp_path / "assets"
    rng = np.random.default_rng(0)
    pid = "LC08_L2SP_116034_20230715_20230725_02_T1"
    landsat = {key: _tif(assets / f"{pid}_{band}.TIF", rng.integers(7000, 20000, (40, 40)).astype("uint16"), nodata=0)
               for key, band in (("blue", "SR_B2"), ("green", "SR_B3"), ("red", "SR_B4"), ("nir08", "SR_B5"),
                                 ("swir16", "SR_B6"), ("swir22", "SR_B7"))}
    landsat["qa_pixel"] = _tif(assets / f"{pid}_QA_PIXEL.TIF", np.full((40, 40), 21824, "uint16"))
    mtl = assets / f"{pid}_MTL.txt"
    mtl.write_text("DATE_ACQUIRED = 2023-07-15\n" + "".join(
        f"REFLECTANCE_MULT_BAND_{b} = 2.75E-05\nREFLECTANCE_ADD_BAND_{b} = -0.2\n" for b in range(1, 8)))
    landsat["mtl.txt"] = mtl
    dem = [_tif(assets / f"dem{k}.tif", (rng.random((20, 20)) * 500).astype("float32"),
                transform=Affine(30, 0, 310000 + 600 * k, 0, -30, 4180000)) for k in range(2)]
    wc = _tif(assets / "wc.tif", rng.choice([10, 40, 50, 80], (60, 60)).astype("uint8"), crs="EPSG:4326",
              transform=Affine(1e-4, 0, 127.0, 0, -1e-4, 37.7))
    modis = {b: _tif(assets / f"m_{b}.tif", rng.integers(100, 4000, (8, 8)).astype("int16"))
             for b in ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b04", "sur_refl_b06",
                       "sur_refl_b07", "state_1km")}
    items = pystac.ItemCollection([
        _item(pid, "landsat-c2-l2", (2023, 7, 15, 2), landsat),
        _item("Copernicus_DSM_COG_10_N37_00_E127_00_DEM", "cop-dem-glo-30", (2021, 4, 22), {"data": dem[0]}),
        _item("Copernicus_DSM_COG_10_N37_00_E127_01_DEM", "cop-dem-glo-30", (2021, 4, 22), {"data": dem[1]}),
        _item("ESA_WorldCover_10m_2021_v200_N36E126", "esa-worldcover", (2021, 1, 1), {"map": wc}),
        _item("MOD09GA.A2023196.h28v05.061", "modis-09GA-061", (2023, 7, 15), modis),
    ])
    recorded = tmp_path / "items.json"
    recorded.write_text(json.dumps(items.to_dict()))
    out = tmp_path / "data"
    res = CliRunner().invoke(app, ["ingest", "stac", "--items", str(recorded), "--out", str(out),
                                   "--bbox", "127.0", "37.6", "127.1", "37.7", "--start", "2023-07-01", "--end", "2023-07-31"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"landsat_scenes": 1, "modis_days": 1, "dem_tiles": 2,
                                                               "landcover_tiles": 1, "skipped": 0}
    scene = out / "landsat" / pid
    assert (scene / f"{pid}_SR_B5.TIF").exists() and (scene / f"{pid}_QA_PIXEL.TIF").exists() and (scene / f"{pid}_MTL.txt").exists()
    with rasterio.open(out / "dem" / "dem.tif") as src:
        assert src.width == 40 and src.crs.to_epsg() == 32652  # two tiles side by side, mosaicked
    assert "80,water" in (out / "landcover" / "classes.csv").read_text()
    assert len(list((out / "modis" / "2023-07-15").glob("MOD09GA.A2023196.*.tif"))) == 7
    from unique_core.io.landsat import discover
    from unique_core.io.modis import discover as discover_modis

    assert discover(out / "landsat")[0].usable
    assert dt.date(2023, 7, 15) in discover_modis(out / "modis")
