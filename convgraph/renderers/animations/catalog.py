"""Every animation scene in one table: its name, what it shows, and the function that builds it.

Adding a scene is one module in this package and one row here; ``animate``, ``convgraph animate``
and the lecture kit read the table.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SceneEntry", "SCENE_TABLE", "SCENES"]


class SceneEntry(NamedTuple):
    """One scene: ``builder`` is ``"module:function"`` in this package; ``per_frame`` what one frame
    advances; ``shows`` what the clip shows; ``transposed`` and ``shows_transposed`` the same for a
    transposed convolution (whose grid scenes read from the input: each element's stamp)."""

    builder: str
    per_frame: str
    shows: str
    transposed: str = ""
    shows_transposed: str = ""


SCENE_TABLE = {
    "backprop": SceneEntry("grid_scenes:backprop_scene", "output position, twice",
                           "the lecture clip: forward then backward, x, W, y, dY, dW and dX side by side",
                           "transposed_scenes:backprop_scene",
                           "the lecture clip: each x[a,b] stamping x[a,b]·W into y, then reading dY under its "
                           "stamp into dW and dX; x, W, y, dY, dW and dX side by side"),
    "forward": SceneEntry("grid_scenes:forward_scene", "output position",
                          "the window sliding over x (padding as a grey border, dilation holes, stride steps), "
                          "the kernel, y filling in, the dot product with its numbers",
                          "transposed_scenes:forward_scene",
                          "both readings: each x[a,b] stamping x[a,b]·W into the output (the padding cropped off "
                          "its border), then the same y as rot180(W) sliding over x′ (x with zeros inserted by "
                          "the stride, padded)"),
    "weight-grad": SceneEntry("grid_scenes:weight_grad_scene", "output position",
                              "dW builds up: each dY[i,j] times the patch it saw is added into dW; "
                              "dW[u,v] = Σ dY[i,j]·x[i·s+u·d, j·s+v·d]",
                              "transposed_scenes:weight_grad_scene",
                              "dW builds up: each x[a,b] times the dY under its stamp; "
                              "dW[u,v] = Σ x[a,b]·dY[a·s+u·d−p, b·s+v·d−p]"),
    "input-grad": SceneEntry("grid_scenes:input_grad_scene", "output position, then input position",
                             "dX: each dY[i,j] scatters dY[i,j]·W into its window; then the same dX as the kernel "
                             "rotated 180° sliding over dY′ (dY dilated by the stride, zero-padded)",
                             "transposed_scenes:input_grad_scene",
                             "dX cell by cell: W times the dY under each element's stamp, summed; the gradient "
                             "of a transposed convolution is an ordinary convolution of dY with W"),
    "graph": SceneEntry("graph_scene:graph_clip", "backprop step",
                        "the computational graph backpropagating node by node: frame k is step k of the walk"),
    "lesson": SceneEntry("grid_scenes:lesson_scene", "output position",
                         "the lesson notebook's two panels: the forward window beside dW accumulating",
                         "transposed_scenes:lesson_scene",
                         "x, each element outlined as it stamps, beside dW accumulating what it reads back"),
    "dw-as-conv": SceneEntry("grid_scenes:dw_as_conv_scene", "dW cell",
                             "dW as one convolution: dY, dilated by the stride, slides over x as a kernel; each "
                             "position is one dW[u,v], the window sum of the x cells under dY",
                             "transposed_scenes:weight_grad_scene",
                             "dW builds up: each x[a,b] times the dY under its stamp (x is the kernel of dW's "
                             "convolution over dY)"),
    "dx-as-conv": SceneEntry("grid_scenes:dx_as_conv_scene", "input position",
                             "dX as one transposed convolution: rot180(W) slides over dY′ (dY with the stride's "
                             "zeros inserted, padded), gathering dX cell by cell",
                             "transposed_scenes:input_grad_scene",
                             "dX as one ordinary convolution of dY with W, cell by cell"),
    "im2col": SceneEntry("grid_scenes:im2col_scene", "output position, tap, then output position",
                         "the matrix view: x unrolled into cols, y = W_row·cols column by column, then "
                         "dW = dY_row·colsᵀ tap by tap, then dX = col2im(W_rowᵀ·dY_row) position by position"),
    "train": SceneEntry("train_scene:train_scene", "gradient-descent step",
                        "the stamp learning (a fit_kernel history): W reshaping, this step's dW as signed heat, "
                        "the output approaching the target, the loss curve"),
}
#: The scene names, in the table's order.
SCENES = tuple(SCENE_TABLE)
