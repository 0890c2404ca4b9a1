"""Steppers: backprop one node at a time, in words. :mod:`.text` writes the steps (``convgraph step``,
``convgraph trace``), :mod:`.terminal` is the interactive session, :mod:`.html` the offline page."""

from .html import page_data, render_html
from .text import StepText, format_grid, format_summary, to_ascii

__all__ = ["StepText", "format_grid", "format_summary", "to_ascii", "render_html", "page_data"]
