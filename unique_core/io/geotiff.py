"""GeoTIFF / Cloud-Optimized GeoTIFF writing and reading on the project grid.

`write_cog` writes a DataArray (2-D or band, y, x) with its CRS, transform, nodata, scale and
offset, units and band descriptions, as a COG (tiled, DEFLATE, overviews), atomically: the
file appears complete under its name or not at all (StorageError if the disk refuses it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from rasterio.enums import Resampling

from unique_core.atomic import write_bytes
from unique_core.errors import DataError
from unique_core.grid import CRS


def write_cog(da: xr.DataArray, path: str | os.PathLike, *, nodata: float | None = None,
              scale: float | None = None, offset: float | None = None,
              tags: dict[str, str] | None = None, overview_resampling: str = "average") -> Path:
    """Write `da` as a Cloud-Optimized GeoTIFF at `path` (atomically); returns the path.

    Float data with NaNs get nodata NaN unless `nodata` is given. Integer data written with
    `scale`/`offset` record them so readers (GDAL, rasterio, QGIS) unscale them.
    """
    path = Path(path)
    values = np.asarray(da.values)
    if values.ndim == 2:
        values = values[None]
    bands = [str(b) for b in da["band"].values] if "band" in da.dims else [str(da.name or "band_1")]
    if nodata is None and np.issubdtype(values.dtype, np.floating):
        nodata = np.nan
    transform = da.rio.transform()
    crs = da.rio.crs or CRS
    blocksize = 256 if min(values.shape[1:]) >= 256 else 128  # GDAL COG blocks are >= 128 px
    profile = {"driver": "COG", "width": values.shape[2], "height": values.shape[1],
               "count": values.shape[0], "dtype": values.dtype.name, "crs": crs,
               "transform": transform, "compress": "DEFLATE", "blocksize": blocksize,
               "overview_resampling": overview_resampling, "BIGTIFF": "IF_SAFER"}
    if np.issubdtype(values.dtype, np.floating):
        profile["predictor"] = 3
    if nodata is not None:
        profile["nodata"] = nodata
    # GDAL writes into memory and the bytes reach the disk through one atomic Python write: no
    # GDAL temporaries (.ovr.tmp) on disk, and a full or read-only disk is a plain OSError that
    # atomic turns into a one-line StorageError. A 30 x 30 km two-band product is about 8 MB.
    with rasterio.MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(values)
            for i, name in enumerate(bands, start=1):
                dst.set_band_description(i, name)
            if scale is not None or offset is not None:
                dst.scales = [scale if scale is not None else 1.0] * values.shape[0]
                dst.offsets = [offset if offset is not None else 0.0] * values.shape[0]
            units = da.attrs.get("units")
            if units:
                dst.units = [units] * values.shape[0]
            meta = {"long_name": str(da.attrs.get("long_name", "")), "units": str(units or "")}
            meta.update({k: str(v) for k, v in (tags or {}).items()})
            dst.update_tags(**meta)
        data = mem.read()
    write_bytes(path, data)
    return path


def read_geotiff(path: str | os.PathLike, *, masked: bool = True) -> xr.DataArray:
    """Open a GeoTIFF as a DataArray (band, y, x squeezed to y, x for one band).

    Raises DataError naming the file if it is missing, truncated or not a GeoTIFF.
    """
    import rioxarray

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        da = rioxarray.open_rasterio(path, masked=masked).load()
    except Exception as exc:  # rasterio raises several types for corrupt files
        raise DataError(f"{path}: not a readable GeoTIFF ({exc}); delete it or write it again") from exc
    with rasterio.open(path) as src:
        units = (src.units or [None])[0]
        tags = src.tags()
        names = list(src.descriptions)
    for k in [k for k in da.attrs if k.startswith("unique_")]:
        del da.attrs[k]  # the product catalogue's row, kept in the file for rebuilding the index only
    if da.sizes.get("band", 1) > 1 and all(names) and len(set(names)) == len(names):
        da = da.assign_coords(band=names)  # bands by the names write_cog gave them ("mean", "std")
    if units:
        da.attrs["units"] = units
    if tags.get("long_name"):
        da.attrs["long_name"] = tags["long_name"]
    if da.sizes.get("band", 1) == 1:
        da = da.squeeze("band", drop=True)
    return da


def overview_resampling(name: str) -> Resampling:
    return Resampling[name]
