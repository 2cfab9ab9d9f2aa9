"""MODIS from a folder: MOD09GA/MYD09GA, MCD43A4 (+ MCD43A2 quality), MOD13/MYD13; by day and band.

Names understood (the day, the product and the layer all come from the name):
- LP DAAC / AWS modis-pds: `MCD43A4.A2017006.h21v11.006.2017018074804_B01.TIF` (and `_B01qa.TIF`),
  HDF4 granules `MOD09GA.A2023196.h28v05.061.<production>.hdf`;
- AppEEARS area exports: `MOD09GA.061_sur_refl_b01_1_doy2023196_aid0001.tif`,
  `MCD43A4.061_Nadir_Reflectance_Band1_doy2023196_aid0001.tif`, `MOD13A1.061__500m_16_days_NDVI_doy...`;
- one file per band and day with the band in the name: `MOD09GA.A2023196.h28v05.061.sur_refl_b01.tif`,
  or an ISO date (2023-07-15).

Scale conventions differ by product and are applied per file: MOD09GA and MCD43A4 store
reflectance x 10000 with `scale_factor` 0.0001 (multiply); MOD13/MYD13 write `scale_factor` 10000
as a divisor (the HDF-EOS convention: value = DN / 10000). A scale factor above 1 is always a
divisor. Fill values: MOD09GA -28672, MCD43A4 32767, MOD13 -3000 (VI) / -1000 (reflectance), or
the file's own nodata/_FillValue. Any CRS (usually MODIS sinusoidal) is reprojected onto the 500 m
EPSG:5179 grid: reflectance by area average (fill left out), quality by nearest neighbour.
MCD43A4 has no state_1km: a pixel is clear where its BRDF mandatory quality (per band, from
MCD43A4 or MCD43A2) is 0 or 1 for every band used, and cloudy otherwise.
HDF4 granules are read with pyhdf when it is installed (else: a message saying how to convert).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import Resampling, reproject

from unique_core.errors import DataError
from unique_core.grid import Grid
from unique_core.io import surface as S
from unique_core.qa import M_CLOUDY, M_LAND

BANDS = ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b04", "sur_refl_b06", "sur_refl_b07")
STATE = "state_1km"
SCALE = 0.0001
FILL = -28672
SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
SURFACE_PRODUCTS = ("MOD09GA", "MYD09GA", "MCD43A4")  # what GPP_M can be made from
FILLS = {"MOD09GA": -28672, "MYD09GA": -28672, "MCD43A4": 32767, "MCD43A2": 255}
DESCRIPTIONS = {
    "MOD09GA": "Terra surface reflectance, daily 500 m", "MYD09GA": "Aqua surface reflectance, daily 500 m",
    "MCD43A4": "Terra+Aqua BRDF-adjusted (NBAR) reflectance, daily 500 m", "MCD43A2": "MCD43 BRDF quality, daily",
    "MOD13Q1": "Terra vegetation indices, 16-day 250 m", "MYD13Q1": "Aqua vegetation indices, 16-day 250 m",
    "MOD13A1": "Terra vegetation indices, 16-day 500 m", "MYD13A1": "Aqua vegetation indices, 16-day 500 m",
    "MOD17A2H": "Terra GPP, 8-day 500 m", "MCD12Q2": "land-cover dynamics (phenology), yearly",
    "MOD10A2": "Terra snow cover, 8-day 500 m", "MOD09A1": "Terra surface reflectance, 8-day 500 m"}

_PRODUCT = r"(?P<product>M[OYC]D\d{2}[A-Z0-9]{1,4})"
_AWS = re.compile(_PRODUCT + r"\.A(?P<year>\d{4})(?P<doy>\d{3})\.h\d{2}v\d{2}\.(?P<ver>\d{3})\.\d{13}_(?P<layer>B0[1-7](?:qa)?)"
                  r"(?:_cropped)?\.tiff?$", re.I)
_APPEEARS = re.compile(_PRODUCT + r"\.(?P<ver>\d{3})_(?P<layer>.+?)_doy(?P<year>\d{4})(?P<doy>\d{3})_aid\d{4}\.tiff?$", re.I)
_GRANULE = re.compile(_PRODUCT + r"\.A(?P<year>\d{4})(?P<doy>\d{3})\.h\d{2}v\d{2}\.(?P<ver>\d{3})\.\d{13}\.hdf$", re.I)
_DOY = re.compile(r"A(\d{4})(\d{3})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_BANDNUM = re.compile(r"(?:sur_refl_b0|Nadir_Reflectance_Band|^B0)([1-7])(?:_1)?$", re.I)
_QUALNUM = re.compile(r"(?:BRDF_Albedo_Band_Mandatory_Quality_Band|BRDF_Albedo_Band_Quality_Band)([1-7])$|^B0([1-7])qa$",
                      re.I)


@dataclass(frozen=True)
class Layer:
    """One layer of one MODIS file: a GeoTIFF (sds None) or a dataset inside an HDF4 granule."""

    path: Path
    product: str
    layer: str
    date: dt.date
    sds: str | None = None


def parse_name(name: str) -> tuple[str | None, dt.date | None, str | None]:
    """(product, date, layer) from a MODIS file name; Nones where the name does not say.

    Raises DataError when the name holds an impossible day of year (e.g. doy 2023400).
    """
    for rx in (_AWS, _APPEEARS, _GRANULE):
        m = rx.search(name)
        if m:
            year, doy = int(m.group("year")), int(m.group("doy"))
            if not 1 <= doy <= (366 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 365):
                raise DataError(f"{name}: day of year {doy:03d} does not exist in {year}: the file was renamed")
            date = dt.date(year, 1, 1) + dt.timedelta(doy - 1)
            layer = m.groupdict().get("layer")
            return m.group("product").upper(), date, layer
    product = re.search(_PRODUCT, name)
    date = None
    m = _DOY.search(name)
    if m:
        date = dt.date(int(m.group(1)), 1, 1) + dt.timedelta(int(m.group(2)) - 1)
    else:
        m = _ISO.search(name)
        if m:
            try:
                date = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError as exc:
                raise DataError(f"{name}: {m.group(0)} is not a calendar date: the file was renamed") from exc
    band = re.search(r"(sur_refl_b0[1-7]|state_1km)", name)
    return (product.group("product").upper() if product else None), date, (band.group(1) if band else None)


def role(product: str | None, layer: str | None) -> str | None:
    """The MOD09GA-style key a layer plays in UNIQUE (sur_refl_b0N, state_1km, quality_b0N), or None."""
    if layer is None:
        return None
    if layer.lower().startswith("state_1km"):
        return STATE
    m = _QUALNUM.search(layer)
    if m:
        return f"quality_b0{m.group(1) or m.group(2)}"
    m = _BANDNUM.search(layer)
    if m and (product or "MOD09GA")[:5] in ("MOD09", "MYD09", "MCD43"):
        return f"sur_refl_b0{m.group(1)}"
    return None


def physical_scale(scale_factor: float | None, product: str | None) -> float:
    """Multiplier from stored integers to physical values. A scale factor above 1 is a divisor (MOD13).

    No scale factor at all: the product's own convention (reflectance and vegetation indices of MOD09,
    MYD09, MCD43, MOD13, MYD13: 0.0001), else 1.
    """
    if scale_factor is None:
        return SCALE if (product or "").startswith(("MOD09", "MYD09", "MCD43", "MOD13", "MYD13")) else 1.0
    return 1.0 / scale_factor if scale_factor > 1.0 else scale_factor


def _tif_scale_fill(src, product: str | None) -> tuple[float | None, float | None]:
    tags = src.tags()
    tags.update(src.tags(1))
    sf = tags.get("scale_factor")
    scale = float(sf) if sf is not None else (src.scales[0] if src.scales[0] != 1.0 else None)
    fill = tags.get("_FillValue")
    fill = float(fill) if fill is not None else src.nodata
    if fill is None and product in FILLS:
        fill = float(FILLS[product])
    return scale, fill


# ------------------------------------------------------------------ HDF4 (pyhdf)
def _hdf_grids(struct: str) -> dict[str, dict]:
    """Grid name -> {shape, transform, fields} from an HDF-EOS StructMetadata text."""
    grids = {}
    for block in re.findall(r"GROUP=GRID_\d+(.*?)END_GROUP=GRID_\d+", struct, re.S):
        name = re.search(r'GridName="([^"]+)"', block).group(1)
        nx, ny = int(re.search(r"XDim=(\d+)", block).group(1)), int(re.search(r"YDim=(\d+)", block).group(1))
        ul = [float(v) for v in re.search(r"UpperLeftPointMtrs=\(([^)]+)\)", block).group(1).split(",")]
        lr = [float(v) for v in re.search(r"LowerRightMtrs=\(([^)]+)\)", block).group(1).split(",")]
        fields = re.findall(r'DataFieldName="([^"]+)"', block)
        proj = re.search(r"Projection=(\w+)", block).group(1)
        grids[name] = {"shape": (ny, nx), "fields": fields, "projection": proj,
                       "transform": Affine((lr[0] - ul[0]) / nx, 0, ul[0], 0, (lr[1] - ul[1]) / ny, ul[1])}
    return grids


def hdf4_layers(path: Path) -> list[dict]:
    """The datasets of an HDF-EOS granule: name, grid, shape, transform, scale, fill, units (no data read)."""
    try:
        from pyhdf.SD import SD, SDC
        from pyhdf.error import HDF4Error
    except ImportError:
        raise DataError(f"{path}: HDF4 needs the pyhdf package (pip install pyhdf), which is not installed here; or "
                        "export GeoTIFFs from AppEEARS, or convert each band with gdal_translate "
                        "HDF4_EOS:EOS_GRID:\"<file>\":MODIS_Grid_500m_2D:sur_refl_b01_1 <out>.tif") from None
    try:
        sd = SD(str(path), SDC.READ)
    except HDF4Error as exc:
        raise DataError(f"{path}: not a readable HDF4 file ({exc}); download it again") from exc
    try:
        attrs = sd.attributes()
        struct = next((v for k, v in attrs.items() if k.startswith("StructMetadata")), "")
        grids = _hdf_grids(struct)
        out = []
        for name in sd.datasets():
            a = sd.select(name).attributes()
            grid = next((g for g, v in grids.items() if name in v["fields"]), None)
            info = grids.get(grid, {})
            sf = a.get("scale_factor")
            out.append({"name": name, "grid": grid, "shape": info.get("shape"), "transform": info.get("transform"),
                        "projection": info.get("projection"), "scale_factor": float(sf) if sf is not None else None,
                        "fill": a.get("_FillValue"), "units": a.get("units"), "long_name": a.get("long_name")})
        return out
    finally:
        sd.end()


def _read_hdf4(path: Path, name: str) -> np.ndarray:
    from pyhdf.SD import SD, SDC
    from pyhdf.error import HDF4Error

    try:
        sd = SD(str(path), SDC.READ)
        try:
            ds = sd.select(name)
            dims = ds.info()[2]
            S.check_read_size(path, dims[0], dims[1] if len(dims) > 1 else 1, np.int16, f"dataset {name}")
            return np.asarray(ds.get())
        finally:
            sd.end()
    except HDF4Error as exc:
        raise DataError(f"{path}: dataset {name} unreadable ({exc}); the file may be truncated: download it "
                        "again") from exc


# ------------------------------------------------------------------ days
@dataclass
class ModisDay:
    date: dt.date
    files: dict[str, Path] = field(default_factory=dict)  # role -> file (GeoTIFFs)
    layers: dict[str, Layer] = field(default_factory=dict)  # role -> layer (any format)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    product: str | None = None

    @property
    def usable(self) -> bool:
        return not self.problems


def _granule_layers(f: Path, product: str, date: dt.date, day: ModisDay) -> None:
    try:
        infos = hdf4_layers(f)
    except DataError as exc:
        day.problems.append(str(exc))
        return
    for info in infos:
        r = role(product, info["name"])
        if r and r not in day.layers:
            day.layers[r] = Layer(f, product, info["name"], date, info["name"])


def discover(folder: str | Path) -> dict[dt.date, ModisDay]:
    """Every MODIS day under `folder` with the layers found and the problems of each (never raises)."""
    folder = Path(folder)
    days: dict[dt.date, ModisDay] = {}
    orphans: list[str] = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.suffix.lower() not in (".tif", ".tiff", ".hdf"):
            continue
        try:
            product, date, layer = parse_name(f.name)
        except DataError as exc:
            orphans.append(str(exc))
            continue
        if date is None:
            continue
        if product is not None and product not in SURFACE_PRODUCTS and product != "MCD43A2":
            continue  # another MODIS product (MOD13, MOD17, ...): `inspect` reads it; GPP_M does not use it
        day = days.setdefault(date, ModisDay(date))
        if f.suffix.lower() == ".hdf":
            _granule_layers(f, product or "MOD09GA", date, day)
            continue
        r = role(product, layer)
        if r is None:
            continue
        if product in SURFACE_PRODUCTS:
            day.product = day.product or product
        day.layers[r] = Layer(f, product or "MOD09GA", layer or r, date)
        day.files[r] = f
    for day in days.values():
        products = {lay.product for lay in day.layers.values() if lay.product in SURFACE_PRODUCTS}
        day.product = "MCD43A4" if "MCD43A4" in products else (sorted(products)[0] if products else "MOD09GA")
        needs_state = day.product != "MCD43A4"
        missing = [b for b in BANDS if b not in day.layers]
        if needs_state and STATE not in day.layers:
            missing.append(STATE)
        if day.product == "MCD43A4":
            missing += [f"quality_b0{b[-1]}" for b in BANDS if f"quality_b0{b[-1]}" not in day.layers]
        if missing:
            day.problems.append(f"MODIS {day.product} {day.date}: no file for {', '.join(missing)}")
        for r, lay in day.layers.items():
            if lay.sds is not None:
                continue
            try:
                with rasterio.open(lay.path) as src:
                    if src.crs is None:
                        day.problems.append(f"{lay.path}: no CRS; MODIS tiles are in the sinusoidal projection "
                                            "(SR-ORG:6974)")
                        continue
                    S.check_read_size(lay.path, src.height, src.width, np.float64, "MODIS band")
                    if r.startswith("sur_refl"):
                        scale, _ = _tif_scale_fill(src, lay.product)
                        if scale is None:
                            day.warnings.append(f"{lay.path}: no scale factor recorded; using {lay.product}'s "
                                                f"{SCALE}")
                        elif physical_scale(scale, lay.product) != SCALE:
                            day.problems.append(f"{lay.path}: scale factor {scale:g} gives reflectance x "
                                                f"{physical_scale(scale, lay.product):g}, not {lay.product}'s "
                                                f"{SCALE}: is it the right product?")
            except rasterio.errors.RasterioIOError as exc:
                day.problems.append(f"{lay.path}: unreadable or truncated ({str(exc).splitlines()[0][:160]}); "
                                    "download it again")
            except DataError as exc:
                day.problems.append(str(exc))
    if orphans:
        first = min(days) if days else dt.date(1970, 1, 1)
        days.setdefault(first, ModisDay(first)).problems.extend(orphans)
    return days


def read_layer(lay: Layer) -> tuple[np.ndarray, Affine, object, float | None, float | None]:
    """(values as stored, transform, crs, scale factor, fill) of one layer."""
    if lay.sds is not None:
        info = next(i for i in hdf4_layers(lay.path) if i["name"] == lay.sds)
        if info["transform"] is None:
            raise DataError(f"{lay.path}: no grid for {lay.sds} in the HDF-EOS metadata")
        return _read_hdf4(lay.path, lay.sds), info["transform"], SINUSOIDAL, info["scale_factor"], info["fill"]
    try:
        with rasterio.open(lay.path) as src:
            S.check_read_size(lay.path, src.height, src.width, np.float64, "MODIS band")
            scale, fill = _tif_scale_fill(src, lay.product)
            return src.read(1), src.transform, src.crs, scale, fill
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{lay.path}: unreadable or truncated ({str(exc).splitlines()[0][:160]}); download it "
                        "again") from exc


def read_day(day: ModisDay, grid: "Grid | S.Target") -> dict[str, np.ndarray]:
    """Scaled-integer bands (int16, x 10000) and state_1km (uint16) on a 500 m grid, like the simulated MODIS.

    `grid`: a project Grid (EPSG:5179), or any surface.Target (a grid in another CRS).
    """
    if not day.usable:
        raise DataError("; ".join(day.problems))
    grid = S.Target.of(grid)
    out: dict[str, np.ndarray] = {}
    bad = np.zeros(grid.shape, bool)
    for b in BANDS:
        lay = day.layers[b]
        data, transform, crs, scale, fill = read_layer(lay)
        data = data.astype(np.float64)
        refl = np.where(data == fill, np.nan, data * physical_scale(scale, lay.product) / SCALE)
        dst = np.full(grid.shape, np.nan)
        reproject(refl, dst, src_transform=transform, src_crs=crs, dst_transform=grid.transform,
                  dst_crs=grid.crs, resampling=Resampling.average, src_nodata=np.nan, dst_nodata=np.nan)
        out[b] = np.where(np.isfinite(dst), np.round(dst), FILL).astype(np.int16)
        q = day.layers.get(f"quality_b0{b[-1]}")
        if day.product == "MCD43A4" and q is not None:
            qd, qt, qc, _, qfill = read_layer(q)
            limit = 1 if q.product == "MCD43A4" else 2  # mandatory QA 0/1; MCD43A2 band quality 0-2
            poor = ((qd > limit) | (qd == (qfill if qfill is not None else 255))).astype(np.float32)
            dq = np.ones(grid.shape, np.float32)
            reproject(poor, dq, src_transform=qt, src_crs=qc, dst_transform=grid.transform, dst_crs=grid.crs,
                      resampling=Resampling.nearest)
            bad |= dq > 0.5
    if day.product == "MCD43A4":
        bad |= np.stack([out[b] == FILL for b in BANDS]).any(axis=0)
        out[STATE] = np.where(bad, np.uint16(M_CLOUDY), np.uint16(M_LAND)).astype(np.uint16)
    else:
        data, transform, crs, _, _ = read_layer(day.layers[STATE])
        dst = np.zeros(grid.shape, np.float64)
        reproject(data.astype(np.float64), dst, src_transform=transform, src_crs=crs, dst_transform=grid.transform,
                  dst_crs=grid.crs, resampling=Resampling.nearest)
        out[STATE] = dst.astype(np.uint16)
    return out
