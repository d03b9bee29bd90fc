"""The Colab path, as a learner meets it, on this machine: Colab's packages, then the chapter.

A fresh virtual environment gets Colab's Python version and Colab's versions of the
packages that matter (``colab/versions.txt``, with where each comes from; ipywidgets
7.7.1 first of all). Then every chapter of the book runs top to bottom in a kernel of
that environment, with ``google.colab`` importable, so its first cell does what it does
on Colab: it installs the course library with the chapter's own install line, the
GitHub address rewritten to this clone (``git+file://``, so the committed HEAD is what
gets installed), constrained to the versions already there. Then no cell may fail, and
ipywidgets must still be 7.7.1.

Slow (a few minutes: the packages, then every chapter). The interpreter is
``$DLCV_COLAB_PYTHON``, else ``pythonX.Y`` on the PATH, else a pyenv installation of that
version. Skipped when this machine has none, unless ``DLCV_REQUIRE_COLAB=1`` (CI), where that
is a failure.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from browser_harness import ROOT, repository, source_of, toc_notebooks

VERSIONS = ROOT / "colab" / "versions.txt"
URL, _, BRANCH = repository()


def _colab_python() -> tuple[str, str | None]:
    """Colab's Python version (from versions.txt) and an interpreter of it, if any."""
    found = re.search(r"^# python (\d+)\.(\d+)\.\d+", VERSIONS.read_text(), re.M)
    assert found, f"{VERSIONS} must name Colab's Python version in a '# python X.Y.Z' line"
    version = f"{found.group(1)}.{found.group(2)}"
    candidates = [os.environ.get("DLCV_COLAB_PYTHON"), shutil.which(f"python{version}")]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3"))
    )
    for python in filter(None, candidates):  # a pyenv shim may exist for another version only
        if subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            return version, python
    return version, None


DRIVER = textwrap.dedent(
    """
    import json, sys, time
    import nbformat
    from nbclient import NotebookClient

    url, local, chapters, results = sys.argv[1], sys.argv[2], sys.argv[3], []
    for path in sys.argv[4:]:
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        has_line = url in first.source
        first.source = first.source.replace(url, local)
        fake = nbformat.v4.new_code_cell(
            "import sys, types\\n"
            "sys.modules.setdefault('google.colab', types.ModuleType('google.colab'))"
        )
        nb.cells.insert(0, fake)
        start, error = time.perf_counter(), None
        try:
            NotebookClient(nb, timeout=900, kernel_name="python3",
                           resources={"metadata": {"path": chapters}}).execute()
        except Exception as exc:  # report every chapter, not only the first failure
            error = f"{type(exc).__name__}: {str(exc)[-1500:]}"
        report = "".join(o.get("text", "") for o in nb.cells[1].get("outputs", []))
        results.append({"path": path, "install_line": has_line, "error": error,
                        "seconds": round(time.perf_counter() - start, 1), "report": report})
        print(json.dumps(results[-1]), flush=True)
    import ipywidgets
    print(json.dumps({"ipywidgets": ipywidgets.__version__}))
    """
)


@pytest.mark.slow
def test_every_chapter_runs_in_a_colab_like_environment(tmp_path):
    version, python = _colab_python()
    if python is None:
        message = f"no python{version} on this machine (Colab's version, colab/versions.txt)"
        if os.environ.get("DLCV_REQUIRE_COLAB") == "1":
            pytest.fail(message)
        pytest.skip(message)
    venv = tmp_path / "colab"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "-r", str(VERSIONS)], check=True)
    (tmp_path / "driver.py").write_text(DRIVER)
    chapters = [str(source_of(d)) for d in toc_notebooks()]
    run = subprocess.run(
        [py, str(tmp_path / "driver.py"), f"git+{URL}@{BRANCH}", f"git+file://{ROOT}",
         str(ROOT / "chapters"), *chapters],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    lines = [json.loads(x) for x in run.stdout.splitlines() if x.startswith("{")]
    assert lines and "ipywidgets" in lines[-1], f"the driver failed:\n{run.stderr[-3000:]}"
    results, final = lines[:-1], lines[-1]
    assert len(results) == len(chapters)
    for r in results:
        name = r["path"].rsplit("/", 1)[-1]
        assert r["install_line"], f"{name}: its first cell does not install from {URL}"
        assert r["error"] is None, f"{name} failed in the Colab-like environment:\n{r['error']}"
    first = results[0]["report"]
    assert "✅ Installed the course library" in first and "ipywidgets 7.7.1" in first, first
    assert final["ipywidgets"] == "7.7.1", "the install replaced Colab's ipywidgets"
    print(json.dumps(results, indent=1), file=sys.stderr)
