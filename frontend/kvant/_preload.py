"""The MLIR and LLVM libraries, loaded in the background while ``import kvant`` goes on.

The first compilation in a process imports the MLIR bindings and kvant's MLIR extension, whose
shared libraries (the bindings' MLIR C API library, ~200 MB, and LLVM's, ~140 MB) took 45-70 ms
to map and relocate: a third of the first call of a small program (``python
benchmarks/first_call.py``, step "load compiler modules"). ``import kvant`` spends over a second
importing JAX and PennyLane, in Python; a thread loads the libraries meanwhile with
``ctypes``, which releases the GIL around ``dlopen``. The later ``import`` of the bindings finds
them loaded and only runs the modules' initialisation.

Nothing is imported or initialised here: the libraries are mapped (their constructors run, as
they would at import). A failure is ignored: the import then loads them as before and reports
any problem itself.
"""

from __future__ import annotations

import os
import threading

_thread: threading.Thread | None = None


def _libraries() -> list[str]:
    """The libraries, found without importing anything: a lookup of ``kvant._kvant_mlir`` would
    wait for ``kvant`` itself to finish importing (its module lock), which is the time the
    loading should overlap."""
    import importlib.util

    found = []
    for package, directory, names in (
        # the C API library first: the bindings' modules and kvant's extension need it
        ("mlir", "_mlir_libs", _MLIR_LIBRARIES),
        ("llvm", "lib", ("libLLVM.so",)),  # kvant's extension links against it
    ):
        spec = importlib.util.find_spec(package)
        # All the package's directories: a namespace package's first may be any folder of that
        # name on the path (the working directory's ``mlir/`` of a compiler project, say).
        for location in spec.submodule_search_locations or () if spec else ():
            root = os.path.join(location, directory)
            if os.path.exists(os.path.join(root, names[0])):
                found += [os.path.join(root, name) for name in names]
                break
    return found


_MLIR_LIBRARIES = ("libMLIRPythonCAPI.so", "libnanobind-mlir.so", "libMLIRPythonSupport-mlir.so")


def _load(paths: list[str]) -> None:
    import ctypes

    for path in paths:
        try:
            ctypes.CDLL(path)
        except OSError:
            return


def start() -> None:
    """Start loading, once per process."""
    global _thread
    if _thread is None and os.environ.get("KVANT_PRELOAD", "1") != "0":
        try:
            paths = _libraries()
        except (ImportError, ValueError, OSError):
            return
        _thread = threading.Thread(target=_load, args=(paths,), name="kvant-preload", daemon=True)
        _thread.start()


def wait() -> None:
    """Block until the loading thread is done (before a ``fork``: a child forked while another
    thread holds the dynamic loader's lock could never load a library)."""
    if _thread is not None and _thread.is_alive():
        _thread.join()


os.register_at_fork(before=wait)
