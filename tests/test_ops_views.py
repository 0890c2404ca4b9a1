"""conv1d and conv_transpose2d in every view: diagrams, layout, steppers, the HTML page, every
animation scene (their last frames hold the traced numbers), the lecture kit and the command line."""

import numpy as np
import pytest
from hypothesis import given, settings

import convgraph as cg
from convgraph.lessons import SIGNAL, UPSAMPLE
from convgraph.renderers.animations.catalog import SCENES
from convgraph.renderers.animations.clip import build_frames
from convgraph.renderers.layout import layout
from convgraph.renderers.steppers.text import StepText

from strategies import conv_transpose_problems
from test_html import LAYOUT

TRACE_SCENES = [s for s in SCENES if s != "train"]  # "train" animates a fit_kernel history
GRID_SCENES = [s for s in TRACE_SCENES if s not in ("graph", "im2col")]


def one_d():
    rng = np.random.default_rng(3)
    return cg.trace_conv1d(rng.integers(-3, 4, (2, 9)).astype(float), rng.integers(-2, 3, (2, 2, 3)).astype(float),
                           np.array([1.0, -1.0]), stride=2, padding=1)


def transposed():
    rng = np.random.default_rng(4)
    return cg.trace_conv_transpose2d(rng.integers(-3, 4, (2, 3, 3)).astype(float),
                                     rng.integers(-2, 3, (2, 1, 3, 3)).astype(float), np.array([0.5, -1.0]),
                                     stride=2, padding=1, output_padding=1, groups=2)


TRACES = {"conv1d": one_d, "conv_transpose2d": transposed, "signal": SIGNAL.trace, "upsample": UPSAMPLE.trace}


@pytest.mark.parametrize("make", TRACES.values(), ids=TRACES)
def test_every_diagram_and_stepper_draws_it(make, tmp_path):
    trace = make()
    trace.backward()
    spec = trace.conv.spec
    full = cg.to_digraph(trace, detail="full").source
    assert all(f'"n{n}"' in full or f"n{n} " in full for n in trace.conv.internal()[:5])
    if spec.dims == 1:
        assert "x[" in full and trace.label(int(trace.tensors["x"].nodes.flat[3])).count(",") == len(spec.x_shape) - 1
    for name in ("x", "w", "y"):
        index = tuple(s // 2 for s in trace.tensors[name].shape)
        f = cg.focus(trace, (name, index))
        assert f.nodes and cg.render_graph(trace, tmp_path / f"focus_{name}.svg", focus=(name, index)).exists()
    for options in (dict(detail="collapsed"), dict(step=7), dict(size="slide")):
        assert cg.render_graph(trace, tmp_path / "view.svg", **options).stat().st_size > 1000
    text = StepText(trace, trace.walk())
    lines = [text.line(step) for step in trace.walk()]
    assert len(lines) == trace.graph.number_of_nodes() and all("mul#" not in line for line in lines)
    page = cg.render_html(trace, tmp_path / "page.html")
    assert page.stat().st_size > 10_000


def test_a_one_dimensional_graph_reads_top_to_bottom():
    """x rows on top, each band of multiply-adds under them, its y row right under the band, y[j]
    under the block of its sum; w to the left, so no arrow crosses a row of boxes."""
    trace = one_d()
    lay = layout(trace)
    x_bottom = min(p.box[1] for p in lay.panels if p.tensor == "x")
    bands = sorted((p for p in lay.panels if p.kind == "imprint"), key=lambda p: -p.box[3])
    ys = {p.lead: p for p in lay.panels if p.tensor == "y"}
    assert len(bands) == 2 and set(ys) == {(0,), (1,)}
    for o, band in enumerate(bands):
        assert band.box[3] < x_bottom  # under the x rows (y points up)
        assert ys[(o,)].box[3] < band.box[1]  # its y row right under it
        if o:
            assert band.box[3] < ys[(o - 1,)].box[1]
    taps = trace.conv.taps()
    for j in range(trace.conv.spec.OW):
        y = int(trace.tensors["y"].nodes[0, j])
        muls = taps.mul[taps.y == y]
        xs = [lay.pos[int(m)][0] for m in muls if int(m) in lay.pos]
        assert min(xs) <= lay.pos[y][0] <= max(xs)
    w_right = max(p.box[2] for p in lay.panels if p.tensor == "w")
    assert w_right < min(b.box[0] for b in bands)
    assert trace.slice_of(int(trace.tensors["x"].nodes[1, 4])) == ("x", (1,))


@pytest.mark.parametrize("scene", TRACE_SCENES)
@pytest.mark.parametrize("make", [one_d, transposed], ids=["conv1d", "conv_transpose2d"])
def test_every_scene_animates_it(make, scene, tmp_path):
    trace = make()
    if scene == "im2col" and trace.conv.spec.transposed:
        with pytest.raises(ValueError, match="scene 'im2col' draws a convolution's column matrix"):
            cg.animate(trace, tmp_path / f"{scene}.gif", scene=scene, dpi=40, progress=False)
        return
    path = cg.animate(trace, tmp_path / f"{scene}.gif", scene=scene, dpi=40, progress=False)
    assert path.stat().st_size > 1000


@settings(max_examples=12, deadline=None)
@given(conv_transpose_problems(max_hw=3, max_k=2))
def test_transposed_scenes_end_on_the_traced_numbers(p):
    trace = cg.trace_conv_transpose2d(p["x"], p["w"], p["b"], **p["kw"])
    grads = trace.backward(p["dY"])
    rec = trace.conv
    want = {"y": rec.values4("y"), "y_scatter": rec.values4("y"), "dW": grads.w.reshape(rec.values4("w").shape),
            "dX": grads.x.reshape(rec.values4("x").shape)}
    for scene in GRID_SCENES:
        renderer, frames = build_frames(trace, scene, dY=p["dY"])
        result = renderer.scene.result
        assert result and frames
        for name, values in result.items():
            np.testing.assert_allclose(values, want[name], atol=1e-9, err_msg=f"{scene} {name}")
        renderer.close()


def test_transposed_forward_shows_both_readings():
    trace = UPSAMPLE.trace()
    renderer, frames = build_frames(trace, "forward")
    sc = renderer.scene
    keys = {p.key.split(":")[0]: p for p in sc.panels}
    assert set(keys) == {"x", "W", "ys", "xg", "Wf", "yg"}
    gather = keys["xg"]  # x′: x with a zero inserted between entries, padded by (3 − 1)·1 − 1 = 1
    assert gather.values.shape == (6, 6)
    assert gather.inserted[1, 2] and gather.inserted[2, 2] and not gather.zeros[1, 2]  # pale: inserted
    assert gather.zeros[0, 0] and not gather.inserted[0, 0]  # grey: padding
    assert gather.values[1, 1] == 1 and gather.values[3, 3] == 4
    assert keys["ys"].faded[0].all() and not keys["ys"].faded[1:, 1:].any()  # the top row is cropped off
    captions = {f.caption.split(":")[0] for f in frames}
    assert captions == {"part 1, scatter", "part 2, gather"}
    assert frames[4].title.startswith("y[0,0] = Σ rot180(W)·x′ = ")  # the first gather frame
    np.testing.assert_array_equal(np.nan_to_num(frames[-1].values["yg:0,0"]), trace.y)


@pytest.mark.parametrize("op, args, words", [
    ("conv1d", [], "conv1d: x 8 ⊛ w 3 → y 8 (1-D, padding 1)"),
    ("conv_transpose2d", [], "conv_transpose2d: x 2×2 ⊛ᵀ w 3×3 → y 4×4 (stride 2, padding 1, output padding 1)"),
    ("conv_transpose2d", ["--input", "2x3x3", "--groups", "2", "--stride", "2", "--output-padding", "1"],
     "conv_transpose2d: x 2×3×3 ⊛ᵀ w 2×1×3×3 → y 2×8×8 (stride 2, output padding 1, groups 2)"),
    ("conv1d", ["--input", "1,2,3,4,5", "--kernel", "1,-1", "--stride", "2"], "conv1d: x 5 ⊛ w 2 → y 2 (1-D, stride 2)"),
])
def test_command_line_op(capsys, op, args, words):
    from convgraph.cli import main

    assert main(["trace", "--op", op, *args]) == 0
    assert words in capsys.readouterr().out
    assert main(["check", "--op", op, "--no-torch", *args]) == 0


@pytest.mark.parametrize("args, message", [
    (["trace", "--output-padding", "1"], "--output-padding is for --op conv_transpose2d only"),
    (["trace", "--op", "conv1d", "--stride", "1,2"], "stride must be an int, got (1, 2)"),
    (["trace", "--op", "conv_transpose2d", "--output-padding", "3", "--stride", "2"],
     "output_padding must be smaller than either stride or dilation"),
])
def test_command_line_op_refusals(capsys, args, message):
    from convgraph.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_lecture_kit_of_a_transposed_convolution(tmp_path):
    from convgraph.kit import lecture_kit

    written = lecture_kit(tmp_path / "kit", trace=UPSAMPLE.trace(), progress=False)
    assert len(written) == 21 and all(p.stat().st_size > 0 for p, _ in written)  # 20 files (no im2col) and the index
    index = (tmp_path / "kit" / "index.md").read_text()
    assert "# Lecture kit: backprop through a transposed convolution" in index
    assert "The upsample problem" in index and "an ordinary convolution of dY with w, stride s" in index
    assert "both readings" in index and "rotated 180°, as" not in (tmp_path / "kit" / "focus_x0_0.svg").read_text()


@pytest.mark.browser
@pytest.mark.parametrize("make", [one_d, transposed], ids=["conv1d", "conv_transpose2d"])
def test_html_page_fits_a_slide(make, tmp_path, opened):
    trace = make()
    page = cg.render_html(trace, tmp_path / "page.html")
    o = opened(page, "#step=3", size=(1280, 720))
    assert o.page.evaluate(LAYOUT) == []
    for k in (10, 25, 40):
        o.page.evaluate(f"convgraph.go({k})")
        assert o.page.evaluate(LAYOUT) == [], k
    o.page.keyboard.press("f")
    o.page.keyboard.press("ArrowRight")
    assert o.page.evaluate(LAYOUT) == []
    o.assert_clean()


def test_the_arithmetic_configurations_have_the_guides_sizes():
    from convgraph.kit import ARITHMETIC, arithmetic_trace

    sizes = [arithmetic_trace(c)[0].y.shape for c in ARITHMETIC]
    assert sizes == [(2, 2), (6, 6), (5, 5), (7, 7), (2, 2), (3, 3), (3, 3),  # convolutions
                     (4, 4), (5, 5), (5, 5), (5, 5), (5, 5), (5, 5), (6, 6),  # their transposed counterparts
                     (3, 3)]  # dilation
    for conv, back in zip(ARITHMETIC[:7], ARITHMETIC[7:14]):  # each transposed one maps the output back
        assert back.x == arithmetic_trace(conv)[0].y.shape and back.w == conv.w


def test_the_arithmetic_gallery(tmp_path):
    from convgraph.kit import ARITHMETIC, arithmetic_gallery

    written = arithmetic_gallery(tmp_path / "gallery", progress=False)
    assert len(written) == 3 * len(ARITHMETIC) + 2 and all(p.stat().st_size > 0 for p, _ in written)
    index = (tmp_path / "gallery" / "index.md").read_text()
    page = (tmp_path / "gallery" / "index.html").read_text()
    for k, config in enumerate(ARITHMETIC, 1):
        for part in ("forward.gif", "backward.gif", "focus.png"):
            name = f"{k:02d}_{config.name}_{part}"
            assert f"[{name}]({name})" in index and f'src="{name}"' in page
        assert config.title in index
    assert "<script" not in page and "http" not in page  # offline, fetches nothing
    arithmetic_gallery(tmp_path / "gallery", progress=False)  # its own files are replaced without asking


@pytest.mark.parametrize("make", [SIGNAL.trace, UPSAMPLE.trace, one_d, transposed],
                         ids=["signal", "upsample", "conv1d", "conv_transpose2d"])
def test_quiz_asks_about_it(make):
    trace = make()
    rng = np.random.default_rng(5)
    dY = rng.integers(-2, 3, trace.y.shape).astype(float)
    grads = trace.backward(dY)  # the quiz asks about the last backward pass
    questions = cg.quiz(trace, count=30, seed=1)
    assert {q.kind for q in questions} >= {"forward", "weight-grad", "input-grad", "push", "shape"}
    for q in questions:
        assert q.check(q.key), (q.kind, q.key)
        if q.kind == "shape":
            assert q.answer == trace.y.shape
        if q.kind in ("weight-grad", "input-grad"):
            name = "w" if q.kind == "weight-grad" else "x"
            assert q.answer in set(np.asarray(grads[name], float).ravel().tolist())
    forward = [q for q in questions if q.kind == "forward"]
    assert all(q.answer in set(trace.y.ravel().tolist()) for q in forward)
    words = " ".join(q.text + q.explanation for q in questions)
    assert ("stamp" in words) == trace.conv.spec.transposed and "flipped kernel" not in (words if trace.conv.spec.transposed else "")


@pytest.mark.parametrize("make", [SIGNAL.trace, one_d, UPSAMPLE.trace], ids=["signal", "conv1d", "upsample"])
def test_quiz_problem_and_notebook_widget(make):
    from convgraph.practice import problem_lines

    trace = make()
    trace.backward()
    lines = problem_lines(trace)
    assert lines[0] == trace.describe()
    if trace.conv.spec.dims == 1:  # rows, titled by their leading index only
        titles = [line.split()[0] for line in lines[1:] if line.startswith("  ") and line.strip()[0].isalpha()]
        assert titles == (["x", "w", "dY"] if trace.tensors["x"].ndim == 1 else
                          ["x[0,:]", "x[1,:]", "w[0,0,:]", "w[0,1,:]", "w[1,0,:]", "w[1,1,:]", "b", "dY[0,:]", "dY[1,:]"])
    pytest.importorskip("ipywidgets")
    from convgraph.notebook import quiz_widget, stepper_widget

    assert quiz_widget(trace, count=3).questions and stepper_widget(trace) is not None


def test_transposed_gather_caption_says_cropped_when_the_padding_is_larger():
    trace = cg.trace_conv_transpose2d(np.arange(25.0).reshape(5, 5), np.ones((2, 2)), padding=2)  # y 2×2
    _, frames = build_frames(trace, "forward")
    assert "cropped by p−(K−1)·d = 1" in frames[-1].caption
    up = build_frames(UPSAMPLE.trace(), "forward")[1][-1].caption
    assert "padded by (K−1)·d−p = 1, and by the output padding 1 at the bottom and right" in up


def test_command_line_reads_a_bare_number_as_a_conv1d_length(capsys):
    from convgraph.cli import main

    assert main(["trace", "--op", "conv1d", "--input", "8", "--kernel", "3"]) == 0
    assert "conv1d: x 8 ⊛ w 3 → y 6 (1-D)" in capsys.readouterr().out
