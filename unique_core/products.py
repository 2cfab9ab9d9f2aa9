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

The cache heals (unique_core.cache): a COG whose size or SHA-256 disagrees with its catalogue
row, or that cannot be read, is quarantined and recomputed; a corrupt catalogue is quarantined
and rebuilt from the COGs on disk, each of which carries its whole catalogue row in its GeoTIFF
tags; a COG whose row was lost (a writer killed between rename and catalogue update) is adopted.
Start-up removes killed writers' temporaries; after each new product the cache is held to
UNIQUE_CACHE_MAX_GB by LRU eviction that skips entries being read or written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
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
from unique_core import cache
from unique_core.atomic import StorageError, storage_error
from unique_core.config import cache_dir
from unique_core.errors import DataError, ProductError
from unique_core.grid import FRAME, Region
from unique_core.io.geotiff import read_geotiff, write_cog
from unique_core.raster import dataarray
from unique_core.sources import DataSource
from unique_core.world import World  # the default source: the simulation

Progress = Callable[[str, int, int], None] | None
log = logging.getLogger("unique.products")


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
    ProductSpec("s3", "S3 downscaled GPP (30 m, two-sided Landsat)", "30 m", True, "1", "gC m-2 d-1",
                "Diffusion fusion of GPP_M, DEM, land cover and GPP_L from Landsat interpolated between the views "
                "before and after the day (Step 2, S3); bands mean, std."),
    ProductSpec("s3_past", "S3 downscaled GPP (30 m, past Landsat only)", "30 m", True, "1", "gC m-2 d-1",
                "S3 with only the Landsat views on or before the day (near real time); bands mean, std."),
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
# diffusion products -> the shipped model that makes them (s3_past: S3's past-only variant)
DIFFUSION_PRODUCTS = {"s1": "s1", "s2": "s2", "s3": "s3", "s3_past": "s3"}


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


ENTRY_FIELDS = ("key", "product", "region_key", "region_name", "date", "params", "path", "bytes", "sha256",
                "model", "model_version", "model_hash", "seed", "code_version", "product_version", "created",
                "compute_seconds")
TAG_PREFIX = "unique_"  # GeoTIFF tags holding the catalogue row (all fields but path, bytes, sha256)
_TAGGED = tuple(f for f in ENTRY_FIELDS if f not in ("path", "bytes", "sha256"))


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """A damaged database file (not a busy, full or read-only one)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or (
        type(exc) is sqlite3.DatabaseError and not name)


class Catalog:
    """The SQLite index of cached products (one file, safe across processes), healing itself.

    A catalogue found corrupt ("file is not a database", "disk image is malformed") is moved to
    the quarantine and made again, then filled by `rebuild` (the product service reads the rows
    back from its COGs' tags); the operation that met the damage is retried once.
    """

    SCHEMA = """CREATE TABLE IF NOT EXISTS products (
        key TEXT PRIMARY KEY, product TEXT NOT NULL, region_key TEXT NOT NULL, region_name TEXT,
        date TEXT, params TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
        model TEXT, model_version TEXT, model_hash TEXT, seed INTEGER, code_version TEXT NOT NULL,
        product_version TEXT NOT NULL, created TEXT NOT NULL, compute_seconds REAL NOT NULL,
        last_used REAL)"""

    def __init__(self, path: Path, rebuild: Callable[["Catalog"], int] | None = None):
        self.path = Path(path)
        # without the service (cache.info/evict), rows are checked by their place on disk only
        self.rebuild = rebuild or (lambda cat: rebuild_from_tags(cat, cat.path.parent))
        self._local = threading.local()
        self._heal_lock = threading.Lock()
        self._generation = 0  # bumped by each heal, so other threads reconnect to the new file
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise (storage_error(self.path, exc) or exc) from exc
        self._run(self._init_schema)

    @staticmethod
    def _init_schema(c: sqlite3.Connection) -> None:
        with c:
            c.execute(Catalog.SCHEMA)
            cols = {r[1] for r in c.execute("PRAGMA table_info(products)")}
            if "last_used" not in cols:  # a catalogue of an older version
                c.execute("ALTER TABLE products ADD COLUMN last_used REAL")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", -1) != self._generation:
            conn.close()
            conn = None
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
            self._local.generation = self._generation
        return conn

    def _run(self, op: Callable[[sqlite3.Connection], object]):
        for attempt in (0, 1):
            try:
                return op(self._conn())
            except sqlite3.DatabaseError as exc:
                if attempt == 0 and _is_corrupt(exc):
                    self._heal(str(exc))
                    continue
                name = getattr(exc, "sqlite_errorname", "")
                if name in ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR"):
                    code = {"SQLITE_FULL": 28, "SQLITE_READONLY": 30}.get(name, 13)
                    raise (storage_error(self.path, OSError(code, str(exc))) or exc) from exc
                raise

    def _heal(self, reason: str) -> None:
        """Quarantine a damaged catalogue and make it again from the products on disk."""
        with self._heal_lock, FileLock(str(self.path) + ".heal.lock", timeout=600):
            if self._intact():  # another thread or process healed it while we waited
                self._generation += 1
                return
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
                self._local.conn = None
            moved = cache.quarantine(self.path, f"corrupt catalogue: {reason}")
            for side in ("-wal", "-shm"):  # the damaged file's journal must not be replayed into the new one
                p = Path(str(self.path) + side)
                if p.exists():
                    cache.quarantine(p, f"journal of a corrupt catalogue: {reason}")
            self._generation += 1
            self._init_schema(self._conn())
            n = self.rebuild(self) if self.rebuild else 0
            log.warning("catalogue %s was corrupt (%s): quarantined as %s, rebuilt with %d entries from disk",
                        self.path, reason, moved, n)

    def _intact(self) -> bool:
        if not self.path.exists():
            return False
        try:
            c = sqlite3.connect(self.path, timeout=30.0)
            try:
                ok = c.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                c.execute("SELECT count(*) FROM products").fetchone()
                return ok
            finally:
                c.close()
        except sqlite3.DatabaseError:
            return False

    def get(self, key: str) -> dict | None:
        row = self._run(lambda c: c.execute("SELECT * FROM products WHERE key = ?", (key,)).fetchone())
        return dict(row) if row else None

    def put(self, entry: dict) -> None:
        cols = ", ".join(entry)
        marks = ", ".join("?" for _ in entry)

        def op(c):
            with c:
                c.execute(f"INSERT OR REPLACE INTO products ({cols}) VALUES ({marks})", tuple(entry.values()))
        self._run(op)

    def touch(self, key: str) -> None:
        """Record a use (for least-recently-used eviction); a busy or read-only catalogue skips it."""
        def op(c):
            with c:
                c.execute("UPDATE products SET last_used = ? WHERE key = ?", (time.time(), key))
        try:
            self._run(op)
        except (StorageError, sqlite3.OperationalError):
            pass  # an LRU hint is not worth failing a read for

    def delete(self, key: str) -> None:
        def op(c):
            with c:
                c.execute("DELETE FROM products WHERE key = ?", (key,))
        self._run(op)

    def all(self) -> list[dict]:
        return [dict(r) for r in self._run(
            lambda c: c.execute("SELECT * FROM products ORDER BY created DESC").fetchall())]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ProductService:
    """Run-or-load of products on the simulated world (the real-data source plugs in the same way)."""

    def __init__(self, root: Path | None = None, world: DataSource | None = None):
        """`world`: the simulated World (default), or a unique_core.io.realdata.RealDataSource."""
        self.world: DataSource = world or World()
        default = cache_dir() / ("products" if self.simulated else f"products-real-{self.world.identity}")
        self.root = Path(root) if root else default
        _clean_once(self._cache_top())
        self.catalog = Catalog(self.root / "catalog.sqlite", rebuild=self.rebuild_catalog)

    def _cache_top(self) -> Path:
        """The cache folder this service's products count against (UNIQUE_CACHE_DIR, or its own root)."""
        top = cache_dir().resolve()
        return top if top in self.root.resolve().parents else self.root.resolve()

    @property
    def simulated(self) -> bool:
        return getattr(self.world, "simulated", True)

    # ------------------------------------------------------------------ identity and provenance
    def model_info(self, product: str) -> dict:
        """Name, version and hash of the model a product depends on (None for model-free products)."""
        if product in ("gpp_m", "gpp_l"):
            from unique_core.gpp.registry import load_model

            m = load_model("modis" if product == "gpp_m" else "landsat")
            return {"model": f"gpp_{m.sensor}", "model_version": str(m.config.get("unique_version", "")),
                    "model_hash": m.digest}
        if product in DIFFUSION_PRODUCTS:
            from unique_core.downscale import registry
            from unique_core.gpp.registry import load_model

            name = DIFFUSION_PRODUCTS[product]
            m = registry.load(name)
            wfile = registry.model_dir(name) / "weights.safetensors"
            # weights and config (the config holds the calibrated spread)
            digest = hashlib.sha256(wfile.read_bytes() + wfile.with_name("config.json").read_bytes()).hexdigest()[:16]
            return {"model": f"downscale_{name}", "model_version": __version__,
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
            self.world.check_date(date)  # the simulated period; real data has the dates its files have
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
        if product in DIFFUSION_PRODUCTS:
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
        """Whether an entry may be served: current (else recomputed) and whole (else quarantined, recomputed)."""
        if entry["product_version"] != spec.version:
            return False
        info = self.model_info(product)
        if info["model_hash"] != entry["model_hash"]:
            return False
        path = Path(entry["path"])
        if not path.exists():
            return False
        size = path.stat().st_size
        if size != entry["bytes"]:
            cache.quarantine(path, f"{size} bytes, the catalogue recorded {entry['bytes']}", root=self._cache_top())
            return False
        if _sha256(path) != entry["sha256"]:
            cache.quarantine(path, "SHA-256 differs from the one recorded in the catalogue", root=self._cache_top())
            return False
        return True

    def get(self, product: str, date: dt.date | None, region: Region | None, params: dict | None = None, *,
            progress: Progress = None) -> xr.DataArray:
        """The product as a DataArray (attrs: units, provenance, 'cache' = 'hit' or 'computed').

        Raises StorageError (one line, nothing half-written, older entries intact) when the
        cache folder is full or read-only.
        """
        spec, region = self._validate(product, date, region)
        p = self._params(product, params)
        key = self.key(product, date, region, p)
        path = self._path(product, date, region, key)
        hit = self._try_hit(key, product, spec, path, shared_lock=True)
        if hit is not None:
            return hit
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(path) + ".lock", timeout=3600)
            lock.acquire()
        except OSError as exc:
            raise (storage_error(path, exc) or exc) from exc
        try:
            # another process may have made it while we waited (we hold the exclusive lock: no shared one)
            hit = self._try_hit(key, product, spec, path, shared_lock=False)
            if hit is not None:
                return hit
            if self.catalog.get(key):
                self.catalog.delete(key)
            t0 = time.time()
            da = self._compute(product, date, region, p, progress)
            seconds = time.time() - t0
            info = self.model_info(product)
            entry = {"key": key, "product": product, "region_key": region.key, "region_name": region.name,
                     "date": date.isoformat() if date else None, "params": _canonical(p), "path": str(path),
                     "bytes": 0, "sha256": "", **info, "seed": self.world.seed,
                     "code_version": __version__, "product_version": spec.version,
                     "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "compute_seconds": round(seconds, 3)}
            write_cog(da, path, tags={"product": product, "date": date.isoformat() if date else "",
                                      "region": region.key, "model_hash": str(info["model_hash"]),
                                      "source": "simulated" if self.simulated else "real", **_entry_tags(entry)},
                      overview_resampling="nearest" if product == "landcover" else "average",
                      nodata=0 if product == "landcover" else None)
            entry.update(bytes=path.stat().st_size, sha256=_sha256(path), last_used=time.time())
            self.catalog.put(entry)
            out = self._load(entry, "computed")
        finally:
            lock.release()
        cache.evict(self._cache_top(), keep={key})
        return out

    def _try_hit(self, key: str, product: str, spec: ProductSpec, path: Path, *, shared_lock: bool
                 ) -> xr.DataArray | None:
        """The cached product if whole and current (adopting an uncatalogued COG), else None."""
        if not path.parent.is_dir():
            return None  # nothing of this product and region was ever written here
        with cache.entry_lock(path, shared=True) if shared_lock else _nullcontext(True) as held:
            if not held:
                return None  # being written or evicted right now: take the writer's path
            entry = self.catalog.get(key)
            if entry is None and path.exists():
                entry = self._adopt(path, key)
            if entry and self._entry_ok(entry, product, spec):
                try:
                    da = self._load(entry, "hit")
                except ProductError:
                    return None
                self.catalog.touch(key)
                return da
        return None

    def _adopt(self, path: Path, key: str) -> dict | None:
        """The catalogue row of a whole COG whose row is missing (read from its tags), put back; or None."""
        entry = _entry_from_tags(path)
        if entry is None or entry["key"] != key:
            return None
        try:
            self.catalog.put(entry)
        except StorageError:
            pass  # a read-only cache can still serve it
        return entry

    def rebuild_catalog(self, catalog: "Catalog | None" = None) -> int:
        """Fill the catalogue from the COGs under the root (their tags); returns how many were indexed.

        Beyond its place on disk, a COG's key must be the key this service computes from its
        tags (same product, region, date, parameters, world), so no file is filed under another's.
        """
        def same_key(entry: dict) -> bool:
            try:
                date = dt.date.fromisoformat(entry["date"]) if entry["date"] else None
                _spec, region = self._validate(entry["product"], date, _region_of(entry))
                return self.key(entry["product"], date, region, json.loads(entry["params"])) == entry["key"]
            except (ValueError, TypeError, ProductError):
                return False
        return rebuild_from_tags(catalog or self.catalog, self.root, same_key)

    def _load(self, entry: dict, how: str) -> xr.DataArray:
        try:
            da = read_geotiff(entry["path"])
        except DataError as exc:
            self.catalog.delete(entry["key"])
            cache.quarantine(entry["path"], f"unreadable GeoTIFF: {exc}", root=self._cache_top())
            raise ProductError(f"cached product {entry['product']} could not be read; it was moved to the "
                               "quarantine: ask again to recompute it") from exc
        da.attrs.update({"cache": how, "product": entry["product"], "provenance": {
            k: entry[k] for k in ("model", "model_version", "model_hash", "seed", "code_version", "created",
                                  "compute_seconds")}})
        da.name = entry["product"]
        return da

    # ------------------------------------------------------------------ making products
    def _compute(self, product: str, date, region: Region, p: dict, progress: Progress) -> xr.DataArray:
        w = self.world
        if not self.simulated:  # says what is missing, before any work (S3 needs S2's inputs and Landsat)
            for need in (("s2", "gpp_l") if DIFFUSION_PRODUCTS.get(product) == "s3" else (product,)):
                w.check(need, date, region)
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
        if product in DIFFUSION_PRODUCTS:
            from unique_core.downscale import registry
            from unique_core.downscale.infer import downscale_region
            from unique_core.gpp.registry import load_model

            res = downscale_region(registry.load(DIFFUSION_PRODUCTS[product]), w, region, date, load_model("modis"),
                                   members=p["members"], steps=p["steps"], seed=p["seed"], conserve=p["conserve"],
                                   progress=progress, variant="past" if product == "s3_past" else "two_sided")
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
            from unique_core.sources import formats as sensors  # the MOD09GA encoding

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
            self.model_info(product)
            return True, ""
        except ModelError as exc:
            return False, str(exc)


# ---------------------------------------------------------------------- helpers of the healing cache
_CLEANED: set[Path] = set()


def _clean_once(top: Path) -> None:
    """Remove killed writers' temporaries under `top`, once per process (start-up of the service)."""
    if top in _CLEANED:
        return
    _CLEANED.add(top)
    try:
        cache.clean(top)
    except OSError as exc:  # a read-only cache still serves what it has
        log.warning("could not clean %s: %s", top, exc)


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def _entry_tags(entry: dict) -> dict[str, str]:
    """The catalogue row as GeoTIFF tags (JSON values), so a lost catalogue can be rebuilt."""
    return {TAG_PREFIX + f: json.dumps(entry[f]) for f in _TAGGED}


def _entry_from_tags(path: Path) -> dict | None:
    """The catalogue row a COG carries in its tags, with its size and SHA-256; None if it has none."""
    import rasterio

    try:
        with rasterio.open(path) as src:
            tags = src.tags()
    except Exception:  # noqa: BLE001 - rasterio raises several types for damaged files
        return None
    try:
        entry = {f: json.loads(tags[TAG_PREFIX + f]) for f in _TAGGED}
    except (KeyError, ValueError):
        return None
    entry.update(path=str(path.resolve()), bytes=path.stat().st_size, sha256=_sha256(path), last_used=None)
    return {k: entry[k] for k in (*ENTRY_FIELDS, "last_used")}


def _region_of(entry: dict) -> Region:
    if entry["region_key"] == FRAME.key:
        return FRAME
    b0, b1, nr, nc = (int(v) for v in entry["region_key"][1:].replace("x", "_").split("_"))
    return Region(entry["region_name"] or "region", b0, b1, nr, nc)


def _expected_path(root: Path, entry: dict) -> Path:
    stem = entry["date"] or "static"
    return (root / entry["product"] / entry["region_key"] / f"{stem}_{entry['key'][:16]}.tif").resolve()


def rebuild_from_tags(catalog: Catalog, root: Path, check: Callable[[dict], bool] | None = None) -> int:
    """Index the COGs under `root` from their tags; returns how many rows were put back.

    A COG is indexed only if its tags are complete, name a known product, and its path is the
    one its own key, product, region and date give; `check` may refuse more.
    """
    root = Path(root)
    n = 0
    for name in SPECS:
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*/*.tif")):
            if cache.is_writer_temporary(path.name):
                continue
            entry = _entry_from_tags(path)
            if entry is None or entry["product"] != name or _expected_path(root, entry) != path.resolve():
                continue
            if check is not None and not check(entry):
                continue
            catalog.put(entry)
            n += 1
    return n
