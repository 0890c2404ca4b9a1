"""A numbered heat map of one 2-D array on a matplotlib axis: the grid the examples draw."""

from __future__ import annotations

import numpy as np

from .. import style

__all__ = ["draw_grid"]


def _written(text):
    """``text`` without the minus of a number that rounds to zero ("-0", "-0.0" → "0", "0.0")."""
    if text.startswith("-"):
        try:
            if float(text[1:]) == 0:
                return text[1:]
        except ValueError:
            pass
    return text


def draw_grid(ax, values, *, title=None, signed=True, vmax=None, fmt="{:g}", fontsize_pt=9, ticks=False,
              title_pt=10, zero_tol=1e-9, cmap=None):
    """Draw ``values`` on ``ax`` as coloured cells with their numbers written in.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array_like, 2-D
        A gradient, a kernel, a count per element...
    title : str, optional
    signed : bool
        True (gradients): the diverging map of :mod:`~convgraph.renderers.style`, symmetric about 0.
        False (counts, magnitudes): the heat map from 0.
    vmax : float, optional
        The end of the scale, to share one scale between several grids; default the largest |value|.
    fmt : str or callable
        Format of the numbers in the cells: a format string (``"{:.1f}"``) or a function from a float
        to its text. A number that rounds to zero is written without a minus ("0.0", never "-0.0").
    fontsize_pt : float
        Size of the numbers in the cells, in points.
    ticks : bool
        Label rows and columns with their indices.
    title_pt : float
        Size of the title, in points (at 100 dpi a point is 1.39 pixels: 10 pt titles are 14 px tall).
    zero_tol : float
        Values within ``zero_tol`` × the largest |value| of the grid are rounding noise and written
        as 0 (a sum of ±1s that came out as -5.55e-17 reads "0"); 0 writes every value as it is.
    cmap : str, optional
        A colour map name instead of the one ``signed`` picks, e.g. ``style.VALUE_CMAP`` for forward
        values (x, w, y).

    Returns
    -------
    matplotlib.image.AxesImage
        For a colour bar: ``fig.colorbar(draw_grid(ax, g), ax=ax)``.

    Raises
    ------
    ValueError
        If ``values`` is not 2-D or not finite.

    >>> import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_grid(ax, [[1, -2], [0, 4]], title="dW").get_clim()
    (-4.0, 4.0)
    >>> _ = draw_grid(ax, [[1.0, -5.55e-17]]); [t.get_text() for t in ax.texts[-2:]]
    ['1', '0']
    """
    g = np.asarray(values, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"values must be 2-D, got shape {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("values must be finite")
    largest = float(np.abs(g).max()) if g.size else 0.0
    if vmax is None:
        vmax = largest or 1.0
    write = fmt if callable(fmt) else fmt.format
    im = ax.imshow(g, cmap=cmap or (style.SIGNED_CMAP if signed else style.HEAT_CMAP),
                   vmin=-vmax if signed else 0.0, vmax=vmax)
    for (i, j), v in np.ndenumerate(g):
        if abs(v) <= zero_tol * largest:
            v = 0.0  # rounding noise, and no "-0"
        ax.text(j, i, _written(write(v)), ha="center", va="center", fontsize=fontsize_pt,
                family=style.MONO_FONT, color=style.text_color(im.cmap(im.norm(v))))
    if title is not None:
        ax.set_title(title, fontsize=title_pt)
    ax.set_xticks(range(g.shape[1]) if ticks else [])
    ax.set_yticks(range(g.shape[0]) if ticks else [])
    return im
