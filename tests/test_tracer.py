"""The traced graph against the numpy reference, finite differences, and its own structure."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings

import convgraph as cg
from convgraph.tracer.recorder import EdgeData

from strategies import conv_problems

TOL = 1e-10


def _bias_grad(p):
    spec = p["spec"]
    return p["dY"].reshape(spec.N, spec.O, spec.OH, spec.OW).sum(axis=(0, 2, 3))


@settings(max_examples=120, deadline=None)
@given(conv_problems())
def test_graph_matches_numpy_reference(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    np.testing.assert_allclose(trace.y, cg.conv2d_forward(p["x"], p["w"], b=p["b"], **p["kw"]), rtol=0, atol=TOL)
    grads = trace.backward(p["dY"])
    dW, dX = cg.conv2d_backward(p["x"], p["w"], p["dY"], **p["kw"])
    assert grads.w.shape == p["w"].shape and grads.x.shape == p["x"].shape
    np.testing.assert_allclose(grads.w, dW, rtol=0, atol=TOL)
    np.testing.assert_allclose(grads.x, dX, rtol=0, atol=TOL)
    if p["b"] is None:
        assert grads.b is None
    else:
        np.testing.assert_allclose(grads.b.reshape(-1), _bias_grad(p), rtol=0, atol=TOL)


@settings(max_examples=60, deadline=None)
@given(conv_problems())
def test_one_mul_per_real_multiply_add(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    counts = trace.counts()
    spec = p["spec"]
    assert counts.get("mul", 0) == spec.macs
    # Each output's sum: one add per product, less the one that starts it when there is no bias.
    per_output = (trace.conv.mul >= 0).reshape(spec.N * spec.O * spec.OH * spec.OW, -1).sum(axis=1)
    expected_adds = per_output.sum() - (0 if p["b"] is not None else (per_output > 0).sum())
    expected_adds += (per_output == 0).sum() if p["b"] is not None else 0
    assert counts.get("add", 0) == expected_adds
    assert len(trace.graph) == spec.node_estimate()
    # Node ids are creation order, a topological order: every edge runs from a smaller id.
    assert all(u < v for u, v in trace.graph.edges)


@settings(max_examples=40, deadline=None)
@given(conv_problems(max_hw=5))
def test_steps_agree_with_backward(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    steps = trace.step_list(p["dY"])
    assert trace.has_grad
    by_steps = {n: g for n, g in trace.graph.nodes(data="grad")}
    trace.backward(p["dY"])
    assert by_steps == dict(trace.graph.nodes(data="grad"))
    assert [s.node for s in steps] == sorted(trace.graph.nodes, reverse=True)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    for s in steps:  # what a step pushes is its gradient times the edge's local derivative
        assert s.grad == by_steps[s.node]
        assert [p_.node for p_ in s.pushes] == list(trace.graph.predecessors(s.node))
        for push in s.pushes:
            assert push.local == trace.graph.edges[push.node, s.node]["local"]
            assert push.amount == s.grad * push.local


def _traced_forward(x, w, b, kw):
    return cg.trace_conv2d(x, w, b, **kw).y


@settings(max_examples=15, deadline=None)
@given(conv_problems(max_hw=4, max_k=2, allow_batch=False))
def test_gradients_match_finite_differences(p):
    """Central differences of L = Σ dY·y, y read off freshly traced graphs."""
    x, w, b, dY, kw = p["x"], p["w"], p["b"], p["dY"], p["kw"]
    grads = cg.trace_conv2d(x, w, b, **kw).backward(dY)
    eps = 1e-6
    for name, arr in (("x", x), ("w", w)) + ((("b", b),) if b is not None else ()):
        for idx in np.ndindex(arr.shape):
            hi, lo = arr.copy(), arr.copy()
            hi[idx] += eps
            lo[idx] -= eps
            args = {"x": x, "w": w, "b": b}
            l_hi = np.sum(dY * _traced_forward(**{**args, name: hi}, kw=kw))
            l_lo = np.sum(dY * _traced_forward(**{**args, name: lo}, kw=kw))
            assert abs((l_hi - l_lo) / (2 * eps) - grads[name][idx]) < 1e-6


def test_the_lesson(lesson):
    x, w = lesson
    trace = cg.trace_conv2d(x, w)
    assert trace.counts() == {"input": 25, "weight": 9, "mul": 81, "add": 72}
    y = trace.y
    grads = trace.backward(np.ones_like(y))
    assert y.shape == (3, 3) and grads.w.shape == (3, 3) and grads.x.shape == (5, 5)
    dW, dX = cg.conv2d_backward(x, w, np.ones_like(y))
    assert dW.shape == (3, 3) and dX.shape == (5, 5)
    np.testing.assert_array_equal(grads.w, dW)
    np.testing.assert_array_equal(grads.x, dX)
    # Sobel on a ramp: every output is -8; dW[u,v] sums the 3x3 patch starting at (u, v).
    np.testing.assert_array_equal(y, np.full((3, 3), -8.0))
    assert grads.w[0, 0] == x[:3, :3].sum() == 54.0


def test_shared_weight_sums_over_positions():
    rng = np.random.default_rng(1)
    x, w, dY = rng.standard_normal((6, 7)), rng.standard_normal((3, 2)), rng.standard_normal((4, 6))
    grads = cg.trace_conv2d(x, w).backward(dY)
    for u in range(3):
        for v in range(2):
            expected = sum(dY[i, j] * x[i + u, j + v] for i in range(4) for j in range(6))
            assert grads.w[u, v] == pytest.approx(expected, abs=1e-12)
    # the weight node has one outgoing edge per output position that used it
    trace = cg.trace_conv2d(x, w)
    assert trace.graph.out_degree(int(trace.tensors["w"].nodes[1, 1])) == 4 * 6


def test_input_gradient_is_full_convolution_with_rotated_kernel():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((6, 5)), rng.standard_normal((3, 2))
    dY = rng.standard_normal((4, 4))
    grads = cg.trace_conv2d(x, w).backward(dY)
    # full convolution = cross-correlation of the zero-padded dY with rot180(w)
    full = cg.conv2d_forward(np.pad(dY, ((2, 2), (1, 1))), np.rot90(w, 2))
    np.testing.assert_allclose(grads.x, full, atol=1e-12)


def test_padding_makes_no_nodes():
    x, w = np.ones((4, 4)), np.ones((3, 3))
    trace = cg.trace_conv2d(x, w, padding=1)
    # a 4x4 output; corner outputs see 4 real inputs, edges 6, the centre 9: 4*4 + 8*6 + 4*9
    assert trace.counts()["mul"] == 100
    np.testing.assert_array_equal(trace.y, cg.conv2d_forward(x, w, padding=1))
    assert trace.y[0, 0] == 4.0 and trace.y[1, 1] == 9.0


def test_output_entirely_on_padding():
    trace = cg.trace_conv2d(np.ones((1, 1)), np.ones((1, 1)), np.array([0.5]), padding=1)
    np.testing.assert_array_equal(trace.y, [[0.5, 0.5, 0.5], [0.5, 1.5, 0.5], [0.5, 0.5, 0.5]])
    grads = trace.backward()
    assert grads.b[0] == 9.0 and grads.x[0, 0] == 1.0


def test_bulk_conv_equals_the_same_sum_written_on_scalar_values():
    """conv2d emits exactly the graph that ((b + w·x) + w·x) + ... on Values would."""
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 2)), rng.standard_normal(1)
    bulk = cg.trace_conv2d(x, w, b, padding=1, stride=(1, 2))

    rec = cg.Recorder()
    xt, wt, bt = rec.input(x), rec.weight(w), rec.bias(b)
    spec = bulk.conv.spec
    rows, rows_ok, cols, cols_ok = spec.taps()
    for i in range(spec.OH):
        for j in range(spec.OW):
            acc = bt[0]
            for u in range(2):
                for v in range(2):
                    if rows_ok[i, u] and cols_ok[j, v]:
                        acc = acc + wt[u, v] * xt[int(rows[i, u]), int(cols[j, v])]
    a, s = bulk.graph, rec.graph
    assert list(a.nodes) == list(s.nodes)
    assert [(d["op"], d["value"]) for _, d in a.nodes(data=True)] == [(d["op"], d["value"]) for _, d in s.nodes(data=True)]
    assert list(a.edges(data="local")) == list(s.edges(data="local"))


def test_deterministic_graph(lesson):
    x, w = lesson
    a, b = cg.trace_conv2d(x, w, padding="same"), cg.trace_conv2d(x, w, padding="same")
    assert list(a.graph.nodes(data=True)) == list(b.graph.nodes(data=True))
    assert list(a.graph.edges(data=True)) == list(b.graph.edges(data=True))


def test_node_attributes(lesson):
    x, w = lesson
    trace = cg.trace_conv2d(x, w, np.array([0.25]))
    g = trace.graph
    x12 = int(trace.tensors["x"].nodes[1, 2])
    assert g.nodes[x12] == {"op": "input", "value": 7.0, "grad": 0.0, "tensor": "x", "index": (1, 2)}
    assert g.nodes[int(trace.tensors["b"].nodes[0])]["op"] == "bias"
    y00 = int(trace.tensors["y"].nodes[0, 0])
    assert g.nodes[y00]["op"] == "add" and g.nodes[y00]["index"] == (0, 0) and g.nodes[y00]["tensor"] == "y"
    mul = int(trace.conv.mul[0, 0, 1, 2, 0, 0, 1])  # output (1,2), tap (0,1): w[0,1]·x[1,3]
    w01, x13 = int(trace.tensors["w"].nodes[0, 1]), int(trace.tensors["x"].nodes[1, 3])
    assert list(g.predecessors(mul)) == [w01, x13]
    assert g.edges[x13, mul]["local"] == w[0, 1] and g.edges[w01, mul]["local"] == x[1, 3]
    assert trace.label(x12) == "x[1,2]" and trace.label(mul) == f"mul#{mul}"


def test_edge_data_is_read_only_but_copies_are_not(lesson):
    trace = cg.trace_conv2d(*lesson)
    u, v = next(iter(trace.graph.edges))
    with pytest.raises(TypeError, match="read-only"):
        trace.graph.edges[u, v]["local"] = 3.0
    copy = trace.graph.copy()
    copy.edges[u, v]["note"] = "mine"
    assert "note" not in trace.graph.edges[u, v] and isinstance(trace.graph.edges[u, v], EdgeData)
    assert nx.is_directed_acyclic_graph(trace.graph)
    rev = trace.graph.reverse(copy=True)
    assert rev.number_of_edges() == trace.graph.number_of_edges()


def test_gradients_before_and_after_backward(lesson):
    trace = cg.trace_conv2d(*lesson)
    assert not trace.has_grad and trace.dY is None
    steps = trace.steps()
    first = next(steps)
    assert first.node == max(trace.graph.nodes) and first.grad == 1.0 and not trace.has_grad
    with pytest.raises(AttributeError):
        first.grad = 2.0  # steps are immutable snapshots
    trace.backward()  # a new pass invalidates the half-consumed generator
    with pytest.raises(RuntimeError, match="another backward pass"):
        next(steps)
    assert trace.has_grad
    once = trace.backward().w
    again = trace.backward().w  # every pass starts from zero: no accumulation across calls
    np.testing.assert_array_equal(once, again)


def test_scalar_values_micrograd_style():
    rec = cg.Recorder()
    a, b = rec.value(2.0), rec.value(-3.0)
    c = a * b + a
    d = (c.relu() + (a * a) - b / a + (-b) ** 2).tanh() + a.exp().log() + a.maximum(b)
    sq = a * a  # a*a has a single edge carrying 2a
    trace = rec.trace(d)
    trace.backward()
    # hand derivative: c = -4 so relu(c) = 0; inner = 0 + 4 + 1.5 + 9 = 14.5
    inner = 14.5
    sech2 = 1 - np.tanh(inner) ** 2
    da = sech2 * (2 * 2.0 + (-3.0) / 4.0) + 1 + 1  # d/da of a*a - b/a, of log(exp(a)), of max(a, b)
    db = sech2 * (-1 / 2.0 + 2 * (-3.0))
    assert a.grad == pytest.approx(da) and b.grad == pytest.approx(db)
    assert trace.graph.nodes[sq.node]["op"] == "mul"
    assert trace.graph.edges[a.node, sq.node]["local"] == 4.0


def test_chain_traces_end_to_end():
    rng = np.random.default_rng(4)
    rec = cg.Recorder()
    x, w, b = rec.input(rng.standard_normal((1, 2, 6, 6))), rec.weight(rng.standard_normal((3, 2, 3, 3))), rec.bias(np.zeros(3))
    h = cg.max_pool2d(cg.relu(cg.conv2d(x, w, b)), 2)
    loss = cg.mse_loss(h, np.zeros((1, 3, 2, 2)))
    trace = rec.trace(loss)
    assert trace.y.shape == () and list(trace.tensors) == ["x", "w", "b", "y", "relu", "pool", "target", "loss"]
    grads = trace.backward()
    assert grads.w.shape == (3, 2, 3, 3) and grads.loss == 1.0


def test_value_backward_is_micrograds():
    rec = cg.Recorder()
    a, b = rec.value(2.0), rec.value(-3.0)
    c = (a * b + a).relu() + a * a  # relu(-4) = 0, so dc/da = 2a
    trace = c.backward()
    assert (a.grad, b.grad) == (4.0, 0.0) and trace.output.name == "out"
    assert c.backward() is trace and a.grad == 4.0  # again: the same trace, the same gradients
    with pytest.raises(RuntimeError, match="frozen by trace"):
        a * 2.0
    rec2 = cg.Recorder()
    p, q = rec2.value(1.0), rec2.value(2.0)
    s = p + q
    rec2.trace(p * q)
    with pytest.raises(RuntimeError, match="traced with another output"):
        s.backward()
