"""The installed command-line tools: kvant-opt and kvant."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import kvant
from kvant.execution.library import CompiledLibrary


def tool(name):
    """A console script installed next to the interpreter running the tests."""
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else shutil.which(name)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def test_kvant_opt_lists_kvant_passes():
    exe = tool("kvant-opt")
    assert exe, "kvant-opt is not installed"
    done = run(exe, "--help")
    assert done.returncode == 0, done.stderr
    for name in ("gradient-expand-fd", "convert-quantum-to-runtime"):
        assert f"--{name}" in done.stdout


def test_kvant_opt_round_trips_quantum_ir():
    source = """
    func.func @f(%x: f64) -> f64 {
      %r = quantum.alloc(1)
      %q = quantum.extract %r[0]
      %q1 = quantum.custom "RX"(%x) %q : !quantum.bit
      %o = "quantum.namedobs"(%q1) {type = "PauliZ"} : (!quantum.bit) -> !quantum.obs
      %e = "quantum.expval"(%o) : (!quantum.obs) -> f64
      %r1 = quantum.insert %r[0], %q1
      quantum.dealloc %r1
      return %e : f64
    }
    """
    done = subprocess.run([tool("kvant-opt")], input=source, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'quantum.custom "RX"' in done.stdout


def test_cli_compiles_saved_mlir_to_a_library(tmp_path):
    @kvant.qjit
    def f(x):
        return kvant.grad(lambda x: x**3, method="fd", h=1e-3)(x) + 1.0

    f(2.0)
    source = tmp_path / "program.mlir"
    source.write_text(f.mlir)
    out = tmp_path / "program.so"
    done = run(sys.executable, "-m", "kvant.cli", "compile", str(source), "-o", str(out))
    assert done.returncode == 0, done.stderr
    lib = CompiledLibrary(
        out,
        "jit_f",
        [v.aval for v in f.jaxpr.jaxpr.invars],
        [v.aval for v in f.jaxpr.jaxpr.outvars],
    )
    (value,) = lib(np.asarray(2.0))
    # one-sided difference of x^3 at 2 with h = 1e-3: 3x^2 + 3xh + h^2
    assert abs(float(value) - (12 + 6e-3 + 1e-6 + 1.0)) < 1e-8


def test_cli_reports_bad_input_without_traceback(tmp_path):
    source = tmp_path / "bad.mlir"
    source.write_text("func.func @f( {")
    done = run(sys.executable, "-m", "kvant.cli", "compile", str(source))
    assert done.returncode == 1
    assert "could not compile" in done.stderr and "Traceback" not in done.stderr
