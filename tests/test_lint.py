"""The library, tests, scripts, benchmarks and chapters pass ruff (settings in pyproject.toml):
``ruff check`` finds nothing and ``ruff format --check`` would change nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["lib", "tests", "scripts", "benchmarks", "chapters"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    fix = "ruff check --fix" if command == ["check"] else "ruff format"
    assert result.returncode == 0, (
        f"ruff {' '.join(command)} found problems (`.venv/bin/{fix} {' '.join(PATHS)}` "
        f"fixes most):\n{result.stdout}{result.stderr}"
    )
