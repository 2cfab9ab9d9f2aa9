"""Landsat Collection 2 Level-2 scenes from a folder: discovery, metadata, checks, reprojection.

A scene is a folder (or a flat group of files) named by its product ID, e.g.
LC08_L2SP_116034_20230715_20230725_02_T1 (Landsat 8 or 9, Tier 1 or 2, L2SP or L2SR), holding
<ID>_SR_B2.TIF ... <ID>_SR_B7.TIF, <ID>_QA_PIXEL.TIF, optionally <ID>_QA_RADSAT.TIF, and the
metadata <ID>_MTL.txt, _MTL.json or _MTL.xml (USGS ships all three; txt, then json, then xml is
used: the first that parses).

The MTL is read by GROUP: a real MTL holds REFLECTANCE_MULT/ADD_BAND_n and LANDSAT_PRODUCT_ID
twice (the Level-2 surface-reflectance group first, then the Level-1 rescaling group), so the
scale and offset are taken from LEVEL2_SURFACE_REFLECTANCE_PARAMETERS by name and checked against
Collection 2's 2.75e-5 and -0.2; the product ID and DATE_ACQUIRED from PRODUCT_CONTENTS and
IMAGE_ATTRIBUTES. Bands must be uint16 digital numbers with nodata 0 (QA_PIXEL: fill bit 0); a
float band (already rescaled) or one whose values sit below reflectance 0 or above 1 (Collection 1,
or shifted) is an error naming the file. Bands at any resolution are reprojected by nearest
neighbour (fill and QA bits stay whole) onto the project grid and handed on as digital numbers, as
the simulated scenes are. Pixels saturated in any of B2-B7 (QA_RADSAT bits 1-6) or terrain-occluded (bit 11) are set to fill.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import Resampling, reproject, transform_bounds

from unique_core.errors import DataError
from unique_core.grid import Grid
from unique_core.io import surface as S
from unique_core.qa import L_FILL, landsat_saturated

BANDS = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")
SCALE, OFFSET = 0.0000275, -0.2
DN_MIN, DN_MAX = 7273, 43636  # reflectance 0 and 1 in Collection 2 digital numbers
ID_RE = re.compile(r"(?P<sat>L[COT]0[89])_(?P<level>L2S[PR])_(?P<path>\d{3})(?P<row>\d{3})_(?P<date>\d{8})_"
                   r"(?P<processed>\d{8})_(?P<collection>\d{2})_(?P<tier>T[12])")
L2_GROUP = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"
MTL_ORDER = ("MTL.txt", "MTL.json", "MTL.xml")


@dataclass
class Scene:
    product_id: str
    satellite: str
    path: int
    row: int
    date: dt.date | None
    files: dict[str, Path]  # band name (SR_B2..SR_B7, QA_PIXEL, QA_RADSAT) -> file
    mtl: Path | None
    bounds_lonlat: tuple[float, float, float, float] | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tier: str = "T1"
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------ MTL
def _parse_txt(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    stack: list[str] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line == "END":
            continue
        if "=" not in line:
            raise ValueError(f"line {n} is not KEY = VALUE")
        key, value = (s.strip() for s in line.split("=", 1))
        if key == "GROUP":
            stack.append(value)
            groups.setdefault(value, {})
        elif key == "END_GROUP":
            if not stack or stack[-1] != value:
                raise ValueError(f"line {n}: END_GROUP = {value} does not close the open group")
            stack.pop()
        else:
            groups.setdefault(stack[-1] if stack else "", {})[key] = value.strip('"')
    if stack:
        raise ValueError(f"group {stack[-1]} is never closed (the file is cut short?)")
    return groups


def _parse_json(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}

    def walk(name: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(k, v)
            else:
                groups.setdefault(name, {})[k] = str(v)

    walk("", json.loads(text))
    return groups


def _parse_xml(text: str) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}

    def walk(el) -> None:
        for child in el:
            if len(child):
                walk(child)
            else:
                groups.setdefault(el.tag, {})[child.tag] = (child.text or "").strip()

    walk(ET.fromstring(text))
    return groups


def parse_mtl(path: str | Path) -> dict[str, dict[str, str]]:
    """An MTL file (txt, json or xml) as {group name: {key: value}}; DataError naming the file if broken."""
    path = Path(path)
    if path.stat().st_size > 2_000_000:
        raise DataError(f"{path}: {path.stat().st_size} bytes is no MTL file (they are about 15-25 kB; limit 2 MB)")
    text = path.read_text(errors="replace")
    kind = path.suffix.lower().lstrip(".")
    try:
        return {"json": _parse_json, "xml": _parse_xml}.get(kind, _parse_txt)(text)
    except (ValueError, ET.ParseError) as exc:
        raise DataError(f"{path}: the {kind.upper()} metadata is broken ({str(exc)[:120]}): download it again, or "
                        "delete it so the scene's other MTL form is used") from exc


def _mtl_problems(sc: Scene, meta: dict[str, dict[str, str]]) -> None:
    contents = meta.get("PRODUCT_CONTENTS", {})
    pid = contents.get("LANDSAT_PRODUCT_ID")
    if pid and pid != sc.product_id:
        sc.problems.append(f"{sc.mtl}: LANDSAT_PRODUCT_ID {pid} is not this scene's {sc.product_id}")
    date = meta.get("IMAGE_ATTRIBUTES", {}).get("DATE_ACQUIRED")
    if date and sc.date is not None:
        try:
            if dt.date.fromisoformat(date) != sc.date:
                sc.problems.append(f"{sc.mtl}: DATE_ACQUIRED {date} does not match the product ID's date {sc.date}")
        except ValueError:
            sc.problems.append(f"{sc.mtl}: DATE_ACQUIRED {date!r} is not a date (YYYY-MM-DD)")
    l2 = meta.get(L2_GROUP)
    if l2 is None:
        sc.problems.append(f"{sc.mtl}: no {L2_GROUP} group: is this a Level-2 product? Download the Collection 2 "
                           "Level-2 scene (L2SP)")
        return
    for b in range(2, 8):
        mult, add = l2.get(f"REFLECTANCE_MULT_BAND_{b}"), l2.get(f"REFLECTANCE_ADD_BAND_{b}")
        if mult is None or add is None:
            sc.problems.append(f"{sc.mtl}: REFLECTANCE_MULT/ADD_BAND_{b} missing from {L2_GROUP}")
            return
        try:
            m, a = float(mult), float(add)
        except ValueError:
            sc.problems.append(f"{sc.mtl}: REFLECTANCE_MULT/ADD_BAND_{b} = {mult!r} / {add!r} are not numbers")
            return
        if abs(m - SCALE) > 1e-9 or abs(a - OFFSET) > 1e-6:
            sc.problems.append(f"{sc.mtl}: band {b} scale {mult} / offset {add} are not Collection 2 Level-2's "
                               f"{SCALE} / {OFFSET}")
            return


# ------------------------------------------------------------------ discovery
def _check_band_header(sc: Scene, name: str, path: Path) -> None:
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                sc.problems.append(f"{path}: no CRS; Landsat files carry their UTM zone (gdal_edit.py -a_srs)")
                return
            dtype = src.dtypes[0]
            if dtype != "uint16":
                sc.problems.append(f"{path}: {dtype} values, not Collection 2's uint16 digital numbers (already "
                                   "rescaled to reflectance?): use the original USGS file")
            nd = src.nodata
            want = 1 if name == "QA_PIXEL" else 0
            if name in BANDS + ("QA_PIXEL",) and nd is not None and nd != want:
                sc.problems.append(f"{path}: nodata {nd:g}, expected {want} as USGS writes it: the file was "
                                   f"re-encoded; use the original, or set it (gdal_edit.py -a_nodata {want})")
            if name == "QA_PIXEL":
                sc.bounds_lonlat = tuple(transform_bounds(src.crs, "EPSG:4326", *src.bounds))
    except rasterio.errors.RasterioIOError as exc:
        sc.problems.append(f"{path}: unreadable ({str(exc).splitlines()[0][:160]}); download it again")


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
        sc = Scene(pid, m.group("sat"), int(m.group("path")), int(m.group("row")), None, {}, None,
                   tier=m.group("tier"))
        try:
            sc.date = dt.datetime.strptime(m.group("date"), "%Y%m%d").date()
        except ValueError:
            sc.problems.append(f"{pid}: the product ID's acquisition date {m.group('date')} is not a calendar date: "
                               "the files were renamed; restore the USGS names")
        mtls = {}
        for name, f in files.items():
            stem = name.rsplit(".", 1)[0].upper()
            if stem in BANDS or stem in ("QA_PIXEL", "QA_RADSAT"):
                sc.files[stem] = f
            elif stem == "MTL":
                mtls[name.lower()] = f
        missing = [b for b in (*BANDS, "QA_PIXEL") if b not in sc.files]
        if missing:
            sc.problems.append(f"{pid}: files for {', '.join(missing)} are missing (expected {pid}_<BAND>.TIF)")
        broken = []
        for form in MTL_ORDER:
            if form.lower() not in mtls:
                continue
            try:
                sc.metadata = parse_mtl(mtls[form.lower()])
                sc.mtl = mtls[form.lower()]
                break
            except DataError as exc:
                broken.append(str(exc))
        if sc.mtl is None:
            sc.problems.extend(broken or [f"{pid}: no MTL metadata ({pid}_MTL.txt, .json or .xml): the scale and "
                                          "offset cannot be checked"])
        else:
            sc.warnings.extend(broken)
            _mtl_problems(sc, sc.metadata)
        for name, f in sc.files.items():
            _check_band_header(sc, name, f)
        if sc.tier == "T2":
            sc.warnings.append(f"{pid}: Tier 2 (geometry or clouds below Tier 1's standard): used, but check it "
                               "lines up with the other scenes")
        scenes.append(sc)
    return sorted(scenes, key=lambda s: (s.date or dt.date.min, s.product_id))


def check_values(scene: Scene, *, max_side: int = 2048) -> dict[str, float]:
    """Decode every band (block by block, or a decimated view of large ones) and check the values.

    Adds problems (truncated file, float values, reflectance outside 0-1) to the scene and returns the
    figures: clear fraction of the valid pixels, mean clear NDVI (NaN when nothing is clear).
    """
    figures: dict[str, float] = {}
    for name in BANDS:
        if name not in scene.files:
            continue
        try:
            sc = S.scan_band(scene.files[name], nodata=0)
        except DataError as exc:
            scene.problems.append(str(exc))
            continue
        if any(str(scene.files[name]) in p for p in scene.problems):
            continue  # its dtype is already wrong: the values say nothing more
        if sc.valid and sc.mean is not None:
            if sc.mean < DN_MIN or sc.mean > DN_MAX:
                scene.problems.append(
                    f"{scene.files[name]}: mean value {sc.mean:.0f} is reflectance {sc.mean * SCALE + OFFSET:.2f} "
                    f"with Collection 2's scale (valid 0-1 is DN {DN_MIN}-{DN_MAX}): the band is shifted or from "
                    "Collection 1; download the Collection 2 Level-2 file")
    if "QA_PIXEL" in scene.files and scene.usable:
        try:
            with rasterio.open(scene.files["QA_PIXEL"]) as q, rasterio.open(scene.files["SR_B4"]) as r, \
                    rasterio.open(scene.files["SR_B5"]) as n:
                f = max(q.width, q.height) / max_side
                shape = (q.height, q.width) if f <= 1 else (max(1, int(q.height / f)), max(1, int(q.width / f)))
                qa = q.read(1, out_shape=shape, resampling=Resampling.nearest)
                red = r.read(1, out_shape=shape, resampling=Resampling.nearest).astype(np.float32) * SCALE + OFFSET
                nir = n.read(1, out_shape=shape, resampling=Resampling.nearest).astype(np.float32) * SCALE + OFFSET
        except (rasterio.errors.RasterioIOError, ValueError) as exc:
            scene.problems.append(f"{scene.files['QA_PIXEL']}: unreadable or truncated ({str(exc)[:120]}); "
                                  "download it again")
            return figures
        from unique_core.qa import landsat_clear

        valid = (qa & L_FILL) == 0
        clear = landsat_clear(qa) & valid
        figures["valid_fraction"] = float(valid.mean())
        figures["clear_fraction"] = float(clear.sum() / max(valid.sum(), 1))
        ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
        ok = clear & (red > -0.05) & (nir > -0.05)
        figures["mean_clear_ndvi"] = float(ndvi[ok].mean()) if ok.any() else float("nan")
    return figures


# ------------------------------------------------------------------ reading onto the grid
def read_scene(scene: Scene, grid: "Grid | S.Target") -> dict[str, np.ndarray]:
    """SR_B2..SR_B7 (uint16 DN) and QA_PIXEL on `grid`; outside the scene and where saturated: fill (DN 0, QA 1).

    `grid`: a project Grid (EPSG:5179), or any surface.Target (a grid in another CRS).
    """
    if not scene.usable:
        raise DataError("; ".join(scene.problems))
    out: dict[str, np.ndarray] = {}
    target = S.Target.of(grid)
    names = (*BANDS, "QA_PIXEL") + (("QA_RADSAT",) if "QA_RADSAT" in scene.files else ())
    for name in names:
        path = scene.files[name]
        fill = 1 if name == "QA_PIXEL" else 0
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise DataError(f"{path}: no CRS; write the scene's UTM zone into it (gdal_edit.py -a_srs)")
                if src.dtypes[0] != "uint16":
                    raise DataError(f"{path}: {src.dtypes[0]} values, not Collection 2's uint16 digital numbers: use "
                                    "the original USGS file")
                dst = np.full(target.shape, fill, np.uint16)
                win = S.source_window(src, target)
                if win is not None:
                    S.check_read_size(path, win.height, win.width, np.uint16)
                    data = src.read(1, window=win)
                    reproject(data, dst, src_transform=src.window_transform(win), src_crs=src.crs,
                              dst_transform=target.transform, dst_crs=target.crs, resampling=Resampling.nearest,
                              src_nodata=fill if name != "QA_RADSAT" else None,
                              dst_nodata=fill if name != "QA_RADSAT" else None)
        except rasterio.errors.RasterioIOError as exc:
            raise DataError(f"{path}: unreadable or truncated ({str(exc).splitlines()[0][:160]}); download it "
                            "again") from exc
        out[name] = dst
    bad = out["SR_B4"] == 0
    if "QA_RADSAT" in out:
        bad |= landsat_saturated(out.pop("QA_RADSAT"))
    out["QA_PIXEL"] = np.where(bad, np.uint16(L_FILL), out["QA_PIXEL"])
    for b in BANDS:
        out[b] = np.where(bad, np.uint16(0), out[b])
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
