"""Arrows that leave a tensor's grid through the gaps between its boxes, instead of running under the
neighbouring boxes (where the eye loses them): a route for each arrow of a slide-sized diagram,
written as the edge's ``pos`` so that ``neato -n2`` draws it as given.

Graphviz's own router (``splines=true``) takes tens of seconds for the lesson's 187 nodes and gives
up when framed panels overlap their nodes; the grids are regular, so the gaps are known.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Router"]


class Router:
    """Routes for arrows out of the boxes of tensor panels.

    Parameters
    ----------
    centres : dict
        node -> (x, y) in points, for every box of a tensor panel.
    panel_of : dict
        node -> the key of its panel.
    box : (float, float)
        A box's width and height in points.
    pitch : (float, float)
        The distance between neighbouring boxes' centres in points (box plus gap).
    """

    def __init__(self, centres, panel_of, box, pitch):
        self.centres, self.panel_of = centres, panel_of
        self.half = (box[0] / 2, box[1] / 2)
        self.gap = (max(pitch[0] - box[0], 0.0), max(pitch[1] - box[1], 0.0))
        self.members = {}
        for n, xy in centres.items():
            self.members.setdefault(panel_of[n], []).append(xy)
        self.members = {k: np.array(v, float) for k, v in self.members.items()}

    def _blocked(self, p, q, panel, own):
        """Whether the segment p → q passes through a box of ``panel`` other than ``own``."""
        boxes = self.members[panel]
        boxes = boxes[np.any(boxes != own, axis=1)]
        if not len(boxes):
            return False
        t = np.linspace(0.0, 1.0, 48)[:, None]
        pts = np.asarray(p) + t * (np.asarray(q) - np.asarray(p))  # (48, 2)
        inside = (np.abs(pts[:, None, 0] - boxes[None, :, 0]) < self.half[0]) & (
            np.abs(pts[:, None, 1] - boxes[None, :, 1]) < self.half[1])
        return bool(inside.any())

    def pos(self, u, v_xy, v_radius, arrow_pt):
        """The ``pos`` of arrow u → v (a B-spline through the gap beside u, out of u's panel, then
        straight to v), or None when the straight arrow crosses no other box of u's panel."""
        if u not in self.centres:
            return None
        panel, p = self.panel_of[u], self.centres[u]
        if not self._blocked(p, v_xy, panel, p):
            return None
        boxes = self.members[panel]
        dx, dy = v_xy[0] - p[0], v_xy[1] - p[1]
        if abs(dx) >= abs(dy):  # leave through the gap above or below, then along it out of the panel
            side = math.copysign(1.0, dy or -1.0)
            gy = p[1] + side * (self.half[1] + self.gap[1] / 2)
            edge = boxes[:, 0].max() + self.half[0] if dx > 0 else boxes[:, 0].min() - self.half[0]
            gx = edge + math.copysign(self.gap[0] / 2 + 2.0, dx)
            points = [p, (p[0], gy), (gx, gy)]
        else:  # leave through the gap left or right, then down or up it out of the panel
            side = math.copysign(1.0, dx or 1.0)
            gx = p[0] + side * (self.half[0] + self.gap[0] / 2)
            edge = boxes[:, 1].max() + self.half[1] if dy > 0 else boxes[:, 1].min() - self.half[1]
            gy = edge + math.copysign(self.gap[1] / 2 + 2.0, dy)
            points = [p, (gx, p[1]), (gx, gy)]
        last = points[-1]
        length = math.hypot(v_xy[0] - last[0], v_xy[1] - last[1]) or 1.0
        ux, uy = (v_xy[0] - last[0]) / length, (v_xy[1] - last[1]) / length
        tip = (v_xy[0] - ux * v_radius, v_xy[1] - uy * v_radius)
        points.append((tip[0] - ux * arrow_pt, tip[1] - uy * arrow_pt))
        return f"e,{tip[0]:.1f},{tip[1]:.1f} " + " ".join(f"{x:.1f},{y:.1f}" for x, y in _bspline(points))


def _bspline(points):
    """A polyline as the control points of a piecewise cubic B-spline (each segment straight)."""
    out = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        out += [(x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3), (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3), (x1, y1)]
    return out
