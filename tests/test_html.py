"""The HTML stepper: the page's embedded data and options without a browser, then the page itself
in headless Chromium (Debian's, driven by Playwright) loaded from a file:// URL."""

import json
import re

import numpy as np
import pytest

import convgraph as cg
from convgraph.renderers import style
from convgraph.renderers.steppers.html import render_html
from convgraph.renderers.steppers.text import StepText, fmt

def embedded(path):
    """The JSON document a page draws from."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="cg-data">(.*?)</script>', text, re.S)
    assert m, "no embedded data"
    return json.loads(m.group(1))


@pytest.fixture
def trace(lesson):
    x, w = lesson
    return cg.trace_conv2d(x, w)


@pytest.fixture
def page_path(trace, tmp_path):
    return render_html(trace, tmp_path / "lesson.html")


# ---- without a browser -----------------------------------------------------------------------------

def test_lesson_page_is_small_and_fetches_nothing(page_path):
    text = page_path.read_text(encoding="utf-8")
    assert page_path.stat().st_size < 2_000_000
    # The only URL is the SVG namespace, which is a name, not a fetch.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", text)) == {"http://www.w3.org/2000/svg"}
    for forbidden in ("<link", " src=", "@import", "fetch(", "XMLHttpRequest", "import("):
        assert forbidden not in text
    assert "default-src 'none'" in text  # the page's own CSP forbids any request


def test_page_embeds_every_step_the_grids_and_the_layout(trace, page_path):
    steps = trace.walk().steps()
    data = embedded(page_path)
    assert data["steps"]["node"] == [s.node for s in steps]
    assert data["steps"]["grad"] == [s.grad for s in steps]
    assert data["steps"]["pn"] == [p.node for s in steps for p in s.pushes]
    assert len(data["steps"]["off"]) == len(steps) + 1
    assert [t["name"] for t in data["tensors"]] == ["x", "w", "y"]
    assert [t["role"] for t in data["tensors"]] == ["leaf", "leaf", "output"]
    assert data["layout"]["collapsed"] is False
    assert len(data["layout"]["pos"]) == 3 * trace.graph.number_of_nodes()
    assert sorted(n for n, _, _ in data["labels"]) == sorted(
        int(n) for t in ("x", "w", "y") for n in trace.tensors[t].nodes.ravel())
    assert [int(trace.tensors["x"].nodes[1, 2]), "x", "1,2"] in data["labels"]
    assert data["seeds"] == [[int(n), 1] for n in trace.output.nodes.ravel()]


def test_page_colours_come_from_style(page_path):
    data = embedded(page_path)
    c = data["colors"]
    assert (c["current"], c["background"], c["ink"]) == (style.CURRENT, style.BACKGROUND, style.INK)
    assert c["op"] == dict(style.OP_COLORS)
    scale = style.HeatScale(1.0, signed=True)
    assert c["signed"]["fill"][0] == scale.hex(-1.0) and c["signed"]["fill"][-1] == scale.hex(1.0)
    assert len(c["signed"]["fill"]) == style.HTML["heat_stops"]
    text = page_path.read_text(encoding="utf-8")
    assert f"--current: {style.CURRENT};" in text and f"--focus: {style.HTML['focus_outline']};" in text


def test_written_through_a_temporary_name_and_overwrites(trace, tmp_path):
    target = tmp_path / "page.html"
    target.write_text("old")
    out = render_html(trace, str(target))
    assert out == target
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_collapsed_view_past_the_node_budget(trace, tmp_path):
    data = embedded(render_html(trace, tmp_path / "c.html", node_budget=100))
    assert data["layout"]["collapsed"] is True
    placed = set(data["layout"]["pos"][0::3])
    assert placed == {int(n) for t in ("x", "w", "y") for n in trace.tensors[t].nodes.ravel()}
    assert len(data["steps"]["node"]) == trace.graph.number_of_nodes()  # the steps stay complete


def test_default_seed_is_the_last_backward_pass(trace, tmp_path):
    trace.backward(np.full((3, 3), 2.0))
    data = embedded(render_html(trace, tmp_path / "d.html"))
    assert {g for _, g in data["seeds"]} == {2}
    data = embedded(render_html(trace, tmp_path / "e.html", dY=np.arange(9.0).reshape(3, 3)))
    assert [g for _, g in data["seeds"]] == list(range(9))


def test_title_cannot_break_out_of_the_page(trace, tmp_path):
    evil = "</script><script>alert(1)</script> & <b>"
    text = render_html(trace, tmp_path / "t.html", title=evil).read_text(encoding="utf-8")
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in text
    assert embedded(tmp_path / "t.html")["title"] == evil


def test_reexported_from_convgraph():
    assert cg.render_html is render_html


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(digits=-1), ValueError, "digits must be between 0 and 8, got -1"),
    (dict(digits=2.5), TypeError, "digits must be an int, got 2.5"),
    (dict(digits=True), TypeError, "digits must be an int, got True"),
    (dict(node_budget="big"), TypeError, "node_budget must be an int, got 'big'"),
    (dict(max_nodes=0), ValueError, "max_nodes must be at least 1, got 0"),
    (dict(max_nodes=100), ValueError, "187 nodes, more than max_nodes=100"),
    (dict(title=3), TypeError, "title must be a str or None, got 3"),
    (dict(dY=np.ones((2, 2))), ValueError, "dY must have the output's shape (3, 3)"),
])
def test_bad_options_name_the_parameter_and_value(trace, tmp_path, kwargs, error, words):
    with pytest.raises(error, match=re.escape(words)):
        render_html(trace, tmp_path / "bad.html", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_bad_trace_and_path(trace, tmp_path):
    with pytest.raises(TypeError, match="trace must be a convgraph Trace, got ndarray"):
        render_html(np.ones(3), tmp_path / "a.html")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        render_html(trace, 3)
    assert render_html(trace, tmp_path / "missing" / "a.html").exists()  # missing folders are made
    with pytest.raises(ValueError, match="path must be a file name, got the folder"):
        render_html(trace, tmp_path)


# ---- in the browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_arrow_highlights_the_node_and_prints_the_chain_rule(trace, page_path, opened):
    steps = trace.walk().steps()
    text = StepText(trace, trace.walk())
    o = opened(page_path)
    assert o.text("#counter") == "step 0 of 187"
    for k in range(2):
        o.page.keyboard.press("ArrowRight")
        node = steps[k].node
        assert o.state()["current"] == node
        assert o.text("#chain") == text.chain(steps[k])
        assert o.text("#headline") == text.headline(steps[k])
        assert o.text("#counter") == f"step {k + 1} of 187"
        shape = o.page.locator(f'#graph .node[data-node="{node}"] > :first-child')
        assert shape.get_attribute("stroke") == style.CURRENT
    # Step 2 is the multiply w[2,2]·x[4,4]: two arrows, each labelled with its amount.
    assert o.text("#chain") == "w[2,2]·x[4,4]   grad 1 → w[2,2] += 1·24, x[4,4] += 1·(-1)"
    assert o.cells("#overlay .amount") == ["+= 24", "+= -1"]
    assert o.cells("#running").__len__() == 1 and "w[2,2].grad = 24   (1st of 9 contributions)" in o.text("#running")
    assert o.cells("#grad-w .cell.touched") == ["24"] and o.cells("#grad-x .cell.touched") == ["-1"]
    o.assert_clean()


@pytest.mark.browser
def test_every_step_reads_as_the_text_stepper_does(trace, page_path, opened):
    steps = trace.walk().steps()
    text = StepText(trace, trace.walk())
    o = opened(page_path)
    got = o.page.evaluate("[...Array(convgraph.K).keys()].map(k => [convgraph.chain(k), convgraph.headline(k), "
                          "convgraph.running(k)])")
    assert got == [[text.chain(s), text.headline(s), text.running(s)] for s in steps]
    o.assert_clean()


@pytest.mark.browser
def test_end_shows_the_gradients_of_backward(trace, page_path, opened):
    grads = trace.backward()
    o = opened(page_path)
    o.page.keyboard.press("End")
    assert o.text("#counter") == "step 187 of 187"
    assert o.cells("#grad-w .cell") == [fmt(v) for v in grads.w.ravel()]
    assert o.cells("#grad-x .cell") == [fmt(v) for v in grads.x.ravel()]
    assert o.cells("#grad-y .cell") == ["1"] * 9
    assert o.cells("#value-y .cell") == [fmt(v) for v in trace.y.ravel()]
    o.page.keyboard.press("Home")
    assert o.text("#counter") == "step 0 of 187"
    assert o.cells("#grad-w .cell") == ["0"] * 9
    o.assert_clean()


@pytest.mark.browser
def test_shift_arrows_slider_and_buttons(page_path, opened):
    o = opened(page_path)
    o.page.keyboard.press("Shift+ArrowRight")
    assert o.state()["pos"] == 10
    o.page.keyboard.press("Shift+ArrowRight")
    o.page.keyboard.press("ArrowLeft")
    assert o.state()["pos"] == 19
    o.page.keyboard.press("Shift+ArrowLeft")
    assert o.state()["pos"] == 9
    o.page.locator("#slider").evaluate("e => { e.value = 50; e.dispatchEvent(new Event('input')); }")
    assert o.state()["pos"] == 50 and o.text("#counter") == "step 50 of 187"
    o.page.click("#last")
    assert o.state()["pos"] == 187
    o.page.keyboard.press("ArrowRight")  # stays at the end
    assert o.state()["pos"] == 187
    o.page.click("#first")
    assert o.state()["pos"] == 0
    o.assert_clean()


@pytest.mark.browser
def test_clicking_a_weight_lists_every_step_that_touches_it(trace, page_path, opened):
    steps = trace.walk().steps()
    grads = trace.backward()
    node = int(trace.tensors["w"].nodes[1, 1])
    expected = [(s.number - 1, p) for s in steps for p in s.pushes if p.node == node]
    assert len(expected) == 9
    o = opened(page_path)
    o.page.locator("#value-w .cell").nth(4).click()
    assert o.state()["focus"] == node
    rows = o.cells("#focus-list li")
    assert len(rows) == 9
    for row, (k, p) in zip(rows, expected):
        assert row.startswith(f"step {k + 1:>3}  {trace.name(steps[k].node)}  += 1·{fmt(p.local)}")
        assert row.endswith(f"Σ {fmt(p.total)}")
    assert rows[-1].endswith(f"Σ {fmt(grads.w[1, 1])}")
    assert o.text("#focus-sum").endswith(f"= {fmt(grads.w[1, 1])}")
    assert o.cells("#focus-list li.future").__len__() == 9  # nothing processed yet at step 0
    o.page.locator("#focus-list li").nth(2).click()  # jump to the third contribution
    assert o.state()["pos"] == expected[2][0] + 1
    assert o.cells("#focus-list li.now") == [rows[2]]
    assert len(o.cells("#focus-list li.done")) == 2
    assert o.text("#grad-w .cell:nth-child(5)") == fmt(expected[2][1].total)
    o.assert_clean()


@pytest.mark.browser
def test_url_hash_keeps_the_step(trace, page_path, opened):
    steps = trace.walk().steps()
    text = StepText(trace, trace.walk())
    o = opened(page_path, "#step=5")
    assert o.text("#counter") == "step 5 of 187"
    assert o.text("#chain") == text.chain(steps[4])
    o.page.keyboard.press("ArrowRight")
    assert o.page.evaluate("location.hash") == "#step=6"
    o.page.reload()
    assert o.state()["pos"] == 6
    o.page.evaluate("location.hash = '#forward=3'")
    o.page.wait_for_function("() => convgraph.state().mode === 'forward'")
    assert o.state()["pos"] == 3 and o.text("#counter") == "window 3 of 9"
    o.page.evaluate("location.hash = '#step=999'")  # past the end: the last step
    o.page.wait_for_function("() => convgraph.state().mode === 'backward'")
    assert o.state()["pos"] == 187 and o.page.evaluate("location.hash") == "#step=187"
    o.assert_clean()


@pytest.mark.browser
def test_forward_mode_steps_the_sliding_window(trace, page_path, opened):
    o = opened(page_path)
    o.page.keyboard.press("f")
    assert o.text("#counter") == "window 0 of 9"
    assert o.cells("#value-y .cell.pending").__len__() == 9
    o.page.keyboard.press("ArrowRight")
    o.page.keyboard.press("ArrowRight")
    assert o.text("#chain") == ("y[0,1] = w[0,0]·x[0,1] + w[0,1]·x[0,2] + w[0,2]·x[0,3] + w[1,0]·x[1,1] + "
                                "w[1,1]·x[1,2] + w[1,2]·x[1,3] + w[2,0]·x[2,1] + w[2,1]·x[2,2] + w[2,2]·x[2,3]")
    assert o.text("#running").endswith("= -8")
    assert o.cells("#value-x .cell.window") == [fmt(v) for v in [1, 2, 3, 6, 7, 8, 11, 12, 13]]
    assert len(o.cells("#value-y .cell.pending")) == 7
    o.page.keyboard.press("End")
    assert o.cells("#value-y .cell.pending") == []
    assert o.cells("#value-y .cell") == [fmt(v) for v in trace.y.ravel()]
    o.page.keyboard.press("b")
    assert o.state()["mode"] == "backward" and o.text("#counter") == "step 0 of 187"
    o.assert_clean()


@pytest.mark.browser
def test_play_advances_and_pause_stops(page_path, opened):
    o = opened(page_path)
    o.page.select_option("#speed", "25")
    o.page.click("#play")
    assert o.state()["playing"] is True and o.text("#play") == "❚❚ pause"
    o.page.wait_for_function("() => convgraph.state().pos >= 3")
    o.page.keyboard.press(" ")
    stopped = o.state()
    assert stopped["playing"] is False and o.text("#play") == "▶ play"
    assert o.page.evaluate("new Promise(r => setTimeout(() => r(convgraph.state().pos), 200))") == stopped["pos"]
    o.assert_clean()


@pytest.mark.browser
def test_numbers_format_exactly_as_python(page_path, opened):
    values = [0.0, -0.0, 1.0, -2.0, 0.3712, 0.125, 0.375, -0.625, 2.675, 1.005, 0.004, -0.0049, 3.7e-05,
              12345678.0, 1225000.0, 1235000.0, 999999.996, 0.00499999, 0.005, 9.995, 1e-300, -7.5e21, 123.456]
    o = opened(page_path)
    for digits in (0, 1, 2, 3):
        got = o.page.evaluate(f"{json.dumps(values)}.map(v => convgraph.fmt(v, {digits}))")
        assert got == [fmt(v, digits) for v in values], digits
    o.assert_clean()


@pytest.mark.browser
def test_channels_bias_stride_padding_and_a_network(tmp_path, opened):
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 5, 5)), rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2)
    t = cg.trace_conv2d(x, w, b, stride=2, padding=1)
    o = opened(render_html(t, tmp_path / "multi.html"))
    steps = t.walk().steps()
    text = StepText(t, t.walk())
    assert o.page.evaluate("[...Array(convgraph.K).keys()].map(convgraph.chain)") == [text.chain(s) for s in steps]
    o.page.keyboard.press("End")
    grads = t.backward()
    assert o.cells("#grad-w .cell") == [fmt(v) for v in grads.w.ravel()]
    assert o.cells("#grad-x .cell") == [fmt(v) for v in grads.x.ravel()]
    assert o.cells("#grad-b .cell") == [fmt(v) for v in grads.b.ravel()]
    o.page.keyboard.press("f")
    o.page.keyboard.press("ArrowRight")
    assert o.text("#chain").startswith("y[0,0,0] = b[0] + w[0,0,1,1]·x[0,0,0] + ")
    o.assert_clean()

    rec = cg.Recorder()
    xt, wt = rec.input(rng.normal(size=(4, 4))), rec.weight(rng.normal(size=(2, 2)))
    loss = cg.mse_loss(cg.relu(cg.conv2d(xt, wt)), np.zeros((3, 3)))
    net = rec.trace(loss)
    o = opened(render_html(net, tmp_path / "net.html"))
    steps = net.walk().steps()
    text = StepText(net, net.walk())
    got = o.page.evaluate("[...Array(convgraph.K).keys()].map(k => [convgraph.chain(k), convgraph.headline(k)])")
    assert got == [[text.chain(s), text.headline(s)] for s in steps]
    o.page.keyboard.press("End")
    assert o.cells("#grad-w .cell") == [fmt(v) for v in net.backward().w.ravel()]
    o.assert_clean()


@pytest.mark.browser
def test_past_the_node_budget_the_graph_collapses_and_the_grids_carry_on(tmp_path, opened):
    t = cg.trace_conv2d(np.arange(144.0).reshape(12, 12) / 10, np.ones((3, 3)))
    assert t.graph.number_of_nodes() > 1500
    path = render_html(t, tmp_path / "big.html")
    o = opened(path)
    assert o.page.locator("#graph circle").count() == 0
    assert "collapsed view" in o.text("#graph-note")
    steps = t.walk().steps()
    o.page.keyboard.press("ArrowRight")
    o.page.keyboard.press("ArrowRight")
    assert o.text("#chain") == StepText(t, t.walk()).chain(steps[1])
    o.page.keyboard.press("End")
    assert o.cells("#grad-x .cell") == [fmt(v) for v in t.backward().x.ravel()]
    o.assert_clean()


# ---- on a projector: 1280×720 and 1920×1080 ----------------------------------------------------------
# Everything the audience reads lies inside the window, no text is clipped by its box, the graph's
# nodes lie inside the graph panel, the amounts of a step do not overlap each other or the nodes they
# point at, and no two op circles touch.
LAYOUT = """() => {
  const vw = innerWidth, vh = innerHeight, bad = [];
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const name = (e) => e.id ? "#" + e.id : e.tagName.toLowerCase() + "." + String(e.className.baseVal ?? e.className);
  const inside = (r, b, pad) => r.left >= b.left - pad && r.top >= b.top - pad && r.right <= b.right + pad && r.bottom <= b.bottom + pad;
  const win = {left: 0, top: 0, right: vw, bottom: vh};
  const sel = "header h1, header button, header select, #slider, #counter, #info, #headline, #chain, #running, " +
              "#graph-panel, #graph-note, #legend, .gridbox h2, .cell, #focus, #focus h2, #focus-sum";
  for (const e of document.querySelectorAll(sel)) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (!inside(r, win, 0.5)) bad.push(name(e) + " outside the window: " + [r.left, r.top, r.right, r.bottom].map(Math.round));
    if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1) bad.push(name(e) + " clips its text");
  }
  const panel = document.getElementById("graph").getBoundingClientRect();
  for (const e of document.querySelectorAll("#graph .node, #overlay text.amount"))
    if (!inside(e.getBoundingClientRect(), panel, 1)) bad.push(name(e) + " " + (e.dataset.node || e.textContent) + " outside the graph panel");
  const boxes = [...document.querySelectorAll("#overlay text.amount")].map((t) => t.getBBox());
  const hit = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => { if (hit(a, b)) bad.push("two amounts overlap"); }));
  const circles = [...document.querySelectorAll("#graph .node > circle:first-child")].map((c) => [+c.getAttribute("cx"), +c.getAttribute("cy"), +c.getAttribute("r")]);
  for (let i = 0; i < circles.length; i++) for (let j = i + 1; j < circles.length; j++) {
    const [x, y, r] = circles[i], [u, v, s] = circles[j];
    if (Math.hypot(x - u, y - v) < r + s + 2) bad.push("op circles " + i + " and " + j + " touch");
  }
  return bad;
}"""


def stride_two_page(tmp_path):
    rng = np.random.default_rng(0)
    x, w = rng.integers(-3, 4, (2, 6, 6)).astype(float), rng.integers(-2, 3, (2, 2, 3, 3)).astype(float)
    return render_html(cg.trace_conv2d(x, w, stride=2, padding=1), tmp_path / "stride2.html")


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_nothing_cut_off_or_overlapping_on_a_slide(trace, page_path, tmp_path, opened, size):
    o = opened(page_path, "#step=2", size=size)
    assert o.page.evaluate(LAYOUT) == []  # backward
    assert o.page.locator("#overlay text.amount").count() == 2
    o.page.locator("#value-w .cell").nth(4).click()  # focus on w[1,1]: the panel below the graph opens
    assert o.page.evaluate(LAYOUT) == []
    sum_line = o.page.locator("#focus-sum")
    assert sum_line.is_visible() and o.text("#focus-sum") == "∂loss/∂w[1,1] = 18 + 17 + 16 + 13 + 12 + 11 + 8 + 7 + 6 = 108"
    o.page.keyboard.press("f")
    o.page.keyboard.press("ArrowRight")
    assert o.page.evaluate(LAYOUT) == []  # forward, window 1, focus still open
    o.page.keyboard.press("b")
    o.page.keyboard.press("p")
    assert o.page.evaluate(LAYOUT) == []  # presentation mode
    for k in range(40, 70):  # the stride-2, two-channel page: "+" steps push two amounts side by side
        o2 = opened(stride_two_page(tmp_path), f"#step={k}", size=size) if k == 40 else o2
        o2.page.evaluate(f"convgraph.go({k})")
        assert o2.page.evaluate(LAYOUT) == [], k
    o.assert_clean()


@pytest.mark.browser
def test_a_click_on_a_cell_lights_its_nodes_in_the_graph(trace, page_path, opened):
    o = opened(page_path, size=(1280, 720))
    w11 = int(trace.tensors["w"].nodes[1, 1])
    muls = {int(m) for m in trace.graph.successors(w11)}
    assert len(muls) == 9
    o.page.locator("#grad-w .cell").nth(4).click()  # dW[1,1]
    lit = {int(n) for n in o.page.eval_on_selector_all("#graph .node.lit", "els => els.map(e => e.dataset.node)")}
    assert lit == muls | {w11}
    # The graph refits the smaller panel: its bottom row is still inside (the grids' height is unchanged).
    panel = o.page.locator("#graph-panel").bounding_box()
    bottom = max(b["y"] + b["height"] for b in (o.page.locator(f'#graph .node[data-node="{n}"]').bounding_box()
                                               for n in trace.tensors["x"].nodes[-1]))
    assert bottom <= panel["y"] + panel["height"]
    x22 = int(trace.tensors["x"].nodes[2, 2])
    o.page.locator("#value-x .cell").nth(12).click()  # x[2,2] feeds nine multiplies too
    lit = {int(n) for n in o.page.eval_on_selector_all("#graph .node.lit", "els => els.map(e => e.dataset.node)")}
    assert lit == {int(m) for m in trace.graph.successors(x22)} | {x22}
    o.assert_clean()


@pytest.mark.browser
def test_presentation_mode_hides_the_controls_and_enlarges_the_type(page_path, opened):
    o = opened(page_path, "#step=5", size=(1280, 720))
    size = lambda: o.page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")  # noqa: E731
    normal = size()
    assert o.page.locator("#slider").is_visible()
    o.page.keyboard.press("p")
    assert size() == pytest.approx(1.3 * normal, rel=0.01)
    assert not o.page.locator("#slider").is_visible() and not o.page.locator("#next").is_visible()
    assert o.page.locator("#present").text_content() == "Exit" and o.text("#counter") == "step 5 of 187"
    o.page.keyboard.press("ArrowRight")  # the keys still step
    assert o.state()["pos"] == 6
    o.page.keyboard.press("Escape")
    assert size() == normal and o.page.locator("#slider").is_visible()
    o.page.click("#present")
    assert size() > normal
    o.assert_clean()


# ---- practice mode ---------------------------------------------------------------------------------
@pytest.mark.browser
def test_quiz_page_hides_the_gradients_until_typed_and_checks_them(trace, tmp_path, opened):
    grads = trace.backward()
    page = render_html(trace, tmp_path / "quiz.html", quiz=True)
    assert embedded(page)["quiz"] is True and embedded(render_html(trace, tmp_path / "plain.html"))["quiz"] is False
    o = opened(page, "#step=30", size=(1280, 720))
    assert o.page.locator("#grad-w input.answer").count() == 9 and o.page.locator("#grad-x input.answer").count() == 25
    assert o.page.locator("#value-y input.answer").count() == 9
    assert o.text("#quiz-score") == "practice: 0 of 43 right"
    # Nothing on the page gives dW or dX away: no ∂ labels on the leaves, no running sums of them.
    w11 = int(trace.tensors["w"].nodes[1, 1])
    sub = o.page.eval_on_selector(f'#graph .node[data-node="{w11}"]', "g => g.querySelectorAll('text')[1].textContent")
    assert "∂" not in sub and ".grad =" not in o.text("#running")
    o.page.locator("#grad-w .cell").nth(4).click()  # clicking a hidden cell puts the caret in it
    assert o.page.evaluate("document.activeElement.getAttribute('aria-label')") == "dW[1,1]"
    o.page.keyboard.type("100")
    o.page.keyboard.press("Enter")  # wrong: the cell says so and the focus lists what makes it
    assert o.page.evaluate("convgraph.quiz()") == {"right": 0, "revealed": 0, "wrong": 1, "total": 43}
    assert "wrong" in o.page.locator("#grad-w .cell").nth(4).get_attribute("class")
    assert o.page.locator("#focus-list li").count() == 9 and o.text("#focus-sum").endswith("= 108")
    o.page.keyboard.press("ArrowRight")  # typing keys stay in the box: the page does not step
    assert o.state()["pos"] == 30
    box = o.page.locator("#grad-w .cell").nth(4).locator("input")
    box.fill(fmt(grads.w[1, 1]))
    box.press("Enter")
    assert o.page.evaluate("convgraph.quiz()")["right"] == 1
    assert o.text("#quiz-score") == "practice: 1 of 43 right, 1 wrong try"
    cell = o.page.locator("#grad-w .cell").nth(4)
    assert "right" in cell.get_attribute("class") and cell.locator("input").count() == 0
    junk = o.page.locator("#grad-x .cell").nth(0).locator("input")
    junk.fill("banana")
    junk.press("Enter")  # not an answer: asked again, not counted
    assert o.page.evaluate("convgraph.quiz()")["wrong"] == 1 and junk.get_attribute("placeholder") == "a number"
    assert o.page.evaluate(LAYOUT) == []
    o.page.click("#reveal")
    assert o.page.evaluate("convgraph.quiz()") == {"right": 1, "revealed": 42, "wrong": 1, "total": 43}
    assert o.page.locator("input.answer").count() == 0
    o.page.evaluate("convgraph.go(convgraph.K)")  # answered or revealed, a cell follows the walk again
    assert o.cells("#grad-x .cell") == [fmt(v) for v in grads.x.ravel()]
    o.assert_clean()


@pytest.mark.browser
def test_quiz_in_forward_mode_asks_for_y(trace, tmp_path, opened):
    o = opened(render_html(trace, tmp_path / "quiz.html", quiz=True), "#forward=5", size=(1280, 720))
    y = trace.conv.y.data
    assert o.text("#running").endswith("= ?   (type y[1,1] in the y grid)")  # the window's terms, not its sum
    box = o.page.locator("#value-y .cell").nth(4).locator("input")
    box.fill(fmt(y[1, 1]))
    box.press("Enter")
    assert o.page.evaluate("convgraph.quiz()")["right"] == 1
    assert o.text("#running").endswith(f"= {fmt(y[1, 1])}")
    wrong = o.page.locator("#value-y .cell").nth(0).locator("input")
    wrong.fill("12345")
    wrong.press("Enter")  # a wrong y: the page moves the kernel to its window
    assert o.state()["mode"] == "forward" and o.state()["pos"] == 1
    o.assert_clean()
