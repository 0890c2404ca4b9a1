"""Graphviz diagrams of a Trace with gradient heat: the full scalar graph, focus views, a collapsed
view for big traces and a node-by-node step view, all at positions pinned from the shared layout.

:func:`to_digraph` builds the DOT text and never runs a program (:mod:`.digraph`, drawing with
:mod:`.full` or :mod:`.collapsed` from the pieces in :mod:`.dot`); :func:`render_graph` is the one
place that runs Graphviz (:mod:`.render`).
"""

from .digraph import NODE_BUDGET, to_digraph
from .dot import fit_width
from .render import FORMATS, MissingProgramError, render_graph, render_graphs

__all__ = ["to_digraph", "render_graph", "render_graphs", "notebook_svg", "MissingProgramError", "NODE_BUDGET", "FORMATS"]


def notebook_svg(dg):
    """A digraph's SVG for a notebook cell: Graphviz quiet, the picture as wide as the column."""
    return fit_width(dg.pipe(format="svg", encoding="utf-8"))
