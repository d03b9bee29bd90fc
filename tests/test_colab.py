"""The Colab path, as a learner meets it, on this machine: Colab's packages, then the chapter.

A fresh virtual environment gets Colab's Python version and Colab's versions of the
packages that matter (``colab/versions.txt``, with where each comes from; ipywidgets
7.7.1 first of all). Then every chapter of the book runs top to bottom in a kernel of
that environment, with ``google.colab`` importable, so its first cell does what it does
on Colab: it installs the course library with the chapter's own install line, the
GitHub address rewritten to this clone (``git+file://``, so the committed HEAD is what
gets installed), constrained to the versions already there. Then no cell may fail, and
ipywidgets must still be 7.7.1.

The widgets as ipywidgets 7.7.1 draws them: in the same environment, every explorer of
the widget contract test is built from this working tree's library and its widget
state saved as ipywidgets 7.7.1 saves it (``ipywidgets.embed``); Chromium renders it
through ipywidgets 7's HTML widget manager (``tests/assets/ipywidgets7/``: the 7.x views,
jQuery UI sliders, as on Colab) and Chrome's accessibility tree must name every control
(:func:`dlcv.widgets.base.accessible_name`), give every slider handle its name, range and
value and every picture its text alternative, all set by the explorers' page script. A
slider moves with the keyboard (the page has no kernel: its own value and readout move,
not the picture; the live picture is checked in ``tests/test_widget_a11y.py``).

Slow (a few minutes: the packages, then every chapter; the widgets add well under a minute).
The interpreter is ``$DLCV_COLAB_PYTHON``, else ``pythonX.Y`` on the PATH, else a pyenv
installation of that version. Skipped when this machine has none, unless
``DLCV_REQUIRE_COLAB=1`` (CI), where that is a failure; the widget checks also need
Chromium (see ``tests/conftest.py``).
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
from pathlib import Path

import pytest

from browser_harness import (
    EXPLORER_READY_JS,
    NAMED_ROLES,
    ROOT,
    ax_nodes,
    control_role,
    missing_from_tree,
    repository,
    serve_directory,
    source_of,
    tab_to,
    toc_notebooks,
    wanted_names,
    watch,
)

VERSIONS = ROOT / "colab" / "versions.txt"
PYBULLET = "pybullet==3.2.7"  # as in requirements.txt and chapter 12's Colab-only cell
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


@pytest.fixture(scope="module")
def colab_venv(tmp_path_factory) -> Path:
    """The python of a fresh virtual environment with Colab's packages (built once here)."""
    version, python = _colab_python()
    if python is None:
        message = f"no python{version} on this machine (Colab's version, colab/versions.txt)"
        if os.environ.get("DLCV_REQUIRE_COLAB") == "1":
            pytest.fail(message)
        pytest.skip(message)
    venv = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(VERSIONS)], check=True)
    # Chapter 12's Colab-only cell installs the simulator, which Colab does not ship; done
    # here once, the same way, so that its widget can be built below. pybullet 3.2.7 has no
    # wheel for Colab's Python: pip compiles it (about 7 minutes on 2 cores).
    subprocess.run([str(py), "-m", "pip", "install", "-q", PYBULLET], check=True)
    return py


@pytest.mark.slow
def test_every_chapter_runs_in_a_colab_like_environment(colab_venv, tmp_path):
    py = str(colab_venv)
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


# ------------------------------------------------------- the widgets as ipywidgets 7.7.1 draws them
MANAGER7 = ROOT / "tests" / "assets" / "ipywidgets7" / "embed-amd.js"
REQUIREJS = ROOT / "_static" / "vendor" / "requirejs" / "require.js"
WIDGETS7 = [
    "kernel editor", "pooling explorer", "shape calculator", "shift explorer",
    "timeline explorer", "augment explorer", "feature explorer", "fine-tune explorer",
    "digit inspector", "face explorer", "driving explorer", "robustness explorer",
    "few-shot explorer",
    "fairness explorer", "command explorer",
]  # fmt: skip
"""The explorers of ``test_widget_contract.WIDGETS``, built here as it builds them."""

# Run in the Colab-like environment with this tree's lib/ first on the path: build each
# explorer, save its widget state as ipywidgets 7.7.1 does, and say what each control and
# picture must be called (json: {"ipywidgets": version, "widgets": {name: {...}}}).
WIDGET_STATES = textwrap.dedent(
    """
    import json, sys
    import ipywidgets
    from ipywidgets.embed import dependency_state, embed_data
    from dlcv.data import asset_path, load_mnist
    from dlcv.milestones import load_milestones
    from dlcv.models import load_lenet_mnist
    from dlcv.train import predict
    from dlcv.transfer import load_target_digits, load_transfer_results
    from dlcv.widgets.augment_explorer import AugmentExplorer
    from dlcv.widgets.base import accessible_name, controls
    from dlcv.widgets.driving import DrivingExplorer
    from dlcv.widgets.faces import FaceExplorer
    from dlcv.widgets.features import FeatureExplorer
    from dlcv.widgets.finetune import FineTuneExplorer
    from dlcv.widgets.kernel_editor import KernelEditor
    from dlcv.widgets.pooling_explorer import PoolingExplorer
    from dlcv.widgets.robustness import RobustnessExplorer
    from dlcv.widgets.fewshot import FewShotExplorer
    from dlcv.widgets.fairness import FairnessExplorer
    from dlcv.fairness import load_ethics_results
    from dlcv.future import embed, fewshot_pool
    from dlcv.widgets.shape_calculator import ShapeCalculator
    from dlcv.widgets.shift_explorer import ShiftExplorer
    from dlcv.widgets.timeline import TimelineExplorer
    from dlcv.widgets.training import DigitInspector

    def digit_inspector():
        model, data = load_lenet_mnist(), load_mnist()
        x, y = data.x_test[:60], data.y_test[:60]
        right = predict(model, x) == y
        return DigitInspector(model, x[right][:30], y[right][:30])

    BUILD = {
        "kernel editor": KernelEditor,
        "pooling explorer": PoolingExplorer,
        "shape calculator": ShapeCalculator,
        "shift explorer": ShiftExplorer,
        "timeline explorer": lambda: TimelineExplorer(
            load_milestones(asset_path("milestones.csv"))),
        "augment explorer": AugmentExplorer,
        "feature explorer": lambda: FeatureExplorer(load_lenet_mnist(), load_target_digits(),
                                                    load_transfer_results()),
        "fine-tune explorer": lambda: FineTuneExplorer(load_transfer_results()),
        "digit inspector": digit_inspector,
        "face explorer": lambda: FaceExplorer(source="obama", detector="Haar cascade"),
        "driving explorer": DrivingExplorer,
        "robustness explorer": lambda: RobustnessExplorer(
            {"LeNet": load_lenet_mnist()}, load_mnist().x_test[:8], load_mnist().y_test[:8]),
        "few-shot explorer": lambda: (lambda pool: FewShotExplorer(
            pool, {m: embed(m, pool.x) for m in ("pixels", "HOG")}))(
            fewshot_pool(n_candidates=6, n_queries=8)),
        "fairness explorer": lambda: FairnessExplorer(load_ethics_results()),
        # imported only when built: dlcv.widgets.robot needs pybullet (see colab_venv)
        "command explorer": lambda: __import__(
            "dlcv.widgets.robot", fromlist=["CommandExplorer"]).CommandExplorer(),
    }
    out = {"ipywidgets": ipywidgets.__version__, "widgets": {}}
    for name in sys.argv[2:]:
        w = BUILD[name]()
        # The whole state, as a front end holds it: with drop_defaults, 7.7.1 leaves out a
        # range slider's _view_name, which its JavaScript then takes for a one-handle slider.
        state = dependency_state([w], drop_defaults=False)
        data = embed_data(views=[w], state=state, drop_defaults=False)
        found = []
        for c in controls(w):
            spec = {"kinds": [k.__name__ for k in type(c).__mro__], "name": accessible_name(c),
                    "range": isinstance(getattr(c, "value", None), tuple)}
            if "Slider" in type(c).__name__ and c.has_trait("min"):
                spec.update(min=c.min, max=c.max, step=c.step, value=c.value)
            found.append(spec)
        out["widgets"][name] = {
            "state": data["manager_state"], "view": data["view_specs"][0], "controls": found,
            "alts": [p.alt for p in w.pictures()], "problems": w.accessibility_problems(),
        }
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
    """
)

PAGE7 = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="require.js"></script>
<script src="embed-amd.js"></script>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
</head><body><main><h1>{title}</h1>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
</main></body></html>
"""
FONTS7 = re.compile(
    r"^https://unpkg\.com/@jupyter-widgets/html-manager@[^/]+/dist/\w+\.(woff2?|ttf|eot|svg)$"
)
"""Font Awesome, which the 7.x bundle asks unpkg for: answered here with an empty font."""
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def widget_pages7(colab_venv, tmp_path_factory):
    """Each explorer of WIDGETS7, a page of its ipywidgets 7.7.1 state: ``{name: (url, spec)}``."""
    folder = tmp_path_factory.mktemp("widgets7")
    (folder / "states.py").write_text(WIDGET_STATES)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"), PYTHONDONTWRITEBYTECODE="1",
               MPLBACKEND="Agg")  # fmt: skip
    run = subprocess.run(
        [str(colab_venv), str(folder / "states.py"), str(folder / "states.json"), *WIDGETS7],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, f"building the widgets failed:\n{run.stderr[-3000:]}"
    states = json.loads((folder / "states.json").read_text())
    assert states["ipywidgets"] == "7.7.1", states["ipywidgets"]
    shutil.copy(MANAGER7, folder / "embed-amd.js")
    shutil.copy(REQUIREJS, folder / "require.js")
    paths = {}
    for name, spec in states["widgets"].items():
        paths[name] = re.sub(r"\W+", "-", name) + ".html"
        (folder / paths[name]).write_text(
            PAGE7.format(
                title=name,
                state=json.dumps(spec["state"]).replace("</", "<\\/"),
                view=json.dumps(spec["view"]),
            ),
            encoding="utf-8",
        )
    with serve_directory(folder) as url:
        yield {name: (url + paths[name], spec) for name, spec in states["widgets"].items()}


def _open7(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    log = watch(page, block_external=True)
    page.route(FONTS7, lambda route: route.fulfill(status=200, body=b"", content_type="font/woff2"))
    page.goto(url, wait_until="load")
    page.wait_for_function(EXPLORER_READY_JS, timeout=TIMEOUT_MS)
    return page, log


def _slider_node(nodes: list[dict], name: str) -> dict | None:
    return next((n for n in nodes if n["role"] == "slider" and n["name"] == name), None)


@pytest.mark.slow
@pytest.mark.parametrize("name", WIDGETS7)
def test_ipywidgets7_widget_names_every_control_slider_and_picture(browser, widget_pages7, name):
    url, spec = widget_pages7[name]
    assert not spec["problems"], f"{name} under ipywidgets 7.7.1: {spec['problems']}"
    page, log = _open7(browser, url)
    try:
        nodes = ax_nodes(page)
        unnamed = [n["role"] for n in nodes if n["role"] in NAMED_ROLES and not n["name"].strip()]
        assert not unnamed, f"{name}: elements without an accessible name: {unnamed}"
        wanted = [(control_role(c["kinds"]), c["name"], c["range"]) for c in spec["controls"]]
        missing = missing_from_tree(nodes, wanted, spec["alts"])
        assert not missing, (
            f"{name}: not in the accessibility tree as (role, name): {missing}; found "
            f"{sorted({(n['role'], n['name']) for n in nodes if n['role'] in NAMED_ROLES})}"
        )
        wrong = []
        for c in (c for c in spec["controls"] if "min" in c):
            values = c["value"] if c["range"] else [c["value"]]
            for (_, handle), value in zip(wanted_names("slider", c["name"], c["range"]), values,
                                          strict=True):  # fmt: skip
                node = _slider_node(nodes, handle) or {"properties": {}, "value": None}
                got = (node["properties"].get("valuemin"), node["properties"].get("valuemax"),
                       node["value"])  # fmt: skip
                want = (c["min"], c["max"], value)
                if got != pytest.approx(want, rel=1e-6, abs=1e-9):
                    wrong.append(f"{handle!r}: (min, max, value) {got}, not {want}")
        assert not wrong, f"{name}: sliders whose range or value is wrong: {wrong}"
        assert not log.errors, f"{name}: {log.errors}"
        assert not log.external, f"{name}: fetched from outside (a module missing?): {log.external}"
    finally:
        page.close()


KEYS7 = [  # (widget, slider handle, key, direction)
    ("pooling explorer", "window", "ArrowRight", +1),
    ("timeline explorer", "Years, to", "ArrowLeft", -1),  # a range slider's second handle
    ("driving explorer", "paint worn", "ArrowRight", +1),  # its readout is a percentage
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "handle", "key", "direction"), KEYS7,
                         ids=[f"{n}: {h}" for n, h, _, _ in KEYS7])  # fmt: skip
def test_ipywidgets7_slider_moves_by_keyboard(browser, widget_pages7, name, handle, key, direction):
    url, spec = widget_pages7[name]
    control = next(c for c in spec["controls"] if handle in
                   [n for _, n in wanted_names("slider", c["name"], c["range"])])  # fmt: skip
    start = control["value"][handle.endswith(", to")] if control["range"] else control["value"]
    want = start + direction * control["step"]
    page, log = _open7(browser, url)
    try:
        slider = page.get_by_role("slider", name=handle, exact=True)
        tab_to(page, slider, f"{name}'s slider {handle!r}")  # the keyboard alone
        readout = slider.evaluate_handle(
            "el => el.closest('.widget-slider').querySelector('.widget-readout')"
        )
        before = readout.evaluate("el => el.textContent")
        page.keyboard.press(key)
        page.wait_for_function("([el, old]) => el.textContent !== old", arg=[readout, before])
        node = _slider_node(ax_nodes(page), handle)
        assert node is not None, f"{name}: the slider {handle!r} lost its name when it moved"
        now = readout.evaluate("el => el.textContent")
        assert node["value"] == pytest.approx(want, rel=1e-6, abs=1e-9), (
            f"{name}: {key} moved the slider from {before!r} to {now!r}, but its handle "
            f"{handle!r} says the value is {node['value']}, not {want}"
        )
        low, high = node["properties"]["valuemin"], node["properties"]["valuemax"]
        assert low <= node["value"] <= high, (name, node)
        assert not log.errors, f"{name}: {log.errors}"
    finally:
        page.close()
