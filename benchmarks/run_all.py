"""Run every ``benchmarks/bench_*.py`` in turn, each in its own Python process.

Usage::

    .venv/bin/python benchmarks/run_all.py            # what ``make bench`` runs
    .venv/bin/python benchmarks/run_all.py kernels    # only the files whose name contains "kernels"

Each benchmark prints its own Markdown tables; this script adds a heading per
file, the wall time it took, and exits non-zero if any benchmark failed (after
running the others). See ``benchmarks/README.md`` for the recorded figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    patterns = sys.argv[1:] if argv is None else argv
    scripts = sorted(HERE.glob("bench_*.py"))
    if patterns:
        scripts = [s for s in scripts if any(p in s.name for p in patterns)]
    if not scripts:
        print(f"no benchmarks/bench_*.py matches {patterns}", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        print(f"\n# {script.name}\n", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False)
        took = time.perf_counter() - start
        status = "ok" if result.returncode == 0 else f"FAILED (exit code {result.returncode})"
        print(f"\n{script.name}: {status} in {took:.0f} s", flush=True)
        if result.returncode != 0:
            failed.append(script.name)
    ran = len(scripts) - len(failed)
    print(f"\n{ran} of {len(scripts)} benchmarks ran; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
