"""dlcv.figure_text: every figure's text alternative, the colour-only check and the IPython hook."""

import base64
import html
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from dlcv import figure_text  # noqa: E402
from dlcv.figure_text import (  # noqa: E402
    colour_only_panels,
    describe_figure,
    figure_html,
    install,
    set_description,
)
from dlcv.plot import image_grid, show_image, show_kernel  # noqa: E402

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_a_line_plot_is_read_out_with_title_labels_axes_and_ranges():
    fig, ax = plt.subplots()
    x = np.arange(20)
    ax.plot(x, 0.5 + 0.02 * x, marker="o", label="train")
    ax.plot(x, 0.4 + 0.01 * x, marker="s", label="validation")
    ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy")
    ax.legend()
    text = describe_figure(fig)
    assert text.startswith("Figure. Accuracy: 2 lines (")
    assert "train: y from 0.5 to 0.88 over x 0 to 19" in text
    assert "validation: y from 0.4 to 0.59" in text
    assert "legend: train, validation" in text
    assert text.endswith("x axis: epoch; y axis: accuracy.")


def test_short_lines_list_their_points():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 4], [0.25, 0.5, 1.0], marker="o")
    assert "points (1, 0.25), (2, 0.5), (4, 1)" in describe_figure(fig)


def test_an_image_says_its_size_value_range_and_colour_map():
    ax = show_image(np.linspace(-1.5, 3.0, 12).reshape(3, 4), title="edges")
    text = describe_figure(ax.figure)
    assert "edges: an image 3 by 4 pixels, values from -1.5 to 3" in text
    assert "red for positive, blue for negative" in text
    colour = show_image(np.zeros((5, 6, 3)))
    assert "a colour image 5 by 6 pixels" in describe_figure(colour.figure)


def test_a_kernel_reads_out_the_numbers_written_on_it():
    ax = show_kernel(np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), title="Sobel x")
    assert "text on the plot: -1, 0, 1, -2, 0, 2, -1, 0, 1" in describe_figure(ax.figure)


def test_bars_are_read_with_their_category_names():
    fig, ax = plt.subplots()
    ax.bar(["pixels", "HOG", "CNN"], [0.61, 0.83, 0.97])
    ax.set_ylabel("accuracy")
    text = describe_figure(fig)
    assert "3 bars: pixels 0.61, HOG 0.83, CNN 0.97" in text
    fig, ax = plt.subplots()
    ax.barh(["a", "b"], [2.0, 5.0])
    assert "2 bars: a 2, b 5" in describe_figure(fig)


def test_a_colour_bar_and_a_scatter_are_described():
    fig, ax = plt.subplots()
    im = ax.imshow(np.arange(6.0).reshape(2, 3))
    fig.colorbar(im, ax=ax, label="count")
    text = describe_figure(fig)
    assert "panel 2 (a colour bar from 0 to 5, count)" in text
    fig, ax = plt.subplots()
    ax.scatter([1, 2], [3, 4], label="faces")
    assert "2 points (faces) at (1, 3), (2, 4)" in describe_figure(fig)


def test_many_panels_are_summarised_with_every_title():
    fig = image_grid([np.zeros((8, 8))] * 30, titles=[f"digit {i}" for i in range(30)], ncols=6)
    text = describe_figure(fig)
    assert text.startswith("Figure. 30 panels, each an image 8 by 8 pixels")
    assert "digit 0, digit 1" in text and "digit 29" in text
    assert len(text) <= figure_text.MAX_LENGTH


def test_long_descriptions_are_cut_at_the_limit():
    fig, axes = plt.subplots(4, 6)
    for i, ax in enumerate(axes.flat):
        ax.plot(np.arange(50), np.arange(50) * i, label=f"a rather long series name {i}")
        ax.set_title(f"panel title number {i} with many words in it")
    text = describe_figure(fig)
    assert len(text) == figure_text.MAX_LENGTH and text.endswith(" …")


def test_a_chapters_own_description_replaces_the_generated_one():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    assert set_description(fig, "  The loss   falls.\n") is fig
    assert describe_figure(fig) == "The loss falls."


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_set_description_rejects_empty_or_non_text(bad):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        set_description(fig, bad)


@pytest.mark.parametrize("function", [describe_figure, colour_only_panels, figure_html])
def test_non_figures_are_refused_by_name(function):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got ndarray"):
        function(np.zeros((2, 2)))


def test_lines_told_apart_by_colour_alone_are_found():
    fig, (a, b, c) = plt.subplots(1, 3)
    for ax, title in zip((a, b, c), ("colour only", "markers", "labelled"), strict=True):
        ax.set_title(title)
    a.plot([0, 1], [0, 1], color="C0")
    a.plot([0, 1], [1, 0], color="C1")
    b.plot([0, 1], [0, 1], color="C0", marker="o")
    b.plot([0, 1], [1, 0], color="C1", marker="s")
    c.plot([0, 1], [0, 1], color="C0")
    c.plot([0, 1], [1, 0], color="C1")
    c.text(1, 1, "train")
    c.text(1, 0, "test")
    assert colour_only_panels(fig) == ["colour only"]


def test_one_line_with_a_dashed_reference_passes():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [0, 1, 4], color="C0")
    ax.axhline(1.0, color="grey", linestyle="--")
    assert colour_only_panels(fig) == []


def test_grouped_bars_need_hatching_and_categorical_scatters_markers():
    fig, (a, b) = plt.subplots(1, 2)
    a.bar([0, 1], [1, 2], width=0.4, color="C0")
    a.bar([0.4, 1.4], [2, 1], width=0.4, color="C1")
    b.bar([0, 1], [1, 2], width=0.4, color="C0")
    b.bar([0.4, 1.4], [2, 1], width=0.4, color="C1", hatch="//")
    assert colour_only_panels(fig) == ["panel 1"]
    fig, (a, b) = plt.subplots(1, 2)
    a.scatter([0, 1, 2], [0, 1, 2], c=["C0", "C1", "C2"])  # classes in colour only
    b.scatter([0, 1, 2], [0, 1, 2], c=[0.1, 0.5, 0.9], cmap="viridis")  # a value map
    assert colour_only_panels(fig) == ["panel 1"]
    fig, ax = plt.subplots()
    ax.scatter([0, 1], [0, 1], color="C0", marker="o")
    ax.scatter([2, 3], [0, 1], color="C1", marker="^")
    assert colour_only_panels(fig) == []


def test_figure_html_is_the_png_with_the_escaped_description_as_alt():
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_title('a "quoted" <title> & more')
    page = figure_html(fig)
    alt = re.search(r'alt="([^"]*)"', page).group(1)
    assert html.unescape(alt) == describe_figure(fig)
    png = base64.b64decode(re.search(r"base64,([^\"]+)", page).group(1))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_ipython_hook_shows_figures_as_html_with_alt_and_no_bare_png():
    shell = InteractiveShell.instance()
    published = []
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kw: published.append((data, metadata))
    try:
        assert install(shell)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], color="C0")
        ax.plot([0, 1], [1, 0], color="C1")
        ax.set_title("two lines")
        from IPython.display import display

        display(fig)  # what the inline backend calls at the end of a cell
    finally:
        shell.display_pub.publish = original
        InteractiveShell.clear_instance()
    ((data, metadata),) = published
    assert set(data) == {"text/html", "text/plain"}
    assert data["text/plain"] == describe_figure(fig)
    assert 'alt="Figure. two lines: 2 lines' in data["text/html"]
    assert metadata == {"dlcv": {"colour_only": ["two lines"]}}
    assert install(object()) is False  # not an IPython shell


READING_CHAPTERS = {"16_resources"}
"""Chapters without figures (test_book.READING_CHAPTERS: a reading list and tables)."""


def _figure_outputs(path):
    nb = json.loads(path.read_text())
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            yield index, output


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_stored_figure_has_a_text_alternative_and_not_colour_alone(path):
    figures = 0
    for index, output in _figure_outputs(path):
        data = output.get("data", {})
        assert "image/png" not in data, f"cell {index} stores a figure without its text alternative"
        page = "".join(data.get("text/html", ""))
        for img in re.findall(r"<img\b[^>]*>", page):
            assert re.search(r'\balt="[^"]{20,}"', img), f"cell {index}: an image lacks alt text"
        if "dlcv-figure" in page:
            figures += 1
            flagged = output["metadata"]["dlcv"]["colour_only"]
            assert flagged == [], f"cell {index}: colour alone tells series apart in {flagged}"
    # the scan must find the figures it checks; a reading chapter may have none
    assert figures > 0 or path.stem in READING_CHAPTERS, f"{path.stem}: no figure found"
