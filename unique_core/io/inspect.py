"""What UNIQUE reads from any supported file, anywhere in the world: the user's first look at a download.

`inspect(paths)` returns one JSON-serialisable dict per file (a Landsat scene counts as one, whichever
of its files or its folder is given): kind, product, dates, CRS and lon/lat bounds, bands with the
scale applied (valid fraction, min, mean, max), and per-kind figures: Landsat mean clear NDVI and
clear fraction; FLUXNET days passing QC and their mean GPP; ERA5 variables and converted units; DEM
elevation range; land-cover class shares. Problems and warnings say what would stop or worry a
product. Nothing is written; large rasters are decoded block by block or from a decimated view
(overviews), so memory stays small whatever the file's size.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import transform_bounds

from unique_core.errors import DataError, UniqueError
from unique_core.io import era5, fluxnet, landsat, modis
from unique_core.io import surface as S

MAX_SIDE = 4096  # rasters larger than this are summarised from a decimated view (shares, not pixel counts)
WORLDCOVER = {10: "tree cover", 20: "shrubland", 30: "grassland", 40: "cropland", 50: "built-up",
              60: "bare / sparse vegetation", 70: "snow and ice", 80: "permanent water", 90: "herbaceous wetland",
              95: "mangroves", 100: "moss and lichen"}


def _clean(x):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python (floats to 7 significant digits), dates -> ISO."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(f"{float(x):.7g}")  # 7 significant digits
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (dt.date,)):
        return x.isoformat()
    if isinstance(x, Path):
        return str(x)
    return x


def _entry(path: Path, kind: str, **kw) -> dict:
    e = {"file": str(path), "kind": kind, "product": None, "dates": [], "crs": None, "bounds_lonlat": None,
         "bands": [], "figures": {}, "problems": [], "warnings": []}
    e.update(kw)
    return e


def _raster_frame(path: Path, e: dict) -> None:
    with S.open_raster(path, "raster") as src:
        e["crs"] = src.crs.to_string() if src.crs.to_epsg() is None else f"EPSG:{src.crs.to_epsg()}"
        if src.crs.to_epsg() is None and "sinu" in src.crs.to_proj4():
            e["crs"] = "MODIS sinusoidal"
        e["bounds_lonlat"] = list(transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21))
        e["size_px"] = [src.width, src.height]
        e["resolution"] = [abs(src.res[0]), abs(src.res[1])]
        e["dtype"] = src.dtypes[0]


def _band(name: str, scan: S.Scan, scale: float = 1.0, offset: float = 0.0, units: str | None = None) -> dict:
    f = (lambda v: None if v is None else v * scale + offset)
    return {"name": name, "scale": scale, "offset": offset, "units": units, "valid_fraction": scan.valid_fraction,
            "min": f(scan.vmin), "mean": f(scan.mean), "max": f(scan.vmax)}


# ------------------------------------------------------------------ per kind
def _landsat(scene: landsat.Scene) -> dict:
    e = _entry(scene.files.get("QA_PIXEL") and scene.files["QA_PIXEL"].parent or Path(scene.product_id), "landsat",
               product=f"Landsat {scene.satellite[-1]} Collection 2 Level-2 ({scene.tier})",
               dates=[scene.date] if scene.date else [], scene=scene.product_id,
               metadata=str(scene.mtl) if scene.mtl else None)
    e["problems"] += scene.problems
    e["warnings"] += scene.warnings
    if "QA_PIXEL" in scene.files:
        try:
            _raster_frame(scene.files["QA_PIXEL"], e)
        except DataError as exc:
            e["problems"].append(str(exc))
    figures = landsat.check_values(scene)
    e["problems"] = list(dict.fromkeys(e["problems"] + scene.problems))
    for name in landsat.BANDS:
        if name in scene.files:
            try:
                e["bands"].append(_band(name, S.scan_band(scene.files[name], nodata=0), landsat.SCALE,
                                        landsat.OFFSET, "reflectance"))
            except DataError:
                pass  # already among the problems
    e["figures"] = figures
    return e


def _modis_tif(path: Path) -> dict:
    product, date, layer = modis.parse_name(path.name)
    e = _entry(path, "modis", product=product, dates=[date] if date else [], layer=layer,
               description=modis.DESCRIPTIONS.get(product or "", None), role=modis.role(product, layer))
    _raster_frame(path, e)
    with rasterio.open(path) as src:
        scale, fill = modis._tif_scale_fill(src, product)
        units = (src.tags().get("units") or None)
    quality = e["role"] in (modis.STATE,) or (e["role"] or "").startswith("quality") or \
        (layer or "").lower().startswith(("qa", "quality")) or "QA" in (layer or "")
    mult = 1.0 if quality else modis.physical_scale(scale, product)
    scan = S.scan_band(path, nodata=fill, count_values=quality)
    e["bands"].append(_band(layer or path.stem, scan, mult, 0.0, units))
    e["figures"]["valid_fraction"] = scan.valid_fraction
    if scale is not None and scale > 1 and not quality:
        e["figures"]["scale_convention"] = f"scale_factor {scale:g} is a divisor (value = DN / {scale:g})"
    if scan.valid == 0:
        e["warnings"].append(f"{path}: every pixel is fill ({fill:g}): nothing to use")
    if product and product not in modis.SURFACE_PRODUCTS + ("MCD43A2",):
        e["warnings"].append(f"{path}: {product} is read here but GPP_M is made from MOD09GA, MYD09GA or MCD43A4")
    return e


def _modis_hdf(path: Path) -> dict:
    product, date, _ = modis.parse_name(path.name)
    e = _entry(path, "modis", product=product, dates=[date] if date else [], format="HDF4-EOS",
               description=modis.DESCRIPTIONS.get(product or "", None), crs="MODIS sinusoidal")
    infos = modis.hdf4_layers(path)
    for info in infos:
        lay = modis.Layer(path, product or "?", info["name"], date, info["name"])
        data, transform, *_ = modis.read_layer(lay)
        fill = info["fill"]
        ok = data != fill if fill is not None else np.ones(data.shape, bool)
        v = data[ok].astype(np.float64)
        quality = modis.role(product, info["name"]) == modis.STATE or "qa" in info["name"].lower()
        mult = 1.0 if quality else modis.physical_scale(info["scale_factor"], product)
        sc = S.Scan(data.size, int(ok.sum()), float(v.min()) if v.size else None, float(v.max()) if v.size else None,
                    float(v.mean()) if v.size else None)
        e["bands"].append(_band(info["name"], sc, mult, 0.0, info["units"]))
        if transform is not None and e["bounds_lonlat"] is None:
            h, w = info["shape"]
            x0, y1 = transform.c, transform.f
            e["bounds_lonlat"] = list(transform_bounds(modis.SINUSOIDAL, "EPSG:4326", x0, y1 + h * transform.e,
                                                       x0 + w * transform.a, y1, densify_pts=21))
            e["resolution"] = [abs(transform.a), abs(transform.e)]
    if product and product not in modis.SURFACE_PRODUCTS + ("MCD43A2",):
        e["warnings"].append(f"{path}: {product} is read here but GPP_M is made from MOD09GA, MYD09GA or MCD43A4")
    return e


def _ecs_xml(path: Path) -> dict:
    text = path.read_text(errors="replace")[:200_000]
    get = (lambda tag: (m.group(1).strip() if (m := re.search(rf"<{tag}>([^<]*)</{tag}>", text)) else None))
    e = _entry(path, "modis-metadata", product=get("ShortName"), version=get("VersionID"),
               granule=get("LocalGranuleID") or get("DistributedFileName"),
               description=modis.DESCRIPTIONS.get(get("ShortName") or "", None))
    d0, d1 = get("RangeBeginningDate"), get("RangeEndingDate")
    e["dates"] = [d for d in (d0, d1) if d]
    e["warnings"].append(f"{path}: ECS metadata only; the granule ({e['granule']}) itself is not here")
    return e


def _fluxnet(path: Path) -> dict:
    s = fluxnet.summarize(path)
    e = _entry(path, "fluxnet", product="FLUXNET daily (DD)", site=s.site_id, problems=list(s.problems),
               warnings=list(s.warnings))
    if s.years:
        e["dates"] = [f"{s.years[0]}-01-01", f"{s.years[-1]}-12-31"]
    e["figures"] = {"days": s.days, "days_passing_qc": s.days_passing_qc, "mean_gpp_passing_gC_m2_d": s.mean_gpp_passing}
    return e


def _era5(path: Path) -> dict:
    info = era5.inspect(path)
    e = _entry(path, "era5", product="ERA5 / ERA5-Land", problems=list(info["problems"]))
    if "start" in info:
        e["dates"] = [info["start"], info["end"]]
    e["crs"] = "EPSG:4326"
    e["bounds_lonlat"] = info.get("bounds_lonlat")
    e["figures"] = {k: info[k] for k in ("variables", "step_hours", "gridded", "units", "daily_means", "days")
                    if k in info}
    return e


def _appeears_csv(path: Path) -> dict:
    from unique_core.io.extracts import read_appeears_points

    t = read_appeears_points(path)
    e = _entry(path, "appeears-points", product=", ".join(sorted(set(t["product"] + "." + t["version"]))),
               dates=[min(t["date"]), max(t["date"])], sites=sorted(set(t["site_id"])))
    for layer, g in t.groupby("layer"):
        v = g["value"].dropna()
        sc = S.Scan(len(g), len(v), float(v.min()) if len(v) else None, float(v.max()) if len(v) else None,
                    float(v.mean()) if len(v) else None)
        e["bands"].append(_band(str(layer), sc, 1.0, 0.0, "as AppEEARS scaled them"))
    try:
        from unique_core.io.extracts import read_modis_extract

        read_modis_extract(path)
    except DataError as exc:
        e["warnings"].append(f"not usable for Step 1 as it is: {exc}")
    return e


def _classes_csv(path: Path) -> dict:
    table = S.read_class_table(path)
    e = _entry(path, "landcover-classes", product="value,class table")
    e["figures"] = {"values": len(table), "classes": sorted(set(table.values()))}
    return e


def _dem_or_landcover(path: Path) -> dict:
    with S.open_raster(path, "raster") as src:
        dtype, tags, nd = src.dtypes[0], src.tags(), src.nodata
        big = max(src.width, src.height) > MAX_SIDE
    name = path.name.lower()
    categorical = ("legend" in tags or any(k in name for k in ("worldcover", "landcover", "land_cover", "lulc"))) \
        and dtype in ("uint8", "uint16", "int16")
    e = _entry(path, "landcover" if categorical else "dem")
    _raster_frame(path, e)
    if categorical:
        scan = S.scan_band(path, count_values=True, max_side=MAX_SIDE)
        total = sum(scan.counts.values()) or 1
        legend = WORLDCOVER if "WorldCover" in tags.get("title", "") + path.name else {}
        e["product"] = "ESA WorldCover" if legend else "land-cover map"
        e["figures"]["class_shares"] = {f"{k} {legend.get(k, '')}".strip(): v / total
                                        for k, v in sorted(scan.counts.items())}
        e["figures"]["valid_fraction"] = scan.valid_fraction
        if big:
            e["figures"]["estimated_from"] = f"a decimated view at most {MAX_SIDE} px on a side (overviews)"
        e["bands"].append(_band("class", scan))
    else:
        scan = S.scan_band(path)
        e["product"] = "DEM"
        try:
            S.check_dem_values(path, scan.vmin, scan.vmax)
        except DataError as exc:
            e["problems"].append(str(exc))
        e["figures"] = {"elevation_min_m": scan.vmin, "elevation_max_m": scan.vmax, "elevation_mean_m": scan.mean,
                        "valid_fraction": scan.valid_fraction, "nodata": nd}
        e["bands"].append(_band("elevation", scan, units="m"))
    return e


def _json(path: Path) -> dict:
    if path.stat().st_size > 5_000_000:
        raise DataError(f"{path}: {path.stat().st_size} bytes: larger than any request or metadata file (5 MB)")
    try:
        d = json.loads(path.read_text(errors="replace"))
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); download it again") from exc
    params = d.get("params", {}) if isinstance(d, dict) else {}
    if "layers" in params:
        layers = [f"{x.get('product')}:{x.get('layer')}" for x in params["layers"]]
        dates = [f"{x.get('startDate')} to {x.get('endDate')}" for x in params.get("dates", [])]
        return _entry(path, "appeears-request", product=", ".join(sorted({x.split(':')[0] for x in layers})),
                      dates=dates, figures={"layers": layers, "task_type": d.get("task_type")})
    raise DataError(f"{path}: a JSON file UNIQUE does not know (an AppEEARS request or a Landsat _MTL.json is read)")


# ------------------------------------------------------------------ dispatch
def _kind_of(path: Path) -> str:
    name = path.name
    low = name.lower()
    if landsat.ID_RE.search(name):
        return "landsat"
    if low.endswith(".hdf.xml"):
        return "modis-metadata"
    if low.endswith(".hdf"):
        return "modis-hdf"
    if low.endswith(".nc") or low.endswith(".nc4"):
        return "era5"
    if low.endswith((".tif", ".tiff")):
        product, _, _ = modis.parse_name(name)
        return "modis" if product else "raster"
    if low.endswith(".csv"):
        if low == "classes.csv":
            return "landcover-classes"
        if fluxnet.site_id_from_name(path) or re.match(r"^(FLX|AMF|ICOSETC)_", name):
            return "fluxnet"
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace").splitlines()[0:1]
        cols = [c.strip() for c in head[0].split(",")] if head else []
        if "TIMESTAMP" in cols:
            return "fluxnet"
        if "Date" in cols and any(re.match(r"^M[OYC]D\d{2}", c) for c in cols):
            return "appeears-points"
        if cols[:2] == ["value", "class"]:
            return "landcover-classes"
        if cols[:2] == ["Value", "Name"]:
            return "appeears-lookup"
        return "csv"
    if low.endswith(".json"):
        return "json"
    return "unknown"


def _one(path: Path, kind: str) -> dict:
    if kind == "modis":
        return _modis_tif(path)
    if kind == "modis-hdf":
        return _modis_hdf(path)
    if kind == "modis-metadata":
        return _ecs_xml(path)
    if kind == "era5":
        return _era5(path)
    if kind == "fluxnet":
        return _fluxnet(path)
    if kind == "appeears-points":
        return _appeears_csv(path)
    if kind == "landcover-classes":
        return _classes_csv(path)
    if kind == "appeears-lookup":
        lines = path.read_text(errors="replace").strip().splitlines()[1:]
        return _entry(path, "appeears-lookup", product="AppEEARS QA lookup table",
                      figures={"values": {ln.split(",")[0]: ",".join(ln.split(",")[1:]) for ln in lines[:64]}})
    if kind == "raster":
        return _dem_or_landcover(path)
    if kind == "json":
        return _json(path)
    raise DataError(f"{path}: not a format UNIQUE reads (Landsat C2 L2, MODIS GeoTIFF/HDF4, ERA5 NetCDF, FLUXNET "
                    "DD CSV, AppEEARS CSV/JSON, DEM or land-cover GeoTIFF, classes.csv)")


def inspect(paths: list[str | Path] | str | Path) -> list[dict]:
    """One dict per file (a Landsat scene once), JSON-serialisable; a bad file gets its problem, never a raise.

    A folder stands for the supported files inside it (recursively). A path that does not exist
    raises DataError (the user named it).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise DataError(f"{p}: no such file or folder")
        files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    out: list[dict] = []
    seen_scenes: set[str] = set()
    for f in files:
        kind = _kind_of(f)
        try:
            if kind == "landsat":
                pid = landsat.ID_RE.search(f.name).group(0)
                if pid in seen_scenes:
                    continue
                seen_scenes.add(pid)
                scene = next((s for s in landsat.discover(f.parent) if s.product_id == pid), None)
                if scene is None:
                    continue
                out.append(_landsat(scene))
            else:
                out.append(_one(f, kind))
        except UniqueError as exc:
            out.append(_entry(f, kind, problems=[str(exc)]))
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others; say what happened
            out.append(_entry(f, kind, problems=[f"{f}: could not be read ({type(exc).__name__}: "
                                                 f"{str(exc).splitlines()[0][:160] if str(exc) else ''})"]))
    return [_clean(e) for e in out]
