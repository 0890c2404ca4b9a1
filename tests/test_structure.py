"""What the tracer states about a convolution's structure: the tap map, roles, channel wiring, what each
pair of slices carries, focus queries, descriptions, the frozen recording and the named problems."""

import numpy as np
import pytest
from hypothesis import given, settings

import convgraph as cg
from convgraph.lessons import EDGE, LESSON, PROBLEMS, SEED_CLIP, problem
from strategies import conv_problems


def nchw_index(trace, node, name):
    """The (n, c, h, w)-style index of a tensor element, padded to 4 axes."""
    attrs = trace.graph.nodes[node]
    assert attrs["tensor"] == name
    return (0,) * (4 - len(attrs["index"])) + tuple(attrs["index"])


@settings(max_examples=40, deadline=None)
@given(conv_problems(max_hw=5))
def test_the_tap_map_names_what_every_multiply_reads(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    rec, s = trace.conv, p["spec"]
    taps = rec.taps()
    assert len(taps) == s.macs == trace.counts().get("mul", 0)
    for row in range(len(taps)):
        n, o, i, j = taps.out[row]
        c, u, v = taps.tap[row]
        cin = (o // s.Og) * s.Cg + c
        rows, cols = s.window(i, j)
        assert nchw_index(trace, int(taps.x[row]), "x") == (n, cin, rows[u], cols[v])
        w_index = (0, 0) * (len(s.w_shape) == 2) + tuple(trace.graph.nodes[int(taps.w[row])]["index"])
        assert w_index == (o, c, u, v)
        assert set(trace.graph.pred[int(taps.mul[row])]) == {int(taps.x[row]), int(taps.w[row])}
        assert trace.y.shape == () or nchw_index(trace, int(taps.y[row]), "y")[-2:] == (i, j)
        assert taps.order[row] == (c * s.KH + u) * s.KW + v + 1
        role = rec.role(int(taps.mul[row]))
        assert (role.y, role.w, role.x, role.order) == (taps.y[row], taps.w[row], taps.x[row], taps.order[row])
        if taps.add[row] >= 0:
            assert rec.role(int(taps.add[row])) == role
            assert int(taps.mul[row]) in trace.graph.pred[int(taps.add[row])]
    assert rec.role(int(trace.tensors["x"].nodes.flat[0])) is None


@settings(max_examples=30, deadline=None)
@given(conv_problems(max_hw=5))
def test_channel_pairs_are_the_real_wiring_and_carry_what_the_walk_pushes(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    s = p["spec"]
    walk = trace.walk(p["dY"])
    pairs = trace.conv.channel_pairs(walk.final)
    x_pairs = {(q.source_lead, q.y_lead): q.amount for q in pairs if q.source == "x"}
    expected = {(s.x_lead(n, c), s.y_lead(n, o)) for n in range(s.N) for c in range(s.C) for o in range(s.O)
                if (c // s.Cg) == (o // s.Og)}  # same group
    assert set(x_pairs) == expected
    # What x[n, c] → y[n, o] carries is Σ|amount| of the pushes from the multiplies of that pair.
    taps = trace.conv.taps()
    pair_of = {}
    for r in range(len(taps)):
        n, o = taps.out[r][:2]
        cin = (o // s.Og) * s.Cg + taps.tap[r][0]
        pair_of.setdefault((s.x_lead(n, cin), s.y_lead(n, o)), []).append(r)
    for (x_lead, y_lead), amount in x_pairs.items():
        rows = pair_of.get((x_lead, y_lead), [])
        pushed = sum(abs(walk.final[taps.mul[r]] * trace.graph.edges[int(taps.x[r]), int(taps.mul[r])]["local"])
                     for r in rows)
        assert amount == pytest.approx(pushed, rel=1e-12, abs=1e-12)
    assert {q.source for q in pairs} == ({"x", "w", "b"} if p["b"] is not None else {"x", "w"})
    assert all(q.amount == 0.0 for q in trace.conv.channel_pairs())  # without gradients: the wiring only


def test_groups_keep_each_channel_to_its_filters():
    spec = cg.conv_spec((4, 5, 5), (6, 2, 3, 3), groups=2)
    assert list(spec.in_channels(0)) == [0, 1] and list(spec.in_channels(5)) == [2, 3]
    assert list(spec.out_channels(3)) == [3, 4, 5]
    assert spec.wiring() == tuple((c, o) for o in range(6) for c in ((0, 1) if o < 3 else (2, 3)))


def test_slice_wiring_follows_a_network_stage_by_stage():
    rng = np.random.default_rng(2)
    rec = cg.Recorder()
    x, w, b = rec.input(rng.normal(size=(1, 2, 6, 6))), rec.weight(rng.normal(size=(3, 2, 3, 3))), rec.bias(np.zeros(3))
    trace = rec.trace(cg.mse_loss(cg.max_pool2d(cg.relu(cg.conv2d(x, w, b)), 2), np.zeros((1, 3, 2, 2))))
    wiring = trace.slice_wiring()
    assert (("x", (0, 1)), ("y", (0, 2))) in wiring
    assert (("y", (0, 1)), ("relu", (0, 1))) in wiring and (("y", (0, 1)), ("relu", (0, 2))) not in wiring
    assert (("pool", (0, 2)), ("loss", ())) in wiring and (("target", (0, 0)), ("loss", ())) in wiring
    assert {(a[0], b[0]) for a, b in wiring} == {("x", "y"), ("w", "y"), ("b", "y"), ("y", "relu"),
                                                ("relu", "pool"), ("pool", "loss"), ("target", "loss")}


def test_descriptions_state_the_convolution_once():
    assert LESSON.trace().describe() == "x 5×5 ⊛ w 3×3 → y 3×3"
    t = cg.trace_conv2d(np.ones((2, 3, 7, 7)), np.ones((4, 3, 3, 3)), np.zeros(4), stride=2, padding=(1, 2),
                        dilation=(1, 2))
    assert t.describe() == "x 2×3×7×7 ⊛ w 4×3×3×3 + b → y 2×4×4×4 (stride 2, padding 1,2, dilation 1,2)"
    assert cg.conv_spec((5, 6), (2, 3), padding="same").options() == ["padding top 0, bottom 1, left 1, right 1"]
    rec = cg.Recorder()
    y = cg.conv2d(rec.input(np.ones((4, 4))), rec.weight(np.ones((2, 2))))
    assert rec.trace(cg.sum(y)).describe() == "x 4×4 ⊛ w 2×2 → y 3×3 → … → sum"


# ---- focus -------------------------------------------------------------------------------------------
def test_focus_on_a_weight_is_every_multiply_that_shares_it(lesson):
    trace = cg.trace_conv2d(*lesson)
    f = cg.focus(trace, ("w", (1, 1)))
    muls = [n for n in f.nodes if trace.graph.nodes[n]["op"] == "mul"]
    assert f.kind == "weight" and f.node == trace.element("w", (1, 1)) and len(muls) == 9
    assert all(f.node in trace.graph.pred[m] for m in muls)
    walk = trace.walk()
    assert sum(p.amount for _, p in f.contributions(walk)) == walk.final[f.node] == 108
    assert f.description == "w[1,1]: the 9 multiplies that share it; ∂loss/∂w[1,1] is the sum of what they send back"
    assert len(f.elided) == 9  # w[1,1] is tap 5 of 9: each of its adds reaches its output through 4 more
    assert all(trace.graph.nodes[y].get("tensor") == "y" for _, y in f.elided)


def test_focus_on_an_input_an_output_and_the_bias():
    t = cg.trace_conv2d(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), np.array([0.5]), padding=1)
    x = cg.focus(t, ("x", (0, 0)))
    outs = {t.conv.role(n).y for n in x.nodes if t.graph.nodes[n]["op"] == "mul"}
    assert x.kind == "input" and len(outs) == 4 and "the 4 outputs it feeds" in x.description
    y = cg.focus(t, ("y", (0, 0)))
    assert y.kind == "output" and sum(t.graph.nodes[n]["op"] == "mul" for n in y.nodes) == 4  # a padded corner
    b = cg.focus(t, ("b", (0,)))
    assert b.kind == "bias" and len(b.elided) == 16 and b.description == "b[0]: every sum it starts"
    with pytest.raises(ValueError, match=r"focus \('x', \(9, 9\)\): x has shape \(4, 4\); there is no x\[9,9\]"):
        cg.focus(t, ("x", (9, 9)))
    with pytest.raises(TypeError, match=r"focus must be \(tensor name, index\)"):
        cg.focus(t, "x")


def test_element_takes_the_short_index_and_names_the_problem():
    t = cg.trace_conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)))
    assert t.element("w", (2, 1)) == int(t.tensors["w"].nodes[0, 0, 2, 1]) == t.element("w", (0, 0, 2, 1))
    with pytest.raises(ValueError, match=r"no tensor named 'q'; this trace has x, w, y"):
        t.element("q", (0, 0))
    with pytest.raises(TypeError, match=r"index must be a tuple of ints"):
        t.element("w", (1.5, 0))
    assert t.slice_of(t.element("x", (1, 2))) == ("x", (0, 0)) and t.slice_of(16 + 9) is None


# ---- the recording is frozen ----------------------------------------------------------------------------
def test_an_op_after_trace_is_refused_and_the_trace_keeps_what_was_traced():
    rec = cg.Recorder()
    y = cg.conv2d(rec.input(np.ones((3, 3))), rec.weight(np.ones((2, 2))))
    trace = rec.trace(y)
    nodes, tensors = trace.graph.number_of_nodes(), list(trace.tensors)
    for op in (lambda: cg.relu(y), lambda: rec.input(np.ones(2), name="x2"), lambda: y[0, 0] * 2.0,
               lambda: rec.value(1.0), lambda: rec.trace(y)):
        with pytest.raises(RuntimeError, match="frozen by trace\\(\\).*start a new Recorder"):
            op()
    assert trace.graph.number_of_nodes() == nodes and list(trace.tensors) == tensors
    with pytest.raises(TypeError):
        trace.tensors["z"] = y  # the trace's own, read-only view


# ---- the named problems ----------------------------------------------------------------------------------
def test_the_named_problems_are_defined_once():
    assert problem("lesson") is LESSON and problem("seed-clip") is SEED_CLIP and problem("edge") is EDGE
    assert set(PROBLEMS) == {"lesson", "edge", "seed-clip", "signal", "upsample"}
    assert problem("signal").trace().y.shape == (8,) and problem("upsample").trace().y.shape == (4, 4)
    edge = EDGE.trace()
    grads = edge.backward(EDGE.dY)
    for a in (edge.y, EDGE.dY, grads.w, grads.x):  # the kit's example: every panel carries something
        assert len(np.unique(a)) > 3
    assert (grads.x < 0).any() and (grads.x > 0).any()
    np.testing.assert_array_equal(LESSON.x, np.arange(25.0).reshape(5, 5))
    np.testing.assert_array_equal(LESSON.w, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    assert SEED_CLIP.trace().y.shape == (7, 7)
    with pytest.raises(ValueError):
        LESSON.x[0, 0] = 1.0  # read-only: nobody changes the lesson for everyone else
    x, _ = LESSON.arrays()
    x[0, 0] = 99.0  # a copy is yours
    assert LESSON.x[0, 0] == 0.0
    with pytest.raises(ValueError, match="no problem named 'sobel'; there are lesson, edge, seed-clip, signal, upsample"):
        problem("sobel")
