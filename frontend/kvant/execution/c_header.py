"""A C header describing a compiled program's entry point (for ahead-of-time users).

The entry point follows MLIR's C interface after kvant's bufferization: every argument and every
result is a pointer to a strided memref descriptor, arguments first, then results, which the
caller allocates. ``execution.library`` builds the same descriptors from Python.
"""

from __future__ import annotations

import numpy as np

_C_TYPES = {
    "float64": "double", "float32": "float", "int64": "int64_t", "int32": "int32_t",
    "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t", "bool": "uint8_t",
    "complex128": "kvant_complex128", "complex64": "kvant_complex64",
}


def _descriptor_name(aval) -> str:
    return f"kvant_memref_{np.dtype(aval.dtype).name}_{len(aval.shape)}d"


def _describe(aval) -> str:
    return f"{np.dtype(aval.dtype).name}{list(aval.shape)}"


def header(entry: str, in_avals, out_avals, source: str) -> str:
    guard = f"KVANT_{entry.upper()}_H"
    lines = [
        f"/* Entry point of a kvant program compiled from {source}. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        "typedef struct { double re, im; } kvant_complex128;",
        "typedef struct { float re, im; } kvant_complex64;",
        "",
        "/* Strided memref descriptors: element (i0, i1, ...) is at",
        " * aligned[offset + i0 * strides[0] + i1 * strides[1] + ...]. Booleans are bytes (0/1). */",
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
        lines.append(f"typedef struct {{ {ctype} *allocated; {ctype} *aligned; int64_t offset;{dims} }} {name};")
    params = [f"{_descriptor_name(a)} *arg{i} /* {_describe(a)} */" for i, a in enumerate(in_avals)]
    params += [f"{_descriptor_name(a)} *result{i} /* {_describe(a)}, written */" for i, a in enumerate(out_avals)]
    lines += [
        "",
        "/* Runs the program; results are written into caller-allocated buffers. After the call,",
        " * kvant_rt_error() (kvant/runtime.h) is non-NULL if the simulator reported an error. */",
        f"void _mlir_ciface_{entry}(" + ",\n    ".join(params) + ");",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)
