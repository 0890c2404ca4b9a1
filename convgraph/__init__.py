"""convgraph: backpropagation through a 2-D convolution, one scalar node per multiply and add.

>>> import numpy as np, convgraph as cg
>>> trace = cg.trace_conv2d(np.arange(25.0).reshape(5, 5), np.ones((3, 3)))
>>> grads = trace.backward()
>>> grads.w.shape, grads.x.shape
((3, 3), (5, 5))
"""

import importlib

from .tracer import *  # noqa: F401,F403
from .tracer import __all__ as _tracer_all

__version__ = "0.1.0"

# Renderers import matplotlib and friends, practice mode the number formats: loaded on first use,
# never at import time.
_RENDERERS = {
    "quiz": "convgraph.practice",
    "to_digraph": "convgraph.renderers.diagrams",
    "render_graph": "convgraph.renderers.diagrams",
    "render_graphs": "convgraph.renderers.diagrams",
    "animate": "convgraph.renderers.animations",
    "anim_conv_backprop": "convgraph.renderers.animations",
    "render_html": "convgraph.renderers.steppers",
    "draw_grid": "convgraph.renderers.animations",
}

__all__ = list(_tracer_all) + list(_RENDERERS)


def __getattr__(name):
    if name in _RENDERERS:
        return getattr(importlib.import_module(_RENDERERS[name]), name)
    raise AttributeError(f"module 'convgraph' has no attribute {name!r}")


# Inside IPython/Jupyter only, a Trace displays as its graph (the formatter imports the renderer on
# first display). Elsewhere this is one dict lookup.
if "IPython" in __import__("sys").modules:
    from .notebook import register as _register_notebook

    _register_notebook()
