"""A traced convolution's structure: which x element and which weight every multiply reads, where
each sum ends, which channels feed which, and what each pair of channels carries back.

A renderer asks these questions here instead of re-deriving them from shapes and strides. conv2d,
conv1d and conv_transpose2d answer them alike: each output a running sum over kernel taps
(c, u, v), where (c, u, v) index the weight itself (for a transposed convolution, w[c, o, u, v]).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .params import ConvSpec
from .recorder import Tensor

__all__ = ["ConvRecord", "Taps", "Role", "ChannelPair"]


@dataclass(frozen=True)
class Taps:
    """The tap map of one convolution: one row per multiply node, in node-id order.

    Attributes
    ----------
    mul, add : numpy.ndarray (M,)
        The multiply, and the add that accumulates it into the running sum (-1 when the product
        starts the sum).
    x, w, y : numpy.ndarray (M,)
        The x element and the weight the multiply reads (node ids), and the output its sum ends in.
    xi, wi : numpy.ndarray (M,)
        The same x element and weight as flat indices into ``x.data`` and ``w.data``.
    out : numpy.ndarray (M, 4)
        The output position (n, o, i, j) in (N, O, OH, OW) form.
    tap : numpy.ndarray (M, 3)
        The kernel tap (c, u, v), c counted within the filter's group.
    order : numpy.ndarray (M,)
        1-based position of the tap in its kernel, (c·KH + u)·KW + v + 1, of ``per_sum`` in all.
    """

    mul: np.ndarray
    add: np.ndarray
    x: np.ndarray
    w: np.ndarray
    y: np.ndarray
    xi: np.ndarray
    wi: np.ndarray
    out: np.ndarray
    tap: np.ndarray
    order: np.ndarray
    per_sum: int

    def __len__(self):
        return len(self.mul)


class Role(NamedTuple):
    """Where a multiply or add node sits: part of output ``y``'s sum, at kernel tap ``order`` (of
    ``per_sum``) through weight ``w`` on input element ``x``."""

    y: int
    w: int
    x: int
    order: int
    per_sum: int


class ChannelPair(NamedTuple):
    """One arrow of a collapsed picture: slice ``source_lead`` of tensor ``source`` (``"x"``, ``"w"``
    or ``"b"``, by its role) feeds output slice ``y_lead``; ``amount`` is Σ|gradient| it carries back.
    Leads are the caller's leading indices (``(c,)`` for x (C, H, W), ``(o, c)`` for w, …)."""

    source: str
    source_lead: tuple
    y_lead: tuple
    amount: float


@dataclass(frozen=True)
class ConvRecord:
    """Where one traced convolution's nodes are.

    ``mul`` and ``add`` hold node ids shaped (N, O, OH, OW, C/groups, KH, KW): the multiply of kernel
    tap (c, u, v) at output (n, o, i, j) and the add that accumulates it; ``xin`` the flat index into
    ``x.data`` of the x element that tap reads. All are -1 where the tap falls on padding (no node)
    and ``add`` is -1 where the product starts the sum. :meth:`taps` gives the same as a flat table.
    """

    spec: ConvSpec
    x: Tensor
    w: Tensor
    b: Tensor | None
    y: Tensor
    mul: np.ndarray
    add: np.ndarray
    xin: np.ndarray

    # ---- NCHW views --------------------------------------------------------------------------
    def nodes4(self, which):
        """Node ids of ``"x"`` (N, C, H, W), ``"w"`` (O, C/groups, KH, KW), for a transposed convolution
        (C, O/groups, KH, KW) as PyTorch holds it, or ``"y"`` (N, O, OH, OW); a 1-D op's have H = 1."""
        s = self.spec
        w_shape = (s.C, s.Og, s.KH, s.KW) if s.transposed else (s.O, s.Cg, s.KH, s.KW)
        shape = {"x": (s.N, s.C, s.H, s.W), "w": w_shape, "y": (s.N, s.O, s.OH, s.OW)}[which]
        return getattr(self, which).nodes.reshape(shape)

    def values4(self, which):
        """Forward values of ``"x"``, ``"w"`` or ``"y"`` in the shapes of :meth:`nodes4`; ``"b"`` as (O,)."""
        s = self.spec
        if which == "b":
            return None if self.b is None else self.b.data.reshape(s.O)
        return getattr(self, which).data.reshape(self.nodes4(which).shape)

    # ---- the tap map -------------------------------------------------------------------------
    @functools.cached_property
    def _taps(self):
        s = self.spec
        ok = self.mul >= 0
        n, o, i, j, c, u, v = np.nonzero(ok)  # C order: ascending multiply ids
        xi = self.xin[ok]
        wi = s.w_index(o, c, u, v)
        taps = Taps(self.mul[ok], self.add[ok], self.x.nodes.ravel()[xi], self.w.nodes.ravel()[wi],
                    self.nodes4("y")[n, o, i, j], xi, wi, np.stack([n, o, i, j], axis=1),
                    np.stack([c, u, v], axis=1), (c * s.KH + u) * s.KW + v + 1, s.Cg * s.KH * s.KW)
        for arr in (taps.mul, taps.add, taps.x, taps.w, taps.y, taps.xi, taps.wi, taps.out, taps.tap, taps.order):
            arr.flags.writeable = False
        return taps

    def taps(self):
        """The tap map: for every multiply, the x element and weight it reads (:class:`Taps`).

        >>> import numpy as np, convgraph as cg
        >>> t = cg.trace_conv2d(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), padding=1)
        >>> taps = t.conv.taps()
        >>> t.label(int(taps.x[0])), t.label(int(taps.w[0])), int(taps.order[0]), len(taps)
        ('x[0,0]', 'w[1,1]', 5, 100)
        """
        return self._taps

    @functools.cached_property
    def _roles(self):
        t = self._taps
        adds = t.add >= 0
        ids = np.concatenate([t.mul, t.add[adds]])
        rows = np.concatenate([np.arange(len(t)), np.flatnonzero(adds)])
        order = np.argsort(ids, kind="stable")
        return ids[order], rows[order]

    def role(self, node):
        """The :class:`Role` of a multiply or add node of this convolution, or None."""
        ids, rows = self._roles
        k = int(np.searchsorted(ids, node))
        if k == len(ids) or ids[k] != node:
            return None
        t, r = self._taps, rows[k]
        return Role(int(t.y[r]), int(t.w[r]), int(t.x[r]), int(t.order[r]), t.per_sum)

    def internal(self):
        """Every multiply and add node of the convolution (the output elements included)."""
        return np.concatenate([self.mul[self.mul >= 0], self.add[self.add >= 0]])

    # ---- channels ----------------------------------------------------------------------------
    def channel_pairs(self, grads=None, visited=None):
        """The real wiring of the convolution, slice to slice, with what each pair carries back.

        One :class:`ChannelPair` per (x slice (n, c), y slice (n, o)) where input channel c feeds
        filter o (all pairs for groups=1, within the group otherwise), per (w slice (o, c), y slice
        (n, o)), and per (b, y slice (n, o)), in that order.

        Parameters
        ----------
        grads : numpy.ndarray, optional
            Gradient of every node by id (a :class:`~convgraph.tracer.walk.Walk`'s ``final`` or
            ``grads_after(k)``). Without it every amount is 0.
        visited : numpy.ndarray of bool, optional
            Nodes the walk has visited so far (a step view): only their pushes count.

        Returns
        -------
        list of ChannelPair

        >>> import numpy as np, convgraph as cg
        >>> t = cg.trace_conv2d(np.ones((4, 5, 5)), np.ones((2, 2, 3, 3)), groups=2)
        >>> [(p.source, p.source_lead, p.y_lead) for p in t.conv.channel_pairs() if p.source == "x"]
        [('x', (0,), (0,)), ('x', (1,), (0,)), ('x', (2,), (1,)), ('x', (3,), (1,))]
        """
        s, t = self.spec, self._taps
        n, o, c = t.out[:, 0], t.out[:, 1], t.tap[:, 0]
        cin = (o // s.Og) * s.Cg + c
        to_x = to_w = np.zeros(len(t))
        if grads is not None:
            g = self._pushed(grads, visited, t.mul)
            to_x = np.abs(g * self.w.data.ravel()[t.wi])  # x -> mul carries grad(mul)·w
            to_w = np.abs(g * self.x.data.ravel()[t.xi])  # w -> mul carries grad(mul)·x
        x_sum = np.bincount((n * s.C + cin) * s.O + o, to_x, minlength=s.N * s.C * s.O).reshape(s.N, s.C, s.O)
        w_sum = np.bincount((n * s.O + o) * s.Cg + c, to_w, minlength=s.N * s.O * s.Cg).reshape(s.N, s.O, s.Cg)
        pairs = [ChannelPair("x", s.x_lead(nn, ci), s.y_lead(nn, oo), float(x_sum[nn, ci, oo]))
                 for nn in range(s.N) for ci, oo in s.wiring()]
        pairs += [ChannelPair("w", s.w_lead(oo, ci), s.y_lead(nn, oo), float(w_sum[nn, oo, ci]))
                  for nn in range(s.N) for oo in range(s.O) for ci in range(s.Cg)]
        if self.b is not None:
            starts = self.bias_adds()  # (N, O, OH, OW): the add each sum's bias goes into
            g = np.abs(self._pushed(grads, visited, starts.ravel())).reshape(starts.shape) if grads is not None \
                else np.zeros(starts.shape)
            pairs += [ChannelPair("b", (), s.y_lead(nn, oo), float(g[nn, oo].sum()))
                      for nn in range(s.N) for oo in range(s.O)]
        return pairs

    @staticmethod
    def _pushed(grads, visited, nodes):
        """The gradient each of ``nodes`` has pushed back so far: its gradient once visited, else 0."""
        g = np.asarray(grads, dtype=float)[nodes]
        return g if visited is None else np.where(np.asarray(visited)[nodes], g, 0.0)

    def bias_adds(self):
        """(N, O, OH, OW) ids of the add that starts each sum with the bias (y itself when every tap
        falls on padding)."""
        s = self.spec
        y4 = self.nodes4("y")
        flat_mul = (self.mul >= 0).reshape(s.N, s.O, s.OH, s.OW, -1)
        flat_add = self.add.reshape(s.N, s.O, s.OH, s.OW, -1)
        has = flat_mul.any(axis=-1)
        k = flat_mul.argmax(axis=-1)  # the first real tap
        adds = np.take_along_axis(flat_add, k[..., None], axis=-1)[..., 0]
        return np.where(has, adds, y4)
