"""The product service: "give me product P for date D over region R", run or load, catalogued.

    svc = ProductService()                          # cache under UNIQUE_CACHE_DIR/products
    da = svc.get("s2", date, region, progress=cb)   # loads if cached and valid, computes otherwise
    da.attrs["cache"]                               # "hit" or "computed"

Every product is a Cloud-Optimized GeoTIFF indexed in one SQLite file with its provenance:
model name, version and hash, seed, code version, creation time and compute time, and a
checksum. An entry is served only if its file is whole (size and SHA-256 agree), readable,
and made by the current model and code; otherwise it is recomputed. Writes are atomic
(temporary file, rename). Two processes asking for the same missing product compute it
once: the second waits on a file lock and then loads the first one's bytes.

Paths are built from a fixed product name, the region's integer block key and an ISO date
(validated), plus a hash of the parameters: no user text ever becomes a path piece.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr
from filelock import FileLock

from unique_core import __version__
from unique_core.config import cache_dir
from unique_core.errors import DataError, ProductError
from unique_core.grid import FRAME, Region
from unique_core.io.geotiff import read_geotiff, write_cog
from unique_core.raster import dataarray
from unique_core.world import World
from unique_core.world.climate import check_date

Progress = Callable[[str, int, int], None] | None


@dataclass(frozen=True)
class ProductSpec:
    name: str
    title: str
    resolution: str  # "30 m" or "500 m"
    dynamic: bool
    version: str  # bump when the product's definition changes
    units: str
    description: str
    country: bool = False  # may be asked for the whole frame (500 m only)


def mean_layer(da: xr.DataArray) -> xr.DataArray:
    """The map of a product: the ensemble mean of S1/S2 (bands mean, std), the product itself otherwise."""
    return da.sel(band="mean") if "band" in da.dims else da


SPECS: dict[str, ProductSpec] = {s.name: s for s in (
    ProductSpec("gpp_m", "GPP_M (MODIS, 500 m)", "500 m", True, "1", "gC m-2 d-1",
                "Daily GPP from MODIS-like indices and reanalysis meteorology (LightGBM, Step 1).", True),
    ProductSpec("gpp_l", "GPP_L (Landsat, 30 m)", "30 m", True, "1", "gC m-2 d-1",
                "Daily GPP from interpolated Landsat-like indices and meteorology (LightGBM, Step 1)."),
    ProductSpec("s1", "S1 downscaled GPP (30 m)", "30 m", True, "1", "gC m-2 d-1",
                "Diffusion downscaling of GPP_M conditioned on GPP_M only (Step 2); bands mean, std."),
    ProductSpec("s2", "S2 downscaled GPP (30 m)", "30 m", True, "1", "gC m-2 d-1",
                "Diffusion downscaling conditioned on GPP_M, DEM and land-cover fractions (Step 2); bands mean, std."),
    ProductSpec("gpp_true", "True GPP (30 m, simulated)", "30 m", True, "1", "gC m-2 d-1",
                "The simulated world's true GPP: known only for the embedded default."),
    ProductSpec("gpp_true_500m", "True GPP (500 m, simulated)", "500 m", True, "1", "gC m-2 d-1",
                "The simulated world's true GPP at 500 m.", True),
    ProductSpec("modis_ndvi", "MODIS-like NDVI (500 m)", "500 m", True, "1", "1",
                "NDVI of the day's MODIS-like observation, cloudy cells masked.", True),
    ProductSpec("landsat_ndvi", "Landsat-like NDVI (30 m)", "30 m", True, "1", "1",
                "NDVI of a Landsat-like acquisition (acquisition dates only), cloudy pixels masked."),
    ProductSpec("dem", "Elevation (30 m)", "30 m", False, "1", "m", "The simulated DEM."),
    ProductSpec("landcover", "Land cover (30 m)", "30 m", False, "1", "1", "Dominant class of each 30 m pixel."),
    ProductSpec("fractions", "Land-cover fractions (30 m)", "30 m", False, "1", "1",
                "Area fraction of each class in each 30 m pixel (from the 5 m map)."),
)}
DIFFUSION_DEFAULTS = {"members": 4, "steps": 10, "seed": 0, "conserve": False}


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class Catalog:
    """The SQLite index of cached products (one file, safe across processes)."""

    SCHEMA = """CREATE TABLE IF NOT EXISTS products (
        key TEXT PRIMARY KEY, product TEXT NOT NULL, region_key TEXT NOT NULL, region_name TEXT,
        date TEXT, params TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
        model TEXT, model_version TEXT, model_hash TEXT, seed INTEGER, code_version TEXT NOT NULL,
        product_version TEXT NOT NULL, created TEXT NOT NULL, compute_seconds REAL NOT NULL)"""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            c.execute(self.SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> dict | None:
        row = self._conn().execute("SELECT * FROM products WHERE key = ?", (key,)).fetchone()
        return dict(row) if row else None

    def put(self, entry: dict) -> None:
        cols = ", ".join(entry)
        marks = ", ".join("?" for _ in entry)
        with self._conn() as c:
            c.execute(f"INSERT OR REPLACE INTO products ({cols}) VALUES ({marks})", tuple(entry.values()))

    def delete(self, key: str) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM products WHERE key = ?", (key,))

    def all(self) -> list[dict]:
        return [dict(r) for r in self._conn().execute("SELECT * FROM products ORDER BY created DESC")]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ProductService:
    """Run-or-load of products on the simulated world (the real-data source plugs in the same way)."""

    def __init__(self, root: Path | None = None, world=None):
        """`world`: the simulated World (default), or a unique_core.io.realdata.RealDataSource."""
        self.world = world or World()
        default = cache_dir() / ("products" if self.simulated else f"products-real-{self.world.identity}")
        self.root = Path(root) if root else default
        self.catalog = Catalog(self.root / "catalog.sqlite")

    @property
    def simulated(self) -> bool:
        return getattr(self.world, "simulated", True)

    # ------------------------------------------------------------------ identity and provenance
    def _model_info(self, product: str) -> dict:
        """Name, version and hash of the model a product depends on (None for model-free products)."""
        if product in ("gpp_m", "gpp_l"):
            from unique_core.gpp.registry import load_model

            m = load_model("modis" if product == "gpp_m" else "landsat")
            return {"model": f"gpp_{m.sensor}", "model_version": str(m.config.get("unique_version", "")),
                    "model_hash": m.digest}
        if product in ("s1", "s2"):
            from unique_core.downscale import registry
            from unique_core.gpp.registry import load_model

            m = registry.load(product)
            wfile = registry.model_dir(product) / "weights.safetensors"
            # weights and config (the config holds the calibrated spread)
            digest = hashlib.sha256(wfile.read_bytes() + wfile.with_name("config.json").read_bytes()).hexdigest()[:16]
            return {"model": f"downscale_{product}", "model_version": __version__,
                    "model_hash": f"{digest}+{load_model('modis').digest}"}
        return {"model": None, "model_version": None, "model_hash": None}

    def _validate(self, product: str, date: dt.date | None, region: Region | None) -> tuple[ProductSpec, Region]:
        if product not in SPECS:
            raise ProductError(f"unknown product {product!r}; choose one of: {', '.join(SPECS)}")
        spec = SPECS[product]
        if not self.simulated and product in ("gpp_true", "gpp_true_500m"):
            raise ProductError("the true GPP exists only for the simulated world, not for real data")
        if spec.dynamic:
            if date is None:
                raise ProductError(f"product {product!r} changes from day to day: give a date")
            if self.simulated:  # real data has the dates its files have
                check_date(date)
        if region is None or region is FRAME or region.key == FRAME.key:
            if not spec.country:
                raise ProductError(f"product {product!r} is made per region (at most 30 x 30 km), not for "
                                   "the whole country")
            region = FRAME
        return spec, region

    def key(self, product: str, date: dt.date | None, region: Region, params: dict) -> str:
        spec = SPECS[product]
        source = self.world.seed if self.simulated else self.world.identity
        ident = _canonical({"product": product, "version": spec.version, "region": region.key,
                            "date": date.isoformat() if date else None, "params": params, "source": source})
        return hashlib.sha256(ident.encode()).hexdigest()

    def _path(self, product: str, date: dt.date | None, region: Region, key: str) -> Path:
        # product is one of SPECS, region.key is made of integers, date is a date: nothing a user typed
        stem = date.isoformat() if date else "static"
        path = (self.root / product / region.key / f"{stem}_{key[:16]}.tif").resolve()
        if self.root.resolve() not in path.parents:
            raise ProductError("refusing a product path outside the cache folder")
        return path

    def _params(self, product: str, params: dict | None) -> dict:
        p = dict(params or {})
        if product in ("s1", "s2"):
            p = {**DIFFUSION_DEFAULTS, **p}
            unknown = set(p) - set(DIFFUSION_DEFAULTS)
            if unknown:
                raise ProductError(f"unknown parameters {sorted(unknown)} for {product}; known: {sorted(DIFFUSION_DEFAULTS)}")
            if not 1 <= int(p["members"]) <= 64 or not 1 <= int(p["steps"]) <= 1000:
                raise ProductError("members must be 1-64 and steps 1-1000")
            p = {"members": int(p["members"]), "steps": int(p["steps"]), "seed": int(p["seed"]),
                 "conserve": bool(p["conserve"])}
        elif p:
            raise ProductError(f"product {product!r} takes no parameters (got {sorted(p)})")
        return p

    # ------------------------------------------------------------------ run or load
    def lookup(self, product: str, date: dt.date | None, region: Region | None, params: dict | None = None
               ) -> dict | None:
        """The catalog entry of a valid, current cached product, or None."""
        spec, region = self._validate(product, date, region)
        p = self._params(product, params)
        entry = self.catalog.get(self.key(product, date, region, p))
        if entry and self._entry_ok(entry, product, spec):
            return entry
        return None

    def _entry_ok(self, entry: dict, product: str, spec: ProductSpec) -> bool:
        path = Path(entry["path"])
        if not path.exists() or path.stat().st_size != entry["bytes"]:
            return False
        if entry["product_version"] != spec.version:
            return False
        info = self._model_info(product)
        if info["model_hash"] != entry["model_hash"]:
            return False
        return _sha256(path) == entry["sha256"]

    def get(self, product: str, date: dt.date | None, region: Region | None, params: dict | None = None, *,
            progress: Progress = None) -> xr.DataArray:
        """The product as a DataArray (attrs: units, provenance, 'cache' = 'hit' or 'computed')."""
        spec, region = self._validate(product, date, region)
        p = self._params(product, params)
        key = self.key(product, date, region, p)
        path = self._path(product, date, region, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = self.catalog.get(key)
        if entry and self._entry_ok(entry, product, spec):
            return self._load(entry, "hit")
        with FileLock(str(path) + ".lock", timeout=3600):
            entry = self.catalog.get(key)  # another process may have made it while we waited
            if entry and self._entry_ok(entry, product, spec):
                return self._load(entry, "hit")
            if entry:
                self.catalog.delete(key)
            t0 = time.time()
            da = self._compute(product, date, region, p, progress)
            seconds = time.time() - t0
            info = self._model_info(product)
            write_cog(da, path, tags={"product": product, "date": date.isoformat() if date else "",
                                      "region": region.key, "model_hash": str(info["model_hash"]),
                                      "source": "simulated" if self.simulated else "real"},
                      overview_resampling="nearest" if product == "landcover" else "average",
                      nodata=0 if product == "landcover" else None)
            entry = {"key": key, "product": product, "region_key": region.key, "region_name": region.name,
                     "date": date.isoformat() if date else None, "params": _canonical(p), "path": str(path),
                     "bytes": path.stat().st_size, "sha256": _sha256(path), **info, "seed": self.world.seed,
                     "code_version": __version__, "product_version": spec.version,
                     "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "compute_seconds": round(seconds, 3)}
            self.catalog.put(entry)
            return self._load(entry, "computed")

    def _load(self, entry: dict, how: str) -> xr.DataArray:
        try:
            da = read_geotiff(entry["path"])
        except DataError:
            self.catalog.delete(entry["key"])
            raise ProductError(f"cached product {entry['product']} could not be read; ask again to recompute it")
        da.attrs.update({"cache": how, "product": entry["product"], "provenance": {
            k: entry[k] for k in ("model", "model_version", "model_hash", "seed", "code_version", "created",
                                  "compute_seconds")}})
        da.name = entry["product"]
        return da

    # ------------------------------------------------------------------ making products
    def _compute(self, product: str, date, region: Region, p: dict, progress: Progress) -> xr.DataArray:
        w = self.world
        if not self.simulated:
            w.check(product, date, region)  # says what is missing, before any work
        country = region is FRAME or region.key == FRAME.key
        if product == "gpp_m":
            from unique_core.gpp.maps import gpp_m_map
            from unique_core.gpp.registry import load_model

            return gpp_m_map(load_model("modis"), w, date, None if country else region,
                             (lambda i, n: progress("MODIS days", i, n)) if progress else None)
        if product == "gpp_l":
            from unique_core.gpp.maps import gpp_l_map
            from unique_core.gpp.registry import load_model

            return gpp_l_map(load_model("landsat"), w, region, date,
                             (lambda i, n: progress("Landsat scenes", i, n)) if progress else None)
        if product in ("s1", "s2"):
            from unique_core.downscale import registry
            from unique_core.downscale.infer import downscale_region
            from unique_core.gpp.registry import load_model

            res = downscale_region(registry.load(product), w, region, date, load_model("modis"),
                                   members=p["members"], steps=p["steps"], seed=p["seed"], conserve=p["conserve"],
                                   progress=progress)
            std = res.std if res.std is not None else np.zeros_like(res.mean)
            return dataarray(np.stack([res.mean, std]), region.fine, name=product, units="gC m-2 d-1",
                             band=["mean", "std"], long_name=SPECS[product].description)
        if product == "gpp_true_500m" and country:
            day = w.day_country(date)
            sc = w.static_coarse_country()
            return dataarray(np.where(sc.land > 0.5, day.gpp, np.nan).astype(np.float32), FRAME.coarse,
                             name=product, units="gC m-2 d-1", long_name=SPECS[product].description)
        if product == "modis_ndvi" and country:
            from unique_core.qa import modis_clear
            from unique_core.world import sensors

            m = w.modis_country(date)
            red = m["sur_refl_b01"] * sensors.MODIS_SCALE
            nir = m["sur_refl_b02"] * sensors.MODIS_SCALE
            ok = modis_clear(m["state_1km"]) & (m["sur_refl_b01"] != sensors.MODIS_FILL)
            return dataarray(np.where(ok, (nir - red) / np.maximum(nir + red, 1e-6), np.nan).astype(np.float32),
                             FRAME.coarse, name=product, units="1", long_name=SPECS[product].description)
        from unique_core.world.layers import make_layer

        return make_layer(w, product, region, date)

    # ------------------------------------------------------------------ what is there
    def list(self) -> list[dict]:
        """Catalog entries (newest first), each with 'valid' saying whether it would be served."""
        out = []
        for e in self.catalog.all():
            spec = SPECS.get(e["product"])
            path = Path(e["path"])
            e["valid"] = bool(spec) and path.exists() and path.stat().st_size == e["bytes"] and \
                e["product_version"] == spec.version
            out.append(e)
        return out

    def available(self, product: str) -> tuple[bool, str]:
        """Whether the product can be made here, and if not, why (missing model)."""
        from unique_core.errors import ModelError

        try:
            self._model_info(product)
            return True, ""
        except ModelError as exc:
            return False, str(exc)
