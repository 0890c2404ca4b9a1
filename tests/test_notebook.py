"""Jupyter: a Trace displays as its graph inside IPython only, and the stepper widget scrubs the steps."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convgraph as cg
from convgraph import notebook
from conftest import need


def test_plain_import_loads_neither_ipython_nor_the_notebook_module():
    code = "import sys, convgraph; print('convgraph.notebook' in sys.modules, 'IPython' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["False", "False"]


def test_register_without_a_running_shell_does_nothing():
    assert notebook.register() is False


@pytest.fixture
def shell():
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:
        InteractiveShell = None
    need("IPython", InteractiveShell is not None, "pip install 'convgraph[notebook]'")
    return InteractiveShell.instance()


def test_a_trace_displays_as_its_graph_in_ipython(shell, dot, lesson):
    assert notebook.register(shell) is True
    trace = cg.trace_conv2d(*lesson)
    trace.backward()
    data, _ = shell.display_formatter.format(trace)
    assert "<svg" in data["image/svg+xml"] and "w[1,1]" in data["image/svg+xml"]
    assert data["text/plain"] == repr(trace)


def test_the_extension_hook_registers(shell):
    notebook.load_ipython_extension(shell)
    svg = shell.display_formatter.formatters["image/svg+xml"]
    assert svg.lookup_by_type(cg.Trace) is notebook.trace_svg


def test_stepper_widget_scrubs_through_the_steps(lesson):
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        need("ipywidgets", False, "pip install 'convgraph[notebook]'")
    trace = cg.trace_conv2d(*lesson)
    box = notebook.stepper_widget(trace)
    view = box.children[-1]
    assert (box.slider.min, box.slider.max) == (0, 187)  # step k of 187, 0 before the first
    assert "step 0 of 187 · before backprop" in view.value
    box.slider.value = 1
    assert "step 1 of 187 · y[2,2]" in view.value
    box.slider.value = 2
    assert "w[2,2]·x[4,4]   grad 1 → w[2,2] += 1·24" in view.value
    box.slider.value = 187
    assert "step 187 of 187 · x[0,0]" in view.value
    assert not trace.has_grad  # the widget only reads the trace


def test_stepper_widget_can_draw_the_graph_at_each_step(lesson, dot):
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        need("ipywidgets", False, "pip install 'convgraph[notebook]'")
    trace = cg.trace_conv2d(*lesson)
    box = notebook.stepper_widget(trace, graph=True)
    picture = box.children[1]
    first = picture.value
    box.slider.value = 5
    assert "<svg" in first and "<svg" in picture.value and picture.value != first  # the marked node moved
    assert "step 5 of 187: processing" in picture.value and "step 5 of 187 · " in box.children[-1].value


def test_quiz_widget_asks_checks_and_scores():
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        need("ipywidgets", False, "pip install 'convgraph[notebook]'")
    box = notebook.quiz_widget(level=2, seed=4, count=3)
    assert [q.key for q in box.questions] == [q.key for q in cg.quiz(level=2, seed=4, count=3)]
    assert "dY" in box.children[0].value and "Q1/3." in box.children[1].value
    box.answer.value = "banana"  # no answer: said so, asked again
    assert "is not a number" in box.verdict.value and box.score() == (0, 0) and not box.check.disabled
    box.answer.value = box.questions[0].key
    assert box.verdict.value.startswith("<b>right.</b>") and box.score() == (1, 1) and box.check.disabled
    box.next.click()
    assert "Q2/3." in box.children[1].value and box.verdict.value == ""
    box.answer.value = "123456"
    assert f"wrong: the answer is {box.questions[1].key}." in box.verdict.value and box.score() == (1, 2)
    assert "score: 1/2 of 3" in box.verdict.value


# ---- the lesson notebook, run in a real Jupyter kernel ---------------------------------------------
LESSON_NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "day17_lesson.ipynb"


def test_the_lesson_notebook_is_committed_without_outputs():
    import nbformat

    nb = nbformat.read(LESSON_NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 12 and all(not c.outputs and c.execution_count is None for c in code)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    assert [h for h in headings if h.startswith("## ")] == [
        "## 1. Forward and backward, the naive way", "## 2. The animation: the window slides, dW accumulates",
        "## 3. The computational graph", "## 4. Gradient flow, one node at a time", "## 5. Mini exercises"]


def test_the_lesson_notebook_runs_in_a_kernel_without_errors_or_noise(tmp_path, dot):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(LESSON_NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    kinds, stderr = set(), []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{out.ename}: {out.evalue}"
            if out.output_type == "stream" and out.name == "stderr":
                stderr.append(out.text)
            kinds |= set(out.get("data", {}))
    assert stderr == []  # no warnings, no Graphviz noise, no progress bars
    assert {"image/svg+xml", "image/gif", "image/png", "application/vnd.jupyter.widget-view+json"} <= kinds
    svgs = [o.data["image/svg+xml"] for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert all('<svg width="100%"' in s for s in svgs)  # scaled to the notebook's column
    assert (tmp_path / "outputs" / "01_conv_backprop.gif").exists()
