"""Where kvant's built artefacts are: the runtime library, its headers, kvant-opt, the MLIR
extension. A wheel install puts them inside the package; an editable install leaves the Python
sources in ``frontend/kvant`` and the built files in site-packages, so both places are searched.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def package_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parent]
    spec = importlib.util.find_spec("kvant")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        dirs.append(Path(loc))
    for entry in sys.path:
        candidate = Path(entry) / "kvant"
        if candidate.is_dir():
            dirs.append(candidate)
    seen, unique = set(), []
    for d in dirs:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            unique.append(d)
    return unique


def _find(relative: str) -> Path | None:
    for d in package_dirs():
        if (d / relative).exists():
            return d / relative
    return None


@functools.cache
def runtime_library() -> Path:
    lib = _find("lib/libkvant_rt.so")
    if lib is None:
        raise FileNotFoundError(
            "libkvant_rt.so not found: kvant's C++ parts are not built. Run `make install` "
            "(or `pip install .`) in the kvant source tree."
        )
    return lib


@functools.cache
def include_dir() -> Path:
    inc = _find("include/kvant/runtime.h")
    if inc is not None:
        return inc.parent.parent
    return _SOURCE_ROOT / "runtime" / "include"


@functools.cache
def kvant_opt() -> Path:
    exe = _find("bin/kvant-opt")
    if exe is None:
        raise FileNotFoundError("kvant-opt not found: kvant's C++ parts are not built")
    return exe


@functools.cache
def gate_table() -> list[tuple[str, int, int]]:
    """(name, num_params, num_wires) for each gate of the runtime, in ABI order."""
    text = (include_dir() / "kvant" / "gates.def").read_text()
    rows = re.findall(
        r'^KVANT_GATE\(\s*\w+\s*,\s*"(\w+)"\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\)', text, re.M
    )
    return [(name, int(p), int(w)) for name, p, w in rows]
