"""The ``gradient`` dialect's op classes, generated from
mlir/include/kvant/Gradient/IR/GradientOps.td."""

from ._gradient_ops_gen import *  # noqa: F403
