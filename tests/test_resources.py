"""Chapter 16's table of equivalents cannot go stale (``dlcv.resources``).

* every ``dlcv`` name resolves by import, so renaming a function breaks this test;
* every OpenCV, scikit-image, scikit-learn, SciPy, NumPy, pycocotools, dlib or fairlearn
  name resolves in the installed packages;
* every public function and class of the core modules (``conv``, ``pool``, ``layers``,
  ``optim``) has a record;
* the PyTorch / torchvision names resolve wherever ``torch`` is installed (it is optional);
* the chapter's stored tables are the ones the module renders now.
"""

from __future__ import annotations

import importlib
import inspect

import nbformat
import pytest

from browser_harness import ROOT
from dlcv.resources import (
    CORE_MODULES,
    EQUIVALENTS,
    PARTS,
    Equivalent,
    by_part,
    markdown_table,
    resolve,
)

CHAPTER = ROOT / "chapters" / "16_resources.ipynb"
OTHER_PACKAGES = (
    "cv2", "skimage", "sklearn", "scipy", "numpy", "pycocotools", "dlib", "fairlearn", "pybullet",
)  # fmt: skip


def _ids(names):
    return [pytest.param(n, id=n) for n in names]


@pytest.mark.parametrize("name", _ids(e.dlcv for e in EQUIVALENTS))
def test_every_dlcv_name_imports(name):
    assert callable(resolve(name)), f"{name} resolves to something that is not callable"


@pytest.mark.parametrize("name", _ids(sorted({n for e in EQUIVALENTS for n in e.other})))
def test_every_installed_library_name_resolves(name):
    assert name.split(".")[0] in OTHER_PACKAGES, (
        f"{name}: 'other' holds names of the libraries the course installs "
        f"{OTHER_PACKAGES}; put PyTorch-ecosystem names in 'torch'"
    )
    resolve(name)


def test_every_public_function_and_class_of_the_core_modules_has_a_record():
    listed = {e.dlcv for e in EQUIVALENTS}
    missing = []
    for module_name in CORE_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if f"{module_name}.{name}" not in listed:
                    missing.append(f"{module_name}.{name}")
    assert not missing, (
        "public names of the core modules with no row in chapter 16's table "
        f"(add an Equivalent to dlcv.resources.EQUIVALENTS): {missing}"
    )


def test_records_are_well_formed():
    seen = set()
    for e in EQUIVALENTS:
        assert isinstance(e, Equivalent)
        assert e.dlcv.startswith("dlcv.") and e.dlcv not in seen, e.dlcv
        seen.add(e.dlcv)
        assert e.part in PARTS, e
        assert 1 <= e.chapter <= 16 and e.what, e
        assert all(n.split(".")[0] in ("torch", "torchvision") for n in e.torch), e
        assert "|" not in e.what + e.note, f"{e.dlcv}: a '|' would break the Markdown table"
    assert [p for p in PARTS if by_part(p)] == list(PARTS), "a part with no rows"


@pytest.mark.parametrize("name", _ids(sorted({n for e in EQUIVALENTS for n in e.torch})))
def test_every_pytorch_name_resolves_where_torch_is_installed(name):
    pytest.importorskip("torch", reason="PyTorch is not installed (it is optional)")
    if name.startswith("torchvision"):
        pytest.importorskip("torchvision", reason="torchvision is not installed (optional)")
    resolve(name)


def test_resolve_explains_what_is_missing():
    assert resolve("dlcv.detect.nms").__name__ == "nms"
    assert resolve("numpy") is importlib.import_module("numpy")
    with pytest.raises(
        ImportError, match=r"dlcv\.detect\.nmx: dlcv\.detect imports but has no nmx"
    ):
        resolve("dlcv.detect.nmx")
    with pytest.raises(ImportError, match="no prefix of it is an importable module"):
        resolve("no_such_package_h26.thing")
    with pytest.raises(ValueError, match="dotted name"):
        resolve("cv2..filter2D")
    with pytest.raises(TypeError, match="dotted name"):
        resolve(None)
    with pytest.raises(ValueError, match="part must be one of"):
        by_part("nowhere")


def test_the_table_is_markdown_with_one_row_per_record():
    for part in PARTS:
        lines = markdown_table(part).splitlines()
        assert lines[1] == "|---|---|---|"
        assert len(lines) == 2 + len(by_part(part))
        assert all(line.count("|") == 4 for line in lines), part
    row = markdown_table("applications").splitlines()[2 + 1]  # detect.nms
    assert row.startswith("| <code>detect.<wbr>nms</code> (10): greedy non-maximum"), row
    assert "<code>torchvision.<wbr>ops.<wbr>nms</code>" in row


def test_the_chapter_shows_the_tables_the_module_renders_now():
    nb = nbformat.read(CHAPTER, as_version=4)
    shown = [
        o["data"]["text/markdown"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    expected = [f"**{title}**\n\n{markdown_table(part)}" for part, title in PARTS.items()]
    assert shown == expected, (
        "chapters/16_resources.ipynb shows stale tables: re-execute it "
        "(`.venv/bin/python scripts/execute_notebooks.py chapters/16_resources.ipynb`)"
    )
