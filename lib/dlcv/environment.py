"""One-line environment check run at the top of every chapter.

>>> from dlcv.environment import check_environment
>>> check_environment(["numpy", "scipy"])  # doctest: +SKIP
✅ Environment ready: dlcv and numpy, scipy import.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable

# How a learner gets each import, when it is missing.
_INSTALL_HINT = {
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "cv2": "opencv-python-headless==4.14.0.94",
    "dlib": "dlib-bin==20.0.1.post1",
    "face_recognition_models": "face-recognition-models==0.3.0",
    "pybullet": "pybullet==3.2.7",  # wheels for Python <= 3.11; newer Pythons compile it
}

DEFAULT_MODULES = ("numpy", "scipy", "skimage", "matplotlib", "ipywidgets")


def missing_modules(modules: Iterable[str] = DEFAULT_MODULES) -> list[str]:
    """Names among ``modules`` that cannot be imported, in the order given.

    Parameters
    ----------
    modules : iterable of str
        Import names, e.g. ``["numpy", "skimage"]``.

    Returns
    -------
    list of str
        The names whose import raises ``ImportError`` (empty when all import).
    """
    if isinstance(modules, str):
        raise TypeError(
            "modules must be a list of import names, e.g. ['numpy', 'scipy'], not one string"
        )
    names = list(modules)
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise TypeError(f"modules must hold non-empty import names (str), got {bad!r}")
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def check_environment(modules: Iterable[str] = DEFAULT_MODULES) -> None:
    """Print one line saying whether everything a chapter imports is installed.

    Nothing is raised and nothing is returned (so a notebook shows only the line):
    when something is missing, the line names it and the command that installs it.
    Use :func:`missing_modules` to get the answer as a value.

    Parameters
    ----------
    modules : iterable of str
        Import names the chapter needs besides ``dlcv`` itself.
    """
    names = list(modules) if not isinstance(modules, str) else modules
    missing = missing_modules(names)
    if missing:
        packages = " ".join(_INSTALL_HINT.get(m, m) for m in missing)
        print(
            f"❌ Missing: {', '.join(missing)}. Install the course's requirements "
            f"(`pip install -r requirements.txt` from the repository root) or run "
            f"`pip install {packages}`."
        )
        return
    listed = ", ".join(names) if names else "nothing else"
    print(f"✅ Environment ready: dlcv and {listed} import.")


def _canonical(name: str) -> str:
    """A distribution name as pip compares it (``lazy_loader`` and ``lazy-loader`` agree)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by canonical name."""
    from importlib import metadata

    return {
        _canonical(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]
    }


def colab_report(before_path, shown: Iterable[str] = ("ipywidgets", "numpy", "matplotlib")) -> bool:
    """One line after Colab's install cell: what it added, and that it changed nothing else.

    Parameters
    ----------
    before_path : str or Path
        The ``pip list --format=freeze`` output written before the install (also the
        install's constraints file).
    shown : iterable of str
        Packages whose kept versions the line names.

    Returns
    -------
    bool
        True when every package installed before still has its version.
    """
    from pathlib import Path

    before = {}
    for line in Path(before_path).read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep:
            before[_canonical(name.strip())] = version.strip()
    now = installed_versions()
    added = sorted(set(now) - set(before))
    changed = sorted(n for n in before if n in now and now[n] != before[n])
    if changed:
        moved = ", ".join(f"{n} {before[n]} -> {now[n]}" for n in changed)
        print(f"❌ The install changed packages Colab ships: {moved}. Restart the runtime.")
        return False
    others = [n for n in added if n != "dlcv"]
    kept = ", ".join(f"{n} {before[n]}" for n in shown if n in before)
    extra = f" and {len(others)} package(s) Colab lacked ({', '.join(others)})" if others else ""
    print(
        f"✅ Installed the course library (dlcv {now.get('dlcv', '?')}){extra}; "
        f"Colab's own packages are unchanged ({kept})."
    )
    return True
