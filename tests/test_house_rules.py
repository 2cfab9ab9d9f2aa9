"""House rules that code review would otherwise have to remember."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tracked_py():
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    return [ROOT / p for p in out] or list(ROOT.glob("unique_core/**/*.py"))


def test_streamlit_only_in_app_pages_and_ui():
    for path in _tracked_py():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "app.py" or rel.startswith(("pages/", "unique_core/ui/", "tests/")):
            continue
        text = path.read_text()
        assert not re.search(r"^\s*(import streamlit|from streamlit)", text, re.M), rel


def test_no_pickles_for_models():
    for path in _tracked_py():
        if path.resolve() == Path(__file__).resolve():
            continue  # this file names what it forbids
        text = path.read_text()
        assert "pickle.load" not in text and "joblib.load" not in text, path
        for m in re.finditer(r"torch\.load\(([^)]*)\)", text):
            assert "weights_only=True" in m.group(1), path


def test_torch_pinned_exactly():
    req = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", req, re.M)
    for line in req.splitlines():
        if line and not line.startswith("#"):
            assert "==" in line, f"unpinned requirement: {line}"


def test_pages_are_thin():
    for page in (ROOT / "pages").glob("*.py"):
        assert len(page.read_text().splitlines()) <= 90, page.name


def test_shipped_files__found_through_resources_not_file_paths():
    # a path built from a module's own __file__ breaks in an installed wheel: unique_core.resources
    # finds assets/, the app and static/ through importlib.resources instead
    for path in _tracked_py():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "app.py" or rel.startswith(("pages/", "unique_core/")):
            text = path.read_text()
            assert not re.search(r"Path\(__file__\)|os\.path\.\w+\(__file__\)", text), rel
