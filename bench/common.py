"""Small helpers for benchmarks: timing, ratio tables, JSON reports (atomic)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

REPORTS = Path(__file__).parent / "reports"


def timed(fn: Callable, repeat: int = 1) -> tuple[float, object]:
    """Best wall time (s) of `repeat` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def report(name: str, rows: list[dict], extra: dict | None = None) -> Path:
    """Print rows (name, seconds, target, ratio) and write bench/reports/<name>.json."""
    print(f"\n{name}: measured / target (ratio <= 1 meets the target)")
    for r in rows:
        target = r.get("target_s")
        ratio = r["seconds"] / target if target else None
        r["ratio"] = round(ratio, 3) if ratio is not None else None
        flag = "" if ratio is None else ("  ok" if ratio <= 1 else "  MISSED")
        print(f"  {r['name']:<58} {r['seconds']:8.2f} s" + (f"  / {target:6.2f} s = {ratio:5.2f}{flag}" if target else ""))
    REPORTS.mkdir(exist_ok=True)
    data = {"benchmark": name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "platform": platform.platform()},
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": rows, **(extra or {})}
    path = REPORTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
    print(f"  report: {path}")
    return path
