"""Renderers: pictures and words of a Trace. They ask the tracer (the graph, a walk, the conv's
structure, focus queries) and never change the trace.

One sub-package per kind of output, over a few shared modules:

- :mod:`.diagrams`: Graphviz diagrams (``to_digraph``, ``render_graph``);
- :mod:`.animations`: lecture clips (``animate``) and ``draw_grid``;
- :mod:`.steppers`: backprop in words: text, the terminal session, the HTML page;
- shared: :mod:`.style` (colours, fonts, heat scales, budgets), :mod:`.layout` (grid-anchored
  positions), :mod:`.numbers` (number formats), :mod:`.words` (the sentences about a step),
  :mod:`.files` (write-then-rename).

A sub-package imports the shared modules and the tracer, never a sibling.
"""

__all__ = []
