"""The tracer: scalar recording, the NetworkX graph, the walk, the conv's structure, focus queries and
the numpy reference. Everything a picture says about the computation is answered here."""

from .as_convolutions import ConvBackward, ConvCall, backward_as_convolutions
from .fit import FitHistory, fit_kernel
from .focus import Focus, focus
from .ops import avg_pool2d, conv1d, conv2d, conv_transpose2d, max_pool2d, mean, mse_loss, relu, sum
from .params import DEFAULT_MAX_NODES, ConvSpec, conv_spec
from .recorder import EdgeData, Recorder, Tensor, Value
from .reference import (conv1d_backward, conv1d_forward, conv2d_backward, conv2d_forward,
                        conv_transpose2d_backward, conv_transpose2d_forward)
from .structure import ChannelPair, ConvRecord, Role, Taps
from .trace import Gradients, Trace, trace_conv1d, trace_conv2d, trace_conv_transpose2d, trace_op
from .walk import Push, Step, StepStream, Walk, seed_text, step_text

__all__ = [
    "Recorder", "Value", "Tensor", "EdgeData", "Trace", "Gradients", "Walk", "StepStream", "Step", "Push", "step_text", "seed_text",
    "trace_conv2d", "trace_conv1d", "trace_conv_transpose2d", "trace_op", "conv2d", "conv1d", "conv_transpose2d", "relu", "max_pool2d", "avg_pool2d", "sum", "mean", "mse_loss",
    "conv2d_forward", "conv2d_backward", "conv1d_forward", "conv1d_backward", "conv_transpose2d_forward",
    "conv_transpose2d_backward", "ConvSpec", "ConvRecord", "Taps", "Role", "ChannelPair", "conv_spec",
    "Focus", "focus", "DEFAULT_MAX_NODES", "backward_as_convolutions", "ConvBackward", "ConvCall",
    "fit_kernel", "FitHistory",
]
