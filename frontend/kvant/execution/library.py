"""A compiled program: a shared library with one entry point following MLIR's C interface.

After bufferization with results turned into out-parameters, the entry point is
``void _mlir_ciface_<name>(desc *arg0, ..., desc *out0, ...)`` where each ``desc`` is a strided
memref descriptor ``{allocated, aligned, offset, sizes[rank], strides[rank]}``. Inputs and outputs
are NumPy arrays that kvant owns; the compiled code reads and writes them in place. A program
with host callbacks gets its table of host functions installed around each call
(``host_callbacks.py``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading

import numpy as np

from kvant import _paths
from kvant.errors import KvantRuntimeError


@functools.cache
def _descriptor_type(rank: int):
    fields = [
        ("allocated", ctypes.c_void_p),
        ("aligned", ctypes.c_void_p),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


def _descriptor(array: np.ndarray):
    desc = _descriptor_type(array.ndim)()
    ptr = array.ctypes.data
    desc.allocated = ptr
    desc.aligned = ptr
    desc.offset = 0
    if array.ndim:
        desc.sizes[:] = list(array.shape)
        desc.strides[:] = [s // array.itemsize for s in array.strides]
    return desc


@functools.cache
def jax_cpu_device():
    """JAX's CPU device (the first call creates JAX's CPU client)."""
    import jax

    return jax.devices("cpu")[0]


def to_jax(array: np.ndarray):
    """A NumPy result as a JAX array on the CPU.

    ``jnp.asarray`` costs ~40 µs per array (it goes through JAX's dispatch); the device's client
    makes the same array in ~3 µs, which matters for the call overhead of small programs.
    """
    device = jax_cpu_device()
    return device.client.buffer_from_pyval(array, device)


@functools.cache
def runtime():
    """The runtime library, loaded once with global symbols so compiled programs bind to it."""
    lib = ctypes.CDLL(str(_paths.runtime_library()), mode=ctypes.RTLD_GLOBAL)
    lib.kvant_rt_error.restype = ctypes.c_char_p
    lib.kvant_rt_error.argtypes = []
    lib.kvant_rt_clear_error.restype = None
    lib.kvant_rt_set_seed.restype = None
    lib.kvant_rt_set_seed.argtypes = [ctypes.c_uint64]
    lib.kvant_rt_set_distributed.restype = None
    lib.kvant_rt_set_distributed.argtypes = [ctypes.c_int8]
    return lib


class CompiledLibrary:
    """A loaded program and its entry point's signature (shapes and dtypes in and out)."""

    def __init__(self, path, entry: str, in_avals, out_avals, host_functions=()):
        runtime()
        self._lib = ctypes.CDLL(str(path))
        self._fn = getattr(self._lib, f"_mlir_ciface_{entry}")
        self._fn.restype = None
        self.in_avals = list(in_avals)
        self.out_avals = list(out_avals)
        #: the Python functions the program calls by number (``lowering/rules/callbacks.py``)
        self.host_functions = list(host_functions)
        # reentrant: a host callback may call this program again
        self._lock = threading.RLock()
        # message -> message naming the user's source line (set by qjit, which knows the trace)
        self.locate_error = None
        # the MPI mode of every call (docs/distributed.md): 0 none, 1 every register distributed
        # over the MPI job's ranks, 2 parameter-shift batches dealt out over them
        self.distributed = 0

    def __call__(self, *args: np.ndarray, seed: int | None = None) -> list[np.ndarray]:
        """Run the program. ``seed``: every random choice of this call (samples, mid-circuit
        outcomes) comes from the runtime's generator started from it, so the call is
        reproducible; ``None`` leaves the generator as it is."""
        inputs = [
            np.ascontiguousarray(a, dtype=aval.dtype).reshape(aval.shape)
            for a, aval in zip(args, self.in_avals)
        ]
        outputs = [np.empty(aval.shape, dtype=aval.dtype) for aval in self.out_avals]
        descriptors = [_descriptor(a) for a in inputs + outputs]
        rt = runtime()
        # The runtime keeps its error slot per thread; one call at a time per program keeps the
        # check below about this call.
        with self._lock:
            rt.kvant_rt_clear_error()
            if self.distributed:
                # Loads the runtime's MPI plugin and starts MPI on the first call.
                rt.kvant_rt_set_distributed(int(self.distributed))
                message = rt.kvant_rt_error()
                if message is not None:
                    rt.kvant_rt_clear_error()
                    raise KvantRuntimeError(
                        (
                            "this program asks for distributed registers (mpi=True), but "
                            if self.distributed == 1
                            else "this program asks for parameter-shift batches over MPI "
                            'ranks (mpi="shifts"), but '
                        )
                        + message.decode(errors="replace")
                    )
            if seed is not None:
                # The generator is per thread and the program runs on this one.
                rt.kvant_rt_set_seed(seed)
            try:
                if self.host_functions:
                    from kvant.execution import host_callbacks

                    with host_callbacks.installed(self.host_functions) as call:
                        self._fn(*[ctypes.byref(d) for d in descriptors])
                    failure = host_callbacks.describe_failure(call)
                else:
                    self._fn(*[ctypes.byref(d) for d in descriptors])
                    failure = None
            finally:
                if self.distributed:
                    rt.kvant_rt_set_distributed(0)
                if seed is not None:
                    # Unseeded programs called later on this thread stay unpredictable.
                    rt.kvant_rt_set_seed(int.from_bytes(os.urandom(8), "little"))
            message = rt.kvant_rt_error()
            if message is not None:
                rt.kvant_rt_clear_error()
                if failure is not None:
                    text, exc = failure
                    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                        raise exc
                    raise KvantRuntimeError(text) from exc
                text = message.decode(errors="replace")
                if self.locate_error is not None:
                    text = self.locate_error(text)
                raise KvantRuntimeError(text)
        return outputs
