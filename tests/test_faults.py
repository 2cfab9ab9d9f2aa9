"""Faults: kill -9 inside product writes, world-cache writes and catalogue updates; corrupt files; full and read-only disks.

Each case of issue 13 ("A corrupt catalog.sqlite makes every get fail with DatabaseError",
"a truncated world cache file fails every product with BadZipFile", "writers killed mid-write
leave temporaries never cleaned up") has a test here that fails on the code before the healing
cache and passes now.

The kill tests run one harness process that imports UNIQUE once and forks a writer per round
(before any numba thread exists, so forking is safe); each writer dies by SIGKILL at a seeded
random point: inside the COG's bytes, between its rename and the catalogue row, inside the
catalogue's SQLite transaction, inside a world-cache `.npz` write, or at a random time.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from unique_core import atomic, cache
from unique_core.atomic import StorageError
from unique_core.grid import Region
from unique_core.products import ProductService

PRODUCTS = ("dem", "landcover", "fractions")
FAULT_BOX = Region("fault-box", 40, 150, 1, 1)  # a world-cache box no other test uses


def _cells(small_region):
    return [small_region.subregion(r, c, 1, 1, name=f"cell{r}{c}") for r in range(2) for c in range(2)]




HARNESS = textwrap.dedent("""
    import json, os, random, signal, sqlite3, sys, time
    cfg = json.loads(sys.argv[1])
    from unique_core import atomic, cache
    from unique_core.grid import Region
    from unique_core.products import Catalog, ProductService
    from unique_core.world import model as world_model

    rng = random.Random(cfg["seed"])
    cells = [Region(*c) for c in cfg["cells"]]
    jobs = [(p, c) for p in cfg["products"] for c in cells]
    reference = ProductService(cfg["reference"])  # undisturbed, and it warms the kernels the writers share
    for p, c in jobs:
        reference.get(p, None, c)

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def arm(mode, nth, frac, steps):
        calls = [0]
        if mode in ("cog-bytes", "world-bytes"):
            real = atomic._write_fd
            def write(fd, data):
                calls[0] += 1
                if calls[0] == nth:
                    os.write(fd, data[:int(len(data) * frac)])
                    die()
                return real(fd, data)
            atomic._write_fd = write
        elif mode == "after-rename":
            real_replace = os.replace
            def replace(src, dst):
                real_replace(src, dst)
                if str(dst).endswith(".tif"):
                    calls[0] += 1
                    if calls[0] == nth:
                        die()
            os.replace = replace
        elif mode == "catalog":
            real_put = Catalog.put
            def put(self, entry):
                calls[0] += 1
                if calls[0] == nth:
                    count = [0]
                    def tick():
                        count[0] += 1
                        if count[0] >= steps:
                            die()
                        return 0
                    self._conn().set_progress_handler(tick, 1)  # dies after `steps` SQLite VM steps
                return real_put(self, entry)
            Catalog.put = put

    log = []
    for i in range(cfg["rounds"]):
        mode = cfg["modes"][i % len(cfg["modes"])]
        nth = 1 if mode == "world-bytes" else rng.randint(1, 3)
        frac, steps, delay = rng.random(), rng.randint(1, 60), rng.uniform(0.2, 3.0)
        # a random part of the cache goes (a real eviction), so every round has products to write
        if os.path.exists(os.path.join(cfg["root"], "catalog.sqlite")):
            entries = Catalog(os.path.join(cfg["root"], "catalog.sqlite")).all()
            keep = {e["key"] for e in entries if rng.random() < 0.3}
            cache.evict(cfg["root"], limit_bytes=0, keep=keep)
        pid = os.fork()
        if pid == 0:
            try:
                arm(mode, nth, frac, steps)
                if mode == "world-bytes":
                    world_model._box_parts(cfg["world_seed"], Region(*cfg["box"]))
                else:
                    svc = ProductService(cfg["root"])
                    order = list(jobs)
                    random.Random(i).shuffle(order)
                    for p, c in order:
                        svc.get(p, None, c)
            finally:
                os._exit(0)
        if mode == "timer":
            time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
        log.append({"mode": mode, "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9})
    print(json.dumps(log))
""")


def _run_harness(root, reference, small_region, world, modes, rounds, seed):
    cfg = {"root": str(root), "reference": str(reference), "seed": seed, "rounds": rounds, "modes": modes,
           "products": list(PRODUCTS),
           "cells": [[c.name, c.brow0, c.bcol0, c.nbrows, c.nbcols] for c in _cells(small_region)],
           "world_seed": world.seed,
           "box": [FAULT_BOX.name, FAULT_BOX.brow0, FAULT_BOX.bcol0, FAULT_BOX.nbrows, FAULT_BOX.nbcols]}
    # numba's GNU OpenMP layer must not fork once used; its workqueue layer may (harness only)
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    proc = subprocess.run([sys.executable, "-c", HARNESS, json.dumps(cfg)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _temporaries(root):
    return [p for p in root.rglob("*") if cache.is_writer_temporary(p.name)]


@pytest.fixture(scope="module")
def killed(tmp_path_factory, world, small_region):
    """One harness run: 12 writers killed at seeded random points (3 per fault kind, plus timers)."""
    from unique_core.world import model as wm

    wm._tile_path(world.seed, FAULT_BOX).unlink(missing_ok=True)
    base = tmp_path_factory.mktemp("faults")
    log = _run_harness(base / "products", base / "reference", small_region, world,
                       ["cog-bytes", "after-rename", "catalog", "world-bytes", "timer"], 12, seed=13)
    return base, log


def test_kill9__product_writes_and_catalogue_updates_never_serve_a_bad_entry(killed, world, small_region):
    from unique_core.io.geotiff import read_geotiff

    base, log = killed
    root = base / "products"
    deterministic = [r for r in log if r["mode"] not in ("timer", "world-bytes")]
    assert len(deterministic) == 8 and all(r["killed"] for r in deterministic), log  # each fault point reached
    with sqlite3.connect(root / "catalog.sqlite") as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert _temporaries(root), "a kill inside the COG bytes leaves its temporary"
    cleaned = cache.clean(root, min_age_s=0)
    assert cleaned.removed and not _temporaries(root) and cleaned.live == 0
    on_disk = [q for q in root.glob("*/*/*.tif")]  # whole COGs: catalogued, or orphaned by a kill after the rename
    assert on_disk
    svc = ProductService(root, world)
    assert all(e["valid"] for e in svc.list())
    reference = {(e["product"], e["region_key"]): read_geotiff(e["path"]).values
                 for e in ProductService(base / "reference", world).list()}
    assert len(reference) == len(PRODUCTS) * 4
    served = {}
    for (product, key), values in reference.items():
        cell = next(c for c in _cells(small_region) if c.key == key)
        da = svc.get(product, None, cell)
        served[da.attrs["cache"]] = served.get(da.attrs["cache"], 0) + 1
        np.testing.assert_array_equal(da.values, values)
    assert served.get("hit", 0) == len(on_disk)  # every one of them served as it was, none recomputed
    # nothing half-written ever reached a product's name, so nothing needed the quarantine
    assert cache.quarantine_records(root) == []


def test_kill9__world_cache_writes_leave_no_bad_file(killed, world):
    from unique_core.world import model as wm

    _, log = killed
    assert all(r["killed"] for r in log if r["mode"] == "world-bytes"), log
    path = wm._tile_path(world.seed, FAULT_BOX)
    assert not path.exists()  # the final name was never given to a partial file
    assert [p for p in path.parent.iterdir() if cache.is_writer_temporary(p.name)]
    cache.clean(path.parent, min_age_s=0)
    assert not [p for p in path.parent.iterdir() if cache.is_writer_temporary(p.name)]
    parts = wm._box_parts(world.seed, FAULT_BOX)  # built now, and kept
    again = wm._load_coarse(path)
    for f in wm._COARSE_FIELDS:
        np.testing.assert_array_equal(parts[f], again[f])


# ------------------------------------------------------------------ corrupt files
def test_catalog__corrupt_file_is_quarantined_and_rebuilt_from_the_cogs(tmp_path, world, small_region):
    root = tmp_path / "products"
    svc = ProductService(root, world)
    cells = _cells(small_region)[:2]
    made = {(p, c.key): svc.get(p, None, c).values for p in ("dem", "landcover") for c in cells}
    before = {e["key"]: e for e in svc.catalog.all()}
    del svc
    (root / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    for side in ("-wal", "-shm"):
        (root / f"catalog.sqlite{side}").unlink(missing_ok=True)
    fresh = ProductService(root, world)  # the code before this failed here, and forever, with DatabaseError
    after = {e["key"]: e for e in fresh.catalog.all()}
    assert set(after) == set(before)
    for k, e in after.items():
        for f in ("product", "region_key", "date", "params", "path", "bytes", "sha256", "model_hash", "seed",
                  "code_version", "product_version", "created", "compute_seconds"):
            assert e[f] == before[k][f], f
    for (p, key), values in made.items():
        da = fresh.get(p, None, next(c for c in cells if c.key == key))
        assert da.attrs["cache"] == "hit"
        np.testing.assert_array_equal(da.values, values)
    assert [r["file"] for r in cache.quarantine_records(root)] == [str(root / "catalog.sqlite")]


def test_catalog__damage_under_a_running_service_heals_on_the_next_call(tmp_path, world, small_region):
    root = tmp_path / "products"
    svc = ProductService(root, world)
    cell = _cells(small_region)[0]
    svc.get("dem", None, cell)
    svc.catalog._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(root / "catalog.sqlite", "r+b") as f:  # the header and first page overwritten in place
        f.write(os.urandom(4096))
    assert svc.get("dem", None, cell).attrs["cache"] == "hit"
    assert len(svc.list()) == 1


def test_get__cog_with_wrong_checksum_is_quarantined_and_recomputed(tmp_path, world, small_region):
    root = tmp_path / "products"
    svc = ProductService(root, world)
    cell = _cells(small_region)[0]
    good = svc.get("dem", None, cell).values
    path = svc.catalog.all()[0]["path"]
    data = bytearray(open(path, "rb").read())
    data[-100] ^= 0xFF  # same size, one byte changed
    open(path, "wb").write(bytes(data))
    again = svc.get("dem", None, cell)
    assert again.attrs["cache"] == "computed"
    np.testing.assert_array_equal(again.values, good)
    assert "SHA-256" in cache.quarantine_records(root)[-1]["reason"]


def test_get__cog_whose_row_was_lost_is_adopted(tmp_path, world, small_region):
    svc = ProductService(tmp_path / "products", world)
    cell = _cells(small_region)[0]
    svc.get("landcover", None, cell)
    key = svc.catalog.all()[0]["key"]
    svc.catalog.delete(key)  # as if killed between the rename and the catalogue update
    assert svc.get("landcover", None, cell).attrs["cache"] == "hit"
    assert svc.catalog.get(key)["sha256"]


def test_world_cache__truncated_climate_year_is_quarantined_and_rebuilt(world):
    from unique_core.config import cache_dir
    from unique_core.world import climate

    clim = world.climate
    first = clim.year(2023)
    path = cache_dir() / "world" / f"climate-s{world.seed}-v{climate._VERSION}-2023.npz"
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 3)
    again = clim.year(2023)  # the code before this raised BadZipFile here, for every 2023 product
    for k in climate.VARIABLES:
        np.testing.assert_array_equal(again[k], first[k])
    assert path.stat().st_size == size and cache.load_npz(path, climate.VARIABLES) is not None
    assert any(r["file"] == str(path) for r in cache.quarantine_records(cache_dir()))
    cache.clean(cache_dir(), purge_quarantine=True)  # the 20 MB moved aside are of no further use here


# ------------------------------------------------------------------ full disk, read-only folder
def test_get__disk_full_is_one_line_and_older_entries_stay(tmp_path, world, small_region, monkeypatch):
    root = tmp_path / "products"
    svc = ProductService(root, world)
    a, b = _cells(small_region)[:2]
    old = svc.get("dem", None, a).values

    def full(fd, data):  # the disk fills 500 bytes into the new COG
        os.write(fd, data[:500])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(atomic, "_write_fd", full)
    with pytest.raises(StorageError, match=r"cannot write .*\.tif: the disk is full \(ENOSPC\); nothing was changed"
                       ) as exc:
        svc.get("dem", None, b)
    assert "\n" not in str(exc.value)
    monkeypatch.undo()
    assert not _temporaries(root)
    assert [e["region_key"] for e in svc.catalog.all()] == [a.key]
    hit = svc.get("dem", None, a)
    assert hit.attrs["cache"] == "hit"
    np.testing.assert_array_equal(hit.values, old)


def test_get__read_only_cache_folder_is_one_line_and_still_serves_what_it_has(tmp_path, world, small_region,
                                                                             monkeypatch):
    root = tmp_path / "products"
    svc = ProductService(root, world)
    a, b = _cells(small_region)[:2]
    svc.get("dem", None, a)
    real_open = os.open
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def read_only_open(path, flags, *args, **kwargs):  # the kernel's answer on a read-only mount
        if flags & write_flags and str(root) in os.fspath(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", read_only_open)
    assert svc.get("dem", None, a).attrs["cache"] == "hit"
    with pytest.raises(StorageError, match=r"read-only file system \(EROFS\); nothing was changed.*writable"):
        svc.get("dem", None, b)
    monkeypatch.undo()
    assert not _temporaries(root) and [e["region_key"] for e in svc.catalog.all()] == [a.key]


def test_catalog__full_disk_on_update_is_a_storage_error(tmp_path):
    from unique_core.products import Catalog

    cat = Catalog(tmp_path / "catalog.sqlite")
    conn = cat._conn()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL: no room for another row
    row = {"key": "k", "product": "dem", "region_key": "b1_1_1x1", "region_name": "r", "date": None,
           "params": "{}", "path": "/x", "bytes": 1, "sha256": "0" * 64, "model": None, "model_version": None,
           "model_hash": None, "seed": 1, "code_version": "x" * 5000, "product_version": "1",
           "created": "2026-01-01T00:00:00+00:00", "compute_seconds": 0.0}
    with pytest.raises(StorageError, match=r"catalog\.sqlite: the disk is full \(ENOSPC\); nothing was changed"):
        cat.put(row)
    assert cat.all() == []


def test_catalog__corrupt_file_met_by_cache_info_is_rebuilt_not_emptied(tmp_path, world, small_region):
    root = tmp_path / "cache"
    svc = ProductService(root / "products", world)
    svc.get("dem", None, _cells(small_region)[0])
    del svc
    (root / "products" / "catalog.sqlite").write_bytes(b"\x00" * 8192)
    (root / "products" / "catalog.sqlite-wal").unlink(missing_ok=True)
    products = cache.info(root)["products"]  # no service: rows come back from the COGs' tags and places
    assert list(products) == ["dem"] and products["dem"]["entries"] == 1 and products["dem"]["bytes"] > 0


# ------------------------------------------------------------------ unexpected exceptions on a page
def _unguarded_body():
    """A page run on its own (no app.py guard around it) whose body fails."""
    from unique_core.ui import errors

    errors.install()
    raise ZeroDivisionError("a bug in a page body")


def _unguarded_fragment():
    """A page whose fragment (a progress panel, say) fails outside any guard."""
    import streamlit as st

    from unique_core.ui import errors

    errors.install()

    @st.fragment
    def panel():
        raise KeyError("a bug in a polling fragment")

    panel()


@pytest.mark.parametrize("page, bug", [(_unguarded_body, "a bug in a page body"),
                                       (_unguarded_fragment, "a bug in a polling fragment")])
def test_errors_install__an_unguarded_page_or_fragment_shows_an_id_that_the_log_holds(page, bug, caplog):
    import re

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(page, default_timeout=60)
    with caplog.at_level("ERROR", logger="unique.app"):
        at.run()
    assert not at.exception, [e.value for e in at.exception]  # no bare "This app has encountered an error"
    (shown,) = [e.value for e in at.error]
    error_id = re.search(r"error id \*\*([0-9a-f]{8})\*\*", shown).group(1)
    assert "Traceback" not in shown and bug not in shown
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and bug in logged[0].getMessage() and logged[0].exc_info
