"""The text of backprop steps, the terminal stepper's commands, and the gradient check, without the CLI."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convgraph as cg
from convgraph.check import check_gradients
from convgraph.renderers.steppers.terminal import Stepper, run_stepper
from convgraph.renderers.steppers.text import StepText, fmt, format_grid, wrap


def test_the_grids_replay_the_walk(lesson):
    trace = cg.trace_conv2d(*lesson, padding=1, stride=2)
    walk = trace.walk(np.arange(9.0).reshape(3, 3))
    text = StepText(trace, walk)
    final = "\n".join(text.grids(len(walk)))
    dW = walk.final[trace.tensors["w"].nodes]
    assert all(fmt(v) in final for v in dW.ravel())
    before = "\n".join(text.grids(0))
    assert set(before.replace("dW (3, 3)", "").replace("dX (5, 5)", "").split()) == {"0"}
    assert trace.dY is None  # the text only reads the walk


def test_every_weight_is_fed_once_per_multiply(lesson):
    trace = cg.trace_conv2d(*lesson)
    text = StepText(trace, trace.walk())
    for n in trace.tensors["w"].nodes.flat:
        feeding = text.feeding(int(n))
        assert len(feeding) == 9 == trace.graph.out_degree(int(n))
        assert all(text.walk.step(k).op == "mul" for k in feeding)


def test_bias_sum_and_its_running_gradient():
    trace = cg.trace_conv2d(np.ones((1, 3, 3)), np.ones((1, 1, 2, 2)), np.array([0.5]))
    text = StepText(trace, trace.walk())
    b = int(trace.tensors["b"].nodes[0])
    first = next(s for s in text.walk if any(p.node == b for p in s.pushes))
    assert text.chain(first).startswith("y[0,1,1] after 1 of 4 taps = b[0] + w[0,0,0,0]·x[0,1,1]   grad 1 → b[0] += 1·1")
    assert "b[0].grad = 1   (1st of 4 contributions)" in text.running(first)
    last = text.walk.step(text.feeding(b)[-1])
    assert text.running(last)[0] == "b[0].grad = 1 + 1 + 1 + 1 = 4   (4th of 4 contributions)  ✓ final"


def test_ops_other_than_multiply_and_add_read_as_functions():
    rec = cg.Recorder()
    y = cg.conv2d(rec.input(np.arange(9.0).reshape(3, 3) - 4), rec.weight(np.ones((2, 2))))
    trace = rec.trace(cg.sum(cg.relu(y)))
    text = StepText(trace, trace.walk())
    relu = next(s for s in text.walk if s.op == "relu")
    assert text.chain(relu) == "relu[1,1] = relu(y[1,1])   grad 1 → y[1,1] += 1·1"
    assert text.role(relu.node) == ""  # not part of the convolution's sums


def test_find_accepts_the_short_index_and_names_the_shape():
    trace = cg.trace_conv2d(np.ones((1, 4, 4)), np.ones((1, 1, 3, 3)))
    text = StepText(trace, trace.walk())
    assert text.find("w", (1, 2)) == int(trace.tensors["w"].nodes[0, 0, 1, 2])
    with pytest.raises(ValueError, match=r"w has shape \(1, 1, 3, 3\); there is no w\[3,3\]"):
        text.find("w", (3, 3))
    with pytest.raises(ValueError, match=r"no tensor named 'q'; this trace has x, w, y"):
        text.find("q", (0, 0))


def test_numbers_and_grids():
    assert [fmt(v) for v in (0.375, -12.0, 1e-7, 0.0)] == ["0.375", "-12", "1e-07", "0"]  # 3 significant digits
    assert fmt(-5.551115123125783e-17) == "0" and fmt(2.5) == "2.5"  # rounding noise is 0
    assert fmt(2.0, digits=0) == "2"
    lines = format_grid([[1.0, -2.5]], highlight=[(0, 1)], color=True, title="dW")
    assert lines == ["dW          ", "    1 \x1b[7m -2.5 \x1b[0m"]
    with pytest.raises(ValueError, match=r"array must be 2-D, got shape \(3,\)"):
        format_grid([1, 2, 3])


def test_grids_mark_the_cells_a_step_touches(lesson):
    trace = cg.trace_conv2d(*lesson)
    text = StepText(trace, trace.walk())
    step = text.walk.step(2)  # w[2,2]·x[4,4]
    grid = "\n".join(text.grids(step.number, touched={p.node for p in step.pushes}))
    assert "[ 24]" in grid and "[-1]" in grid and grid.count("[") == 2


def test_stepper_commands_and_bounds(lesson):
    trace = cg.trace_conv2d(*lesson)
    s = Stepper(StepText(trace, trace.walk()))
    assert s.current == 1
    before = "\n".join(s.command("b"))
    assert s.current == 0 and "step 0 of 187 · before backprop: dY (ones) seeds the outputs" in before
    assert "already before the first step" in "\n".join(s.command("b"))
    s.command("e")
    assert s.current == 187
    assert "every gradient is final" in "\n".join(s.command(""))  # Enter on the last step stays there
    assert "give an element: w 1,1" in "\n".join(s.command("w"))  # nothing followed yet
    assert "no step pushes gradient into y[0,0]" in "\n".join(s.command("y 0,0"))
    s.command("j 1")
    s.command("w [2, 2]")  # brackets and spaces are fine
    assert (s.current, trace.name(s.text.walk.node(s.current))) == (2, "w[2,2]·x[4,4]")
    with pytest.raises(ValueError, match="start must be a step number from 0 to 187, got 188"):
        Stepper(s.text, start=188)


def test_run_stepper_stops_at_end_of_input(lesson):
    trace = cg.trace_conv2d(*lesson)
    keys = iter(["", "", "j 40"])
    shown = []

    def read(prompt):
        try:
            return next(keys)
        except StopIteration:
            raise EOFError from None

    last = run_stepper(StepText(trace, trace.walk()), read=read, write=shown.append, clear=True)
    assert last == 40
    assert shown[-2].split("\n")[0] == "\x1b[H\x1b[2Jstep 40 of 187 · w[2,0]·x[4,0] · part of y[2,0]: tap w[2,0] (7 of 9)"
    assert len(shown) == 5 and all(chunk.startswith("\x1b[H\x1b[2J") for chunk in shown[:4])


def test_check_refuses_a_trace_whose_output_is_not_the_convolution():
    rec = cg.Recorder()
    y = cg.conv2d(rec.input(np.ones((3, 3))), rec.weight(np.ones((2, 2))))
    with pytest.raises(ValueError, match="this trace's output is 'relu'"):
        check_gradients(rec.trace(cg.relu(y)), use_torch=False)


def test_check_reports_each_tensor_against_numpy(lesson):
    report = check_gradients(cg.trace_conv2d(*lesson, np.array([1.0])), use_torch=False)
    assert [(c.reference, c.tensor) for c in report.comparisons] == [
        ("numpy", "y"), ("numpy", "dW"), ("numpy", "dX"), ("numpy", "db"),
        ("conv calls", "dW"), ("conv calls", "dX"), ("conv calls", "db")]  # backward as convolutions
    assert report.ok and report.largest.max_abs_diff == 0.0
    assert report.lines()[-1] == "agree: largest difference 0 (y vs numpy)"


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(alphabet="abwxy[],0123456789·+=→│( )-", min_size=1, max_size=14), min_size=1, max_size=30),
       lead=st.integers(0, 6), width=st.integers(20, 90))
def test_wrap_keeps_every_word_and_the_width(words, lead, width):
    line = " " * lead + " ".join(words)
    out = wrap(line, width)
    assert " ".join(" ".join(out).split()) == " ".join(line.split())  # nothing lost, nothing added
    for row in out:  # within the width unless one word alone is longer
        assert len(row) <= width or " " not in row.strip()
    assert all(row.startswith(" " * min(lead + 4, width // 2)) for row in out[1:])  # a hanging indent


def test_the_stepper_wraps_to_its_width(lesson):
    trace = cg.trace_conv2d(*lesson, padding=1)
    s = Stepper(StepText(trace, trace.walk()), width=44)
    view = s.command("j 3") + s.command("w 1,1")
    assert max(map(len, view)) <= 44  # text lines and the grids, laid out in rows no wider
    assert "following w[1,1]" in "\n".join(view)
    with pytest.raises(ValueError, match="width must be at least 20 characters, got 5"):
        Stepper(s.text, width=5)
    with pytest.raises(TypeError, match="width must be an int or None, got '80'"):
        wrap("a b", "80")
