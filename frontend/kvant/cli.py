"""The ``kvant`` command line: ahead-of-time compilation.

    kvant compile program.mlir -o program.so      # kvant MLIR → shared library
    kvant compile program.mlir --emit llvm        # print a stage instead
    kvant pipeline                                # print the pass pipeline kvant runs

Compiling a Python function (``file.py:function`` with an argument signature) comes with the
frontend work; today the input is MLIR in kvant's dialects, e.g. a ``.mlir`` attribute saved from
``@kvant.qjit``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvant", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--version", action="store_true", help="print kvant's version")
    sub = parser.add_subparsers(dest="command")
    comp = sub.add_parser("compile", help="compile an .mlir file to a shared library")
    comp.add_argument("input", help="an .mlir file in kvant's dialects")
    comp.add_argument("-o", "--output", help="the shared library to write (default: INPUT.so)")
    comp.add_argument("--emit", choices=["mlir-lowered", "llvm"],
                      help="print this stage to stdout instead of writing a library")
    comp.add_argument("-O", dest="opt_level", type=int, default=2, choices=[0, 1, 2, 3])
    sub.add_parser("pipeline", help="print the pass pipeline (for kvant-opt --pass-pipeline=...)")
    return parser


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
        from kvant.compiler import driver
        from kvant.errors import KvantError

        source = Path(args.input)
        try:
            text = source.read_text()
        except OSError as exc:
            print(f"kvant: cannot read {source}: {exc.strerror}", file=sys.stderr)
            return 2
        try:
            artifact = driver.compile_mlir(text, keep_stages=bool(args.emit), opt_level=args.opt_level)
        except KvantError as exc:
            print(f"kvant: {exc}", file=sys.stderr)
            return 1
        if args.emit == "mlir-lowered":
            print(artifact.mlir_lowered)
        elif args.emit == "llvm":
            print(artifact.llvm_ir)
        else:
            output = Path(args.output) if args.output else source.with_suffix(".so")
            shutil.copyfile(artifact.library, output)
            print(f"kvant: wrote {output}")
        return 0
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
