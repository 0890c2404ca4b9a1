"""The shared grid-anchored layout: every node placed once, grids kept, deterministic."""

import numpy as np
import pytest

import convgraph as cg
from convgraph.renderers.layout import LEAF_SIZE, Layout, layout


def inside(box, p):
    x0, y0, x1, y1 = box
    return x0 <= p[0] <= x1 and y0 <= p[1] <= y1


@pytest.fixture
def lesson_trace(lesson):
    return cg.trace_conv2d(*lesson)


def test_lesson_regions_and_every_node_placed_once(lesson_trace):
    lay = layout(lesson_trace)
    assert isinstance(lay, Layout)
    assert list(lay.regions) == ["x", "w", "× and + of y", "y"]
    assert sorted(lay.pos) == list(range(lesson_trace.graph.number_of_nodes()))
    assert len(set(lay.pos.values())) == len(lay.pos)  # no two nodes on one spot


def test_lesson_grids_keep_their_geometry(lesson_trace):
    lay, t = layout(lesson_trace), lesson_trace
    x, y = t.tensors["x"].nodes, t.tensors["y"].nodes
    lw, lh = LEAF_SIZE
    assert lay.pos[int(x[0, 1])][0] - lay.pos[int(x[0, 0])][0] == pytest.approx(lw)  # columns go right
    assert lay.pos[int(x[0, 0])][1] - lay.pos[int(x[1, 0])][1] == pytest.approx(lh)  # rows go down (y up)
    for n in x.ravel():
        assert inside(lay.regions["x"], lay.pos[int(n)])
    for n in y.ravel():
        assert inside(lay.regions["y"], lay.pos[int(n)])
    # x | imprints | y from left to right, w above the imprints
    assert lay.regions["x"][2] < lay.regions["× and + of y"][0] < lay.regions["y"][0]
    assert lay.regions["w"][1] > lay.regions["× and + of y"][3]


def test_multiplies_mirror_the_kernel_inside_each_block(lesson_trace):
    lay, conv = layout(lesson_trace), lesson_trace.conv
    mul = conv.mul[0, 0]  # (OH, OW, Cg, KH, KW)
    box = lay.regions["× and + of y"]
    for i in range(3):
        for j in range(3):
            block = mul[i, j, 0]
            p = {(u, v): lay.pos[int(block[u, v])] for u in range(3) for v in range(3)}
            assert all(inside(box, q) for q in p.values())
            assert p[(0, 1)][0] - p[(0, 0)][0] == pytest.approx(1.0)  # one slot per tap
            assert p[(0, 0)][1] - p[(1, 0)][1] == pytest.approx(1.0)
            add = lay.pos[int(conv.add[0, 0, i, j, 0, 0, 1])]
            assert add == pytest.approx((p[(0, 1)][0] + 0.5, p[(0, 1)][1] - 0.5))  # below-right of its ×
    # block (0, 1) is to the right of block (0, 0), block (1, 0) below it
    assert lay.pos[int(mul[0, 1, 0, 0, 0])][0] > lay.pos[int(mul[0, 0, 0, 0, 2])][0]
    assert lay.pos[int(mul[1, 0, 0, 0, 0])][1] < lay.pos[int(mul[0, 0, 0, 2, 0])][1]


def test_deterministic(lesson_trace, lesson):
    a = layout(lesson_trace)
    b = layout(cg.trace_conv2d(*lesson))
    assert a.pos == b.pos and a.regions == b.regions


def test_channels_filters_and_batch_get_one_panel_each():
    t = cg.trace_conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.zeros(4), padding=1)
    lay = layout(t)
    for n in range(2):
        for c in range(3):
            assert f"x[n={n},c={c}]" in lay.regions
        for o in range(4):
            assert f"y[n={n},o={o}]" in lay.regions and f"× and + of y[n={n},o={o}]" in lay.regions
    assert {f"w[o={o},c={c}]" for o in range(4) for c in range(3)} <= set(lay.regions)
    assert "b" in lay.regions
    assert len(lay.pos) == t.graph.number_of_nodes()
    assert len(set(lay.pos.values())) == len(lay.pos)


def test_chain_falls_back_to_columns_to_the_right():
    rec = cg.Recorder()
    x, w = rec.input(np.arange(16.0).reshape(4, 4)), rec.weight(np.ones((2, 2)))
    trace = rec.trace(cg.mse_loss(cg.relu(cg.conv2d(x, w)), np.zeros((3, 3))))
    lay = layout(trace)
    assert len(lay.pos) == trace.graph.number_of_nodes()
    assert len(set(lay.pos.values())) == len(lay.pos)
    for name in ("relu", "target", "sub", "pow", "loss"):
        assert name in lay.regions
    assert lay.regions["y"][2] < lay.regions["relu"][0] < lay.regions["sub"][0] < lay.regions["loss"][0]


def test_scalar_graph_by_topological_generation():
    rec = cg.Recorder()
    a, b = rec.value(2.0), rec.value(3.0)
    c = (a * b + a).tanh()
    trace = rec.trace(c)
    pos = layout(trace).pos
    assert len(pos) == trace.graph.number_of_nodes()
    xs = [pos[n][0] for n in sorted(pos)]
    for n in trace.graph:  # every edge goes left to right
        for m in trace.graph.successors(n):
            assert pos[n][0] < pos[m][0]
    assert len(set(xs)) >= 4


def test_collapsed_holds_tensor_elements_only(lesson_trace):
    lay = layout(lesson_trace, collapsed=True)
    assert list(lay.regions) == ["x", "w", "y"]
    assert len(lay.pos) == 25 + 9 + 9
    x_panel = next(p for p in lay.panels if p.tensor == "x")
    assert np.array_equal(x_panel.nodes, lesson_trace.tensors["x"].nodes)


def test_nodes_subset_builds_only_those(lesson_trace):
    lay = layout(lesson_trace, nodes=[0, 5, 40])
    assert sorted(lay.pos) == [0, 5, 40]
    assert lay.pos[5] == layout(lesson_trace).pos[5]
    assert lay.xy([0, 40]).shape == (2, 2)


@pytest.mark.parametrize("kwargs, exc, text", [
    ({"leaf_size": (0, 1)}, ValueError, "leaf_size"),
    ({"leaf_size": "big"}, TypeError, "leaf_size"),
    ({"nodes": [10_000]}, ValueError, "10000"),
])
def test_bad_arguments(lesson_trace, kwargs, exc, text):
    with pytest.raises(exc, match=text):
        layout(lesson_trace, **kwargs)


def test_not_a_trace():
    with pytest.raises(TypeError, match="Trace"):
        layout("graph")


def test_panel_of_names_each_nodes_panel(lesson_trace):
    lay = layout(lesson_trace)
    titles = [p.title for p in lay.panels]
    assert titles[lay.panel_of[0]] == "x"
    assert titles[lay.panel_of[int(lesson_trace.conv.mul[0, 0, 0, 0, 0, 0, 0])]] == "× and + of y"
    assert titles[lay.panel_of[int(lesson_trace.tensors["y"].nodes[2, 2])]] == "y"


def test_collapsed_wraps_many_panels_and_sizes_cells_per_tensor():
    t = cg.trace_conv2d(np.ones((1, 3, 8, 8)), np.ones((8, 3, 3, 3)))
    lay = layout(t, collapsed=True, leaf_size=(0.2, 0.2), leaf_sizes={"w": (0.5, 0.5)})
    ys = [p.box for p in lay.panels if p.tensor == "y"]
    assert len(ys) == 8 and len({round(b[0], 6) for b in ys}) == 3  # 8 y panels in 3 columns
    w = next(p.box for p in lay.panels if p.tensor == "w")
    assert w[2] - w[0] == pytest.approx(1.5)  # 3 cells of 0.5
    x = next(p.box for p in lay.panels if p.tensor == "x")
    assert x[2] - x[0] == pytest.approx(1.6)  # 8 cells of 0.2
    with pytest.raises(ValueError, match="leaf_sizes"):
        layout(t, leaf_sizes={"w": (0, 1)})


@pytest.mark.parametrize("x_shape, w_shape, bias, kw", [
    ((2, 4, 5, 5), (4, 2, 3, 3), False, {"groups": 2, "padding": 1}),
    ((1, 3, 6, 6), (3, 1, 2, 2), False, {"groups": 3, "stride": 2, "dilation": 2}),
    ((3, 3), (2, 2), True, {"padding": 3}),  # outputs whose every tap is padding: y = b + 0
    ((3, 3), (2, 2), False, {"padding": 3}),  # ... and y = const 0
    ((4, 4), (3, 3), False, {"padding": "same", "dilation": 2}),
])
def test_every_variant_places_every_node_once(x_shape, w_shape, bias, kw):
    t = cg.trace_conv2d(np.ones(x_shape), np.ones(w_shape), np.ones(w_shape[0] if len(w_shape) == 4 else 1)
                        if bias else None, **kw)
    for collapsed in (False, True):
        lay = layout(t, collapsed=collapsed)
        expected = t.graph.number_of_nodes() if not collapsed else sum(s.size for s in t.tensors.values())
        assert len(lay.pos) == expected
        assert len(set(lay.pos.values())) == len(lay.pos)
