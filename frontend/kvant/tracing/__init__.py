"""Python program → JAXPR: the primitives kvant adds to JAX and the capture of QNodes.

Modules:

* ``primitives``: the JAX primitives kvant adds (QNode call, derivative, gates, measurements).
* ``context``: whether kvant is tracing in this thread (what PennyLane asks before dispatching).
* ``subjaxpr``: tracing a Python function into a closed sub-JAXPR inside an outer trace.
* ``qnode``: capture of a QNode call: its operations and measurements as primitives.
* ``gate_table``: the runtime's gate table, read from ``runtime/include/kvant/gates.def``.
* ``observables``: PennyLane observables as a hashable description plus array operands.
* ``trainable_observables``: observables whose coefficients or matrices are traced values.
* ``control_flow``: ``for_loop``, ``while_loop`` and ``cond`` traced into region primitives.
* ``quantum_regions``: ``adjoint`` and ``ctrl`` of quantum functions, as transforms of a region.
* ``mcm``: how a QNode with mid-circuit measurements is executed (its ``mcm_method``).
* ``deferred``: deferred mid-circuit measurements, each outcome held on an ancilla wire.
* ``mcm_statistics``: statistics of mid-circuit measurement values (``qml.expval(m)``, ...).
* ``transforms``: PennyLane transforms of a QNode, applied to its tape inside ``qjit``.
* ``grad_recipes``: gates that carry their own parameter-shift recipe (``grad_recipe``).
* ``device_support``: which devices kvant compiles QNodes for, and what it compiles for each.
* ``batching``: ``jax.vmap`` rules of kvant's call and control-flow primitives.
"""
