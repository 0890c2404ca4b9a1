"""Every example runs, writes the figures it names into outputs/, and they hold what it says."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convgraph as cg
from convgraph.lessons import EDGE, LESSON

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SOBEL = LESSON.w  # the lesson's 3×3 Sobel kernel


def run_example(name, cwd):
    r = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=cwd, capture_output=True, text=True,
                       env={**os.environ, "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8"}, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout, cwd / "outputs"


def listed(stdout):
    """Values printed as `name = [[...]]`, parsed back into arrays."""
    return {m.group(1): np.array(ast.literal_eval(m.group(2)))
            for m in re.finditer(r"^(.*?) = (\[.*\])$", stdout, re.M)}


def gif(path):
    with Image.open(path) as im:
        assert im.format == "GIF"
        return im.n_frames, im.size, im.info.get("loop")


def png_size(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.size


def svg_text(path):
    text = Path(path).read_text(encoding="utf-8")
    assert text.lstrip().startswith(("<?xml", "<svg", "<!--")) and "</svg>" in text
    return text


def test_every_example_is_tested():
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names == ["exercise_1_stride_dilation.py", "exercise_2_multichannel.py", "exercise_3_pytorch.py",
                     "exercise_4_weight_heatmaps.py", "exercise_5_dilated_backprop.py", "lesson.py"]


def test_lesson(tmp_path, lesson):
    out, outputs = run_example("lesson.py", tmp_path)
    assert "x (5, 5)  w (3, 3)  ->  y (3, 3)" in out
    assert "dY (3, 3)  ->  dW (3, 3)  dX (5, 5)" in out
    assert "graph: 187 nodes (25 input, 9 weight, 81 mul, 72 add), 306 edges" in out
    values = listed(out)
    dW, dX = cg.conv2d_backward(*lesson, np.ones((3, 3)))
    np.testing.assert_array_equal(values["dW[u,v] = sum_ij dY[i,j] * x[i+u, j+v]"], dW)
    np.testing.assert_array_equal(values["dX = full convolution of dY with rot180(W)"], dX)
    frames, _, loop = gif(outputs / "01_conv_backprop.gif")
    assert frames == 48 * 12 + 42 and loop == 0  # 8x8 input, 2x2 kernel: 49 positions at 15 fps, the last held
    frames, _, loop = gif(outputs / "lesson_backprop.gif")
    assert frames > 1 and loop == 0


# The exercises' figures are made for a 1280×720 slide; they are run in this process so that the
# figure they leave open can be measured as well as its PNG.

SLIDE_PX = (1280, 720)
MIN_TEXT_PX, MIN_TITLE_PX = 12, 14  # on the 1280×720 slide
NOISE = re.compile(r"e-(1[0-9]|[2-9][0-9])")  # a number printed as 1e-10 or smaller


@pytest.fixture
def run_here(tmp_path, monkeypatch, capsys):
    """Run an example in this process in a fresh folder: (stdout, outputs/, its globals, its figure)."""
    import runpy

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def run(name):
        plt.close("all")
        monkeypatch.chdir(tmp_path)
        names = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        figures = [plt.figure(n) for n in plt.get_fignums()]
        assert len(figures) == 1, f"{name} left {len(figures)} figures open"
        return capsys.readouterr().out, tmp_path / "outputs", names, figures[0]

    yield run
    plt.close("all")


def grids(fig):
    """The numbered heat maps of a figure (draw_grid's axes), in the order they were made."""
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def scale(ax):
    im = ax.images[0]
    return im.cmap.name, tuple(float(v) for v in im.get_clim())


def check_slide(fig, png, noise_allowed=()):
    """The figure as the back row sees it on a 1280×720 slide: exactly that size; every grid's scale shown
    by a colour bar; titles at least 14 px, other words and the cells' numbers at least 12 px; each number
    inside its cell; no words outside the picture, on a panel or on each other; no rounding noise
    ("-5.55e-17", "-0") in a cell except on the axes in ``noise_allowed``; dW and dX spelt as the lesson
    spells them."""
    from matplotlib.text import Text

    assert png_size(png) == SLIDE_PX
    assert tuple(round(float(v)) for v in fig.get_size_inches() * fig.dpi) == SLIDE_PX
    px = fig.dpi / 72  # pixels per point
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()

    panels = grids(fig)
    bars = [im.colorbar for ax in panels for im in ax.images if im.colorbar is not None]
    assert bars, "no colour bars"
    shown = {(bar.mappable.cmap.name, tuple(float(v) for v in bar.mappable.get_clim())) for bar in bars}
    assert all(scale(ax) in shown for ax in panels), "a grid whose scale no colour bar shows"

    cells = {id(t) for ax in panels for t in ax.texts}
    ticks, in_view = set(), set()  # tick labels; those of ticks inside the axis' limits (the others are not drawn)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for t in (tick.label1, tick.label2):
                    ticks.add(id(t))
                    if lo - 1e-9 * (hi - lo) <= tick.get_loc() <= hi + 1e-9 * (hi - lo):
                        in_view.add(id(t))
    words = [t for t in fig.findobj(Text) if id(t) not in cells and t.get_visible() and t.get_text().strip()
             and (id(t) not in ticks or id(t) in in_view)]
    titles = [ax.title for ax in fig.axes if ax.get_title()] + [t for t in words if t.get_text() == fig.get_suptitle()]
    assert fig.get_suptitle()
    assert all(t.get_fontsize() * px >= MIN_TITLE_PX for t in titles), [t.get_text() for t in titles]
    assert all(t.get_fontsize() * px >= MIN_TEXT_PX for t in words), [(t.get_text(), t.get_fontsize()) for t in words]

    boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9)) for t in words]
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= SLIDE_PX[0] + 1 and box.y1 <= SLIDE_PX[1] + 1, text
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), f"{text!r} lies on a panel"
    for k, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[k + 1:]:
            assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"

    for ax in panels:
        rows, cols = ax.images[0].get_array().shape
        area = ax.get_window_extent(renderer)
        for t in ax.texts:
            text, box = t.get_text(), t.get_window_extent(renderer)
            assert t.get_fontsize() * px >= MIN_TEXT_PX, text
            assert box.width <= area.width / cols and box.height <= area.height / rows, f"{text!r} overflows its cell"
            assert not re.fullmatch(r"-0(\.0*)?", text), text
            assert ax in noise_allowed or not NOISE.search(text), f"rounding noise {text!r} in a cell"
    assert not [t.get_text() for t in words if re.search(r"\bd[wx]\b", t.get_text())], "dW and dX, not dw and dx"


def test_exercise_1_stride_dilation(run_here, dot):
    out, outputs, _, fig = run_here("exercise_1_stride_dilation.py")
    x = np.arange(49.0).reshape(7, 7)
    blocks = re.findall(r"stride (\d), dilation (\d): y \((\d), (\d)\), (\d+) multiplies\n  dW = (\[.*\])\n"
                        r"  input elements used: (\d+) of 49", out)
    assert len(blocks) == 4
    largest = []
    for s, d, oh, ow, muls, dW, used in blocks:
        s, d = int(s), int(d)
        y = cg.conv2d_forward(x, SOBEL, stride=s, dilation=d)
        assert y.shape == (int(oh), int(ow)) and int(muls) == y.size * 9
        ref, _ = cg.conv2d_backward(x, SOBEL, np.ones(y.shape), stride=s, dilation=d)
        np.testing.assert_array_equal(np.array(ast.literal_eval(dW)), ref)
        largest.append(ref.max())
        frames, size, loop = gif(outputs / f"ex1_weight_grad_s{s}_d{d}.gif")
        assert frames >= y.size and loop == 0 and size == (1920, 1080)  # a frame per output, for a slide
    assert [int(b[-1]) for b in blocks] == [49, 49, 49, 16]  # stride 2 with dilation 2 skips rows and columns
    assert largest == [800, 288, 360, 160]

    check_slide(fig, outputs / "ex1_stride_dilation.png")
    panels = grids(fig)
    assert len(panels) == 12 and len(fig.axes) == 12 + 3  # a row each for dW, dX and uses of x; a colour bar per row
    for row, top in zip(range(3), [800.0, 4.0, 9.0]):
        scales = {scale(ax) for ax in panels[4 * row:4 * row + 4]}
        assert len(scales) == 1 and next(iter(scales))[1][1] == top  # one scale per row: 288 is not 800's colour
    assert [ax.get_ylabel() for ax in panels[::4]] == ["dW", "dX", "uses of x"]


def test_exercise_2_multichannel(run_here, dot):
    out, outputs, names, fig = run_here("exercise_2_multichannel.py")
    assert "x (3, 6, 6) ⊛ w (2, 3, 3, 3) + b (2,) -> y (2, 6, 6)" in out
    assert "'mul': 1536" in out  # padding 1 drops the taps on the border
    assert "dY = ones: both filters get the same dW: True" in out  # why dY = ones would show nothing
    assert "dY = y (loss ½·Σ y²): both filters get the same dW: False" in out
    x, w, b = names["x"], names["w"], names["b"]
    assert x.shape == (3, 6, 6) and w.shape == (2, 3, 3, 3) and not np.array_equal(w[0], w[1])
    y = cg.conv2d_forward(x, w, b=b, padding=1)
    dW, _ = cg.conv2d_backward(x, w, y, padding=1)  # dY = y
    values = listed(out)
    np.testing.assert_allclose(values["dW"], dW)
    assert all(not np.allclose(dW[0, c], dW[1, c]) for c in range(3))  # each channel's dW differs per filter
    db = ast.literal_eval(re.search(r"^db = (\[.*?\]) \(each = Σ dY\[o\]", out, re.M).group(1))
    np.testing.assert_allclose(db, y.sum(axis=(1, 2)))  # db[o] = Σ dY[o] = Σ y[o]
    svg = svg_text(outputs / "ex2_channels.svg")
    assert "w[1,2,2,2]" in svg or "collapsed" in svg.lower()  # every weight drawn, or the caption says why not
    frames, size, _ = gif(outputs / "ex2_weight_grad.gif")
    assert frames > 1 and size == (1920, 1080)

    check_slide(fig, outputs / "ex2_dw.png")
    panels = grids(fig)
    assert len(panels) == 8  # per filter: dY, then dW for each of the 3 input channels
    dY_panels, dW_panels = panels[0::4], panels[1:4] + panels[5:8]
    for ax, o in zip(dY_panels, range(2)):
        np.testing.assert_allclose(ax.images[0].get_array(), y[o])
    for ax, (o, c) in zip(dW_panels, np.ndindex(2, 3)):
        assert ax.get_title().startswith(f"dW[{o},{c}]")
        np.testing.assert_allclose(ax.images[0].get_array(), dW[o, c])
    assert {scale(ax)[1] for ax in dW_panels} == {(-np.abs(dW).max(), np.abs(dW).max())}  # one scale for all six
    assert len({scale(ax) for ax in dY_panels}) == 1


def test_exercise_3_pytorch(run_here, torch):
    out, outputs, _, fig = run_here("exercise_3_pytorch.py")
    diffs = dict(re.findall(r"^(\w+)\s+largest \|graph - torch\| = (\S+) < tolerance 1e-10$", out, re.M))
    assert set(diffs) == {"y", "dW", "dX", "db"}
    assert all(float(v) < 1e-12 for v in diffs.values())
    assert re.search(r"^agree: largest difference \S+", out, re.M)

    gap = grids(fig)[2]
    check_slide(fig, outputs / "ex3_torch.png", noise_allowed=[gap])
    graph, torch_, _ = grids(fig)
    assert scale(graph) == scale(torch_)  # the two dW on one scale
    largest = max(float(v) for v in diffs.values())
    assert f"largest |graph − PyTorch| over y, dW, dX and db = {largest:.1e} < tolerance 1e-10" in fig.get_suptitle()
    # the difference: numbers in e-notation (or 0) on a scale that ends at the tolerance, so noise stays pale
    assert scale(gap)[1] == (-1e-10, 1e-10)
    assert all(t.get_text() == "0" or re.fullmatch(r"\d\.\de-1[4-6]", t.get_text()) for t in gap.texts)
    im = gap.images[0]
    for v in np.ravel(im.get_array()):
        r, g, b_, _ = im.cmap(im.norm(v))
        assert min(r, g, b_) > 0.9, f"|difference| {v:.1e} is not pale"
    assert list(im.colorbar.get_ticks())[-1] == 1e-10 and im.colorbar.ax.get_xlim() == (0.0, 1e-10)  # 0 to 1e-10


def test_exercise_4_weight_heatmaps(run_here, dot):
    out, outputs, _, fig = run_here("exercise_4_weight_heatmaps.py")
    values = listed(out)
    x, w = EDGE.arrays()
    patches = {(i, j): x[i:i + 3, j:j + 3] for i in range(3) for j in range(3)}
    np.testing.assert_array_equal(values["loss = y[0,0]: dW"], patches[0, 0])  # one-hot dY: the patch it saw
    np.testing.assert_array_equal(values["loss = y[2,2]: dW"], patches[2, 2])
    np.testing.assert_array_equal(values["loss = y[0,0] - y[2,2]: dW"], patches[0, 0] - patches[2, 2])
    np.testing.assert_allclose(values["loss = mean of y: dW"], sum(patches.values()) / 9)
    dWs = [values[k] for k in values if k.startswith("loss")]
    assert len(dWs) == 4
    for k, a in enumerate(dWs):  # every panel shows a pattern of its own, not one ramp rescaled
        for b in dWs[k + 1:]:
            assert np.abs(a / np.abs(a).max() - b / np.abs(b).max()).max() > 0.2
    svg = svg_text(outputs / "ex4_focus_w10.svg")
    assert "w[1,0]" in svg and "= 1 + 2 + 6 + 0 + 5 + 7 + 4 + 7 + 8 = 40" in svg  # a weight that is not 0, dY = ones
    frames, size, _ = gif(outputs / "ex4_weight_grad.gif")
    assert frames >= 9 and size == (1920, 1080)

    check_slide(fig, outputs / "ex4_dw_heatmaps.png")
    panels = grids(fig)
    assert len(panels) == 9  # x, then a dY and a dW per loss
    np.testing.assert_array_equal(panels[0].images[0].get_array(), x)
    for ax, dW in zip(panels[5:], dWs):
        np.testing.assert_allclose(ax.images[0].get_array(), dW)
    assert len({scale(ax) for ax in panels[5:]}) == 1 and len({scale(ax) for ax in panels[1:5]}) == 1


def test_exercise_5_dilated_backprop(run_here, dot):
    out, outputs, names, fig = run_here("exercise_5_dilated_backprop.py")
    x, w = np.arange(49.0).reshape(7, 7), names["w"]
    assert (w != 0).all()  # no zero tap: every 0 of an imprint is a hole of the dilation
    dW, dX = cg.conv2d_backward(x, w, np.ones((3, 3)), dilation=2)
    values = listed(out)
    np.testing.assert_array_equal(values["dX"], dX)
    np.testing.assert_array_equal(values["dW"], dW)
    one_hot = np.zeros((3, 3))
    one_hot[1, 1] = 1
    imprint = cg.conv2d_backward(x, w, one_hot, dilation=2)[1]
    np.testing.assert_array_equal(values["dY one-hot at y[1,1]: dX"], imprint)
    assert "dX = full convolution of dY with rot180(dilated W): True" in out

    focus = re.search(r"^focus x\[(\d),(\d)\]: feeds (\d) outputs, dX\[\1,\2\] = (\S+)$", out, re.M)
    i, j, feeds, grad = focus.groups()
    i, j = int(i), int(j)
    assert dX[i, j] != 0 and float(grad) == dX[i, j]  # the focus has a gradient to show
    fed = np.zeros((7, 7), dtype=int)  # how many outputs each input feeds: y[a,b] reads x[a + 2u, b + 2v]
    for a, b, u, v in np.ndindex(3, 3, 3, 3):
        fed[a + 2 * u, b + 2 * v] += 1
    assert int(feeds) == fed[i, j] == fed.max()  # of the inputs with the most arrows to follow
    svg = svg_text(outputs / f"ex5_focus_x{i}{j}.svg")
    assert f"x[{i},{j}]" in svg and f"= {dX[i, j]:g}" in svg
    svg_text(outputs / "ex5_dilated_graph.svg")
    frames, size, _ = gif(outputs / "ex5_input_grad.gif")
    assert frames >= 9 and size == (1920, 1080)

    check_slide(fig, outputs / "ex5_dx.png")
    panels = grids(fig)
    assert len(panels) == 3 and len({scale(ax) for ax in panels}) == 1  # the kernel and both dX on one scale
    dilated = panels[0].images[0].get_array()
    assert dilated.shape == (5, 5) and (dilated[1::2, :] == 0).all() and (dilated[:, 1::2] == 0).all()
    np.testing.assert_array_equal(panels[1].images[0].get_array(), imprint)
    np.testing.assert_array_equal(panels[2].images[0].get_array(), dX)


def test_exercise_3_without_pytorch_says_so_in_one_line(tmp_path):
    """A blocked import stands in for a machine without PyTorch."""
    code = ("import sys, runpy\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'torch' or name.startswith('torch.'):\n"
            "            raise ImportError('No module named torch')\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            f"runpy.run_path({str(EXAMPLES / 'exercise_3_pytorch.py')!r}, run_name='__main__')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "make torch" in r.stderr and "torch==2.13.0" in r.stderr
