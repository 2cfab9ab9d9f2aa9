"""Fill a real-data folder from public STAC catalogues (online), or from recorded STAC items.

`search` asks a STAC API (Planetary Computer, Earth Search) through pystac-client; `fetch`
puts the items' assets into the layout of docs/real-data.md: Landsat C2 L2 bands, QA_PIXEL and
MTL; MOD09GA bands; Copernicus DEM tiles mosaicked into dem/dem.tif; ESA WorldCover tiles
mosaicked into landcover/landcover.tif with its class table. Assets given as local paths or
file:// URLs are copied (that is how the tests run offline, on recorded items).
"""

from __future__ import annotations

import datetime as dt
import shutil
import urllib.request
from pathlib import Path
from typing import Callable

import pystac

from unique_core.atomic import atomic_path, write_text
from unique_core.errors import DataError

API = {"planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
       "earth-search": "https://earth-search.aws.element84.com/v1"}
LANDSAT_ASSETS = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir08": "SR_B5", "swir16": "SR_B6",
                  "swir22": "SR_B7", "qa_pixel": "QA_PIXEL"}
MODIS_ASSETS = ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b04", "sur_refl_b06", "sur_refl_b07",
                "state_1km")
# ESA WorldCover 2021 classes -> UNIQUE classes
WORLDCOVER = {10: "mixed", 20: "grassland", 30: "grassland", 40: "field", 50: "urban", 60: "barren", 70: "barren",
              80: "water", 90: "wetland", 95: "wetland", 100: "grassland"}


def search(catalog: str, collections: list[str], bbox: tuple[float, float, float, float], start: dt.date,
           end: dt.date, limit: int = 200) -> list[pystac.Item]:
    """Items of `collections` over `bbox` (lon/lat) between two dates, from a STAC API (needs internet)."""
    from pystac_client import Client

    url = API.get(catalog, catalog)
    try:
        client = Client.open(url)
        found = client.search(collections=collections, bbox=list(bbox), datetime=f"{start}/{end}", max_items=limit)
        return list(found.items())
    except Exception as exc:  # network failures come in many types
        raise DataError(f"could not search {url} ({exc}); check the internet connection, or place the files "
                        "yourself as docs/real-data.md describes") from exc


def _get(href: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        if href.startswith(("http://", "https://")):
            with urllib.request.urlopen(href, timeout=120) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        else:
            src = Path(href.removeprefix("file://"))
            if not src.exists():
                raise DataError(f"asset {href} does not exist")
            shutil.copyfile(src, tmp)
    return target


def _mosaic(files: list[Path], target: Path) -> None:
    import rasterio
    from rasterio.merge import merge

    srcs = [rasterio.open(f) for f in files]
    try:
        data, transform = merge(srcs)
        profile = {k: v for k, v in srcs[0].profile.items() if k not in ("blockxsize", "blockysize", "tiled")}
        profile |= {"height": data.shape[1], "width": data.shape[2], "transform": transform, "driver": "GTiff",
                    "compress": "deflate"}
        if min(data.shape[1:]) >= 256:
            profile |= {"tiled": True, "blockxsize": 256, "blockysize": 256}
    finally:
        for s in srcs:
            s.close()
    with atomic_path(target, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)


def fetch(items: list[pystac.Item], folder: str | Path, progress: Callable[[int, int], None] | None = None) -> dict:
    """Put the items' assets into the folder layout; returns counts per kind."""
    folder = Path(folder)
    counts = {"landsat_scenes": 0, "modis_days": 0, "dem_tiles": 0, "landcover_tiles": 0, "skipped": 0}
    dem_tiles, lc_tiles = [], []
    for k, item in enumerate(items):
        coll = (item.collection_id or "").lower()
        if "landsat" in coll:
            pid = item.id
            for key, band in LANDSAT_ASSETS.items():
                if key in item.assets:
                    _get(item.assets[key].href, folder / "landsat" / pid / f"{pid}_{band}.TIF")
            mtl = item.assets.get("mtl.txt") or item.assets.get("MTL.txt")
            if mtl:
                _get(mtl.href, folder / "landsat" / pid / f"{pid}_MTL.txt")
            counts["landsat_scenes"] += 1
        elif "modis" in coll:
            day = item.datetime.date() if item.datetime else dt.date.fromisoformat(item.properties["start_datetime"][:10])
            stamp = f"A{day.year}{day.timetuple().tm_yday:03d}"
            for band in MODIS_ASSETS:
                if band in item.assets:
                    _get(item.assets[band].href, folder / "modis" / day.isoformat() / f"MOD09GA.{stamp}.{band}.tif")
            counts["modis_days"] += 1
        elif "cop-dem" in coll or "dem" in coll:
            asset = item.assets.get("data") or next(iter(item.assets.values()))
            dem_tiles.append(_get(asset.href, folder / "dem" / "tiles" / f"{item.id}.tif"))
            counts["dem_tiles"] += 1
        elif "worldcover" in coll:
            asset = item.assets.get("map") or next(iter(item.assets.values()))
            lc_tiles.append(_get(asset.href, folder / "landcover" / "tiles" / f"{item.id}.tif"))
            counts["landcover_tiles"] += 1
        else:
            counts["skipped"] += 1
        if progress:
            progress(k + 1, len(items))
    if dem_tiles:
        _mosaic(dem_tiles, folder / "dem" / "dem.tif")
    if lc_tiles:
        _mosaic(lc_tiles, folder / "landcover" / "landcover.tif")
        write_text(folder / "landcover" / "classes.csv",
                   "value,class\n" + "".join(f"{v},{c}\n" for v, c in WORLDCOVER.items()))
    return counts
