"""Landsat Collection 2 Level-2 scenes from a folder: discovery, metadata, reprojection.

A scene is a folder (or a flat group of files) named by its product ID, e.g.
LC08_L2SP_116034_20230715_20230725_02_T1, holding <ID>_SR_B2.TIF ... <ID>_SR_B7.TIF,
<ID>_QA_PIXEL.TIF and <ID>_MTL.txt (or _MTL.json). The MTL's REFLECTANCE_MULT_BAND_n and
REFLECTANCE_ADD_BAND_n are checked against Collection 2's 2.75e-5 and -0.2; bands are
reprojected (nearest neighbour, so fill and QA bits stay whole) onto the project grid and
handed on as digital numbers, as the simulated scenes are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import Resampling, reproject, transform_bounds

from unique_core.errors import DataError
from unique_core.grid import CRS, Grid

BANDS = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")
SCALE, OFFSET = 0.0000275, -0.2
ID_RE = re.compile(r"(?P<sat>L[COT]0[89])_L2SP_(?P<path>\d{3})(?P<row>\d{3})_(?P<date>\d{8})_\d{8}_02_T[12]")


@dataclass
class Scene:
    product_id: str
    satellite: str
    path: int
    row: int
    date: dt.date
    files: dict[str, Path]  # band name (SR_B2..SR_B7, QA_PIXEL) -> file
    mtl: Path | None
    bounds_lonlat: tuple[float, float, float, float] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.problems


def _parse_mtl(path: Path) -> dict[str, str]:
    text = path.read_text(errors="replace")
    if path.suffix.lower() == ".json":
        out: dict[str, str] = {}

        def walk(d):
            for k, v in d.items():
                if isinstance(v, dict):
                    walk(v)
                else:
                    out[k] = str(v)

        walk(json.loads(text))
        return out
    return {m.group(1): m.group(2).strip().strip('"')
            for m in re.finditer(r"^\s*([A-Z0-9_]+)\s*=\s*(.+?)\s*$", text, re.M)}


def discover(folder: str | Path) -> list[Scene]:
    """Every scene under `folder`, with the problems found in each (never raises for one bad scene)."""
    folder = Path(folder)
    groups: dict[str, dict[str, Path]] = {}
    for f in sorted(folder.rglob("*")):
        m = ID_RE.search(f.name)
        if not m or not f.is_file():
            continue
        pid = m.group(0)
        tail = f.name[len(pid) + f.name.index(pid):].lstrip("_")
        groups.setdefault(pid, {})[tail] = f
    scenes = []
    for pid, files in groups.items():
        m = ID_RE.match(pid)
        sc = Scene(pid, m.group("sat"), int(m.group("path")), int(m.group("row")),
                   dt.datetime.strptime(m.group("date"), "%Y%m%d").date(), {}, None)
        for name, f in files.items():
            stem = name.rsplit(".", 1)[0].upper()
            if stem in BANDS or stem == "QA_PIXEL":
                sc.files[stem] = f
            elif stem in ("MTL",):
                sc.mtl = f
        missing = [b for b in (*BANDS, "QA_PIXEL") if b not in sc.files]
        if missing:
            sc.problems.append(f"{pid}: files for {', '.join(missing)} are missing (expected {pid}_<BAND>.TIF)")
        if sc.mtl is None:
            sc.problems.append(f"{pid}: no MTL metadata ({pid}_MTL.txt or .json): the scale and offset cannot be checked")
        else:
            meta = _parse_mtl(sc.mtl)
            date = meta.get("DATE_ACQUIRED")
            if date and dt.date.fromisoformat(date) != sc.date:
                sc.problems.append(f"{sc.mtl}: DATE_ACQUIRED {date} does not match the product ID's date {sc.date}")
            for b in range(2, 8):
                mult = meta.get(f"REFLECTANCE_MULT_BAND_{b}")
                add = meta.get(f"REFLECTANCE_ADD_BAND_{b}")
                if mult is None or add is None:
                    sc.problems.append(f"{sc.mtl}: REFLECTANCE_MULT/ADD_BAND_{b} missing: is this a Level-2 product?")
                    break
                if abs(float(mult) - SCALE) > 1e-9 or abs(float(add) - OFFSET) > 1e-6:
                    sc.problems.append(f"{sc.mtl}: band {b} scale {mult} / offset {add} are not Collection 2 Level-2's "
                                       f"{SCALE} / {OFFSET}")
                    break
        if "QA_PIXEL" in sc.files:
            try:
                with rasterio.open(sc.files["QA_PIXEL"]) as src:
                    if src.crs is None:
                        sc.problems.append(f"{sc.files['QA_PIXEL']}: no CRS; Landsat files carry their UTM zone")
                    else:
                        sc.bounds_lonlat = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
            except rasterio.errors.RasterioIOError as exc:
                sc.problems.append(f"{sc.files['QA_PIXEL']}: unreadable ({exc}); download it again")
        scenes.append(sc)
    return sorted(scenes, key=lambda s: (s.date, s.product_id))


def read_scene(scene: Scene, grid: Grid) -> dict[str, np.ndarray]:
    """SR_B2..SR_B7 (uint16 DN) and QA_PIXEL on `grid`; outside the scene: fill (DN 0, QA 1)."""
    if not scene.usable:
        raise DataError("; ".join(scene.problems))
    out: dict[str, np.ndarray] = {}
    for name in (*BANDS, "QA_PIXEL"):
        path = scene.files[name]
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise DataError(f"{path}: no CRS; write the scene's UTM zone into it (gdal_edit.py -a_srs)")
                dst = np.zeros(grid.shape, np.uint16) if name != "QA_PIXEL" else np.ones(grid.shape, np.uint16)
                reproject(rasterio.band(src, 1), dst, dst_transform=grid.transform, dst_crs=CRS,
                          resampling=Resampling.nearest, src_nodata=0 if name != "QA_PIXEL" else 1,
                          dst_nodata=0 if name != "QA_PIXEL" else 1)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"{path}: unreadable or truncated ({exc}); download it again") from exc
        out[name] = dst
    out["QA_PIXEL"] = np.where(out["SR_B4"] == 0, np.uint16(1), out["QA_PIXEL"])
    out["satellite"] = scene.satellite
    out["path"] = scene.path
    return out


def covers(scene: Scene, grid: Grid) -> bool:
    if scene.bounds_lonlat is None:
        return False
    from unique_core.grid import to_lonlat

    x0, y0, x1, y1 = grid.bounds
    lon0, lat0 = to_lonlat(x0, y0)
    lon1, lat1 = to_lonlat(x1, y1)
    b = scene.bounds_lonlat
    return not (lon1 < b[0] or lon0 > b[2] or lat1 < b[1] or lat0 > b[3])
