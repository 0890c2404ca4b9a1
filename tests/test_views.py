"""One truth for every view: step k names the same node with the same words everywhere, and no
renderer changes the trace it draws."""

import re
import subprocess
import sys

import numpy as np
import pytest

import convgraph as cg
from convgraph import notebook
from convgraph.lessons import LESSON
from convgraph.renderers.animations import build_frames
from convgraph.renderers.steppers.html import page_data
from convgraph.renderers.steppers.terminal import Stepper
from convgraph.renderers.steppers.text import StepText


def two_channel_case(tmp_path):
    """Stride 2, padding 1, two input channels and two filters, saved for the command line too."""
    rng = np.random.default_rng(11)
    x, w = rng.normal(size=(2, 6, 6)).round(1), rng.normal(size=(2, 2, 3, 3)).round(1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "w.npy", w)
    return cg.trace_conv2d(x, w, stride=2, padding=1), ["--x-file", str(tmp_path / "x.npy"), "--w-file",
                                                         str(tmp_path / "w.npy"), "--stride", "2", "--padding", "1"]


@pytest.fixture(params=["lesson", "stride-2 padding-1 two channels"])
def case(request, tmp_path):
    if request.param == "lesson":
        return LESSON.trace(), []
    return two_channel_case(tmp_path)


def cli(*args, stdin=""):
    r = subprocess.run([sys.executable, "-m", "convgraph", *args], capture_output=True, text=True, input=stdin,
                       timeout=120, env={"PYTHONIOENCODING": "utf-8", "PATH": ""})
    assert r.returncode == 0, r.stderr
    return r.stdout


def steps_to_check(walk):
    n = len(walk)
    return sorted({0, 1, 2, n // 3, n - 1, n})


def test_every_view_names_the_same_node_for_step_k(case, tmp_path):
    trace, options = case
    walk = trace.walk()
    n = len(walk)
    clip, frames = build_frames(trace, "graph", dpi=30, graph_steps=1)  # one step per frame, however long
    clip.close()
    widget = notebook.stepper_widget(trace)
    stepper = Stepper(StepText(trace, walk))
    for k in steps_to_check(walk):
        words = walk.text(k)  # "step k of N"
        label = trace.name(walk.node(k)) if k else None  # as a slide names it: w[2,2]·x[4,4]
        # The diagram's step view and its caption.
        caption = cg.to_digraph(trace, step=k).source  # a slide names the node as trace.name says it
        assert (f"{words}: processing {trace.name(walk.node(k))} " if k else f"{words}: nothing visited yet") in caption
        # `convgraph render --step k` draws exactly that picture.
        cli("render", *options, "--no-backward", "--step", str(k), "-o", str(tmp_path / f"s{k}.dot"))
        assert (tmp_path / f"s{k}.dot").read_text(encoding="utf-8") == caption
        # The terminal stepper (`convgraph step`, interactive) after `j k`.
        stepper.command(f"j {k}")
        head = stepper.view()[0].split(" · ")
        assert head[:2] == ([words, label] if k else [words, "before backprop: dY (ones) seeds the outputs, so ∂loss/∂y = dY"])
        # The notebook widget: slider, text and picture.
        widget.slider.value = k
        assert f"{words} · {label}" in widget.children[-1].value if k else f"{words} · before" in widget.children[-1].value
        # Frame k of the graph clip.
        assert frames[k].last == k and frames[k].current == (walk.node(k) if k else None)
        assert frames[k].title.startswith(f"{words}: {trace.name(walk.node(k))}" if k else words)  # on a slide
    # `convgraph step` printed: line k is step k's chain rule.
    printed = cli("step", *options, "--from", str(n - 1), "--steps", "2").splitlines()
    assert printed[0].endswith(f"· {n} steps, one per node")
    assert printed[1].split()[0] == str(n - 1) and printed[2].split()[0] == str(n)
    assert printed[2].split(None, 1)[1].startswith(trace.name(walk.node(n)))


def test_the_notebook_picture_is_the_diagram_of_the_same_step(lesson, dot):
    trace = cg.trace_conv2d(*lesson)
    widget = notebook.stepper_widget(trace, graph=True)
    widget.slider.value = 40
    assert "step 40 of 187: processing w[2,0]·x[4,0]" in widget.children[1].value
    assert "step 40 of 187 · w[2,0]·x[4,0]" in widget.children[-1].value


@pytest.mark.browser
def test_the_html_page_says_the_same_about_step_k(case, tmp_path, opened):
    trace, _ = case
    walk = trace.walk()
    o = opened(cg.render_html(trace, tmp_path / "page.html"))
    text = StepText(trace, walk)
    for k in steps_to_check(walk):
        o.page.evaluate(f"convgraph.go({k})")
        assert o.text("#counter") == walk.text(k)
        assert o.page.evaluate("location.hash") == f"#step={k}"
        assert o.page.locator("#slider").input_value() == str(k)
        assert o.state()["current"] == (walk.node(k) if k else -1)
        if k:
            assert o.text("#headline") == text.headline(walk.step(k))
            assert o.text("#chain") == text.chain(walk.step(k))
    o.assert_clean()


# ---- renderers never change the trace ----------------------------------------------------------------
def snapshot(trace):
    return trace.grad_array().copy(), None if trace.dY is None else trace.dY.copy(), trace.has_grad


def every_renderer(trace, tmp_path):
    """Call each renderer of the package on ``trace``; yield its name after each call."""
    for kw in ({}, {"step": 0}, {"step": 7}, {"focus": ("w", (1, 1))}, {"detail": "collapsed"},
               {"detail": "collapsed", "step": 3}, {"heat": "signed"}, {"step": 5, "dY": np.full(trace.y.shape, 3.0)}):
        cg.to_digraph(trace, **kw)
        yield f"to_digraph {kw}"
    cg.render_graph(trace, tmp_path / "g.dot", step=2)
    yield "render_graph"
    for scene in ("forward", "weight-grad", "input-grad", "backprop", "graph", "lesson"):
        cg.animate(trace, tmp_path / f"{scene}.gif", scene=scene, dpi=25, max_frames=6, progress=False)
        yield f"animate {scene}"
    cg.animate(trace, tmp_path / "other.gif", scene="graph", dY=np.ones(trace.y.shape) * 2, dpi=25, max_frames=4)
    yield "animate with another dY"
    cg.render_html(trace, tmp_path / "p.html")
    page_data(trace, dY=np.full(trace.y.shape, 0.5))
    yield "render_html"
    walk = trace.walk()
    text = StepText(trace, walk)
    [text.block(s) for s in walk]
    stepper = Stepper(text)
    for cmd in ("", "w 1,1", "x 2,2", "e", "j 0"):
        stepper.command(cmd)
    yield "steppers"
    notebook.stepper_widget(trace).slider.value = 9
    yield "notebook widget"


@pytest.mark.parametrize("backward", [False, True])
def test_no_renderer_changes_the_trace(lesson, tmp_path, backward):
    trace = cg.trace_conv2d(*lesson)
    if backward:
        trace.backward(np.arange(9.0).reshape(3, 3) - 4)  # not ones: a view must not fall back to ones
    before = snapshot(trace)
    for name in every_renderer(trace, tmp_path):
        after = snapshot(trace)
        np.testing.assert_array_equal(after[0], before[0], err_msg=name)
        assert (after[1] is None) == (before[1] is None) and after[2] == before[2], name
        if before[1] is not None:
            np.testing.assert_array_equal(after[1], before[1], err_msg=name)


def test_views_default_to_the_seed_of_the_last_backward(lesson):
    trace = cg.trace_conv2d(*lesson)
    dY = np.arange(9.0).reshape(3, 3)
    trace.backward(dY)
    k = trace.walk().number(trace.element("y", (1, 1)))  # the step that visits y[1,1]
    assert re.search(r"processing y\[1,1\] \(∂ 4\)", cg.to_digraph(trace, step=k).source)  # dY[1,1] = 4
    assert page_data(trace)["seeds"][4][1] == 4
    _, frames = build_frames(trace, "graph", dpi=25)
    assert frames[k].title.startswith(f"step {k} of 187: y[1,1] = y[1,1] after 8 of 9 taps + w[2,2]·x[3,3]")
    assert "grad 4 " in frames[k].title
