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


def check_environment(modules: Iterable[str] = DEFAULT_MODULES) -> bool:
    """Print one line saying whether everything a chapter imports is installed.

    Parameters
    ----------
    modules : iterable of str
        Import names the chapter needs besides ``dlcv`` itself.

    Returns
    -------
    bool
        True when every module imports. When some do not, the line names them and
        the command that installs them, and False is returned (nothing is raised, so
        the learner sees the message rather than a traceback).
    """
    if isinstance(modules, str):
        raise TypeError("modules must be a list of import names, e.g. ['numpy', 'scipy'], not one string")
    names = list(modules)
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        packages = " ".join(_INSTALL_HINT.get(m, m) for m in missing)
        print(
            f"❌ Missing: {', '.join(missing)}. Install the course's requirements "
            f"(`pip install -r requirements.txt` from the repository root) or run "
            f"`pip install {packages}`."
        )
        return False
    listed = ", ".join(names) if names else "nothing else"
    print(f"✅ Environment ready: dlcv and {listed} import.")
    return True
