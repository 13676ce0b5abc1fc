"""kvant: a just-in-time compiler for differentiable hybrid quantum-classical programs.

>>> import kvant, pennylane as qml
>>> dev = qml.device("kvant.qubit", wires=1)
>>> @qml.qnode(dev)
... def circuit(x):
...     qml.RX(x, wires=0)
...     return qml.expval(qml.PauliZ(0))
>>> @kvant.qjit
... def dcircuit(x):
...     return kvant.grad(circuit, method="fd")(x)

This module is also PennyLane's ``kvant.ops`` entry point: while kvant traces a program,
``qml.grad``, ``qml.jacobian``, ``qml.adjoint``, ... call the functions of the same name here.
"""

from __future__ import annotations

from kvant import _preload
from kvant._gc import long_lived_imports as _long_lived_imports
from kvant._version import __version__ as __version__

_preload.start()  # the MLIR and LLVM libraries, while JAX and PennyLane are imported

# JAX and PennyLane are most of kvant's import; their objects live as long as the process.
with _long_lived_imports():
    import jax as _jax

    # Quantum programs need double precision; JAX defaults to single.
    _jax.config.update("jax_enable_x64", True)

    # Error locations point at the user's code: kvant's and PennyLane's frames are skipped like
    # JAX's own.
    import os as _os

    import pennylane as _pennylane
    from jax._src import source_info_util as _source_info_util

    _source_info_util.register_exclusion(_os.path.dirname(__file__))
    _source_info_util.register_exclusion(_os.path.dirname(_pennylane.__file__))

    from kvant.api import debug
    from kvant.api.callbacks import pure_callback
    from kvant.api.control_flow import cond, for_loop, while_loop
    from kvant.api.differentiation import grad, jacobian
    from kvant.api.pennylane_ops import adjoint, ctrl, jvp, measure, value_and_grad, vjp
    from kvant.api.qjit import QJIT, qjit
    from kvant.errors import (
        CacheWarning,
        CompileError,
        KvantError,
        KvantRuntimeError,
        UnsupportedError,
    )
    from kvant.tracing import batching as _batching  # noqa: F401  (vmap rules)
    from kvant.tracing import queuing_threads as _queuing_threads

    _queuing_threads.install()  # PennyLane's recording, per thread (compilation in threads)

    vmap = _jax.vmap  # QNode calls inside are batched by a compiled loop (tracing.batching)

__all__ = [
    "QJIT",
    "CacheWarning",
    "CompileError",
    "KvantError",
    "KvantRuntimeError",
    "UnsupportedError",
    "adjoint",
    "cond",
    "ctrl",
    "debug",
    "for_loop",
    "grad",
    "jacobian",
    "jvp",
    "measure",
    "pure_callback",
    "qjit",
    "value_and_grad",
    "vjp",
    "vmap",
    "while_loop",
]
