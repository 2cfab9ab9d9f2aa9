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


# ---------------------------------------------------------------------- one seam between the two sources
def _imported_modules(text: str, module: str) -> set[str]:
    """Every module the source `text` of `module` (dotted name) imports, at any depth (function-level too)."""
    import ast

    package = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(text, module)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from unique_core import world`
    return found


def _imports_package(path: Path, package: str) -> list[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return sorted(m for m in _imported_modules(path.read_text(), module) if m == package or m.startswith(package + "."))


def test_imported_modules__sees_every_form_of_import():
    # the seam tests below rest on this parser: it must see nested, aliased and relative imports
    text = ("import os\nfrom unique_core import io as x\n\ndef f():\n    from ..io.era5 import RealClimate\n"
            "    import unique_core.io.fluxnet\n")
    found = sorted(m for m in _imported_modules(text, "unique_core.world.probe") if m.startswith("unique_core.io"))
    assert found == ["unique_core.io", "unique_core.io.era5", "unique_core.io.era5.RealClimate",
                     "unique_core.io.fluxnet"]


def test_world_and_io__never_import_each_other():
    for sub, other in (("world", "unique_core.io"), ("io", "unique_core.world")):
        for path in sorted((ROOT / "unique_core" / sub).glob("*.py")):
            assert not _imports_package(path, other), f"{path.relative_to(ROOT)} imports {other}"


def test_grid_and_the_neutral_modules__import_neither_source():
    neutral = [ROOT / "unique_core" / "grid.py", ROOT / "unique_core" / "landmask.py",
               *sorted((ROOT / "unique_core" / "sources").glob("*.py"))]
    assert len(neutral) >= 8
    for path in neutral:
        for package in ("unique_core.world", "unique_core.io"):
            assert not _imports_package(path, package), f"{path.relative_to(ROOT)} imports {package}"


def _source_attributes(path: Path) -> set[str]:
    """Attributes read on a source: `world.x`, `self.world.x`, `service.world.x` (not `world.x.y`'s y)."""
    import ast

    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute):
            v = node.value
            if (isinstance(v, ast.Name) and v.id == "world") or (isinstance(v, ast.Attribute) and v.attr == "world"):
                out.add(node.attr)
    return out


def test_products_step1_step2__read_a_source_only_through_the_protocol():
    from unique_core.sources.protocol import MEMBERS

    files = [ROOT / "unique_core" / "products.py", ROOT / "unique_core" / "cube.py",
             *sorted((ROOT / "unique_core" / "gpp").glob("*.py")),
             *sorted((ROOT / "unique_core" / "downscale").glob("*.py"))]
    seen = set()
    for path in files:
        used = _source_attributes(path)
        seen |= used
        assert used <= set(MEMBERS), f"{path.relative_to(ROOT)} reads {sorted(used - set(MEMBERS))} of a source, " \
                                     "which unique_core.sources.DataSource does not declare"
    assert {"static", "modis", "landsat", "climate", "identity"} <= seen  # the scan does find the reads


def _world_like(cls, instance, without: str):
    """An object with everything `instance` has (class and instance members) except `without`."""
    members = {k: v for k, v in vars(cls).items() if k != without and k not in ("__dict__", "__weakref__")}
    stripped = type(f"{cls.__name__}Without_{without}", (), members)
    obj = object.__new__(stripped)
    obj.__dict__.update({k: v for k, v in vars(instance).items() if k != without})
    return obj


def test_world_and_real_data__implement_every_member_of_the_protocol(tmp_path):
    from unique_core.io.realdata import RealDataSource
    from unique_core.sources import missing_members
    from unique_core.sources.protocol import MEMBERS
    from unique_core.world import World

    world, real = World(), RealDataSource(tmp_path)
    assert missing_members(world) == [] and missing_members(real) == []
    for name in MEMBERS:  # the check is real: each member taken away is reported, and only it
        assert missing_members(_world_like(World, world, name)) == [name]
        assert missing_members(_world_like(RealDataSource, real, name)) == [name]
    assert missing_members(object()) == list(MEMBERS)


def test_world_and_real_data__methods_take_the_protocols_parameters(tmp_path):
    import inspect

    from unique_core.io.realdata import RealDataSource
    from unique_core.sources.protocol import DataSource, MEMBERS
    from unique_core.world import World

    methods = [m for m in MEMBERS if inspect.isfunction(vars(DataSource).get(m))]
    assert {"static", "modis", "landsat", "day_coarse", "check"} <= set(methods)
    for name in methods:
        want = [(p.name, p.kind) for p in inspect.signature(vars(DataSource)[name]).parameters.values()][1:]
        for source in (World(), RealDataSource(tmp_path)):
            got = [(p.name, p.kind) for p in inspect.signature(getattr(source, name)).parameters.values()]
            assert got == want, f"{type(source).__name__}.{name}{got} differs from DataSource.{name}{want}"
