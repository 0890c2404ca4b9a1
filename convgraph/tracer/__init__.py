"""The tracer: scalar recording, the NetworkX graph, node-by-node backprop and the numpy reference."""

from .backprop import Push, Step
from .ops import ConvRecord, avg_pool2d, conv2d, max_pool2d, mean, mse_loss, relu, sum
from .params import DEFAULT_MAX_NODES, ConvSpec, conv_spec
from .recorder import EdgeData, Recorder, Tensor, Value
from .reference import conv2d_backward, conv2d_forward
from .trace import Gradients, Trace, trace_conv2d

__all__ = [
    "Recorder", "Value", "Tensor", "EdgeData", "Trace", "Gradients", "Step", "Push",
    "trace_conv2d", "conv2d", "relu", "max_pool2d", "avg_pool2d", "sum", "mean", "mse_loss",
    "conv2d_forward", "conv2d_backward", "ConvSpec", "ConvRecord", "conv_spec", "DEFAULT_MAX_NODES",
]
