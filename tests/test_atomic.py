"""The atomic writers: a failed write leaves the old file whole; a finished one has the usual mode."""

import os
import stat

import pytest

from unique_core.atomic import atomic_path, write_text


def test_failed_write_leaves_target_and_no_temporary(tmp_path):
    target = tmp_path / "map.tif"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.tif"]


def test_finished_write_replaces_target_with_umask_mode(tmp_path):
    target = tmp_path / "sub" / "card.json"
    write_text(target, "new")
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
