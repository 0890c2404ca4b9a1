"""The walk: one pure backward pass, step by step, in the one step numbering every view uses."""

import numpy as np
import pytest
from hypothesis import given, settings

import convgraph as cg
from convgraph.tracer import walk as walk_module
from strategies import conv_problems


def replay(walk, k):
    """Gradients after step k by applying the recorded pushes one at a time (the definition)."""
    grads = np.zeros(len(walk))
    for n, g in walk.seeds.items():
        grads[n] = g
    for step in walk.steps(1, k) if k else []:
        for p in step.pushes:
            grads[p.node] += step.grad * p.local
            assert grads[p.node] == p.total
    return grads


@settings(max_examples=40, deadline=None)
@given(conv_problems(max_hw=5))
def test_walk_is_pure_and_agrees_with_backward_exactly(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    walk = trace.walk(p["dY"])
    assert not trace.has_grad and all(g == 0.0 for _, g in trace.graph.nodes(data="grad"))
    bulk = walk_module.gradients(trace.graph, walk.seeds)  # the fast pass, tested equal to the walk
    assert bulk == walk.final.tolist()
    trace.backward(p["dY"])
    np.testing.assert_array_equal(trace.grad_array(), walk.final)


@settings(max_examples=25, deadline=None)
@given(conv_problems(max_hw=4))
def test_grads_after_k_is_the_replay_of_the_first_k_steps(p):
    trace = cg.trace_conv2d(p["x"], p["w"], p["b"], **p["kw"])
    walk = trace.walk(p["dY"])
    n = len(walk)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}) + [2, 0, n]:  # forward, then back to the start
        np.testing.assert_array_equal(walk.grads_after(k), replay(walk, k))
    np.testing.assert_array_equal(walk.grads_after(n), walk.final)


def test_step_k_visits_node_n_minus_k_and_says_step_k_of_n(lesson):
    trace = cg.trace_conv2d(*lesson)
    walk = trace.walk()
    n = trace.graph.number_of_nodes()
    assert len(walk) == n == 187
    assert [s.number for s in walk] == list(range(1, n + 1))
    assert [s.node for s in walk] == list(range(n - 1, -1, -1))
    assert walk.node(1) == n - 1 and walk.node(n) == 0 and walk.number(0) == n
    assert (walk.text(0), walk.text(40), walk.text(187)) == ("step 0 of 187", "step 40 of 187", "step 187 of 187")
    assert trace.label(walk.node(40)) == "mul#147"
    assert walk.visited(147, 40) and not walk.visited(146, 40)
    for bad, error in ((-1, ValueError), (188, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="step"):
            walk.grads_after(bad)
    with pytest.raises(ValueError, match=r"step must be in 1\.\.187"):
        walk.node(0)  # step 0 visits nothing


def test_a_step_records_what_it_pushes_and_which_contribution_it_is(lesson):
    trace = cg.trace_conv2d(*lesson)
    walk = trace.walk()
    step = walk.step(2)  # mul#185 = w[2,2]·x[4,4]
    assert (step.number, trace.label(step.node), step.op, step.grad) == (2, "mul#185", "mul", 1.0)
    w22, x44 = step.pushes
    assert (trace.label(w22.node), w22.local, w22.amount, w22.total, w22.ordinal, w22.received) == (
        "w[2,2]", 24.0, 24.0, 24.0, 1, 9)
    assert (trace.label(x44.node), x44.ordinal, x44.received) == ("x[4,4]", 1, 1)
    with pytest.raises(AttributeError):
        step.grad = 2.0  # immutable


def test_contributions_sum_to_the_shared_weights_gradient(lesson):
    trace = cg.trace_conv2d(*lesson)
    walk = trace.walk()
    w11 = trace.element("w", (1, 1))
    got = walk.contributions(w11)
    assert [k for k, _ in got] == walk.feeding(w11) == [10, 27, 44, 61, 78, 95, 112, 129, 146]
    assert [p.amount for _, p in got] == [18, 17, 16, 13, 12, 11, 8, 7, 6]  # x under w[1,1], last output first
    assert [p.ordinal for _, p in got] == list(range(1, 10)) and got[-1][1].total == walk.final[w11] == 108


def test_touched_after_k_marks_the_seeds_and_what_was_pushed_into(lesson):
    trace = cg.trace_conv2d(*lesson)
    walk = trace.walk()
    outputs = trace.output.nodes.ravel()
    assert set(np.flatnonzero(walk.touched_after(0))) == set(outputs.tolist())
    after2 = set(np.flatnonzero(walk.touched_after(2)))
    assert after2 == set(outputs.tolist()) | {184, 185, trace.element("w", (2, 2)), trace.element("x", (4, 4))}
    assert walk.touched_after(len(walk)).all()


def test_walk_for_another_seed_leaves_the_stored_gradients_alone(lesson):
    trace = cg.trace_conv2d(*lesson)
    trace.backward()
    before, seed = trace.grad_array().copy(), trace.dY.copy()
    other = trace.walk(np.arange(9.0).reshape(3, 3))
    assert other.final[trace.element("w", (0, 0))] == float((np.arange(9.0).reshape(3, 3) * lesson[0][:3, :3]).sum())
    np.testing.assert_array_equal(trace.grad_array(), before)
    np.testing.assert_array_equal(trace.dY, seed)
    assert trace.walk() is trace.walk(seed)  # the default seed is the last backward's, and the walk is kept
    with pytest.raises(ValueError, match=r"dY must have the output's shape \(3, 3\), got \(2, 2\)"):
        trace.walk(np.ones((2, 2)))


def test_steps_store_the_gradients_once_exhausted(lesson):
    trace = cg.trace_conv2d(*lesson)
    steps = list(trace.steps(np.full((3, 3), 2.0)))
    assert trace.has_grad and np.all(trace.dY == 2.0)
    assert steps == list(trace.walk(np.full((3, 3), 2.0)))
    np.testing.assert_array_equal(trace.gradients().w, 2 * cg.conv2d_backward(*lesson, np.ones((3, 3)))[0])


def test_a_network_walks_through_every_op():
    rng = np.random.default_rng(5)
    rec = cg.Recorder()
    x, w = rec.input(rng.normal(size=(5, 5))), rec.weight(rng.normal(size=(2, 2)))
    trace = rec.trace(cg.mse_loss(cg.avg_pool2d(cg.relu(cg.conv2d(x, w)), 2), np.zeros((2, 2))))
    walk = trace.walk()
    np.testing.assert_array_equal(walk.grads_after(len(walk)), replay(walk, len(walk)))
    assert walk.step(1).op == "div" and walk.text(1) == f"step 1 of {len(walk)}"
    assert walk.seed_text() == "ones" and cg.seed_text(np.array(2.0)) == "given"
