"""Lecture animations: GIF, MP4 or PNG frames of a traced convolution.

- :mod:`.clip`: :func:`animate` and :func:`anim_conv_backprop`, the entry points;
- :mod:`.catalog`: the table of scenes;
- :mod:`.grid_scenes`: what each grid scene shows, frame by frame, as numbers;
  :mod:`.grid_frames` draws them;
- :mod:`.graph_scene`: the computational graph backpropagating node by node;
- :mod:`.lettering`: formulas and numbers stamped into frames; :mod:`.encoding`: GIF, MP4, PNG;
- :mod:`.heatmap`: :func:`draw_grid`, one numbered heat map on a matplotlib axis (for the examples).
"""

from .catalog import SCENE_TABLE, SCENES
from .clip import anim_conv_backprop, animate, auto_pace, build_frames, frame_seconds
from .heatmap import draw_grid

__all__ = ["animate", "anim_conv_backprop", "build_frames", "auto_pace", "frame_seconds", "draw_grid", "SCENES", "SCENE_TABLE"]
