"""Exports: COG, CF-compliant NetCDF, CSV time series, and a STAC item describing each file.

NetCDF follows CF-1.8: x/y projection coordinates in metres with standard names, a
`spatial_ref` grid-mapping variable (WKT and EPSG:5179 parameters, written by rioxarray),
`grid_mapping` on the data variable, units and long names. STAC items are STAC 1.1.0 core
items (validated against pystac's bundled schema, offline); the grid is described in
`unique:`-prefixed properties.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import xarray as xr

from unique_core import __version__
from unique_core.atomic import atomic_path, write_text
from unique_core.errors import DataError
from unique_core.grid import CRS, to_lonlat
from unique_core.io.geotiff import write_cog

MEDIA = {".tif": "image/tiff; application=geotiff; profile=cloud-optimized", ".nc": "application/x-netcdf",
         ".csv": "text/csv"}


_GEOTIFF_TAGS = ("product", "date", "region", "model_hash", "source", "AREA_OR_POINT", "scale_factor", "add_offset",
                 "cache", "provenance")  # tags and bookkeeping of cached COGs: not data attributes
CF_TIME_UNITS = "days since 1970-01-01"  # midnight UTC


def export_netcdf(da: xr.DataArray, path: str | Path, *, date: dt.date | None = None, region_name: str = "",
                  region_key: str = "", bounds: tuple[float, float, float, float] | None = None) -> Path:
    """Write a DataArray as CF-1.8 NetCDF (atomically).

    A daily product (`date` given) gets a CF time axis of length one: `time` at noon UTC of
    the day in days since 1970-01-01 (standard calendar) with `time_bnds` [00:00, next 00:00)
    and `cell_methods = "time: mean"`, GPP being a daily mean. The region's name (and its block
    key, and its lon/lat bounds when `bounds` in EPSG:5179 metres are given) are global
    attributes; the GeoTIFF tags of cached products are not copied.
    """
    import numpy as np

    path = Path(path)
    name = str(da.name or "data")
    arr = da.copy()
    arr.attrs = {k: v for k, v in da.attrs.items()
                 if isinstance(v, (str, int, float)) and k not in _GEOTIFF_TAGS and not k.startswith("unique_")}
    arr.attrs.setdefault("units", da.attrs.get("units", "1"))
    ds = arr.to_dataset(name=name)
    ds["x"].attrs.update({"standard_name": "projection_x_coordinate", "long_name": "easting", "units": "m",
                          "axis": "X"})
    ds["y"].attrs.update({"standard_name": "projection_y_coordinate", "long_name": "northing", "units": "m",
                          "axis": "Y"})
    if "band" in ds.dims:
        ds = ds.assign_coords(band=[str(b) for b in ds["band"].values])
        ds["band"].attrs["long_name"] = "band"
    encoding = {name: {"zlib": True, "complevel": 4}}
    if date is not None:
        day = np.datetime64(date.isoformat(), "ns")
        ds = ds.expand_dims(time=[day + np.timedelta64(12, "h")])
        ds["time_bnds"] = (("time", "nv"), np.array([[day, day + np.timedelta64(1, "D")]]))
        ds["time"].attrs.update({"standard_name": "time", "long_name": "time", "axis": "T", "bounds": "time_bnds"})
        ds[name].attrs["cell_methods"] = "time: mean"
        for v in ("time", "time_bnds"):
            encoding[v] = {"units": CF_TIME_UNITS, "calendar": "standard", "dtype": "float64"}
    ds = ds.rio.write_crs(CRS, grid_mapping_name="spatial_ref")
    ds[name].attrs["grid_mapping"] = "spatial_ref"
    ds.attrs = {"Conventions": "CF-1.8", "title": str(da.attrs.get("long_name", name)),
                "source": f"UNIQUE {__version__}",
                "history": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ} export"}
    if region_name:
        ds.attrs["region"] = region_name
    if region_key:
        ds.attrs["region_key"] = region_key  # the box in 1.5 km blocks of the project frame
    if bounds is not None:
        lon0, lat0 = to_lonlat(bounds[0], bounds[1])
        lon1, lat1 = to_lonlat(bounds[2], bounds[3])
        ds.attrs.update({"geospatial_lon_min": float(min(lon0, lon1)), "geospatial_lon_max": float(max(lon0, lon1)),
                         "geospatial_lat_min": float(min(lat0, lat1)), "geospatial_lat_max": float(max(lat0, lat1))})
    if date is not None:
        ds.attrs.update({"time_coverage_start": f"{date.isoformat()}T00:00:00Z",
                         "time_coverage_end": f"{(date + dt.timedelta(days=1)).isoformat()}T00:00:00Z"})
    with atomic_path(path, suffix=".nc") as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path


def export_csv(df: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    write_text(path, df.to_csv(index=False, float_format="%.4f"))
    return path


def stac_item(file: str | Path, *, product: str, da: xr.DataArray | None, date: dt.date | None,
              region_name: str, bounds: tuple[float, float, float, float], units: str,
              start: dt.date | None = None, end: dt.date | None = None, simulated: bool = True) -> dict:
    """A STAC 1.1.0 item (dict) describing one exported file."""
    import pystac

    file = Path(file)
    x0, y0, x1, y1 = bounds
    lon0, lat0 = to_lonlat(x0, y0)
    lon1, lat1 = to_lonlat(x1, y1)
    lon_a, lat_a = to_lonlat(x0, y1)
    lon_b, lat_b = to_lonlat(x1, y0)
    ring = [[float(lon0), float(lat0)], [float(lon_b), float(lat_b)], [float(lon1), float(lat1)],
            [float(lon_a), float(lat_a)], [float(lon0), float(lat0)]]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    when = dt.datetime.combine(date, dt.time(12), tzinfo=dt.timezone.utc) if date else None
    props = {"unique:product": product, "unique:units": units, "unique:region": region_name,
             "unique:crs": CRS, "unique:source": "simulated (UNIQUE embedded default)" if simulated else "real data",
             "unique:version": __version__}
    if da is not None and "x" in da.dims:
        props["unique:shape"] = [int(da.sizes["y"]), int(da.sizes["x"])]
        props["unique:transform"] = [float(v) for v in list(da.rio.transform())[:6]]
    item = pystac.Item(id=f"unique-{product}-{region_name}-{date.isoformat() if date else 'static'}-{file.suffix[1:]}",
                       geometry={"type": "Polygon", "coordinates": [ring]},
                       bbox=[min(lons), min(lats), max(lons), max(lats)], datetime=when, properties=props,
                       start_datetime=dt.datetime.combine(start or date or dt.date(2015, 1, 1), dt.time(0), tzinfo=dt.timezone.utc) if when is None else None,
                       end_datetime=dt.datetime.combine(end or date or dt.date(2023, 12, 31), dt.time(23, 59), tzinfo=dt.timezone.utc) if when is None else None)
    item.add_asset("data", pystac.Asset(href=file.name, media_type=MEDIA.get(file.suffix, "application/octet-stream"),
                                        roles=["data"], title=f"{product} ({units})"))
    return item.to_dict(include_self_link=False)


def validate_stac_item(item: dict) -> None:
    """Validate against the STAC 1.1.0 item schema bundled with pystac (no network)."""
    import jsonschema
    import pystac
    from referencing import Registry, Resource

    base = Path(pystac.__file__).parent / "validation" / "jsonschemas"
    schemas = {}
    for p in base.rglob("*.json"):
        doc = json.loads(p.read_text())
        rel = p.relative_to(base).as_posix()
        if rel.startswith("stac-spec/v1.1.0/"):
            schemas[f"https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/{p.name}"] = doc
            schemas[f"https://schemas.stacspec.org/v1.1.0/{p.name}"] = doc
        elif rel.startswith("geojson/"):
            schemas[f"https://geojson.org/schema/{p.name}"] = doc
    registry = Registry().with_resources((uri, Resource.from_contents(doc)) for uri, doc in schemas.items())
    item_schema = schemas["https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json"]
    validator = jsonschema.Draft7Validator(item_schema, registry=registry)
    errors = sorted(validator.iter_errors(item), key=lambda e: e.path)
    if errors:
        raise DataError(f"STAC item {item.get('id')} is not valid: {errors[0].message}")


def export_product(da: xr.DataArray, folder: str | Path, *, product: str, date: dt.date | None, region_name: str,
                   bounds: tuple[float, float, float, float], fmt: str = "tif", simulated: bool = True,
                   region_key: str = "") -> tuple[Path, Path]:
    """Write a product as COG (tif) or NetCDF (nc) plus its STAC item; returns (file, item).

    `region_name` is the name people know the region by (it names the file and the NetCDF's
    `region` attribute); `region_key` the box's block key, kept beside it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"unique_{product}_{region_name}_{date.isoformat() if date else 'static'}"
    if fmt == "tif":
        out = write_cog(da, folder / f"{stem}.tif", tags={k: v for k, v in {
            "product": product, "date": date.isoformat() if date else "", "region": region_name,
            "region_key": region_key}.items() if v})
    elif fmt == "nc":
        out = export_netcdf(da, folder / f"{stem}.nc", date=date, region_name=region_name, region_key=region_key,
                            bounds=bounds)
    else:
        raise DataError(f"unknown export format {fmt!r}: use tif or nc")
    units = str(da.attrs.get("units", "1"))
    item = stac_item(out, product=product, da=da, date=date, region_name=region_name, bounds=bounds, units=units,
                     simulated=simulated)
    validate_stac_item(item)
    item_path = folder / f"{stem}.{fmt}.stac.json"
    write_text(item_path, json.dumps(item, indent=2))
    return out, item_path

