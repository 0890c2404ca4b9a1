"""A numbered heat map of one 2-D array on a matplotlib axis: the grid the examples draw."""

from __future__ import annotations

import numpy as np

from .. import style

__all__ = ["draw_grid"]


def draw_grid(ax, values, *, title=None, signed=True, vmax=None, fmt="{:g}", fontsize_pt=9, ticks=False):
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
    fmt : str
        Format of the numbers in the cells.
    fontsize_pt : float
    ticks : bool
        Label rows and columns with their indices.

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
    """
    g = np.asarray(values, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"values must be 2-D, got shape {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("values must be finite")
    if vmax is None:
        vmax = float(np.abs(g).max()) or 1.0
    im = ax.imshow(g, cmap=style.SIGNED_CMAP if signed else style.HEAT_CMAP,
                   vmin=-vmax if signed else 0.0, vmax=vmax)
    for (i, j), v in np.ndenumerate(g):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize_pt, family=style.MONO_FONT,
                color=style.text_color(im.cmap(im.norm(v))))
    if title is not None:
        ax.set_title(title, fontsize=10)
    ax.set_xticks(range(g.shape[1]) if ticks else [])
    ax.set_yticks(range(g.shape[0]) if ticks else [])
    return im
