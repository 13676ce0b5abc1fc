"""A C header describing a compiled program's entry point (for ahead-of-time users).

The entry point follows MLIR's C interface after kvant's bufferization: every argument and every
result is a pointer to a strided memref descriptor, arguments first, then results, which the
caller allocates. ``execution.library`` builds the same descriptors from Python.

Headers of several programs compose in one translation unit: each program's declarations are
guarded by a name derived from its library and entry point, and every type they share (complex
numbers, each descriptor type, the runtime's error functions) by a guard of its own, the same
in every kvant header.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_C_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "int64_t",
    "int32": "int32_t",
    "int16": "int16_t",
    "int8": "int8_t",
    "uint8": "uint8_t",
    "bool": "uint8_t",
    "complex128": "kvant_complex128",
    "complex64": "kvant_complex64",
}


def _descriptor_name(aval) -> str:
    return f"kvant_memref_{np.dtype(aval.dtype).name}_{len(aval.shape)}d"


def _describe(aval) -> str:
    return f"{np.dtype(aval.dtype).name}{list(aval.shape)}"


def _guard(*parts: str) -> str:
    text = "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)
    return re.sub(r"_+", "_", text).strip("_")


def header(entry: str, in_avals, out_avals, source: str, library: str = "") -> str:
    """The header of ``library``'s entry point ``_mlir_ciface_<entry>``."""
    digest = hashlib.sha256(f"{library}\0{entry}\0{source}".encode()).hexdigest()[:8].upper()
    guard = _guard("KVANT_PROGRAM", entry, digest, "H")
    lines = [
        f"/* Entry point of a kvant program compiled from {source}.",
        f" * Link with {library or 'the library'} and libkvant_rt.so (written beside it), e.g.",
        " * cc main.c -L. -l:" + (library or "program.so") + " -lkvant_rt -Wl,-rpath,'$ORIGIN' */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        "/* Types shared by every kvant program's header. */",
        "#ifndef KVANT_COMPLEX_TYPES_DEFINED",
        "#define KVANT_COMPLEX_TYPES_DEFINED",
        "typedef struct { double re, im; } kvant_complex128;",
        "typedef struct { float re, im; } kvant_complex64;",
        "#endif",
        "",
        "/* The runtime's error slot (kvant/runtime.h declares the same functions). */",
        "#ifndef KVANT_RT_ERROR_DECLARED",
        "#define KVANT_RT_ERROR_DECLARED",
        "const char *kvant_rt_error(void);",
        "void kvant_rt_clear_error(void);",
        "#endif",
        "",
        "/* Strided memref descriptors: element (i0, i1, ...) is at",
        " * aligned[offset + i0 * strides[0] + i1 * strides[1] + ...]. "
        "Booleans are bytes (0/1). */",
    ]
    seen = set()
    for aval in list(in_avals) + list(out_avals):
        name = _descriptor_name(aval)
        if name in seen:
            continue
        seen.add(name)
        ctype = _C_TYPES[np.dtype(aval.dtype).name]
        rank = len(aval.shape)
        dims = f" int64_t sizes[{rank}]; int64_t strides[{rank}];" if rank else ""
        type_guard = _guard(name, "DEFINED")
        lines += [
            f"#ifndef {type_guard}",
            f"#define {type_guard}",
            f"typedef struct {{ {ctype} *allocated; {ctype} *aligned; "
            f"int64_t offset;{dims} }} {name};",
            "#endif",
        ]
    params = [f"{_descriptor_name(a)} *arg{i} /* {_describe(a)} */" for i, a in enumerate(in_avals)]
    params += [
        f"{_descriptor_name(a)} *result{i} /* {_describe(a)}, written */"
        for i, a in enumerate(out_avals)
    ]
    names = [f"arg{i}" for i in range(len(in_avals))] + [
        f"result{i}" for i in range(len(out_avals))
    ]
    signature = "(" + ",\n    ".join(params) + ")" if params else "(void)"
    lines += [
        "",
        "/* Runs the program; results are written into caller-allocated buffers.",
        " *",
        " * Errors: when the simulator fails (a wire out of range, an impossible postselection,",
        " * ...), it records a message in a per-thread slot, kvant_rt_error() returns it, "
        "and every",
        " * later call of any kvant program in that thread does nothing and leaves NaN/0 in its",
        " * results until kvant_rt_clear_error() is called. Prefer kvant_run_"
        + entry
        + "() below,",
        " * which clears the slot first and returns the error of this call. */",
        f"void _mlir_ciface_{entry}{signature};",
        "",
        "/* Runs the program after clearing the error slot; NULL on success, else the error. */",
        f"static inline const char *kvant_run_{entry}{signature} {{",
        "  kvant_rt_clear_error();",
        f"  _mlir_ciface_{entry}({', '.join(names)});",
        "  return kvant_rt_error();",
        "}",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)
