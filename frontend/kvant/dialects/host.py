"""The ``host`` dialect's op classes, generated from mlir/include/kvant/Host/IR/HostOps.td."""

from ._host_ops_gen import *  # noqa: F403
