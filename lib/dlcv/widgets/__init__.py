"""Reusable ipywidgets UIs of the course, one submodule per widget.

Every widget is an :class:`Explorer` (:mod:`dlcv.widgets.base`): ``compute()`` calls the
library, ``draw(result)`` shows it, and ``update()`` never raises: a bad value or an
impossible combination shows a message inside the widget (``error``, ``message``), the
last good pictures stay, and the widget keeps working.
"""

from dlcv.widgets.base import Explorer

__all__ = ["Explorer"]
