"""Writing a diagram to a file: DOT text, or SVG, PNG and PDF through Graphviz (the one place that
runs ``dot``: ``dot -Kneato -n2`` draws at the pinned positions and lays out nothing)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

from .. import style
from ..files import into_place, output_path
from .digraph import to_digraph

__all__ = ["render_graph", "render_graphs", "MissingProgramError", "FORMATS"]

log = logging.getLogger(__name__)

#: Output formats of :func:`render_graph`, by file suffix.
FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
_INSTALL = ("install Graphviz: sudo apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
            "(macOS) or conda install -c conda-forge graphviz")


class MissingProgramError(RuntimeError):
    """Graphviz's ``dot`` program is needed for this format and is not installed."""


def _png_dpi(dg):
    """The diagram's PNG resolution, lowered for a big drawing so its longer side stays bounded."""
    d = style.diagram()
    w, h = getattr(dg, "convgraph_extent_inch", (1.0, 1.0))
    return max(min(d["png_dpi"], d["png_max_px"] / max(w, h, 1e-9)), 24)


def _run_dot(source, fmt, dpi, tmp, path, timeout, viewport=None):
    cmd = ["dot", "-Kneato", "-n2", f"-T{fmt}", "-o", str(tmp)]
    if fmt == "png":
        cmd.insert(3, f"-Gdpi={dpi:.3f}")
    if viewport is not None:
        cmd.insert(3, f"-Gviewport={viewport}")
    try:  # on any exception (a timeout, Ctrl-C, SIGTERM in the command line) run() kills dot first
        done = subprocess.run(cmd, input=source.encode("utf-8"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Graphviz did not finish writing {path.name} in {timeout:g} s; a smaller view "
                           f"(detail='collapsed', a focus) draws faster, or give a longer timeout=") from None
    except FileNotFoundError as e:
        raise MissingProgramError(
            f"writing .{fmt} needs Graphviz's 'dot' program, which is not on PATH; {_INSTALL}. "
            f"(.dot and .gv files need no program.)") from e
    if done.returncode != 0 or not tmp.exists():
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"Graphviz failed writing {path.name} (exit {done.returncode}): {message}")
    if done.stderr:
        log.info("Graphviz: %s", done.stderr.decode("utf-8", "replace").strip())


def render_graph(trace, path, **options):
    """Write the picture of :func:`~convgraph.renderers.diagrams.to_digraph` to ``path``: .svg, .png,
    .pdf, or .dot/.gv (DOT text).

    Missing folders on the way are created; the file is written under a temporary name and renamed
    into place. ``.dot``/``.gv`` need no program; the other formats run Graphviz
    (``dot -Kneato -n2``). The trace is only read.

    Parameters
    ----------
    trace : Trace
    path : str or os.PathLike
    **options
        ``focus``, ``heat``, ``step``, ``detail``, ``dY``, ``size``, as for
        :func:`~convgraph.renderers.diagrams.to_digraph` (``size="slide"``: a PNG of exactly
        1920×1080 pixels, ``"slide-720"`` 1280×720);
        and ``timeout``, the seconds Graphviz may take (default 300).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an unknown suffix, a bad option, or a path that is a folder or runs through a file.
    MissingProgramError
        When Graphviz's ``dot`` is needed and not installed (the message says how to install it).
    RuntimeError
        When Graphviz fails or does not finish within ``timeout`` (it is stopped, nothing is left).
    """
    return render_graphs(trace, [path], **options)[0]


def render_graphs(trace, paths, **options):
    """Write one diagram to several files (say a kit's ``graph.svg`` and ``graph.png``) as
    :func:`render_graph` writes each, with one layout: the digraph is built once, and a slide-size
    PNG reads its size off an SVG written before it instead of asking Graphviz for one more.

    Returns the list of paths written; raises as :func:`render_graph`, before any work for a bad
    path or option.
    """
    paths = list(paths)
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
        if Path(path).suffix.lower() not in FORMATS:
            raise ValueError(f"path must end in one of {', '.join(FORMATS)}, got {str(path)!r}")
    timeout = options.pop("timeout", style.diagram()["dot_timeout_s"])
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    unknown = set(options) - {"focus", "heat", "step", "detail", "dY", "size"}
    if unknown:
        raise TypeError(f"render_graph got unexpected option(s) {sorted(unknown)}; "
                        f"expected focus, heat, step, detail, dY, size, timeout")
    for path in paths:
        output_path(path)  # refuse before any work
    dg = to_digraph(trace, **options)
    svg = None  # the text of an SVG written, whose size a slide PNG can read
    for path in map(Path, paths):
        suffix = path.suffix.lower()
        with into_place(path) as tmp:
            if suffix in (".dot", ".gv"):
                tmp.write_text(dg.source, encoding="utf-8")
            elif suffix == ".png" and options.get("size") is not None:
                size = style.SIZES[options["size"]]
                dpi, viewport = _slide_view(dg.source, size, tmp, path, timeout, svg)
                _run_dot(dg.source, "png", dpi, tmp, path, timeout, viewport)
                _fit_to_slide(tmp, size)
            else:
                _run_dot(dg.source, suffix[1:], _png_dpi(dg), tmp, path, timeout)
                if suffix == ".svg":
                    svg = tmp.read_text(encoding="utf-8", errors="replace")[:4000]
    return paths


def _slide_view(source, size, tmp, path, timeout, head=None):
    """How Graphviz draws ``source`` as large as fits ``size`` (width, height) pixels: the dpi, read
    off the picture's size in points, which an SVG of it states (``head``, the start of one already
    written, or one drawn now: cheap, the layout is fixed, -n2); and the viewport that makes the
    PNG exactly ``size``, the drawing centred on the background (None where the SVG does not say
    where the drawing sits). Drawn at the slide's own resolution, text is crisp and nothing needs
    resampling or pasting."""
    if head is None:
        probe = tmp.with_name(tmp.name + ".svg")
        try:
            _run_dot(source, "svg", 72, probe, path, timeout)
            head = probe.read_text(encoding="utf-8", errors="replace")[:4000]
        finally:
            probe.unlink(missing_ok=True)
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', head)
    if m is None:  # an unexpected SVG: draw big and let the slide fit scale it
        return style.diagram()["png_dpi"], None
    w_pt, h_pt = float(m.group(1)), float(m.group(2))
    dpi = max(min(size[0] / w_pt, size[1] / h_pt) * 72 * 0.999, 8)
    # The SVG's first group moves graph coordinates (y up) onto the page: its centre is the drawing's.
    at = re.search(r'class="graph" transform="scale\(1 1\) rotate\(0\) translate\(([-\d.]+) ([-\d.]+)\)"', head)
    if at is None:
        return dpi, None
    centre = (w_pt / 2 - float(at.group(1)), float(at.group(2)) - h_pt / 2)
    # A quarter pixel more than the slide: Graphviz rounds it away, and the last row and column are
    # covered by the background to the edge (not left partly transparent).
    w, h = ((n + 0.25) * 72 / dpi for n in size)
    return dpi, f"{w:.4f},{h:.4f},1,{centre[0]:.4f},{centre[1]:.4f}"


def _fit_to_slide(png, size):
    """Scale the PNG at ``png`` to fit ``size`` (width, height) pixels and centre it on a background of
    exactly that size: the slide's picture, edge to edge. A PNG that Graphviz drew at that size
    already (through its viewport) is left as it is."""
    from PIL import Image

    with Image.open(png) as im:
        if im.size == tuple(size) and im.mode == "RGB":
            return
        im = im.convert("RGB")
    scale = min(size[0] / im.width, size[1] / im.height)
    fitted = im
    if not 1 <= scale <= 1.01:  # drawn at the slide's resolution already: placed as it is
        fitted = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    slide = Image.new("RGB", size, style.BACKGROUND)
    slide.paste(fitted, ((size[0] - fitted.width) // 2, (size[1] - fitted.height) // 2))
    slide.save(png, format="PNG", compress_level=3)  # 5% bigger than the default 6, a third faster
