"""Jupyter: a Trace displays as its graph inside IPython only, and the stepper widget scrubs the steps."""

import subprocess
import sys

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
    assert "mul#185 = w[2,2]·x[4,4]   grad 1.00 → w[2,2] += 1.00·24.00" in view.value
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
