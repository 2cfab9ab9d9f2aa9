"""`unique app`: start the dashboard from wherever UNIQUE is installed.

Streamlit runs the installed app.py (unique_core.resources.app_dir(): the checkout in an
editable install, unique_core/_app in a wheel) with that folder as its working directory, so
its .streamlit/config.toml, static/ (Leaflet) and assets/icon.png are the package's own,
whatever folder the user starts from. The server listens on 127.0.0.1 unless told otherwise:
the address is passed on the command line as well as set in config.toml, so a user's own
~/.streamlit/config.toml cannot open it to the network by accident.

`python -m unique_core.launch [--host H] [--port P] [--data DIR]` does the same (make run).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from unique_core.errors import UniqueError
from unique_core.resources import app_dir, app_script
from unique_core.ui import serve

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class LaunchError(UniqueError, ValueError):
    """Options of `unique app` that cannot start a server (port, host, data folder)."""


@dataclass(frozen=True)
class AppLaunch:
    """How the server is started: the command, its working folder and its environment."""

    command: list[str]
    cwd: Path
    host: str
    url: str
    env: dict[str, str] = field(repr=False)

    @property
    def public(self) -> bool:
        """True when the server is reachable from other machines (not only this one)."""
        return self.host not in LOCAL_HOSTS


def _check_host(host: str) -> str:
    host = host.strip()
    if host in LOCAL_HOSTS:
        return host
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise LaunchError(f"--host {host!r} is not an IP address: use 127.0.0.1 (this machine only, the "
                          "default) or the address of one of this machine's interfaces, e.g. 0.0.0.0 for all") from None


def prepare_app(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, data_dir: Path | None = None,
                env: dict[str, str] | None = None) -> AppLaunch:
    """The Streamlit command that serves the installed app on `host`:`port`.

    `port` 1-65535. `data_dir` is a real-data folder (docs/real-data.md), handed to the app as
    UNIQUE_DATA_DIR; relative paths, here and in UNIQUE_CACHE_DIR / UNIQUE_MODELS_DIR, are made
    absolute first because the server runs in the app's own folder.
    """
    if not 1 <= int(port) <= 65535:
        raise LaunchError(f"--port {port} is outside 1-65535: pick a free port such as {DEFAULT_PORT}")
    host = _check_host(host)
    env = dict(os.environ if env is None else env)
    for name in ("UNIQUE_CACHE_DIR", "UNIQUE_MODELS_DIR", "UNIQUE_DATA_DIR"):
        if env.get(name):
            env[name] = str(Path(env[name]).expanduser().absolute())
    if data_dir is not None:
        folder = Path(data_dir).expanduser().absolute()
        if not folder.is_dir():
            raise LaunchError(f"--data {data_dir}: no such folder; give a folder laid out as in docs/real-data.md, "
                              "or leave --data out for the simulated Korea")
        env["UNIQUE_DATA_DIR"] = str(folder)
    command = serve.command(app_script(), "--server.address", host, "--server.port", str(int(port)),
                            "--server.headless", "true", "--server.enableStaticServing", "true",
                            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false")
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    return AppLaunch(command=command, cwd=app_dir(), host=host, env=env, url=f"http://{shown}:{int(port)}")


def run_app(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, data_dir: Path | None = None) -> int:
    """Serve the dashboard until interrupted.

    On POSIX the Streamlit server replaces this process (exec), so this returns only on other
    systems, with Streamlit's exit status.

    Puts the map's web files in place first (ui.assets.ensure_web_assets); if that fails the
    reason is printed and the server still starts, and the app shows the same message.
    """
    from unique_core.ui.assets import ensure_web_assets

    launch = prepare_app(host=host, port=port, data_dir=data_dir)
    problem = ensure_web_assets()
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    if launch.public:
        print(f"warning: serving on {host}: anyone who can reach this machine can use the app", file=sys.stderr)
    print(f"UNIQUE on {launch.url} (Ctrl+C stops it)", file=sys.stderr, flush=True)
    if os.name == "posix":
        # the server takes over this process, so Ctrl+C, kill and a service manager reach it
        # directly and no orphaned server is left behind a killed launcher
        os.chdir(launch.cwd)
        os.execve(launch.command[0], launch.command, launch.env)
    try:
        return subprocess.call(launch.command, cwd=launch.cwd, env=launch.env)
    except KeyboardInterrupt:  # Streamlit got the same Ctrl+C and has stopped
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unique_core.launch", description="Start the UNIQUE app.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port, 1-65535 (default 8501)")
    parser.add_argument("--data", type=Path, default=None, help="a real-data folder (docs/real-data.md)")
    args = parser.parse_args(argv)
    try:
        return run_app(host=args.host, port=args.port, data_dir=args.data)
    except UniqueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
