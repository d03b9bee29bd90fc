"""What a browser does to an ``ipywidgets.FileUpload`` when a learner picks a file.

ipywidgets 8 (JupyterLab, the book) sets ``value`` to a tuple of file dicts; ipywidgets
7.7 (Colab) sends ``metadata`` and ``data`` and then bumps a counter, from which the
widget builds a read-only ``value`` dict. The tests upload through :func:`pick_file` so
that they run unchanged with either version.
"""

from __future__ import annotations

import datetime

import ipywidgets as widgets

IPYWIDGETS_7 = widgets.__version__.startswith("7.")


def pick_file(upload: widgets.FileUpload, content: bytes, name: str, mime: str = "image/png"):
    """Deliver ``content`` to ``upload`` as the browser of this ipywidgets version does."""
    if IPYWIDGETS_7:
        upload.metadata = [{"name": name, "type": mime, "size": len(content), "lastModified": 0}]
        upload.data = [content]
        upload._counter += 1  # what the 7.x front end does after sending the file
        return
    when = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
    upload.value = (
        {"name": name, "type": mime, "size": len(content), "content": memoryview(content),
         "last_modified": when},
    )  # fmt: skip
