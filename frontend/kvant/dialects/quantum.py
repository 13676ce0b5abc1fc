"""The ``quantum`` dialect's op classes, generated from
mlir/include/kvant/Quantum/IR/QuantumOps.td."""

from ._quantum_ops_gen import *  # noqa: F403
