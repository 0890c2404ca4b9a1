"""Renderers: pictures of a Trace (Graphviz diagrams, matplotlib frames, GIFs, HTML). They read the
graph, its gradients and the steps, and never change them."""

__all__ = []
