"""One-line environment check run at the top of every chapter.

>>> from dlcv.environment import check_environment
>>> check_environment(["numpy", "scipy"])  # doctest: +SKIP
✅ Environment ready: dlcv and numpy, scipy import.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

# How a learner gets each import, when it is missing.
_INSTALL_HINT = {
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
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
