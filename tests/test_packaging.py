"""UNIQUE as a package: shipped files found through unique_core.resources, dependencies declared
with ranges that admit the lock, the app launcher, the web files, and a real wheel installed into
a clean environment and run from another folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from unique_core import resources
from unique_core.launch import LaunchError, prepare_app
from unique_core.resources import ResourceError
from unique_core.ui import assets as web
from unique_core.ui.devserver import free_port

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# pins that no `import` names, and why each is still needed
INDIRECT = {
    "llvmlite": "numba's compiler, pinned with numba",
    "h5netcdf": "xarray's NetCDF engine, named as engine='h5netcdf'",
    "onnx": "torch.onnx.export needs it",
    "distributed": "imported as dask.distributed",
    "pytest": "the test runner",
}
# imported only behind a check that it is installed, with a message saying how to add it
OPTIONAL_IMPORTS = {"openvino": "downscale/engine.py's OpenVINO engine (180 MB): not a default dependency"}
IMPORT_NAMES = {"scikit-learn": "sklearn", "scikit-image": "skimage", "pillow": "PIL", "xgboost-cpu": "xgboost",
                "xstatic-leaflet": "xstatic", "flaml": "flaml", "global-land-mask": "global_land_mask",
                "pystac-client": "pystac_client", "planetary-computer": "planetary_computer",
                "streamlit-folium": "streamlit_folium"}


def _pins() -> dict[str, tuple[str, str]]:
    """requirements.txt as {canonical name: (name as written, pinned version)}."""
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            out[canonicalize_name(name)] = (name, version)
    return out


def _sources() -> list[Path]:
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"], cwd=ROOT,
                           capture_output=True, text=True).stdout.split()
    return [ROOT / f for f in files if (ROOT / f).is_file()]


# ---------------------------------------------------------------- resources

def test_resources__found_in_the_checkout():
    # the suite runs on the editable install that `make` makes: the checkout's own folders
    assert resources.assets_dir() == ROOT / "assets"
    assert resources.app_dir() == ROOT
    assert resources.app_script() == ROOT / "app.py"
    assert resources.static_dir() == ROOT / "static"
    regions = json.loads(resources.regions_file().read_text())["regions"]
    assert {"gwangneung", "jirisan"} <= {r["name"] for r in regions}
    assert (resources.shipped_models_dir() / "gpp_modis" / "model.txt").is_file()
    assert resources.fluxnet_columns_file().read_text().startswith("TIMESTAMP")
    assert resources.icon_file().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resources__missing_asset_names_the_fix():
    with pytest.raises(ResourceError, match=r"assets/no_such\.json is missing .*reinstall UNIQUE"):
        resources.asset("no_such.json")


def test_models_dir__defaults_to_the_shipped_models(monkeypatch):
    from unique_core.config import models_dir

    monkeypatch.delenv("UNIQUE_MODELS_DIR", raising=False)
    assert models_dir() == ROOT / "assets" / "models"


# ---------------------------------------------------------------- dependencies

def test_pyproject__every_pin_lies_in_its_declared_range():
    pins = _pins()
    declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    declared += [Requirement(r) for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra]
    for req in declared:
        key = canonicalize_name(req.name)
        assert key in pins, f"{req.name} is declared in pyproject.toml but not pinned in requirements.txt"
        assert req.specifier.contains(pins[key][1], prereleases=True), f"{req.name}=={pins[key][1]} not in {req.specifier}"
        assert str(req.specifier), f"{req.name} has no version range in pyproject.toml"
    torch = next(r for r in declared if r.name == "torch")
    assert str(torch.specifier) == "==2.13.0"
    # and the other way: everything the lock pins is declared, unless it is only a build companion
    declared_names = {canonicalize_name(r.name) for r in declared}
    assert set(pins) - declared_names <= {"llvmlite"}


def _imported_modules() -> set[str]:
    """Top-level modules that app.py, pages/ and unique_core import (at the top or inside functions)."""
    import ast

    found = set()
    for f in _sources():
        rel = f.relative_to(ROOT).as_posix()
        if rel == "app.py" or rel.startswith(("pages/", "unique_core/")):
            for node in ast.walk(ast.parse(f.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "unique_core"}


def test_pyproject__declares_every_imported_package():
    # a fresh `pip install .` has only what pyproject.toml declares: an import of anything else
    # works here (it came with some other package) and fails there
    import importlib.metadata

    dists = importlib.metadata.packages_distributions()
    declared = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    declared |= {canonicalize_name(Requirement(r).name)
                 for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra}
    missing = []
    for module in sorted(_imported_modules() - set(OPTIONAL_IMPORTS)):
        owners = {canonicalize_name(d) for d in dists.get(module, [])}
        if not owners & declared:
            missing.append(f"{module} (from {sorted(owners) or 'no installed package'})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_requirements__every_pin_is_used():
    text = "\n".join(p.read_text(errors="replace") for p in _sources())
    unused = []
    for key, (name, _) in _pins().items():
        if key in INDIRECT:
            continue
        module = IMPORT_NAMES.get(key, key.replace("-", "_"))
        if not re.search(rf"^\s*(import|from)\s+{re.escape(module)}\b", text, re.M):
            unused.append(name)
    assert not unused, f"pinned but never imported: {unused} (remove them, or say why in INDIRECT)"


# ---------------------------------------------------------------- launcher and server settings

def test_streamlit_config__binds_localhost_and_serves_static():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableStaticServing"] is True


def test_prepare_app__defaults_to_localhost_and_the_installed_app(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNIQUE_CACHE_DIR", "rel-cache")
    launch = prepare_app()
    cmd = launch.command
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1" and not launch.public
    assert cmd[cmd.index("--server.port") + 1] == "8501"
    assert cmd[cmd.index("run") + 1] == str(ROOT / "app.py") and launch.cwd == ROOT
    assert launch.env["UNIQUE_CACHE_DIR"] == str(tmp_path / "rel-cache")  # the server runs elsewhere
    data = tmp_path / "real"
    data.mkdir()
    launch = prepare_app(host="0.0.0.0", port=8080, data_dir=Path("real"))
    assert launch.public and launch.url == "http://0.0.0.0:8080" and launch.env["UNIQUE_DATA_DIR"] == str(data)


@pytest.mark.parametrize("kwargs, match", [
    ({"port": 0}, r"--port 0 is outside 1-65535"),
    ({"port": 70000}, r"--port 70000 is outside 1-65535"),
    ({"host": "my laptop"}, r"--host 'my laptop' is not an IP address"),
    ({"data_dir": Path("/no/such/folder")}, r"--data /no/such/folder: no such folder"),
])
def test_prepare_app__bad_options_say_how_to_fix(kwargs, match):
    with pytest.raises(LaunchError, match=match):
        prepare_app(**kwargs)


def test_launch_main__user_error_is_one_line_and_exit_2(capsys):
    from unique_core.launch import main

    assert main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --port 0 is outside 1-65535") and err.count("\n") == 1


# ---------------------------------------------------------------- web files

def test_web_files__vendored_copy_matches_the_pinned_package():
    src = web.xstatic_leaflet_dir()
    for name in web.WEB_FILES:
        assert (ROOT / "static" / name).read_bytes() == (src / name).read_bytes(), name
    assert web.ensure_web_assets() is None


def test_ensure_web_assets__puts_missing_files_in_place(tmp_path):
    static = tmp_path / "static"
    assert set(web.missing_web_files(static)) == set(web.WEB_FILES)
    assert web.ensure_web_assets(static) is None
    assert (static / "leaflet.js").read_bytes() == (ROOT / "static" / "leaflet.js").read_bytes()
    assert not [p for p in static.rglob(".*")]  # no temporary files left


def test_ensure_web_assets__unfixable_is_a_message(tmp_path, monkeypatch):
    def no_package():
        raise ImportError("No module named 'xstatic'")

    monkeypatch.setattr(web, "xstatic_leaflet_dir", no_package)
    static = tmp_path / "static"
    (static / "images").mkdir(parents=True)
    (static / "leaflet.css").write_text("/* present */")
    message = web.ensure_web_assets(static)
    assert message is not None
    assert re.search(r"leaflet\.js, images/layers\.png.* missing from .*static.*python -m unique_core\.ui\.assets",
                     message)
    assert "leaflet.css" not in message.split("missing")[0]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from /proc/net/tcp{,6} (hex, as the kernel writes them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                found.add(addr)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux /proc")
def test_plain_streamlit_run__binds_localhost_and_serves_leaflet(tmp_path):
    # exactly `streamlit run app.py` with no address given: .streamlit/config.toml must keep it local
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = _wait_for(f"http://127.0.0.1:{port}", proc)
        assert body == (ROOT / "static" / "leaflet.js").read_bytes()
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only, no IPv6 or wildcard socket
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _wait_for(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> bytes:
    """Poll the server until healthy; returns the body of /app/static/leaflet.js."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, "the server exited"
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return urllib.request.urlopen(f"{url}/app/static/leaflet.js", timeout=10).read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no server on {url} after {timeout} s")


# ---------------------------------------------------------------- the wheel, installed elsewhere

@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel built from this checkout, installed with --no-deps into a new virtualenv whose
    only link to the main one is a .pth naming its site-packages (for the heavy dependencies)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for f in filter(None, files):  # tracked and new files, as a fresh clone plus work in progress
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            (src / f).write_bytes((ROOT / f).read_bytes())
    run = dict(capture_output=True, text=True, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-w", str(base / "dist")], cwd=src, **run)
    wheel = next((base / "dist").glob("unique-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **run)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                    str(wheel)], **run)
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               **run).stdout.strip())
    main_site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_unique_main_venv.pth").write_text("\n".join(sorted(main_site)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return {"wheel": wheel, "venv": venv, "site": site, "env": env, "cwd": elsewhere}


def test_wheel__contains_the_code_assets_and_app(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for f in _sources():
        rel = f.relative_to(ROOT).as_posix()
        if rel.startswith("unique_core/"):
            assert rel in names, f"{rel} is not in the wheel"
    tracked = subprocess.run(["git", "ls-files", "assets", "pages", "static"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    for rel in tracked:  # every shipped file, at its place in the package
        if rel.startswith("assets/"):
            assert f"unique_core/_assets/{rel[len('assets/'):]}" in names, f"{rel} is not in the wheel"
        else:
            assert f"unique_core/_app/{rel}" in names, f"{rel} is not in the wheel"
    for rel in ["unique_core/_assets/regions.json", "unique_core/_assets/fluxnet2015_fullset_dd_columns.txt",
                "unique_core/_assets/models/gpp_modis/model.txt", "unique_core/_assets/models/downscale_s2/weights.safetensors",
                "unique_core/_app/app.py", "unique_core/_app/pages/map.py", "unique_core/_app/.streamlit/config.toml",
                "unique_core/_app/static/leaflet.js", "unique_core/_app/static/images/layers.png",
                "unique_core/_app/assets/icon.png"]:
        assert rel in names, f"{rel} is not in the wheel"
    assert not [n for n in names if n.startswith(("unique_core/_app/tests/", "unique_core/_app/bench/"))]


@pytest.mark.slow
def test_wheel__unique_runs_from_another_folder(installed, tmp_path):
    env, cwd, venv = installed["env"], installed["cwd"], installed["venv"]
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import json, unique_core, unique_core.resources as r, unique_core.ui.assets as a;"
                            "print(json.dumps([unique_core.__file__, str(r.assets_dir()), str(r.app_dir()),"
                            " a.ensure_web_assets()]))"], cwd=cwd, env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    module, assets_dir, app_dir, problem = json.loads(probe.stdout)
    site = str(installed["site"])
    assert module.startswith(site) and assets_dir.startswith(site) and app_dir.startswith(site)
    assert problem is None

    unique = str(venv / "bin" / "unique")
    regions = subprocess.run([unique, "world", "regions", "--json"], cwd=cwd, env=env, capture_output=True, text=True)
    assert regions.returncode == 0, regions.stderr
    assert {"gwangneung", "jirisan"} <= {r["name"] for r in json.loads(regions.stdout)["regions"]}

    out = tmp_path / "dem.png"
    render = subprocess.run([unique, "world", "render", "--bbox", "127.70", "35.32", "127.74", "35.35", "--crs",
                             "EPSG:4326", "--layer", "dem", "--out", str(out)], cwd=cwd, env=env,
                            capture_output=True, text=True)
    assert render.returncode == 0, render.stderr
    from PIL import Image

    with Image.open(out) as im:
        assert im.width > 100 and im.height > 100


@pytest.mark.slow
def test_wheel__app_starts_from_the_installed_package(installed):
    env, cwd, venv = installed["env"], installed["cwd"], installed["venv"]
    port = free_port()
    code = ("import json, sys; from unique_core.launch import prepare_app; l = prepare_app(port=%d);"
            "print(json.dumps([l.command, str(l.cwd)]))" % port)
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    command, app_cwd = json.loads(out.stdout)
    assert command[0] == str(venv / "bin" / "python") and app_cwd.startswith(str(installed["site"]))
    proc = subprocess.Popen(command, cwd=app_cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        body = _wait_for(f"http://127.0.0.1:{port}", proc)
        assert body == (ROOT / "static" / "leaflet.js").read_bytes()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_test_suite__removes_its_private_cache(tmp_path):
    # one quick test in a child pytest whose temporary folder is ours: nothing may stay behind
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("UNIQUE_TEST_CACHE_DIR", None)
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_packaging.py::test_resources__missing_asset_names_the_fix"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not list(tmp_path.glob("unique-test-cache-*"))


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux /proc")
def test_launch_main__serves_from_any_folder_and_stops_with_its_process(tmp_path):
    # what `make run` and `unique app` do: the server takes the launcher's process (no orphan)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "unique_core.launch", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}", proc) == (ROOT / "static" / "leaflet.js").read_bytes()
        assert _listening_addresses(port) == {"0100007F"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    time.sleep(0.5)
    assert not _listening_addresses(port), "a server outlived its launcher"
