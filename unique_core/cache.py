"""Caches that heal: checked reads, quarantine, clean-up of killed writers, size limit and LRU eviction.

One place for what every cache file of UNIQUE needs (products' COGs and catalogue, the world
cache's `.npz` files, region-year series, Step 2 shards):

- **Checked reads.** `load_npz` reads every array in full, so the zip's CRC-32 of each member
  (recorded when it was written) is verified; `read_csv` parses and checks columns; products
  check size and SHA-256 recorded in their catalogue. A file that fails is never served.
- **Quarantine.** A bad file is moved (not deleted) into `<cache>/quarantine/`, with one JSON
  line in `quarantine/log.jsonl` saying when, where from and why, and a warning in the log; the
  caller then recomputes it. Quarantined files are the first thing eviction removes.
- **Killed writers.** `clean()` removes the temporaries of writers that died (kill -9, power
  loss): only inside the cache folder, only files matching the writers' own naming patterns
  (`unique_core.atomic`'s `.<name>.<8 chars><suffix>`, GDAL's `.ovr.tmp` beside one, the
  distributed writer's `.<stem>.stage.tif`), only older than `min_age_s`, and never one that a
  live writer still holds under its lock.
- **Size limit.** `UNIQUE_CACHE_MAX_GB` (default 20 GB, a laptop's spare room): `evict()`
  removes quarantined files, then products least recently used first, until the cache fits;
  an entry being read (shared lock) or written (exclusive lock) is skipped. The world cache
  and shards are base data that products are made from and are not evicted.
- **`info()`**: size by kind, entries and bytes by product, the quarantine, temporaries left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import json
import logging
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from unique_core.atomic import fcntl, temporary_is_held, write_bytes
from unique_core.config import cache_dir
from unique_core.errors import UniqueError

log = logging.getLogger("unique.cache")

QUARANTINE = "quarantine"
QUARANTINE_LOG = "log.jsonl"
SAFE_AGE_S = 3600.0  # a temporary older than this and unlocked cannot belong to a live writer
DEFAULT_MAX_GB = 20.0

# The writers' own naming patterns (see unique_core.atomic and downscale.distributed): nothing else is touched.
_ATOMIC_TMP = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9]{1,8})$")
_GDAL_OVR_TMP = re.compile(r"^(?P<base>\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]{1,8})\.ovr\.tmp$")
_STAGE_TMP = re.compile(r"^\..+\.stage\.tif$")


class CacheConfigError(UniqueError, ValueError):
    """A cache setting (environment variable) that cannot be used."""


# ------------------------------------------------------------------------------ quarantine
def _root(root: str | os.PathLike | None) -> Path:
    return Path(root).resolve() if root is not None else cache_dir().resolve()


def _cache_root_of(path: Path) -> Path:
    """The cache folder that holds `path` (UNIQUE_CACHE_DIR if it does, else the file's own folder)."""
    top = cache_dir().resolve()
    return top if top in path.resolve().parents else path.resolve().parent


def quarantine(path: str | os.PathLike, reason: str, *, root: str | os.PathLike | None = None) -> Path | None:
    """Move a bad cache file into `<root>/quarantine/` and log why; returns its new path.

    `root` defaults to the cache folder holding the file. None if the file was already gone
    (another process moved it first).
    """
    path = Path(path)
    top = Path(root).resolve() if root is not None else _cache_root_of(path)
    qdir = top / QUARANTINE
    qdir.mkdir(parents=True, exist_ok=True)
    try:
        rel = path.resolve().relative_to(top).as_posix()
    except ValueError:
        rel = path.name
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%f")
    dest = qdir / f"{stamp}-{rel.replace('/', '__')}"
    try:
        size = path.stat().st_size
        os.replace(path, dest)
    except FileNotFoundError:
        return None
    record = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "file": str(path),
              "moved_to": dest.name, "bytes": size, "reason": reason}
    with contextlib.suppress(OSError):  # the log is a courtesy: a full disk must not hide the real error
        with open(qdir / QUARANTINE_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    log.warning("quarantined %s (%s) -> %s", path, reason, dest)
    return dest


def quarantine_records(root: str | os.PathLike | None = None) -> list[dict]:
    """The quarantine log, oldest first (records whose file was purged are kept)."""
    p = _root(root) / QUARANTINE / QUARANTINE_LOG
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


# ------------------------------------------------------------------------------ checked reads and writes
def load_npz(path: str | os.PathLike, fields: tuple[str, ...] | list[str] | None = None) -> dict[str, np.ndarray] | None:
    """The arrays of an `.npz` cache file, each read in full (CRC-32 checked), or None.

    None when the file is missing, or when it is truncated, corrupt, holds pickles or lacks one
    of `fields`: then it has been quarantined and the caller recomputes it.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(fields) if fields is not None else list(z.files)
            missing = [f for f in names if f not in z.files]
            if missing:
                raise KeyError(f"missing arrays {missing}")
            return {f: z[f] for f in names}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        quarantine(path, f"unreadable npz: {type(exc).__name__}: {exc}")
        return None


def npz_intact(path: str | os.PathLike, fields: tuple[str, ...] | list[str] = ()) -> bool:
    """A cheap structural check of a large `.npz` (zip directory readable, `fields` present).

    False when missing; a bad file is quarantined. The CRC of each member is checked later, when
    `load_npz` (or numpy) reads it.
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4] if n.endswith(".npy") else n for n in zf.namelist()}
        missing = [f for f in fields if f not in names]
        if missing:
            raise KeyError(f"missing arrays {missing}")
        return True
    except FileNotFoundError:
        return False
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        quarantine(path, f"unreadable npz: {type(exc).__name__}: {exc}")
        return False


def save_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], *, compressed: bool = False) -> Path:
    """Write arrays as an `.npz` (no pickles) atomically; StorageError if the disk refuses."""
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    write_bytes(path, buf.getbuffer())
    return Path(path)


def read_csv(path: str | os.PathLike, columns: tuple[str, ...] = ()):
    """A cached CSV as a DataFrame, or None (missing, or unreadable / lacking `columns`: quarantined)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        return None
    try:
        df = pd.read_csv(path)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"missing columns {missing}")
        return df
    except FileNotFoundError:
        return None
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        quarantine(path, f"unreadable csv: {type(exc).__name__}: {exc}")
        return None


# ------------------------------------------------------------------------------ locks
@contextlib.contextmanager
def entry_lock(path: str | os.PathLike, *, shared: bool, blocking: bool = False) -> Iterator[bool]:
    """Hold a shared (reader) or exclusive (writer, evictor) flock on `<path>.lock`; yields acquired.

    The same lock file the product service's writer lock (filelock.FileLock) uses, so a reader
    holding it shared stops eviction, and a writer holding it stops readers taking it.
    """
    if fcntl is None:  # pragma: no cover - no flock: fall back to "always acquired"
        yield True
        return
    lock = Path(str(path) + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield True  # a read-only cache: nobody can write or evict it, so reading it is safe
            return
        raise
    try:
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(fd, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------ clean
@dataclass
class CleanReport:
    removed: list[Path] = field(default_factory=list)
    bytes: int = 0
    live: int = 0  # temporaries skipped because a writer still holds them
    young: int = 0  # temporaries skipped because they are younger than the safe age
    quarantine_purged: int = 0

    def to_dict(self) -> dict:
        return {"removed": [str(p) for p in self.removed], "bytes": self.bytes, "live": self.live,
                "young": self.young, "quarantine_purged": self.quarantine_purged}


def is_writer_temporary(name: str) -> bool:
    """Whether a file name is one of the writers' temporaries (and nothing else)."""
    return bool(_ATOMIC_TMP.match(name) or _GDAL_OVR_TMP.match(name) or _STAGE_TMP.match(name))


def _temporaries(top: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(top):  # followlinks=False: never leave the cache folder
        if Path(folder) == top:
            dirs[:] = [d for d in dirs if d != QUARANTINE]
        for name in files:
            if is_writer_temporary(name):
                p = Path(folder) / name
                if not p.is_symlink():
                    yield p


def clean(root: str | os.PathLike | None = None, *, min_age_s: float = SAFE_AGE_S,
          purge_quarantine: bool = False) -> CleanReport:
    """Remove killed writers' temporaries under the cache folder `root` (default UNIQUE_CACHE_DIR).

    Only files matching the writers' naming patterns, older than `min_age_s` seconds and not
    held by a live writer. `purge_quarantine` also empties the quarantine (its log is kept).
    """
    top = _root(root)
    report = CleanReport()
    if not top.is_dir():
        return report
    now = time.time()
    for p in _temporaries(top):
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if now - st.st_mtime < min_age_s:
            report.young += 1
            continue
        m = _GDAL_OVR_TMP.match(p.name)
        owner = p.with_name(m["base"]) if m else p
        if owner.exists() and temporary_is_held(owner):
            report.live += 1
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            report.removed.append(p)
            report.bytes += st.st_size
    if purge_quarantine:
        for p in (top / QUARANTINE).glob("*"):
            if p.name != QUARANTINE_LOG and p.is_file():
                with contextlib.suppress(FileNotFoundError):
                    report.bytes += p.stat().st_size
                    p.unlink()
                    report.quarantine_purged += 1
    if report.removed:
        log.info("removed %d temporaries of killed writers (%d bytes) under %s", len(report.removed),
                 report.bytes, top)
    return report


# ------------------------------------------------------------------------------ size, info, eviction
def max_bytes() -> int:
    """The cache size limit from UNIQUE_CACHE_MAX_GB (default 20 GB), in bytes."""
    text = os.environ.get("UNIQUE_CACHE_MAX_GB", "").strip()
    if not text:
        return int(DEFAULT_MAX_GB * 1e9)
    try:
        gb = float(text)
    except ValueError:
        gb = float("nan")
    if not gb > 0 or gb == float("inf"):
        raise CacheConfigError(f"UNIQUE_CACHE_MAX_GB={text!r} is not a positive number of gigabytes; "
                               "set it to e.g. 20, or unset it for the default")
    return int(gb * 1e9)


def _kind(rel: Path) -> str:
    first = rel.parts[0] if rel.parts else ""
    if first == QUARANTINE:
        return "quarantine"
    if first == "world":
        return "world"
    if first.startswith("products"):
        return "series" if len(rel.parts) > 1 and rel.parts[1] == "series" else "products"
    if first.startswith("downscale-data"):
        return "shards"
    if first.startswith("flux-network"):
        return "flux network"
    return "other"


def _sizes(top: Path) -> tuple[int, dict[str, int], int]:
    total, kinds, temps = 0, {}, 0
    for folder, _dirs, files in os.walk(top):
        for name in files:
            p = Path(folder) / name
            try:
                size = p.lstat().st_size
            except FileNotFoundError:
                continue
            total += size
            k = _kind(p.relative_to(top))
            kinds[k] = kinds.get(k, 0) + size
            temps += is_writer_temporary(name)
    return total, kinds, temps


def _catalogs(top: Path):
    """The product catalogues under `top` (each products*/catalog.sqlite, or `top` itself)."""
    from unique_core.products import Catalog

    paths = sorted(top.glob("products*/catalog.sqlite"))
    if (top / "catalog.sqlite").exists():
        paths.append(top / "catalog.sqlite")
    return [Catalog(p) for p in paths]


def info(root: str | os.PathLike | None = None) -> dict:
    """What the cache holds: total and per-kind bytes, entries and bytes by product, the quarantine."""
    top = _root(root)
    total, kinds, temps = _sizes(top) if top.is_dir() else (0, {}, 0)
    products: dict[str, dict] = {}
    for cat in _catalogs(top) if top.is_dir() else []:
        for e in cat.all():
            d = products.setdefault(e["product"], {"entries": 0, "bytes": 0})
            d["entries"] += 1
            d["bytes"] += int(e["bytes"])
    qfiles = [p for p in (top / QUARANTINE).glob("*") if p.name != QUARANTINE_LOG] if top.is_dir() else []
    return {"root": str(top), "total_bytes": total, "max_bytes": max_bytes(), "by_kind": kinds,
            "products": products, "temporaries": temps,
            "quarantine": {"files": len(qfiles), "bytes": sum(p.stat().st_size for p in qfiles),
                           "recent": quarantine_records(top)[-10:]}}


def evict(root: str | os.PathLike | None = None, *, limit_bytes: int | None = None,
          keep: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Bring the cache under its limit; returns what was removed (quarantined files, then products, LRU).

    Products are taken least recently used first; one whose lock is held (being read or
    written) is skipped, and so are the catalogue keys in `keep` (the product just made for a
    caller). Nothing happens while the cache is within the limit.
    """
    top = _root(root)
    limit = max_bytes() if limit_bytes is None else int(limit_bytes)
    removed: list[str] = []
    if not top.is_dir():
        return removed
    for _pass in range(3):  # measured again after each pass: deleting rows grows the catalogue's journal
        total = _sizes(top)[0]
        if total <= limit:
            break
        n = len(removed)
        total = _evict_pass(top, total, limit, removed, keep)
        if len(removed) == n:
            break  # nothing left that may go
    if removed:
        log.info("evicted %d cache files under %s to stay within %.1f GB", len(removed), top, limit / 1e9)
    return removed


def _evict_pass(top: Path, total: int, limit: int, removed: list[str], keep) -> int:
    qfiles = sorted((p for p in (top / QUARANTINE).glob("*") if p.name != QUARANTINE_LOG and p.is_file()),
                    key=lambda p: p.stat().st_mtime)
    for p in qfiles:
        if total <= limit:
            return total
        size = p.stat().st_size
        p.unlink(missing_ok=True)
        total -= size
        removed.append(str(p))
    candidates = []
    for cat in _catalogs(top):
        candidates += [(e.get("last_used") or 0.0, e["created"], cat, e) for e in cat.all() if e["key"] not in keep]
    candidates.sort(key=lambda c: (c[0], c[1]))
    for _used, _created, cat, e in candidates:
        if total <= limit:
            break
        path = Path(e["path"])
        with entry_lock(path, shared=False) as mine:
            if not mine:
                continue  # someone is reading or writing it
            cat.delete(e["key"])  # the row first: no reader is sent to a file about to vanish
            size = path.stat().st_size if path.exists() else 0
            path.unlink(missing_ok=True)
            total -= size
            removed.append(str(path))
    return total
