"""The healing cache: checked reads and quarantine, clean-up of killed writers, LRU eviction, info, storage errors."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from unique_core import atomic, cache
from unique_core.atomic import StorageError, atomic_path, write_bytes

OLD = time.time() - 2 * cache.SAFE_AGE_S


def _age(path, when=OLD):
    os.utime(path, (when, when))


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    """UNIQUE_CACHE_DIR = tmp_path, for tests that touch no world cache."""
    monkeypatch.setenv("UNIQUE_CACHE_DIR", str(tmp_path))
    return tmp_path


# ------------------------------------------------------------------ checked reads and quarantine
def test_load_npz__truncated_file_is_quarantined_with_its_reason(own_cache, tmp_path):
    path = tmp_path / "world" / "tile.npz"
    cache.save_npz(path, {"a": np.arange(10_000.0), "b": np.ones(3)})
    assert cache.load_npz(path, ("a", "b"))["a"][-1] == 9999.0
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    assert cache.load_npz(path, ("a", "b"), ) is None
    assert not path.exists()
    records = cache.quarantine_records(tmp_path)
    assert len(records) == 1 and records[0]["file"] == str(path) and "BadZipFile" in records[0]["reason"]
    assert (tmp_path / "quarantine" / records[0]["moved_to"]).stat().st_size == size // 2


def test_load_npz__flipped_byte_fails_the_crc(own_cache, tmp_path):
    path = tmp_path / "x.npz"
    cache.save_npz(path, {"a": np.arange(10_000.0)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes: the zip directory is still fine
    path.write_bytes(bytes(data))
    assert cache.npz_intact(path, ("a",))  # the cheap check sees a whole zip...
    assert cache.load_npz(path) is None  # ...the full read sees the bad CRC-32
    assert "CRC" in cache.quarantine_records(tmp_path)[-1]["reason"]


def test_load_npz__missing_array_and_pickles_are_refused(own_cache, tmp_path):
    path = tmp_path / "x.npz"
    cache.save_npz(path, {"a": np.ones(2)})
    assert cache.load_npz(path, ("a", "b")) is None
    with open(tmp_path / "p.npz", "wb") as f:
        np.savez(f, a=np.array([{"x": 1}], dtype=object))
    assert cache.load_npz(tmp_path / "p.npz") is None
    assert [r["reason"].split(":")[1].strip() for r in cache.quarantine_records(tmp_path)] == ["KeyError",
                                                                                                 "ValueError"]


def test_read_csv__damaged_series_is_quarantined(own_cache, tmp_path):
    path = tmp_path / "products" / "series" / "s.csv"
    path.parent.mkdir(parents=True)
    path.write_text("date,all\n2023-01-01,1.0\n")
    assert list(cache.read_csv(path, ("date",))["all"]) == [1.0]
    path.write_bytes(b"\x00\xff\xfe garbage")
    assert cache.read_csv(path, ("date",)) is None and not path.exists()


# ------------------------------------------------------------------ clean
def test_clean__removes_only_dead_writers_old_temporaries(tmp_path):
    products = tmp_path / "products" / "dem" / "b1_1_1x1"
    products.mkdir(parents=True)
    dead = products / ".static_0123abcd.tif.k3j4h5g6.tif"  # atomic_path's pattern
    ovr = products / ".static_0123abcd.tif.zz99yy88.tif.ovr.tmp"  # GDAL's overview file beside one
    stage = tmp_path / ".area.stage.tif"
    keep = [products / "static_0123abcd.tif", products / "static_0123abcd.tif.lock", products / ".hidden",
            tmp_path / "catalog.sqlite-wal", products / ".static.tif.k3j4h5g6.tif.bak"]
    young = products / ".2023-01-01_ffff.tif.abcdefgh.tif"
    for p in [dead, ovr, stage, young, *keep]:
        p.write_bytes(b"x" * 10)
    for p in [dead, ovr, stage, *keep]:
        _age(p)
    with atomic_path(products / "live.npz") as live:  # a writer still at work: its lock is held
        live.write_bytes(b"partial")
        _age(live)
        report = cache.clean(tmp_path)
        assert live.exists()
    assert sorted(report.removed) == sorted([dead, ovr, stage])
    assert report.live == 1 and report.young == 1 and report.bytes == 30
    assert all(p.exists() for p in keep) and young.exists()


def test_clean__a_killed_writer_leaves_a_temporary_that_clean_removes(tmp_path):
    script = textwrap.dedent("""
        import os, signal, sys
        from unique_core.atomic import atomic_path
        with atomic_path(sys.argv[1]) as tmp:
            tmp.write_bytes(b"half of it")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    target = tmp_path / "world" / "climate.npz"
    proc = subprocess.run([sys.executable, "-c", script, str(target)], timeout=120)
    assert proc.returncode == -9
    left = [p for p in target.parent.iterdir()]
    assert len(left) == 1 and cache.is_writer_temporary(left[0].name) and not target.exists()
    assert cache.clean(tmp_path).young == 1  # too young to be sure...
    assert cache.clean(tmp_path, min_age_s=0).removed == left  # ...unless told: the lock died with it
    assert list(target.parent.iterdir()) == []


def test_clean__never_follows_links_out_of_the_cache(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / ".notes.txt.abcdefgh.txt"
    victim.write_text("mine")
    _age(victim)
    root = tmp_path / "cache"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / ".x.tif.abcdefgh.tif").symlink_to(victim)
    assert cache.clean(root, min_age_s=0).removed == []
    assert victim.read_text() == "mine"


# ------------------------------------------------------------------ size limit, eviction, info
@pytest.fixture()
def three_products(tmp_path, world, small_region):
    from unique_core.products import ProductService

    svc = ProductService(tmp_path / "products", world)
    regions = [small_region.subregion(0, c, 1, 1, name=f"cell{c}") for c in range(2)] + \
        [small_region.subregion(1, 0, 1, 1, name="cell2")]
    for r in regions:
        svc.get("dem", None, r)
    return svc, regions


def test_evict__least_recently_used_first_and_never_a_locked_entry(three_products, tmp_path):
    svc, regions = three_products
    entries = {e["region_name"]: e for e in svc.catalog.all()}
    assert svc.get("dem", None, regions[0]).attrs["cache"] == "hit"  # cell0 is now the most recent
    total = cache.info(tmp_path)["total_bytes"]
    with cache.entry_lock(entries["cell1"]["path"], shared=True) as held:  # a reader is on cell1
        assert held
        removed = cache.evict(tmp_path, limit_bytes=total - entries["cell2"]["bytes"])
    # cell1, the least recently used, is being read: cell2 goes first (cell0, the most recent, may
    # follow only because deleting rows grows the catalogue's journal by a few pages)
    assert removed[0] == entries["cell2"]["path"] and entries["cell1"]["path"] not in removed
    assert "cell1" in {e["region_name"] for e in svc.catalog.all()}
    assert svc.get("dem", None, regions[2]).attrs["cache"] == "computed"  # evicted: made again


def test_evict__within_the_limit_nothing_goes(three_products, tmp_path):
    svc, _ = three_products
    assert cache.evict(tmp_path, limit_bytes=10**12) == []
    assert len(svc.catalog.all()) == 3


def test_get__over_the_limit_the_service_evicts(three_products, tmp_path, monkeypatch, small_region):
    svc, regions = three_products
    monkeypatch.setenv("UNIQUE_CACHE_MAX_GB", str(cache.info(tmp_path)["total_bytes"] / 1e9))
    svc.get("landcover", None, regions[0])  # one more product: the oldest must make room
    left = [(e["product"], e["region_name"]) for e in svc.catalog.all()]
    assert ("landcover", "cell0") in left  # never the one just made
    assert ("dem", "cell0") not in left  # the least recently used went first
    assert cache.info(tmp_path)["total_bytes"] <= cache.max_bytes() or left == [("landcover", "cell0")]


def test_info__sizes_entries_by_product_and_quarantine(three_products, tmp_path):
    svc, _ = three_products
    e = svc.catalog.all()[0]
    cache.quarantine(e["path"], "test", root=tmp_path)
    out = cache.info(tmp_path)
    assert out["products"]["dem"]["entries"] == 3 and out["products"]["dem"]["bytes"] > 0
    assert out["quarantine"]["files"] == 1 and out["quarantine"]["recent"][-1]["reason"] == "test"
    assert out["by_kind"]["products"] + out["by_kind"]["quarantine"] <= out["total_bytes"]
    json.dumps(out)  # printable by `unique cache info --json`


def test_max_bytes__bad_setting_is_a_user_error(monkeypatch):
    monkeypatch.setenv("UNIQUE_CACHE_MAX_GB", "lots")
    with pytest.raises(cache.CacheConfigError, match="UNIQUE_CACHE_MAX_GB='lots' is not a positive number"):
        cache.max_bytes()
    monkeypatch.setenv("UNIQUE_CACHE_MAX_GB", "-1")
    with pytest.raises(cache.CacheConfigError, match="positive number of gigabytes"):
        cache.max_bytes()
    monkeypatch.setenv("UNIQUE_CACHE_MAX_GB", "2.5")
    assert cache.max_bytes() == 2_500_000_000


# ------------------------------------------------------------------ full disk and read-only folder
def _disk_fills_after(nbytes):
    """The low-level write of the OS on a disk with `nbytes` left: a short write, then ENOSPC."""
    left = [nbytes]

    def write(fd, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = os.write(fd, data[:left[0]])
        left[0] -= n
        return n
    return write


def test_write_bytes__disk_full_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    target.write_text("old")
    monkeypatch.setattr(atomic, "_write_fd", _disk_fills_after(100))
    with pytest.raises(StorageError, match=r"cannot write .*card\.json: the disk is full \(ENOSPC\); nothing was "
                                           r"changed") as exc:
        write_bytes(target, b"n" * 10_000)
    assert "\n" not in str(exc.value)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_atomic_path__read_only_folder_is_one_line(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(atomic, "_mkstemp", refuse)
    with pytest.raises(StorageError, match="read-only file system .*make .* writable or set UNIQUE_CACHE_DIR"):
        write_bytes(tmp_path / "x.npz", b"data")


def test_atomic_path__other_errors_pass_through(tmp_path):
    with pytest.raises(OSError, match="Bad file descriptor"):
        with atomic_path(tmp_path / "x") as tmp:
            raise OSError(errno.EBADF, "Bad file descriptor")
    assert list(tmp_path.iterdir()) == []


def test_npz_intact__truncated_step2_shard_is_quarantined_so_it_is_made_again(own_cache):
    from unique_core.downscale.data import SHARD_ARRAYS, shard_path
    from unique_core.grid import Region

    path = shard_path(Region("t", 10, 10, 20, 20), 2021, 7)
    cache.save_npz(path, {k: np.zeros((2, 4)) for k in SHARD_ARRAYS})
    assert cache.npz_intact(path, SHARD_ARRAYS)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 30)  # the zip directory at the end is cut
    assert not cache.npz_intact(path, SHARD_ARRAYS) and not path.exists()
    assert cache.quarantine_records(own_cache)[-1]["file"] == str(path)
