"""The ``kvant`` command line: ahead-of-time compilation.

    kvant compile prog.py:cost --args "f64[4], f64" -o cost.so   # a function → library, header
    kvant compile prog.py:cost --args "f64[4], f64" --emit mlir  # print a stage instead
    kvant compile program.mlir -o program.so                     # kvant MLIR → library
    kvant pipeline                                               # the pass pipeline kvant runs

--args lists the positional arguments' types: a dtype (f32, f64, i32, i64, bool, c64, c128)
with an optional shape in brackets, e.g. "f64[3,2]". --emit takes jaxpr, mlir, mlir-lowered or
llvm. A library comes with a C header (same name, .h) declaring its entry point, and with a copy
of kvant's runtime, libkvant_rt.so, in the same directory: the library finds it there (RUNPATH
$ORIGIN), so the directory can be moved or shipped as a whole. The code is generated for the
baseline CPU of this machine's architecture (x86-64: SSE2; the runtime picks its AVX2 kernels
when it is loaded), so the library runs on any machine of that architecture; --cpu native tunes
it to this machine's CPU, --cpu NAME to a named one (an LLVM CPU name: x86-64-v3, skylake, ...).
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import re
import sys
from pathlib import Path

DTYPES = {
    "f32": "float32",
    "f64": "float64",
    "i32": "int32",
    "i64": "int64",
    "bool": "bool",
    "c64": "complex64",
    "c128": "complex128",
}


def baseline_cpu() -> str:
    """LLVM's name for the oldest CPU of this machine's architecture: code for it runs on every
    machine of the architecture."""
    return {"x86_64": "x86-64", "AMD64": "x86-64"}.get(platform.machine(), "generic")


def parse_signature(text: str):
    """'f64[3], i64' → [ShapeDtypeStruct((3,), float64), ShapeDtypeStruct((), int64)]."""
    import jax

    specs = []
    for item in filter(None, (t.strip() for t in re.split(r",(?![^\[]*\])", text))):
        match = re.fullmatch(r"(\w+)(?:\[([\d,\s]*)\])?", item)
        if not match or match.group(1) not in DTYPES:
            raise ValueError(
                f"bad argument type {item!r}: use e.g. f64, i64[3] or c128[2,2] "
                f"(dtypes: {', '.join(DTYPES)})"
            )
        shape = (
            tuple(int(d) for d in match.group(2).split(",") if d.strip()) if match.group(2) else ()
        )
        specs.append(jax.ShapeDtypeStruct(shape, DTYPES[match.group(1)]))
    return specs


def load_function(target: str):
    path, _, name = target.rpartition(":")
    if not path or not name:
        raise ValueError(f"expected FILE.py:FUNCTION, got {target!r}")
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None:
        raise ValueError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    if not hasattr(module, name):
        raise ValueError(f"{path} has no function {name!r}")
    return getattr(module, name)


def _parser() -> argparse.ArgumentParser:
    doc = __doc__.splitlines()
    parser = argparse.ArgumentParser(
        prog="kvant",
        description=doc[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc[2:]),
    )
    parser.add_argument("--version", action="store_true", help="print kvant's version")
    sub = parser.add_subparsers(dest="command")
    comp = sub.add_parser(
        "compile",
        help="compile FILE.py:FUNCTION or an .mlir file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc[2:]),
    )
    comp.add_argument("input", help="FILE.py:FUNCTION, or an .mlir file in kvant's dialects")
    comp.add_argument("--args", default="", help='argument types of FUNCTION, e.g. "f64[3], i64"')
    comp.add_argument("-o", "--output", help="the shared library to write (default: NAME.so)")
    comp.add_argument(
        "--emit",
        choices=["jaxpr", "mlir", "mlir-lowered", "llvm"],
        help="print this stage to stdout instead of writing a library",
    )
    comp.add_argument("-O", dest="opt_level", type=int, default=2, choices=[0, 1, 2, 3])
    comp.add_argument(
        "--cpu",
        default=baseline_cpu(),
        help="the CPU to generate code for: 'native' (this machine's) or an LLVM CPU name "
        f"(default: {baseline_cpu()}, the baseline of this architecture)",
    )
    sub.add_parser("pipeline", help="print the pass pipeline (for kvant-opt --pass-pipeline=...)")
    return parser


def _compile_python(args):
    import kvant

    fn = load_function(args.input)
    program_fn = fn if isinstance(fn, kvant.QJIT) else kvant.qjit(fn)
    program_fn.keep_intermediate = args.emit in ("mlir-lowered", "llvm")
    program_fn.opt_level = args.opt_level
    program_fn.target_cpu = args.cpu
    program = program_fn.compile(*parse_signature(args.args))
    if args.emit is None and program.library.host_functions:
        _refuse_host_callbacks(
            ", ".join(repr(f.name) for f, _, _ in program.library.host_functions)
        )
    stages = {
        "jaxpr": str(program.jaxpr),
        "mlir": program.mlir,
        "mlir-lowered": program.mlir_lowered,
        "llvm": program.llvm_ir,
    }
    in_avals = [v.aval for v in program.jaxpr.jaxpr.invars]
    out_avals = [v.aval for v in program.jaxpr.jaxpr.outvars]
    default = Path(args.input.rpartition(":")[2] + ".so")
    return program.library_path, program.entry, (in_avals, out_avals), stages, default


def _compile_mlir(args):
    from kvant.compiler import driver

    text = Path(args.input).read_text()
    if args.emit is None and "host.callback" in text:
        _refuse_host_callbacks("named in host.callback ops")
    artifact = driver.compile_mlir(
        text, keep_stages=args.emit is not None, opt_level=args.opt_level, cpu=args.cpu
    )
    stages = {"mlir": text, "mlir-lowered": artifact.mlir_lowered, "llvm": artifact.llvm_ir}
    return artifact.library, None, None, stages, Path(args.input).with_suffix(".so")


def _refuse_host_callbacks(which: str):
    from kvant.errors import UnsupportedError

    raise UnsupportedError(
        f"this program calls Python functions while it runs (host callbacks: {which}); a "
        "library compiled ahead of time runs without Python, so it cannot call them: compile "
        "it just in time with kvant.qjit, or replace the callbacks by compiled code"
    )


def _compile(args) -> int:
    from kvant.errors import KvantError
    from kvant.execution.c_header import header

    is_python = ":" in args.input and not args.input.endswith(".mlir")
    try:
        library, entry, avals, stages, default = (_compile_python if is_python else _compile_mlir)(
            args
        )
    except (KvantError, ValueError, TypeError, OSError) as exc:
        print(f"kvant: {exc}", file=sys.stderr)
        return 1
    if args.emit:
        if stages.get(args.emit) is None:
            print(f"kvant: --emit {args.emit} is not available for this input", file=sys.stderr)
            return 2
        print(stages[args.emit])
        return 0
    output = Path(args.output) if args.output else default
    source = Path(args.input.rpartition(":")[0] if is_python else args.input)
    written = [output] + ([output.with_suffix(".h")] if entry is not None else [])
    for path in written:
        if _same_file(path, source):
            print(
                f"kvant: refusing to write {path}: it is the source file {source}", file=sys.stderr
            )
            return 2
    _write_file(output, Path(library).read_bytes(), mode=0o755)
    print(f"kvant: wrote {output}")
    runtime = _place_runtime_beside(output)
    if runtime is not None:
        print(f"kvant: wrote {runtime} (the runtime {output.name} loads from its own directory)")
    if entry is not None:
        text = header(entry, *avals, source=args.input, library=output.name)
        _write_file(output.with_suffix(".h"), text.encode(), mode=0o644)
        print(
            f"kvant: wrote {output.with_suffix('.h')} (entry point _mlir_ciface_{entry}, "
            f"or kvant_run_{entry} which also reports errors)"
        )
    return 0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return a.resolve() == b.resolve()


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write by renaming a complete temporary file over ``path``: a reader never sees half a
    library, and a library some process has mapped is not overwritten in place."""
    temporary = path.with_name(f".{path.name}.kvant-tmp")
    temporary.write_bytes(data)
    temporary.chmod(mode)
    temporary.replace(path)


def _place_runtime_beside(output: Path) -> Path | None:
    """A compiled library looks for libkvant_rt.so in its own directory first (RUNPATH
    ``$ORIGIN``), so a copy beside it keeps it loadable wherever the two are moved together.
    ``None`` when the runtime already is there."""
    from kvant import _paths

    runtime = _paths.runtime_library()
    target = output.parent / runtime.name
    if _same_file(target, runtime):
        return None
    if target.exists() and target.read_bytes() == runtime.read_bytes():
        return None
    _write_file(target, runtime.read_bytes(), mode=0o755)
    return target


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        from kvant import __version__

        print(f"kvant {__version__}")
        return 0
    if args.command == "pipeline":
        from kvant.compiler.pipeline import pipeline

        print(pipeline())
        return 0
    if args.command == "compile":
        return _compile(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
