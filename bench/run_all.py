"""Run every benchmark in bench/ (each prints its ratios and writes bench/reports/*.json).

A benchmark that fails is reported and the others still run; the exit status is 1 if any failed.
"""

import runpy
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
failed = []
for script in sorted(HERE.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    try:
        runpy.run_path(str(script), run_name="__main__")
    except Exception:  # one broken benchmark must not hide the others' numbers
        traceback.print_exc()
        failed.append(script.name)
if failed:
    print(f"\nfailed: {', '.join(failed)}")
    sys.exit(1)
