"""libkvant_rt through ctypes, for the tests in this directory (no PennyLane or JAX import, so
child processes that only drive the runtime start quickly).

Finds the library via KVANT_RT_LIB, else the installed kvant package, else build/runtime-dev.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _find_library() -> Path | None:
    env = os.environ.get("KVANT_RT_LIB")
    candidates = [Path(env)] if env else []
    if env and candidates[0].is_file():
        return candidates[0]  # without importing kvant (which imports JAX and PennyLane)
    try:
        from kvant import _paths  # the installed package's library

        candidates.append(_paths.runtime_library())
    except (ImportError, FileNotFoundError):
        pass
    candidates.append(ROOT / "build" / "runtime-dev" / "libkvant_rt.so")
    return next((c for c in candidates if c.is_file()), None)


LIB_PATH = _find_library()
if LIB_PATH is None:
    # Not a skip: under `make test` the library is always built, and a silent skip would hide
    # the only check of the adjoint derivatives against PennyLane.
    raise RuntimeError(
        "libkvant_rt.so not found: install kvant (make install) or build "
        "runtime/ into build/runtime-dev, or set KVANT_RT_LIB"
    )


def _gate_ids() -> dict[str, int]:
    """Gate name -> id, from gates.def (the numbering is the ABI)."""
    ids = {}
    text = (ROOT / "runtime" / "include" / "kvant" / "gates.def").read_text()
    for line in text.splitlines():
        if line.startswith("KVANT_GATE("):
            name = line[len("KVANT_GATE(") :].split(",")[0].strip()
            ids[name] = len(ids)
    return ids


GATE = _gate_ids()
OBS = {"Identity": 0, "PauliX": 1, "PauliY": 2, "PauliZ": 3, "Hadamard": 4}

i64, f64, i8 = ctypes.c_int64, ctypes.c_double, ctypes.c_int8
P = ctypes.POINTER


class Runtime:
    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        sig = {
            "kvant_rt_qalloc": (i64, [i64]),
            "kvant_rt_qdealloc": (None, [i64]),
            "kvant_rt_gate": (None, [i64, P(f64), i64, P(i64), i64, P(i64), P(i8), i64, i8]),
            "kvant_rt_obs_named": (i64, [i64, i64]),
            "kvant_rt_obs_tensor": (i64, [P(i64), i64]),
            "kvant_rt_obs_hermitian": (i64, [P(f64), P(i64), i64]),
            "kvant_rt_obs_hamiltonian": (i64, [P(f64), P(i64), i64]),
            "kvant_rt_expval": (f64, [i64]),
            "kvant_rt_sync": (None, []),
            "kvant_rt_tape_begin": (None, []),
            "kvant_rt_tape_end": (None, []),
            "kvant_rt_tape_num_params": (i64, []),
            "kvant_rt_adjoint_jacobian": (None, [P(i64), i64, P(f64), i64]),
            "kvant_rt_adjoint_vjp_mixed": (
                None,
                [P(i64), P(i64), P(i64), i64, P(i64), i64, P(f64), i64, P(f64), i64],
            ),
            "kvant_rt_error": (ctypes.c_char_p, []),
            "kvant_rt_clear_error": (None, []),
        }
        for name, (res, args) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.lib = lib

    def check(self):
        err = self.lib.kvant_rt_error()
        if err:
            self.lib.kvant_rt_clear_error()
            raise RuntimeError(err.decode())


RT = Runtime(LIB_PATH)


def arr(ctype, values):
    return (ctype * max(1, len(values)))(*values)
