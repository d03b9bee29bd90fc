"""Sphinx fixes that keep every page self-contained and free of console errors.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). Three things, each a
workaround for a behaviour of the pinned Jupyter Book 1.x stack:

1. Jupyter Book adds *every* ``.js``/``.css`` file found under ``_static/`` to
   *every* page (``jupyter_book.config``), and twice when ``_static`` is also in
   ``html_static_path``. The vendored libraries under ``_static/vendor/`` and the
   widget glue must only load where they are asked for, in order: the widget
   manager through myst-nb's ``nb_ipywidgets_js`` (pages with stored widget
   state) and MathJax through ``mathjax_path``. Loaded everywhere, each widget
   renders twice and every MathJax extension loads up front. They are removed
   from ``html_js_files``/``html_css_files`` here.
2. Sphinx 7 registers an inline script added during ``env-before-read-docs``
   twice (once as ``None``, once as ``''``); sphinx-thebe's
   ``const THEBE_JS_URL = ...`` then throws "Identifier has already been
   declared" on every page. Identical script tags are de-duplicated per page.
3. ``html_static_path`` is de-duplicated (Jupyter Book appends ``_static``
   again when it already is listed).
"""

from __future__ import annotations

from sphinx.application import Sphinx

VENDOR_PREFIX = "vendor/"


def _name(entry) -> str:
    return entry[0] if isinstance(entry, (tuple, list)) else entry


def _drop_vendor_assets(app: Sphinx, config) -> None:
    loaded_elsewhere = set(getattr(config, "nb_ipywidgets_js", None) or {})
    loaded_elsewhere.add(getattr(config, "mathjax_path", None))

    def keep(entry) -> bool:
        name = str(_name(entry))
        return not name.startswith(VENDOR_PREFIX) and name not in loaded_elsewhere

    for key in ("html_js_files", "html_css_files"):
        setattr(config, key, [e for e in (getattr(config, key, None) or []) if keep(e)])
    config.html_static_path = list(dict.fromkeys(config.html_static_path))


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _drop_vendor_assets, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
