"""Every way of running a chapter points at the repository named once in ``_config.yml``.

* The launch buttons of the built pages (Binder, Colab, Live Code/Thebe), the
  repository, issue and edit buttons and the download button: right repository,
  right branch, right notebook path (parsed from the built HTML).
* Each notebook's first code cell installs the course library from that same
  repository, only inside Colab; it is tagged ``remove-cell`` and absent from the page.
* Each notebook checks its environment near the top, and a learner missing the library
  or a dependency gets one line that says what is missing and how to install it.
* Binder installs ``binder/requirements.txt``: the runtime only, with the pins of
  ``requirements.txt``.

Pages and notebooks are discovered from ``_toc.yml``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from urllib.parse import parse_qs, urlsplit

import nbformat
import pytest
from bs4 import BeautifulSoup

from browser_harness import (
    BIN,
    ROOT,
    book_config,
    repository,
    source_of,
    toc_docnames,
    toc_notebooks,
)

URL, OWNER_NAME, BRANCH = repository()
NOTEBOOKS = toc_notebooks()
PAGES = toc_docnames()

COLAB_CELL = (ROOT / "colab" / "install_cell.txt").read_text(encoding="utf-8").strip()
"""The first code cell of every chapter, exactly (``URL@BRANCH`` stands for the address
of ``_config.yml``): it adds the course library to Colab's own packages, constrained to
the versions Colab ships, and prints what it did (tests/test_colab.py runs it)."""
COLAB_CELL = COLAB_CELL.replace("URL@BRANCH", f"{URL}@{BRANCH}")


def _code_cells(docname: str) -> list:
    nb = nbformat.read(source_of(docname), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _repo_path(docname: str) -> str:
    """Path of a page's source inside the repository (``path_to_book`` + source)."""
    prefix = (book_config()["repository"].get("path_to_book") or "").strip("/")
    rel = source_of(docname).relative_to(ROOT).as_posix()
    return f"{prefix}/{rel}" if prefix else rel


def _soup(book_html, docname: str) -> BeautifulSoup:
    page = book_html / f"{docname}.html"
    assert page.exists(), f"{docname} produced no page"
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")


def _href(soup: BeautifulSoup, selector: str, docname: str) -> str:
    links = soup.select(selector)
    assert len(links) == 1, f"{docname}: expected one '{selector}' button, found {len(links)}"
    return links[0]["href"]


# --------------------------------------------------------------------------- notebooks
@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_first_code_cell_installs_the_library_only_in_colab(docname):
    first = _code_cells(docname)[0]
    assert first.source.strip() == COLAB_CELL, (
        f"{docname}: the first code cell must be exactly (address from _config.yml):\n"
        f"{COLAB_CELL}\n"
        f"--- found ---\n{first.source}"
    )
    assert "remove-cell" in first.metadata.get("tags", []), (
        f"{docname}: tag the Colab cell 'remove-cell'"
    )


@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_environment_is_checked_near_the_top(docname):
    cells = _code_cells(docname)[:3]
    checks = [c for c in cells if re.search(r"\bcheck_environment\(", c.source)]
    assert checks, f"{docname}: none of the first three code cells calls check_environment([...])"
    lines = "".join(
        o.get("text", "") for o in checks[0].outputs if o.output_type == "stream"
    ).splitlines()
    assert len(lines) == 1 and lines[0].startswith("✅"), (
        f"{docname}: the stored environment check should print one ✅ line, got {lines}"
    )


def _check_cell(docname: str) -> tuple[str, list[str]]:
    """Source of the environment-check cell and the modules it lists."""
    cell = next(c for c in _code_cells(docname)[:3] if "check_environment(" in c.source)
    call = next(
        node
        for node in ast.walk(ast.parse(cell.source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_environment"
    )
    modules = ast.literal_eval(call.args[0]) if call.args else []
    return cell.source, list(modules)


BLOCKER = textwrap.dedent("""
    import importlib.abc, sys
    BLOCKED = set(sys.argv[1].split(","))
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    for mod in [m for m in sys.modules if m.split(".")[0] in BLOCKED]:
        del sys.modules[mod]
    sys.meta_path.insert(0, Blocker())
    exec(compile(sys.stdin.read(), "<check cell>", "exec"))
""")


def _run_check_without(source: str, blocked: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER, blocked],
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT / "chapters",
    )
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def _missing_cases() -> list:
    """The library missing, for every notebook; each dependency missing, once (in the
    first notebook that lists it): every case needs a fresh interpreter."""
    cases, seen = [], set()
    for docname in NOTEBOOKS:
        try:
            _, modules = _check_cell(docname)
        except (StopIteration, SyntaxError, ValueError):
            modules = []
        for module in ["dlcv", *modules]:
            if module == "dlcv" or module not in seen:
                seen.add(module)
                cases.append(pytest.param(docname, module, id=f"{docname}-without-{module}"))
    return cases


@pytest.mark.parametrize(("docname", "blocked"), _missing_cases())
def test_a_missing_package_is_explained_in_one_line(docname, blocked):
    """Run the check cell with one package made unimportable: its last line must name
    the package and say how to install it (not only a bare ModuleNotFoundError)."""
    source, _ = _check_cell(docname)
    lines = _run_check_without(source, blocked)
    assert lines, f"{docname}: the check cell printed nothing when {blocked} was missing"
    last = lines[-1]
    assert blocked in last and "pip install" in last, (
        f"{docname}: with {blocked!r} missing, the learner's last line is\n  {last}\n"
        "which should name it and the install command (e.g. `pip install -r requirements.txt` "
        "from the repository root).\nFull output:\n" + "\n".join(lines[-12:])
    )


# --------------------------------------------------------------------------- built pages
@pytest.mark.slow
@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_launch_buttons_point_at_the_repository_and_notebook(book_html, docname):
    config = book_config()["launch_buttons"]
    soup = _soup(book_html, docname)
    path = _repo_path(docname)

    interface = {"jupyterlab": "lab/tree/", "classic": "tree/"}[
        config.get("notebook_interface", "classic")
    ]
    binder = _href(soup, ".dropdown-launch-buttons a[href*='/v2/gh/']", docname)
    assert (
        binder == f"{config['binderhub_url'].rstrip('/')}/v2/gh/{OWNER_NAME}/{BRANCH}"
        f"?urlpath={interface}{path}"
    )
    assert parse_qs(urlsplit(binder).query)["urlpath"] == [f"{interface}{path}"]

    colab = _href(soup, ".dropdown-launch-buttons a[href*='/github/']", docname)
    assert colab == f"{config['colab_url'].rstrip('/')}/github/{OWNER_NAME}/blob/{BRANCH}/{path}"

    assert config.get("thebe") is True
    assert soup.select(".dropdown-launch-buttons .btn-launch-thebe"), (
        f"{docname}: no Live Code button"
    )
    thebe = soup.find("script", type="text/x-thebe-config")
    assert thebe is not None, f"{docname}: no thebe configuration on the page"
    text = thebe.get_text()
    assert f'repo: "{OWNER_NAME}"' in text and f'ref: "{BRANCH}"' in text, text
    folder = path.rsplit("/", 1)[0] if "/" in path else "."
    assert f'path: "./{folder}"' in text or (folder == "." and 'path: "."' in text), text


@pytest.mark.slow
@pytest.mark.parametrize("docname", PAGES)
def test_source_and_download_buttons(book_html, docname):
    soup = _soup(book_html, docname)
    path = _repo_path(docname)
    assert _href(soup, ".btn-source-repository-button", docname) == URL
    assert _href(soup, ".btn-source-edit-button", docname) == f"{URL}/edit/{BRANCH}/{path}"
    assert _href(soup, ".btn-source-issues-button", docname).startswith(f"{URL}/issues/new?")

    download = _href(soup, ".btn-download-source-button", docname)
    served = (book_html / docname).parent / download
    assert download.endswith(f"_sources/{docname}{source_of(docname).suffix}"), download
    assert served.resolve().read_bytes() == source_of(docname).read_bytes(), (
        f"{docname}: the download button does not serve the repository's {path}"
    )
    assert soup.select(".btn-download-pdf-button"), f"{docname}: no print-to-PDF button"


@pytest.mark.slow
@pytest.mark.parametrize("docname", NOTEBOOKS)
def test_colab_cell_is_not_on_the_page(book_html, docname):
    text = _soup(book_html, docname).select_one("article").get_text()
    assert "google.colab" not in text and "%pip install" not in text, (
        f"{docname}: the Colab install cell shows on the rendered page (tag it remove-cell)"
    )


# --------------------------------------------------------------------------- Binder
def _requirements(path) -> dict[str, str]:
    """``{name: line}`` of a requirements file, comments dropped; ``-e .`` keyed by itself."""
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {re.split(r"[=\[<>~]", line)[0].lower(): line for line in lines if line}


PIN = re.compile(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+")
TOOLS = (
    "jupyter-book",
    "sphinx-exercise",
    "sphinxcontrib-bibtex",
    "pytest",
    "hypothesis",
    "nbval",
    "playwright",
    "voila",
    "ruff",
    "nbclient",
)


@pytest.mark.parametrize("folder", ["", "binder"], ids=["root", "binder"])
def test_requirements_are_exact_pins_ending_with_the_library(folder):
    lines = list(_requirements(ROOT / folder / "requirements.txt").values())
    assert lines[-1] == "-e .", f"{folder or '.'}/requirements.txt must end with `-e .`"
    unpinned = [line for line in lines[:-1] if not PIN.fullmatch(line)]
    assert not unpinned, f"{folder or '.'}/requirements.txt lines without an exact pin: {unpinned}"
    assert (ROOT / folder / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_installs_the_runtime_only_with_the_same_pins():
    """Binder (repo2docker reads binder/ first) gets JupyterLab, widgets, the library and
    what it imports, at the versions CI tests, and none of the book, test or lint tools."""
    full = _requirements(ROOT / "requirements.txt")
    binder = _requirements(ROOT / "binder" / "requirements.txt")
    differ = {
        name: (line, full.get(name)) for name, line in binder.items() if full.get(name) != line
    }
    assert not differ, f"binder/requirements.txt pins differ from requirements.txt: {differ}"
    tools = sorted(set(binder) & set(TOOLS))
    assert not tools, f"binder/requirements.txt installs tools a learner does not need: {tools}"
    for needed in ("jupyterlab", "ipywidgets", "ipykernel"):
        assert needed in binder, f"Binder opens JupyterLab with widgets: pin {needed}"
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[=\[<>~ ]", dep)[0].lower() for dep in project["dependencies"]}
    missing = deps - set(binder)
    assert not missing, f"library dependencies not pinned for Binder: {sorted(missing)}"
    for config in ("environment.yml", "apt.txt", "postBuild", "Pipfile"):
        assert not (ROOT / config).exists() and not (ROOT / "binder" / config).exists(), (
            f"{config} would change what repo2docker installs"
        )


def test_jupyterlab_has_the_widget_manager():
    """Binder and `make lab` open the notebooks in JupyterLab: its widget manager must be
    installed and enabled by requirements.txt alone (no manual labextension step)."""
    done = subprocess.run(
        [str(BIN / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    manager = [
        line for line in listing.splitlines() if "@jupyter-widgets/jupyterlab-manager" in line
    ]
    assert manager and "enabled" in manager[0] and "OK" in manager[0], (
        f"JupyterLab's widget manager is missing or disabled:\n{listing}"
    )


def test_colab_installs_the_pinned_simulator_where_chapter_12_needs_it():
    """pybullet is not among Colab's packages: chapter 12 installs it in a Colab-only cell
    at requirements.txt's pin, says how long it takes, and tests/test_colab.py installs the
    same pin in its Colab-like environment."""
    pin = _requirements(ROOT / "requirements.txt")["pybullet"]
    cells = [c for c in _code_cells("chapters/12_vision_language_robotics")
             if "google.colab" in c.source and "pybullet" in c.source]  # fmt: skip
    assert len(cells) == 1, "chapter 12 needs one Colab-only cell installing pybullet"
    assert f"%pip install -q {pin}" in cells[0].source and "minutes" in cells[0].source
    assert f'PYBULLET = "{pin}"' in (ROOT / "tests" / "test_colab.py").read_text()
    assert "pybullet" not in (ROOT / "colab" / "versions.txt").read_text()
