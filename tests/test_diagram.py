"""Graphviz diagrams: DOT source for known cases, focus views, step and collapsed views, validation,
real renders of every format, the missing-dot error, determinism."""

import re

import numpy as np
import pytest

import convgraph as cg
from convgraph.renderers import style
from convgraph.renderers.diagrams import digraph as digraph_module, render as diagram
from convgraph.renderers.diagrams import MissingProgramError, render_graph, to_digraph


def node_lines(source):
    """{dot node name: its attribute text} for the scalar nodes (n<id>)."""
    out = {}
    for line in source.splitlines():
        m = re.match(r"\s*(n\d+) \[(.*)\]$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def edge_lines(source):
    out = {}
    for line in source.splitlines():
        m = re.match(r"\s*(\w+) -> (\w+) \[(.*)\]$", line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(3)
    return out


def attr(text, name):
    m = re.search(rf'\b{name}=("[^"]*"|[^ \]]+)', text)
    return m.group(1).strip('"') if m else None


def ops(source, symbol):
    return sum(1 for a in node_lines(source).values() if f'label="{symbol}"' in a)


def real_nodes(source):
    """Scalar nodes drawn as part of the view (not greyed context cells)."""
    ghost = style.DIAGRAM["ghost"] + style.DIAGRAM["ghost_alpha"]
    return {k: a for k, a in node_lines(source).items() if attr(a, "fillcolor") != ghost}


@pytest.fixture
def lesson_trace(lesson):
    return cg.trace_conv2d(*lesson)


@pytest.fixture
def after(lesson_trace):
    lesson_trace.backward()
    return lesson_trace


# ---- the full lesson graph ----------------------------------------------------------------------
def test_full_lesson_graph_draws_every_scalar_node(after):
    src = to_digraph(after).source
    assert len(node_lines(src)) == 187
    assert ops(src, "×") == 81 and ops(src, "+") == 72 - 9  # the last add of each sum is y: a box
    assert len([e for e in edge_lines(src) if e[0].startswith("n")]) == after.graph.number_of_edges()
    assert "full graph: 187 of 187 scalar nodes" in src
    assert "after backward with ∂loss/∂y = ones" in src


def test_leaf_labels_show_value_and_gradient(after):
    nodes = node_lines(to_digraph(after).source)
    x12 = nodes[f"n{int(after.tensors['x'].nodes[1, 2])}"]
    assert "<B>x[1,2]</B>" in x12 and "7 | ∂ 0" in x12  # the Sobel kernel's zero column: dX[1,2] = 0
    w11 = nodes[f"n{int(after.tensors['w'].nodes[1, 1])}"]
    assert "0 | ∂ 108" in w11  # dW[1,1] = sum of the centre 3x3 of x
    y00 = nodes[f"n{int(after.tensors['y'].nodes[0, 0])}"]
    assert "-8 | ∂ 1" in y00


def test_fill_colours_follow_one_heat_scale(after):
    nodes = node_lines(to_digraph(after).source)  # signed by default: the gradients' map in every view
    w = after.tensors["w"].nodes
    top = nodes[f"n{int(w[2, 2])}"]  # dW[2,2] = 162, the largest gradient of the picture
    zero = nodes[f"n{int(after.tensors['x'].nodes[1, 2])}"]
    scale = style.HeatScale(162.0, signed=True, gamma=0.5)
    assert style.SIGNED_CMAP == "PuOr_r" and attr(top, "fillcolor") == "#7f3b08"  # the positive end
    assert attr(zero, "fillcolor") == scale.hex(0.0)  # the pale middle
    assert attr(top, "fontcolor") == "#FFFFFF" and attr(zero, "fontcolor") == "#000000"
    nodes = node_lines(to_digraph(after, heat="grad").source)  # |gradient| on viridis, on request
    assert attr(nodes[f"n{int(w[2, 2])}"], "fillcolor") == "#fde725"
    assert attr(nodes[f"n{int(after.tensors['x'].nodes[1, 2])}"], "fillcolor") == "#440154"


def test_edges_by_the_gradient_they_carry(after):
    src = to_digraph(after).source
    edges = edge_lines(src)
    w22 = int(after.tensors["w"].nodes[2, 2])
    mul = int(after.conv.mul[0, 0, 2, 2, 0, 2, 2])  # y[2,2]'s tap (2,2): carries x[4,4] = 24 back
    e = edges[(f"n{w22}", f"n{mul}")]
    f = (24 / 162) ** 0.5
    assert attr(e, "penwidth") == str(round(0.5 + 4.5 * f, 2))
    # signed: the map's positive half, never its pale middle, so a small flow still shows on white
    from matplotlib import colormaps

    assert attr(e, "color") == style.hex_color(colormaps["PuOr_r"](0.5 + 0.22 + 0.28 * f)) + style.DIAGRAM["edge_alpha"]
    x00 = int(after.tensors["x"].nodes[0, 0])
    first = int(after.conv.mul[0, 0, 0, 0, 0, 0, 1])  # w[0,1] = 0: nothing flows back to x[0,1]...
    x01 = int(after.tensors["x"].nodes[0, 1])
    assert attr(edges[(f"n{x01}", f"n{first}")], "color") == style.DIAGRAM["no_flow_edge"]
    assert attr(edges[(f"n{x01}", f"n{first}")], "penwidth") == "0.5"
    assert (f"n{x00}", f"n{first}") not in edges
    grad = edge_lines(to_digraph(after, heat="grad").source)[(f"n{w22}", f"n{mul}")]
    assert attr(grad, "color") == style.HeatScale(162.0, gamma=0.5).hex(24.0) + style.DIAGRAM["edge_alpha"]


def test_colour_bar_states_the_scale(after):
    src = to_digraph(after).source
    assert "∂loss/∂node, signed" in src and "square-root scale" in src
    assert ">162</TD>" in src and ">-162</TD>" in src and ">0</TD>" in src
    assert "|∂loss/∂node|" in to_digraph(after, heat="grad").source


def test_positions_are_pinned_for_neato_n2(after):
    dg = to_digraph(after)
    assert dg.engine == "neato"
    nodes = node_lines(dg.source)
    assert all(re.search(r'pos="-?[\d.]+,-?[\d.]+!"', a) for a in nodes.values())
    x = after.tensors["x"].nodes
    p = {k: tuple(map(float, attr(nodes[f"n{int(x[k])}"], "pos").rstrip("!").split(","))) for k in [(0, 0), (0, 1), (1, 0)]}
    assert p[(0, 1)][0] > p[(0, 0)][0] and p[(0, 1)][1] == p[(0, 0)][1]  # columns go right
    assert p[(1, 0)][1] < p[(0, 0)][1] and p[(1, 0)][0] == p[(0, 0)][0]  # rows go down


def test_before_backward_says_so_instead_of_zeros(lesson_trace):
    src = to_digraph(lesson_trace).source
    assert "before backward" in src
    assert "∂" not in "".join(node_lines(src).values())
    assert "legend" not in src
    x12 = node_lines(src)[f"n{int(lesson_trace.tensors['x'].nodes[1, 2])}"]
    assert attr(x12, "fillcolor") == style.NO_GRAD


def test_signed_heat_uses_the_diverging_map(after):
    nodes = node_lines(to_digraph(after, heat="signed").source)
    x = after.tensors["x"].nodes
    scale = style.HeatScale(162.0, signed=True, gamma=0.5)
    assert attr(nodes[f"n{int(x[2, 0])}"], "fillcolor") == scale.hex(4.0)  # dX[2,0] = 4
    assert attr(nodes[f"n{int(x[2, 4])}"], "fillcolor") == scale.hex(-4.0)  # dX[2,4] = -4
    assert scale.hex(4.0) != scale.hex(-4.0)


@pytest.mark.parametrize("heat", [None, "none"])
def test_no_heat(after, heat):
    src = to_digraph(after, heat=heat).source
    nodes = node_lines(src)
    assert {attr(a, "fillcolor") for a in nodes.values()} == {style.NO_GRAD}
    assert "0 | ∂ 108" in src  # the numbers stay
    assert "no heat" in src and "|∂loss/∂node|" not in src


# ---- focus views --------------------------------------------------------------------------------
def test_focus_on_a_weight_holds_its_nine_multiplies(after):
    src = to_digraph(after, focus=("w", (1, 1))).source
    shown = real_nodes(src)
    assert ops(src, "×") == 9
    assert sum("<B>x[" in a for a in shown.values()) == 9  # the x elements the weight meets
    assert sum("<B>y[" in a for a in shown.values()) == 9
    assert sum("<B>w[" in a for a in shown.values()) == 1
    assert sum("style=dashed" in e for e in edge_lines(src).values()) == 9  # add ⇢ … ⇢ y
    w11 = shown[f"n{int(after.tensors['w'].nodes[1, 1])}"]
    assert attr(w11, "color") == style.DIAGRAM["focus_outline"]
    assert "focus w[1,1]: the 9 multiplies that share it" in src
    assert "focus view: 37 of 187 scalar nodes (9 input, 1 weight, 18 +, 9 ×)" in src  # 9 of the adds are y


def test_focus_on_an_output_holds_its_multiply_adds(after):
    src = to_digraph(after, focus=("y", (0, 0))).source
    shown = real_nodes(src)
    assert ops(src, "×") == 9 and ops(src, "+") == 7  # 8 adds; the last of them is y[0,0] itself, a box
    assert {re.search(r"<B>(x\[\d,\d\])", a).group(1) for a in shown.values() if "<B>x[" in a} == {
        f"x[{i},{j}]" for i in range(3) for j in range(3)}
    assert sum("<B>w[" in a for a in shown.values()) == 9


@pytest.mark.parametrize("index, outputs", [((2, 2), 9), ((0, 0), 1), ((0, 2), 3)])
def test_focus_on_an_input_holds_every_output_it_feeds(after, index, outputs):
    src = to_digraph(after, focus=("x", index)).source
    assert ops(src, "×") == outputs
    assert sum("<B>y[" in a for a in real_nodes(src).values()) == outputs


def test_focus_accepts_the_short_index(lesson):
    x, w = lesson
    t = cg.trace_conv2d(x[None, None], w[None, None])
    t.backward()
    short = to_digraph(t, focus=("w", (1, 1))).source
    assert short == to_digraph(t, focus=("w", (0, 0, 1, 1))).source
    assert ops(short, "×") == 9


# ---- step view ----------------------------------------------------------------------------------
def test_step_view_marks_the_node_and_shades_the_visited(after):
    count = after.graph.number_of_nodes()
    src = to_digraph(after, step=1).source
    nodes = node_lines(src)
    current = nodes[f"n{count - 1}"]  # step 1 visits the last node; steps walk node ids downwards
    assert attr(current, "color") == style.CURRENT
    assert "step 1 of 187: processing y[2,2]" in src
    waiting = [a for a in nodes.values() if "dashed" in (attr(a, "style") or "")]
    assert len(waiting) == count - 1


def test_step_zero_is_before_the_first_step(after):
    src = to_digraph(after, step=0).source
    assert "step 0 of 187: nothing visited yet" in src
    assert style.CURRENT not in src
    waiting = [a for a in node_lines(src).values() if "dashed" in (attr(a, "style") or "")]
    assert len(waiting) == after.graph.number_of_nodes()


def test_last_step_looks_like_the_finished_backward(after):
    count = after.graph.number_of_nodes()
    last = node_lines(to_digraph(after, step=count).source)
    done = node_lines(to_digraph(after).source)
    assert {k: attr(a, "fillcolor") for k, a in last.items()} == {k: attr(a, "fillcolor") for k, a in done.items()}


def test_step_view_shows_partial_gradients_and_leaves_the_trace_alone(lesson_trace):
    k = 40
    state = {}
    for s in lesson_trace.walk().steps(1, k):  # the reference walk
        for p in s.pushes:
            state[p.node] = p.total
    lesson_trace.backward()
    before = [a["grad"] for a in lesson_trace.graph.nodes.values()]
    nodes = node_lines(to_digraph(lesson_trace, step=k).source)
    x44 = int(lesson_trace.tensors["x"].nodes[4, 4])
    assert f"24 | ∂ {state.get(x44, 0.0):.0f}" in nodes[f"n{x44}"]
    assert [a["grad"] for a in lesson_trace.graph.nodes.values()] == before


def test_step_view_before_backward_computes_without_touching(lesson_trace):
    src = to_digraph(lesson_trace, step=3).source
    assert "step 3 of 187" in src
    assert not lesson_trace.has_grad
    assert all(a["grad"] == 0.0 for a in lesson_trace.graph.nodes.values())


# ---- detail -------------------------------------------------------------------------------------
def test_collapsed_view_draws_one_cell_per_tensor_element(after):
    src = to_digraph(after, detail="collapsed").source
    assert "collapsed view" in src and ops(src, "×") == 0
    assert src.count("<TD WIDTH") - src.count('<TD WIDTH="64"') == 25 + 9 + 9  # cells, not the colour bar
    assert len([e for e in edge_lines(src) if e[0].startswith("p")]) == 2  # x → y, w → y


def test_auto_collapses_above_the_budget_and_says_so(after, monkeypatch):
    assert "full graph" in to_digraph(after).source
    monkeypatch.setattr(digraph_module, "NODE_BUDGET", 100)
    src = to_digraph(after).source
    assert "collapsed view (187 nodes are over the budget of 100)" in src
    small_focus = to_digraph(after, focus=("y", (0, 0))).source
    assert "focus view" in small_focus and ops(small_focus, "×") == 9


def test_collapsed_view_draws_every_channel_pair_it_can():
    t = cg.trace_conv2d(np.ones((1, 3, 6, 6)), np.ones((8, 3, 3, 3)))
    t.backward()
    src = to_digraph(t, detail="auto").source  # 2,808 nodes: collapsed
    arrows = {attr(e, "tooltip").split(":")[0] for e in edge_lines(src).values()}
    assert len(arrows) == 3 * 8 + 8 * 3 == style.DIAGRAM["panel_arrows"]  # every x[c] → y[o], every w[o,c] → y[o]
    assert arrows == ({f"x[n=0,c={c}] → y[n=0,o={o}]" for c in range(3) for o in range(8)}
                      | {f"w[o={o},c={c}] → y[n=0,o={o}]" for c in range(3) for o in range(8)})


def test_collapsed_view_with_too_many_pairs_says_so_instead_of_drawing_some():
    t = cg.trace_conv2d(np.ones((1, 4, 6, 6)), np.ones((8, 4, 3, 3)))
    t.backward()
    src = to_digraph(t, detail="collapsed").source
    assert not edge_lines(src)
    assert "64 pairs of slices feed each other: too many arrows to draw" in src


def test_chain_renders_every_stage(lesson):
    rec = cg.Recorder()
    x, w = rec.input(lesson[0]), rec.weight(lesson[1])
    trace = rec.trace(cg.mse_loss(cg.relu(cg.conv2d(x, w)), np.zeros((3, 3))))
    trace.backward()
    src = to_digraph(trace).source
    for title in ("label=relu ", "label=target ", "label=loss ", "label=sub ", "label=pow "):
        assert title in src
    assert "<B>relu[2,2]</B>" in src and "<B>loss</B>" in src  # named tensors: boxes with their values
    assert ops(src, "−") == 9 and ops(src, "^") == 9  # sub and pow: small op nodes
    assert "→ … → loss" in src


# ---- determinism and validation -----------------------------------------------------------------
def test_same_trace_same_bytes(after, lesson):
    again = cg.trace_conv2d(*lesson)
    again.backward()
    for kw in ({}, {"focus": ("w", (1, 1))}, {"step": 7}, {"detail": "collapsed"}):
        assert to_digraph(after, **kw).source == to_digraph(after, **kw).source == to_digraph(again, **kw).source


@pytest.mark.parametrize("kw, exc, text", [
    ({"focus": ("q", (0, 0))}, ValueError, "'q'"),
    ({"focus": ("w", (5, 5))}, ValueError, r"\(5, 5\)"),
    ({"focus": "w"}, TypeError, "focus"),
    ({"focus": ("w", (1.5, 1))}, TypeError, "1.5"),
    ({"heat": "hot"}, ValueError, "'hot'"),
    ({"heat": 3}, TypeError, "heat"),
    ({"detail": "some"}, ValueError, "'some'"),
    ({"step": -1}, ValueError, "-1"),
    ({"step": 188}, ValueError, "188"),
    ({"step": 1.5}, TypeError, "1.5"),
    ({"step": True}, TypeError, "True"),
])
def test_bad_options_name_the_parameter_and_value(after, kw, exc, text):
    with pytest.raises(exc, match=text) as info:
        to_digraph(after, **kw)
    assert next(iter(kw)) in str(info.value)


def test_bad_path_and_option_for_render(after, tmp_path):
    with pytest.raises(ValueError, match="graph.jpg"):
        render_graph(after, tmp_path / "graph.jpg")
    with pytest.raises(TypeError, match="colour"):
        render_graph(after, tmp_path / "graph.svg", colour="red")
    with pytest.raises(TypeError, match="trace"):
        to_digraph("trace")
    assert render_graph(after, tmp_path / "new" / "graph.dot").exists()  # missing folders are made
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match=r"'\S+/afile' is a file, not a folder"):
        render_graph(after, tmp_path / "afile" / "graph.svg")


# ---- writing files ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".dot", ".gv"])
def test_dot_text_needs_no_program(after, tmp_path, monkeypatch, suffix):
    monkeypatch.setenv("PATH", "")
    path = render_graph(after, tmp_path / f"g{suffix}")
    assert path.read_text(encoding="utf-8") == to_digraph(after).source
    assert [p.name for p in tmp_path.iterdir()] == [f"g{suffix}"]


def test_missing_dot_is_one_clear_error(after, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MissingProgramError, match="apt-get install graphviz") as info:
        render_graph(after, tmp_path / "g.png")
    assert "'dot'" in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert isinstance(info.value, RuntimeError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_real_renders(dot, after, tmp_path, suffix, magic):
    path = render_graph(after, tmp_path / f"lesson{suffix}", focus=("w", (1, 1)))
    data = path.read_bytes()
    assert data.startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"lesson{suffix}"]
    if suffix == ".svg":
        text = data.decode("utf-8")
        assert "w[1,1]" in text and "0 | ∂ 108" in text and "<svg" in text


@pytest.mark.dot
def test_real_render_of_the_full_graph_keeps_the_grid(dot, after, tmp_path):
    svg = render_graph(after, tmp_path / "full.svg").read_text(encoding="utf-8")
    assert svg.count("class=\"node\"") >= 187
    for label in ("x[0,0]", "x[4,4]", "w[2,2]", "y[2,2]", "1 | ∂ 54", "∂loss/∂node"):
        assert label in svg


@pytest.mark.dot
def test_real_render_of_a_collapsed_view(dot, tmp_path):
    t = cg.trace_conv2d(np.arange(144.0).reshape(12, 12) % 7, np.ones((3, 3)))
    t.backward()
    png = render_graph(t, tmp_path / "big.png", detail="collapsed")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_step_in_the_collapsed_view_outlines_the_current_cell(after):
    src = to_digraph(after, detail="collapsed", step=1).source  # step 1 processes y[2,2]
    assert src.count(f'BORDER="3" COLOR="{style.CURRENT}"') == 1
    assert "step 1 of 187: processing y[2,2]" in src


def test_reexported_from_the_package():
    assert cg.to_digraph is to_digraph and cg.render_graph is render_graph


@pytest.mark.dot
def test_the_digraph_itself_renders_at_its_pinned_positions(dot, after):
    svg = to_digraph(after).pipe(format="svg", encoding="utf-8")  # what Jupyter shows inline

    def text_x(label):
        m = re.search(r'<text[^>]* x="([-\d.]+)"[^>]*>' + re.escape(label) + "<", svg)
        return float(m.group(1))

    assert text_x("x[0,0]") < text_x("x[0,1]") < text_x("x[0,2]")  # the grid survives: no layout ran
    assert text_x("x[0,0]") == pytest.approx(text_x("x[1,0]"))


def test_collapsed_chain_joins_each_stage_to_the_next():
    rng = np.random.default_rng(2)
    rec = cg.Recorder()
    x, w, b = rec.input(rng.normal(size=(1, 2, 8, 8))), rec.weight(rng.normal(size=(3, 2, 3, 3))), rec.bias(np.zeros(3))
    loss = cg.mse_loss(cg.max_pool2d(cg.relu(cg.conv2d(x, w, b)), 2), np.zeros((1, 3, 3, 3)))
    trace = rec.trace(loss)
    trace.backward()
    src = to_digraph(trace, detail="collapsed").source
    arrows = {attr(e, "tooltip").split(":")[0] for e in edge_lines(src).values()}
    tensors = {" → ".join(side.split("[")[0] for side in a.split(" → ")) for a in arrows}
    assert tensors == {"x → y", "w → y", "b → y", "y → relu", "relu → pool", "pool → loss", "target → loss"}
    assert {a for a in arrows if a.startswith("x")} == {f"x[n=0,c={c}] → y[n=0,o={o}]" for c in range(2) for o in range(3)}
    assert {f"y[n=0,o={o}] → relu[n=0,o={o}]" for o in range(3)} <= arrows
    assert "y[n=0,o=0] → relu[n=0,o=1]" not in arrows  # relu is elementwise: each slice feeds its own


def test_focus_on_a_later_tensor_shows_its_neighbourhood(lesson):
    rec = cg.Recorder()
    x, w = rec.input(lesson[0]), rec.weight(lesson[1])
    trace = rec.trace(cg.sum(cg.relu(cg.conv2d(x, w))))
    trace.backward()
    src = to_digraph(trace, focus=("relu", (1, 1))).source
    shown = real_nodes(src)
    assert sum("<B>relu[1,1]</B>" in a for a in shown.values()) == 1
    assert sum("<B>y[1,1]</B>" in a for a in shown.values()) == 1  # its operand
    assert ops(src, "+") == 1  # the one sum step it feeds


def test_collapsed_view_before_backward_shows_forward_values(lesson_trace):
    src = to_digraph(lesson_trace, detail="collapsed").source
    assert "before backward" in src and "forward value (no gradients yet)" in src
    from matplotlib import colormaps

    top = style.hex_color(colormaps[style.VALUE_CMAP](1.0))
    assert f'BGCOLOR="{top}"' in src  # x[4,4] = 24, the largest value of the picture
    assert "which slice feeds which" in src and "Σ|gradient|" not in src


def test_focus_on_the_bias_holds_every_sum_it_starts():
    t = cg.trace_conv2d(np.ones((4, 4)), np.ones((3, 3)), np.array([0.5]), padding=1)
    t.backward()
    src = to_digraph(t, focus=("b", (0,))).source
    assert ops(src, "+") == 16 and ops(src, "×") == 16  # the first add of each of the 16 sums, and its product
    assert sum("style=dashed" in e for e in edge_lines(src).values()) == 16  # add ⇢ … ⇢ y
    assert "focus b[0]: every sum it starts" in src


def test_png_resolution_drops_for_big_drawings(after):
    small = to_digraph(after)
    assert diagram._png_dpi(small) == style.DIAGRAM["png_dpi"]
    t = cg.trace_conv2d(np.ones((12, 12)), np.ones((3, 3)))
    t.backward()
    big = to_digraph(t, detail="full")
    w, h = big.convgraph_extent_inch
    dpi = diagram._png_dpi(big)
    assert dpi < style.DIAGRAM["png_dpi"] and max(w, h) * dpi == pytest.approx(style.DIAGRAM["png_max_px"])


def test_constants_take_no_heat_and_stay_out_of_the_scale():
    rec = cg.Recorder()
    x = rec.input(np.arange(16.0).reshape(4, 4))
    trace = rec.trace(cg.mean(cg.max_pool2d(x, 2)))  # mean divides by a const 4: d/dconst = -2.5
    trace.backward()
    src = to_digraph(trace).source
    const = [a for a in node_lines(src).values() if attr(a, "label") == "c"]
    assert len(const) == 1 and attr(const[0], "fillcolor") == style.NO_GRAD
    assert ">2.5</TD>" not in src and ">1</TD>" in src  # the scale tops out at dmean = 1, not at 2.5
    assert "mean (scalar)" in src


def test_a_scalar_graph_has_no_empty_frames():
    rec = cg.Recorder()
    a, b = rec.value(2.0), rec.value(-3.0)
    trace = rec.trace((a * b + a).tanh())
    trace.backward()
    src = to_digraph(trace).source
    assert len(node_lines(src)) == 5
    assert src.count("frame") == 1  # only the output's panel ("out") is framed


# ---- pictures that state their point, sized for a slide ---------------------------------------------
def svg_smallest_text_px(path, slide=(1920, 1080)):
    """The smallest font of an SVG in pixels once the drawing is fitted to ``slide``."""
    text = path.read_text(encoding="utf-8")
    w, h = (float(v) for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', text).groups())
    smallest = min(float(v) for v in re.findall(r'font-size="([\d.]+)"', text))
    return smallest * min(slide[0] / w, slide[1] / h)


def test_focus_views_state_their_sum_and_label_each_arrow(after):
    src = to_digraph(after, focus=("w", (1, 1))).source
    assert "∂loss/∂w[1,1] = 6 + 7 + 8 + 11 + 12 + 13 + 16 + 17 + 18 = 108" in src
    w11 = int(after.tensors["w"].nodes[1, 1])
    labels = sorted(int(attr(a, "headlabel")) for (u, _), a in edge_lines(src).items() if u == f"n{w11}")
    assert labels == [6, 7, 8, 11, 12, 13, 16, 17, 18]  # what each multiply sends back into w[1,1]
    x = to_digraph(after, focus=("x", (2, 2))).source  # the kernel in rotated order: rot180 in the caption
    assert "∂loss/∂x[2,2] = dY[0,0]·w[2,2] + dY[0,1]·w[2,1] + dY[0,2]·w[2,0] + dY[1,0]·w[1,2] +" in x
    assert "= -1 + 0 + 1 − 2 + 0 + 2 − 1 + 0 + 1 = 0" in x
    assert "w rotated 180°, as x[2,2] reads it" in x  # beside W: the kernel as this input meets it
    assert "rotated 180°" not in to_digraph(after, focus=("w", (1, 1))).source
    assert "headlabel" not in to_digraph(after).source and "= 108" not in to_digraph(after, focus=("w", (1, 1)), step=3).source


def test_highlight_is_a_dark_outline_with_a_white_halo(after):
    nodes = node_lines(to_digraph(after, focus=("w", (1, 1))).source)
    w11 = nodes[f"n{int(after.tensors['w'].nodes[1, 1])}"]
    assert attr(w11, "peripheries") == "2" and attr(w11, "color") == style.CURRENT
    current = node_lines(to_digraph(after, step=5).source)[f"n{after.walk().node(5)}"]
    assert attr(current, "peripheries") == "2"


def test_slide_size_is_legible_and_exactly_16_by_9(after, dot, tmp_path):
    from PIL import Image

    for focus in (None, ("w", (1, 1)), ("x", (2, 2))):
        svg = render_graph(after, tmp_path / "g.svg", size="slide", focus=focus)
        assert svg_smallest_text_px(svg) >= style.MIN_SLIDE_TEXT_PX
        assert "collapsed" not in svg.read_text(encoding="utf-8")  # the lesson stays whole on a slide
    for size, px in (("slide", (1920, 1080)), ("slide-720", (1280, 720))):
        with Image.open(render_graph(after, tmp_path / f"{size}.png", size=size)) as im:
            assert im.size == px
    x00 = f"n{int(after.tensors['x'].nodes[0, 0])}"
    assert attr(node_lines(to_digraph(after, size="slide").source)[x00], "fontsize") == "17"  # was 13
    assert 'pos="e,' not in to_digraph(after).source  # straight arrows unless drawn for a slide
    with pytest.raises(ValueError, match="size must be None, 'slide' or 'slide-720', got 'poster'"):
        to_digraph(after, size="poster")


def test_slide_auto_detail_collapses_what_would_not_be_legible(dot, tmp_path):
    t = cg.trace_conv2d(np.arange(49.0).reshape(7, 7) % 5, np.ones((3, 3)), padding=1)
    t.backward()
    src = to_digraph(t, size="slide").source
    assert re.search(r"collapsed view \(\d+ nodes are too many to read on a slide\)", src)
    assert re.search(r"its smallest text would be \d+(\.\d)? px on a 1920×1080 slide, under 14", src)
    assert "collapsed" not in to_digraph(t).source  # without a size: drawn whole, as before
    assert "collapsed" not in to_digraph(t, size="slide", detail="full").source
    svg = render_graph(t, tmp_path / "c.svg", size="slide")
    assert svg_smallest_text_px(svg) >= style.MIN_SLIDE_TEXT_PX


@pytest.mark.parametrize("x_shape, w_shape", [((1, 3, 16, 16), (4, 3, 3, 3)), ((2, 3, 12, 12), (6, 3, 3, 3)),
                                              ((2, 6, 6), (2, 2, 3, 3))])
def test_slide_collapsed_views_of_many_channels_stay_legible(x_shape, w_shape, dot, tmp_path):
    """Many slices on a 16:9 slide: smaller cells (never narrower than a title), then x | w | y side by
    side (w turned to channels by filters when there are more filters), until the text is 14 px."""
    rng = np.random.default_rng(0)
    t = cg.trace_conv2d(rng.normal(size=x_shape), rng.normal(size=w_shape))
    t.backward()
    for focus in (None, ("w", (0,) * len(w_shape))):
        svg = render_graph(t, tmp_path / "c.svg", size="slide", focus=focus)
        assert svg_smallest_text_px(svg) >= style.MIN_SLIDE_TEXT_PX, (x_shape, focus)
        assert "small type" not in svg.read_text(encoding="utf-8")
    assert "collapsed view" in to_digraph(t, size="slide").source
    assert to_digraph(t).source == to_digraph(t, size=None).source  # without a size: as before


def test_slide_collapsed_view_says_when_its_slices_are_too_many(dot):
    rng = np.random.default_rng(0)
    t = cg.trace_conv2d(rng.normal(size=(1, 8, 10, 10)), rng.normal(size=(8, 8, 3, 3)))
    t.backward()
    src = to_digraph(t, size="slide").source
    assert re.search(r"\(80 slices: small type on a 1920×1080 slide, about \d+ px; a focus view draws fewer and "
                     r"larger\)", src)
    assert "small type" not in to_digraph(t).source


def test_an_output_focus_states_its_dot_product(after):
    src = to_digraph(after, focus=("y", (1, 1))).source
    assert "y[1,1] = Σ w·x = 1·6 + 0·7 + (-1)·8 + 2·11 + 0·12 + (-2)·13 + 1·16 + 0·17 + (-1)·18 = -8" in src
    t = cg.trace_conv2d(np.ones((1, 5, 5)), np.ones((2, 1, 3, 3)), np.array([1.0, 2.0]), padding=1)
    assert "y[1,0,0] = Σ w·x + b = 1·1 + 1·1 + 1·1 + 1·1 + b[1] 2 = 6" in to_digraph(t, focus=("y", (1, 0, 0))).source


def test_slide_arrows_leave_a_grid_through_its_gaps(after):
    dg = to_digraph(after, size="slide")
    nodes, edges = node_lines(dg.source), edge_lines(dg.source)
    x = after.tensors["x"].nodes

    def centre(n):
        return tuple(float(v) for v in attr(nodes[f"n{int(n)}"], "pos").rstrip("!").split(","))
    boxes = {int(n): centre(n) for n in x.ravel()}
    half_w = float(attr(nodes[f"n{int(x[0, 0])}"], "width")) * 36
    half_h = float(attr(nodes[f"n{int(x[0, 0])}"], "height")) * 36
    routed = 0
    for (u, v), a in edges.items():
        src = int(u[1:])
        if src not in boxes:
            continue
        path = attr(a, "pos")
        if path is None:
            points = [boxes[src], centre(v[1:])]
        else:
            routed += 1
            points = [tuple(map(float, p.split(","))) for p in path.split()[1:]]
        for p, q in zip(points, points[1:]):
            for t in np.linspace(0, 1, 60):
                px, py = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
                hit = [n for n, (bx, by) in boxes.items() if n != src and abs(px - bx) < half_w and abs(py - by) < half_h]
                assert not hit, f"{u} -> {v} runs under x box {hit}"
    assert routed > 20  # most arrows out of x need the gaps


def test_slide_png_is_drawn_at_the_slide_size_where_the_pasted_one_was(after, dot, tmp_path, monkeypatch):
    """Graphviz draws a slide PNG at exactly the slide's size through its viewport: RGB to the edges,
    and the drawing where scaling and pasting it onto the slide put it (to a pixel)."""
    from PIL import Image

    from convgraph.renderers.diagrams import render as render_module

    def ink_box(path):
        with Image.open(path) as im:
            assert im.mode == "RGB"
            a = np.asarray(im)
        rows, cols = np.nonzero((a != 255).any(axis=2))
        return np.array([cols.min(), rows.min(), cols.max(), rows.max()]), a.shape[:2]

    views = [dict(size="slide"), dict(size="slide-720", focus=("x", (2, 2))), dict(size="slide", detail="collapsed")]
    drawn = [ink_box(render_graph(after, tmp_path / f"d{k}.png", **v)) for k, v in enumerate(views)]
    real = render_module._slide_view
    monkeypatch.setattr(render_module, "_slide_view", lambda *a: (real(*a)[0], None))  # no viewport: pasted
    pasted = [ink_box(render_graph(after, tmp_path / f"p{k}.png", **v)) for k, v in enumerate(views)]
    for (box, shape), (ref, ref_shape), v in zip(drawn, pasted, views):
        assert shape == ref_shape == style.SIZES[v["size"]][::-1]
        assert np.abs(box - ref).max() <= 1, (v, box, ref)


def test_render_graphs_writes_an_svg_and_its_slide_png_from_one_layout(after, dot, tmp_path, monkeypatch):
    """The kit's SVG and PNG of one view: the same bytes as two render_graph calls, with one Graphviz
    run fewer (the PNG reads its size off the SVG just written) and the digraph built once."""
    import subprocess

    from convgraph.renderers.diagrams import render as render_module

    one = [render_graph(after, tmp_path / "one" / f"g{s}", size="slide", focus=("w", (1, 1))) for s in (".svg", ".png")]
    runs, built = [], []
    real_run, real_build = subprocess.run, render_module.to_digraph
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: runs.append(a[0][0]) or real_run(*a, **k))
    monkeypatch.setattr(render_module, "to_digraph", lambda *a, **k: built.append(1) or real_build(*a, **k))
    both = cg.render_graphs(after, [tmp_path / "two" / "g.svg", tmp_path / "two" / "g.png"], size="slide",
                            focus=("w", (1, 1)))
    assert [p.read_bytes() for p in both] == [p.read_bytes() for p in one]
    assert runs == ["dot", "dot"] and built == [1]
    with pytest.raises(ValueError, match="path must end in one of"):
        cg.render_graphs(after, [tmp_path / "ok.svg", tmp_path / "bad.jpg"])
    assert not (tmp_path / "ok.svg").exists()  # refused before any work
