"""Helpers shared by the book, browser and live-widget tests and by the live benchmark.

Nothing here is a test. Everything binds to 127.0.0.1 only and every wait is bounded.

* The book: which pages ``_toc.yml`` lists, where each page's source is, how to build.
* A static web server for the built HTML (a thread running :mod:`http.server`).
* Debian's Chromium driven by Playwright for Python (never a browser download).
* A Voila server giving one chapter a live kernel, and the JavaScript that changes a
  widget control and waits for the widget's image to change.
* Chrome's accessibility tree of a page, and what a widget's controls and pictures must be
  called in it (the ipywidgets 8 and the ipywidgets 7 widget tests).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")

CHROMIUM = os.environ.get("DLCV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = os.environ.get("DLCV_REQUIRE_BROWSER") == "1"


# --------------------------------------------------------------------------- the book
def book_config() -> dict:
    """The parsed ``_config.yml``."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository() -> tuple[str, str, str]:
    """``(url, "owner/name", branch)`` of the repository named once in ``_config.yml``."""
    repo = book_config()["repository"]
    url = repo["url"].rstrip("/")
    parts = urlsplit(url)
    if parts.netloc != "github.com" or parts.path.count("/") != 2:
        raise ValueError(
            f"repository.url in _config.yml must be https://github.com/OWNER/NAME, got {url!r}"
        )
    return url, parts.path.strip("/"), repo.get("branch", "main")


def _toc_entries(node) -> Iterator[str]:
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        if "glob" in node:
            for path in sorted(ROOT.glob(node["glob"])):
                if path.suffix in SOURCE_SUFFIXES:
                    yield path.relative_to(ROOT).with_suffix("").as_posix()
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                yield from _toc_entries(child)


def toc_docnames() -> list[str]:
    """Every page ``_toc.yml`` lists (root first), as Sphinx docnames (no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"], *_toc_entries(toc)]
    return [
        Path(n).with_suffix("").as_posix() if Path(n).suffix in SOURCE_SUFFIXES else n
        for n in names
    ]


def source_of(docname: str) -> Path | None:
    """The source file of a page, or None when it does not exist."""
    for suffix in SOURCE_SUFFIXES:
        path = ROOT / f"{docname}{suffix}"
        if path.exists():
            return path
    return None


def toc_notebooks() -> list[str]:
    """Docnames of the pages whose source is a notebook."""
    return [
        d
        for d in toc_docnames()
        if (source := source_of(d)) is not None and source.suffix == ".ipynb"
    ]


@dataclass
class BookBuild:
    """One build of the book: where the HTML is, and what the build printed."""

    html: Path
    log: str
    returncode: int
    command: list[str]
    seconds: float

    def page(self, docname: str) -> Path:
        return self.html / f"{docname}.html"


def build_book(output: Path, timeout: float = 1800) -> BookBuild:
    """``jupyter-book build <repo> --path-output <output> -W -n --keep-going`` (this venv's)."""
    command = [
        str(BIN / "jupyter-book"),
        "build",
        str(ROOT),
        "--path-output",
        str(output),
        "-W",
        "-n",
        "--keep-going",
    ]
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    return BookBuild(
        html=output / "_build" / "html",
        log=done.stdout + done.stderr,
        returncode=done.returncode,
        command=command,
        seconds=time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- static server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (ephemeral port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def is_local(url: str) -> bool:
    """True for requests the book may make: its own server, data: and blob: URLs."""
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


# --------------------------------------------------------------------------- browser
def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}); pip install -r requirements.txt"
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM}; install Debian's package (apt-get install chromium) "
            f"or point DLCV_CHROMIUM at one"
        )
    return None


def launch_browser(playwright):
    """Debian's Chromium, headless, no sandbox, no background networking."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@dataclass
class PageLog:
    """What a page said and fetched while it loaded."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def watch(page, block_external: bool) -> PageLog:
    """Record console errors, uncaught exceptions, failed and non-local requests.

    With ``block_external`` every request that is not to 127.0.0.1 is aborted (the page
    must still be complete); without it such requests are let through but recorded.
    """
    log = PageLog()

    def route(r):
        url = r.request.url
        if is_local(url):
            r.continue_()
            return
        log.external.append(url)
        if block_external:
            r.abort("internetdisconnected")
        else:
            r.continue_()

    page.route("**/*", route)
    page.on(
        "console",
        lambda m: log.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: log.errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: log.failed.append(f"{r.url} ({r.failure})"))
    page.on(
        "response",
        lambda r: log.failed.append(f"{r.url} (HTTP {r.status})") if r.status >= 400 else None,
    )
    return log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- a11y tree
NAMED_ROLES = {"slider", "spinbutton", "textbox", "combobox", "checkbox", "button", "radio",
               "img", "image", "listbox", "searchbox"}  # fmt: skip
"""Roles that must have a name (``img``/``image``: a picture without ``alt=""``)."""

# Wait until an explorer is drawn, every picture loaded and its page script has run.
EXPLORER_READY_JS = """() => {
  const root = document.querySelector('.dlcv-explorer');
  if (!root) return false;
  const imgs = Array.from(root.querySelectorAll('img'));
  return imgs.every(i => i.complete && i.naturalWidth > 0) && !!root.dlcvApply;
}"""


def ax_nodes(page) -> list[dict]:
    """Chrome's accessibility tree of the page (the Chrome DevTools Protocol's
    ``Accessibility.getFullAXTree``, what a screen reader reads): of each node not ignored,
    its ``role``, ``name``, ``value`` (a slider's: its ``aria-valuenow``; None when it has
    none) and ``properties`` (``{"valuemin": 1, "valuemax": 8, "focusable": True, ...}``)."""
    cdp = page.context.new_cdp_session(page)
    try:
        tree = cdp.send("Accessibility.getFullAXTree")
    finally:
        cdp.detach()
    nodes = []
    for node in tree["nodes"]:
        if node.get("ignored"):
            continue
        nodes.append(
            {
                "role": (node.get("role") or {}).get("value", ""),
                "name": (node.get("name") or {}).get("value", ""),
                "value": (node.get("value") or {}).get("value"),
                "properties": {
                    p["name"]: (p.get("value") or {}).get("value")
                    for p in node.get("properties", [])
                },
            }
        )
    return nodes


def control_role(kinds: list[str]) -> str:
    """The ARIA role Chrome gives a control's focusable element, from ``kinds``, the names
    of the control's classes (``[c.__name__ for c in type(control).__mro__]``), so that a
    widget built in another environment (the Colab-like one, ipywidgets 7) can be named."""
    if {"ToggleButtons", "RadioButtons"} & set(kinds):
        return "group"
    if "Dropdown" in kinds:
        return "combobox"
    if "Checkbox" in kinds:
        return "checkbox"
    if {"Button", "FileUpload"} & set(kinds):
        return "button"
    if "Slider" in kinds[0]:
        return "slider"
    if kinds[0] in ("IntText", "FloatText", "BoundedIntText", "BoundedFloatText"):
        return "spinbutton"
    return "textbox"


def wanted_names(role: str, name: str, is_range: bool) -> list[tuple[str, str]]:
    """``(role, name)`` a control must have in the tree; a range slider has two handles."""
    if role == "slider" and is_range:
        return [(role, f"{name}, from"), (role, f"{name}, to")]
    return [(role, name)]


def missing_from_tree(nodes: list[dict], controls, alts) -> list[tuple[str, str]]:
    """What is not in the tree ``nodes`` as ``(role, name)``: each control of ``controls``,
    ``(role, name, is_range)``, by a node whose name starts with its name (see
    :func:`wanted_names`), and each picture's text alternative of ``alts``, exactly
    (whitespace collapsed, as the page gets it)."""
    found = {(n["role"], n["name"]) for n in nodes}
    missing = []
    for role, name, is_range in controls:
        for want in wanted_names(role, name, is_range):
            if not any(r == want[0] and n.startswith(want[1]) for r, n in found):
                missing.append(want)
    for alt in alts:
        if not any(r in ("img", "image") and n == " ".join(alt.split()) for r, n in found):
            missing.append(("img", alt))
    return missing


MAX_TABS = 150
"""Presses of Tab allowed to reach a control from the top of a page."""


def tab_to(page, locator, what: str) -> None:
    """Move the focus to ``locator`` with the keyboard alone: Tab from the page's top until
    it has focus; fail the test, naming ``what``, after :data:`MAX_TABS` presses."""
    page.locator("body").focus()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if locator.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {what}")


# --------------------------------------------------------------------------- live kernel
@contextlib.contextmanager
def voila_server(notebook: Path, startup_timeout: float = 120) -> Iterator[str]:
    """Run Voila on one notebook, on 127.0.0.1 only; yield its URL; always stop it.

    Voila executes the notebook in a fresh kernel of this environment (cwd: the
    notebook's folder, as nbval and a learner run it). Jupyter's runtime, data and
    config folders are temporary so nothing is written to the user's home.
    """
    voila = BIN / "voila"
    if not voila.exists():
        raise FileNotFoundError(
            f"{voila} is missing: pip install -r requirements.txt (voila is pinned there)"
        )
    port = free_port()
    scratch = Path(tempfile.mkdtemp(prefix="dlcv-voila-"))
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        JUPYTER_DATA_DIR=str(scratch / "data"),
        JUPYTER_CONFIG_DIR=str(scratch / "config"),
        PYTHONUNBUFFERED="1",
    )
    command = [
        str(voila),
        notebook.name,
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--no-browser",
        "--show_tracebacks=True",
        "--Voila.port_retries=0",
    ]
    log_path = scratch / "voila.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=notebook.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Voila exited with code {process.returncode}:\n{log_path.read_text()[-3000:]}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=1),
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Voila did not listen on 127.0.0.1:{port} within {startup_timeout:.0f} s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(process)
        shutil.rmtree(scratch, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM Voila's process group (it and its kernel), then SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# JavaScript run in the page. A control is found by its description label; the
# widget it belongs to is its nearest ancestor box that also holds an image.
FIND_WIDGET_JS = """
([label, kind]) => {
  const selector = {dropdown: '.widget-dropdown', slider: '.widget-slider'}[kind];
  const controls = Array.from(document.querySelectorAll(selector)).filter(el => {
    const l = el.querySelector('.widget-label');
    return l && l.textContent.trim() === label;
  });
  for (const control of controls) {
    let root = control.parentElement;
    const holdsImage = el => el.classList.contains('widget-box') && el.querySelector('img');
    while (root && !holdsImage(root)) root = root.parentElement;
    if (!root) continue;
    for (const mark of ['data-dlcv-root', 'data-dlcv-control']) {
      document.querySelectorAll(`[${mark}]`).forEach(e => e.removeAttribute(mark));
    }
    root.setAttribute('data-dlcv-root', '');
    control.setAttribute('data-dlcv-control', '');
    const select = control.querySelector('select');
    const options = kind === 'dropdown' ? Array.from(select.options).map(o => o.value) : [];
    const value = kind === 'dropdown' ? control.querySelector('select').value
                                      : control.querySelector('.widget-readout').textContent.trim();
    return {found: true, options, value, images: root.querySelectorAll('img').length};
  }
  const labels = Array.from(document.querySelectorAll('.widget-label'));
  return {found: false, labels: labels.map(l => l.textContent.trim())};
}
"""

# Hash the bytes of every image of the widget (blob: URLs are fetched in the page).
IMAGE_DIGESTS_JS = """
async () => {
  const imgs = Array.from(document.querySelectorAll('[data-dlcv-root] img'));
  const out = [];
  for (const img of imgs) {
    const data = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', data);
    out.push(Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join(''));
  }
  return out;
}
"""

# Change the control, then time until the widget's pictures have all been replaced:
# every image whose src changes is awaited until decoded (on screen); the update is
# over when no src has changed for QUIET ms. Returns milliseconds from the change to
# the last new picture decoded (the QUIET wait itself is not counted).
CHANGE_AND_TIME_JS = """
async ([kind, value, timeoutMs]) => {
  const QUIET = 400;
  const control = document.querySelector('[data-dlcv-control]');
  const imgs = Array.from(document.querySelectorAll('[data-dlcv-root] img'));
  const seen = imgs.map(i => i.src);
  const decodes = [];
  let last = null;
  const done = new Promise((resolve, reject) => {
    let quiet = null;
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error('no image changed within ' + timeoutMs + ' ms'));
    }, timeoutMs);
    const observer = new MutationObserver(() => {
      imgs.forEach((img, k) => {
        if (img.src === seen[k]) return;
        seen[k] = img.src;
        const shown = () => { last = Math.max(last || 0, performance.now()); };
        decodes.push(img.decode().then(shown, () => {}));
      });
      if (decodes.length) {
        clearTimeout(timer);
        clearTimeout(quiet);
        quiet = setTimeout(() => { observer.disconnect(); resolve(); }, QUIET);
      }
    });
    imgs.forEach(i => observer.observe(i, {attributes: true, attributeFilter: ['src']}));
  });
  const t0 = performance.now();
  if (kind === 'dropdown') {
    const select = control.querySelector('select');
    select.value = value;
    select.dispatchEvent(new Event('change', {bubbles: true}));
  } else {
    const readout = control.querySelector('.widget-readout');
    readout.focus();
    readout.textContent = String(value);
    const enter = {key: 'Enter', keyCode: 13, which: 13, bubbles: true};
    readout.dispatchEvent(new KeyboardEvent('keydown', enter));
    readout.blur();
  }
  await done;
  await Promise.all(decodes);
  return last - t0;
}
"""


@dataclass(frozen=True)
class LiveCase:
    """A chapter whose widget is driven live: which control, and the values to set."""

    notebook: str
    label: str
    kind: str  # "dropdown" or "slider"
    values: tuple = ()  # for sliders; dropdowns cycle through their own options

    @property
    def path(self) -> Path:
        return ROOT / self.notebook


LIVE_CASES = (
    LiveCase("chapters/02_convolution.ipynb", label="Preset", kind="dropdown"),
    LiveCase(
        "chapters/04_pooling.ipynb", label="window", kind="slider", values=(3, 4, 2, 5, 3, 6, 2, 4)
    ),
)


def open_live_widget(browser, case: LiveCase, base_url: str, timeout_ms: int = 300_000):
    """Open the Voila page, wait for ``case``'s control and mark its widget.

    Returns ``(page, info, log)``.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    log = watch(page, block_external=True)
    page.goto(base_url, wait_until="domcontentloaded", timeout=timeout_ms)
    label_selector = {
        "dropdown": ".widget-dropdown .widget-label",
        "slider": ".widget-slider .widget-label",
    }[case.kind]
    exact = re.compile(rf"^\s*{re.escape(case.label)}\s*$")
    page.locator(label_selector, has_text=exact).first.wait_for(state="visible", timeout=timeout_ms)
    info = page.evaluate(FIND_WIDGET_JS, [case.label, case.kind])
    if info["found"]:
        # every image of the widget has a picture before we start
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('[data-dlcv-root] img'))"
            ".every(i => i.complete && i.naturalWidth > 0)",
            timeout=60_000,
        )
    return page, info, log


def change_values(case: LiveCase, info: dict, count: int, current=None) -> list:
    """``count`` successive values for the control, each different from the one before."""
    pool = (
        [o for o in info.get("options", []) if o not in ("custom",)]
        if case.kind == "dropdown"
        else list(case.values)
    )
    if len(pool) < 2:
        raise ValueError(
            f"{case.notebook}: control {case.label!r} offers fewer than two values: {pool}"
        )
    values, previous, i = [], current, 0
    while len(values) < count:
        v = pool[i % len(pool)]
        i += 1
        if str(v) != str(previous):
            values.append(v)
            previous = v
    return values


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a page of the built book, loaded and rendered ------------------------------------

LOAD_TIMEOUT_MS = 60_000
RENDER_TIMEOUT_MS = 30_000

IMAGES_DONE = """() => Array.from(document.images).every(i => i.complete)"""

IMAGES_JS = """() => Array.from(document.images).map(i => ({
    src: (i.currentSrc || i.src).slice(0, 120), complete: i.complete, width: i.naturalWidth}))"""

# Each stored widget view is a <script type=...widget-view+json>; the widget manager
# renders it into the <div class="widget-subarea"> it inserts just before the script.
WIDGETS_JS = """() => Array.from(document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')).map(s => {
  let model = '?';
  try { model = JSON.parse(s.textContent).model_id; } catch (e) {}
  const area = s.previousElementSibling;
  const ok = !!area && area.classList.contains('widget-subarea');
  const box = ok ? area.getBoundingClientRect() : {width: 0, height: 0};
  const sized = ok && Array.from(area.querySelectorAll('.jupyter-widgets')).some(el => {
      const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  const text = ok ? area.textContent : '';
  const filled = ok && area.childElementCount > 0 && box.width > 0 && box.height > 0;
  return {model, rendered: filled && sized,
          error: /Error displaying widget|model not found/i.test(text)};
})"""

WIDGETS_DONE = f"""() => ({WIDGETS_JS})().every(w => w.rendered || w.error)"""

MATH_JS = """async () => {
  const nodes = Array.from(document.querySelectorAll('.math'));
  if (!nodes.length) return {count: 0};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return {count: nodes.length,
          typeset: nodes.filter(n => n.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length,
          loaded: !!(window.MathJax && MathJax.version)};
}"""

MATH_DONE = """() => {
  const nodes = Array.from(document.querySelectorAll('.math'));
  return nodes.every(n => n.querySelector('mjx-container'));
}"""


def load_page(browser, site: str, docname: str, block_external: bool = True, width: int = 1280):
    """Open ``docname`` of the book served at ``site`` in a new page ``width`` CSS pixels
    wide and wait (bounded) until its images, stored widget views and maths are done.
    Returns ``(page, PageLog)``; close the page when finished."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(LOAD_TIMEOUT_MS)
    log = watch(page, block_external=block_external)
    page.goto(f"{site}{docname}.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    # Images below the fold may be lazy: ask for them all, then wait (bounded).
    page.evaluate(
        "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
    )
    for done in (IMAGES_DONE, WIDGETS_DONE, MATH_DONE):
        try:
            page.wait_for_function(done, timeout=RENDER_TIMEOUT_MS)
        except Exception:  # noqa: BLE001 - the assertions below say what is missing
            pass
    return page, log
