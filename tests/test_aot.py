"""Ahead-of-time compilation: the kvant command compiles FILE.py:FUNCTION to a library + C
header; a C program and Python both call it."""

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import kvant
from kvant import _paths
from kvant.execution.library import CompiledLibrary

PROGRAM = textwrap.dedent(
    """
    import jax.numpy as jnp
    import pennylane as qml

    @qml.qnode(qml.device("{device}", wires=2))
    def circuit(w):
        qml.RX(w[0], wires=0)
        qml.RY(w[1], wires=1)
        qml.CNOT(wires=[0, 1])
        return qml.expval(qml.PauliZ(1))

    def cost(w, scale):
        return scale * jnp.cos(circuit(w)), circuit(w) ** 2
    """
)

C_MAIN = textwrap.dedent(
    """
    #include <stdio.h>
    #include "cost.h"
    #include "kvant/runtime.h"

    int main(void) {
      double w[2] = {0.3, -1.1}, scale = 2.5, out0 = 0, out1 = 0;
      kvant_memref_float64_1d arg0 = {w, w, 0, {2}, {1}};
      kvant_memref_float64_0d arg1 = {&scale, &scale, 0};
      kvant_memref_float64_0d res0 = {&out0, &out0, 0};
      kvant_memref_float64_0d res1 = {&out1, &out1, 0};
      _mlir_ciface_jit_cost(&arg0, &arg1, &res0, &res1);
      if (kvant_rt_error()) { fprintf(stderr, "%s\\n", kvant_rt_error()); return 1; }
      printf("%.15f %.15f\\n", out0, out1);
      return 0;
    }
    """
)


def reference(w, scale):
    namespace = {}
    exec(PROGRAM.format(device="default.qubit"), namespace)
    return namespace["cost"](jnp.asarray(w), scale)


@pytest.fixture
def compiled(tmp_path):
    source = tmp_path / "prog.py"
    source.write_text(PROGRAM.format(device="kvant.qubit"))
    out = tmp_path / "cost.so"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvant.cli",
            "compile",
            f"{source}:cost",
            "--args",
            "f64[2], f64",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.exists() and out.with_suffix(".h").exists()
    return out


def test_c_program_calls_the_library(compiled, tmp_path):
    (tmp_path / "main.c").write_text(C_MAIN)
    exe = tmp_path / "main"
    build = subprocess.run(
        [
            "cc",
            "-o",
            str(exe),
            str(tmp_path / "main.c"),
            f"-I{tmp_path}",
            f"-I{_paths.include_dir()}",
            str(compiled),
            f"-L{_paths.runtime_library().parent}",
            "-lkvant_rt",
            f"-Wl,-rpath,{tmp_path}:{_paths.runtime_library().parent}",
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got = [float(v) for v in run.stdout.split()]
    want = reference([0.3, -1.1], 2.5)
    np.testing.assert_allclose(got, [float(v) for v in want], atol=1e-12)


def test_python_loads_the_library(compiled):
    lib = CompiledLibrary(
        compiled,
        "jit_cost",
        [jax.core.ShapedArray((2,), np.float64), jax.core.ShapedArray((), np.float64)],
        [jax.core.ShapedArray((), np.float64)] * 2,
    )
    got = lib(np.array([0.3, -1.1]), np.asarray(2.5))
    np.testing.assert_allclose(
        [float(v) for v in got], [float(v) for v in reference([0.3, -1.1], 2.5)], atol=1e-12
    )


@pytest.mark.parametrize(
    "stage, marker",
    [
        ("jaxpr", "kvant_qnode"),
        ("mlir", "quantum.custom"),
        ("mlir-lowered", "llvm.func"),
        ("llvm", "define"),
    ],
)
def test_emit_stages(tmp_path, stage, marker):
    source = tmp_path / "prog.py"
    source.write_text(PROGRAM.format(device="kvant.qubit"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kvant.cli",
            "compile",
            f"{source}:cost",
            "--args",
            "f64[2], f64",
            "--emit",
            stage,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout


def test_bad_signature_is_reported(tmp_path):
    source = tmp_path / "prog.py"
    source.write_text(PROGRAM.format(device="kvant.qubit"))
    done = subprocess.run(
        [sys.executable, "-m", "kvant.cli", "compile", f"{source}:cost", "--args", "float[2]"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "bad argument type" in done.stderr


def test_help_explains_usage():
    done = subprocess.run(
        [sys.executable, "-m", "kvant.cli", "compile", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--args" in done.stdout and "FILE.py:FUNCTION" in done.stdout


def test_qjit_compiles_ahead_of_time_from_annotations():
    calls = []

    @kvant.qjit
    def f(x: jax.ShapeDtypeStruct((3,), jnp.float64)):
        calls.append(1)
        return jnp.sum(jnp.sin(x))

    assert len(calls) == 1  # traced at decoration
    np.testing.assert_allclose(f(np.array([0.1, 0.2, 0.3])), np.sum(np.sin([0.1, 0.2, 0.3])))
    assert len(calls) == 1


def test_calls_that_differ_from_the_declared_signature():
    calls = []

    @kvant.qjit
    def f(x: jax.ShapeDtypeStruct((3,), jnp.float64), n: jax.ShapeDtypeStruct((), jnp.int64)):
        calls.append(1)
        return jnp.sum(x) * n

    # Safe casts (float32 -> float64, int32 -> int64) reuse the declared program, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(np.array([0.5, 1.5, 2.0], np.float32), np.int32(3))
    assert len(calls) == 1 and out.dtype == jnp.float64
    np.testing.assert_allclose(out, 12.0)
    # Another shape cannot be cast: kvant says so and compiles for it.
    with pytest.warns(UserWarning, match=r"argument x is float64\[4\], declared float64\[3\]"):
        np.testing.assert_allclose(f(np.ones(4), 2), 8.0)
    assert len(calls) == 2
    # float64 -> int64 would lose information: the same.
    with pytest.warns(UserWarning, match=r"argument n is float64\[\], declared int64\[\]"):
        np.testing.assert_allclose(f(np.ones(3), 2.5), 7.5)


# -- what the command writes: headers that compose, a library that moves, errors reported -----

SECOND_PROGRAM = textwrap.dedent(
    """
    import jax.numpy as jnp
    import pennylane as qml
    import kvant

    @qml.qnode(qml.device("kvant.qubit", wires=2))
    def circuit(x, w):
        kvant.for_loop(0, 1, 1)(lambda i: qml.RX(x, wires=w + i))()
        return qml.expval(qml.PauliZ(0))

    def energy(x, w):
        return circuit(x, w)

    def cost(w, scale):  # the same name as PROGRAM's function, in another file
        return jnp.sum(w) * scale
    """
)


def kvant_compile(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "kvant.cli", "compile", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_headers_of_several_programs_compose(compiled, tmp_path):
    source = tmp_path / "second.py"
    source.write_text(SECOND_PROGRAM)
    done = kvant_compile(
        f"{source}:energy", "--args", "f64, i64", "-o", str(tmp_path / "energy.so")
    )
    assert done.returncode == 0, done.stderr
    (tmp_path / "both.c").write_text(
        '#include "cost.h"\n#include "energy.h"\n#include "kvant/runtime.h"\n#include "cost.h"\n'
        "int main(void) { return 0; }\n"
    )
    build = subprocess.run(
        [
            "cc",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
            str(tmp_path / "both.c"),
            f"-I{tmp_path}",
            f"-I{_paths.include_dir()}",
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr


RELOCATED_MAIN = textwrap.dedent(
    """
    #define _GNU_SOURCE
    #include <dlfcn.h>
    #include <stdio.h>
    #include "energy.h"

    int main(int argc, char **argv) {
      void *lib = dlopen(argv[1], RTLD_NOW);
      if (!lib) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
      void (*entry)() = (void (*)())dlsym(lib, "_mlir_ciface_jit_energy");
      const char *(*error)(void) = (const char *(*)(void))dlsym(lib, "kvant_rt_error");
      Dl_info info;
      if (!entry || !error || !dladdr((void *)error, &info)) return 2;
      printf("%s\\n", info.dli_fname);  /* where the runtime was loaded from */
      double x = 0.3, out = 0; int64_t w = 0;
      kvant_memref_float64_0d a0 = {&x, &x, 0}, r0 = {&out, &out, 0};
      kvant_memref_int64_0d a1 = {&w, &w, 0};
      entry(&a0, &a1, &r0);
      printf("%.15f\\n", out);
      return error() != NULL;
    }
    """
)


def test_the_library_loads_from_another_directory(tmp_path):
    built, moved = tmp_path / "built", tmp_path / "moved"
    built.mkdir()
    source = built / "second.py"
    source.write_text(SECOND_PROGRAM)
    done = kvant_compile(f"{source}:energy", "--args", "f64, i64", "-o", str(built / "energy.so"))
    assert done.returncode == 0, done.stderr
    assert (built / "libkvant_rt.so").exists()
    shutil.copytree(built, moved)
    shutil.rmtree(built)
    (moved / "main.c").write_text(RELOCATED_MAIN)
    exe = moved / "main"
    build = subprocess.run(
        ["cc", "-o", str(exe), str(moved / "main.c"), f"-I{moved}", "-ldl"],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    run = subprocess.run(
        [str(exe), str(moved / "energy.so")], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    runtime_path, value = run.stdout.split()
    assert Path(runtime_path).resolve() == (moved / "libkvant_rt.so").resolve()
    assert float(value) == pytest.approx(np.cos(0.3), abs=1e-12)


ERROR_MAIN = textwrap.dedent(
    """
    #include <stdio.h>
    #include "energy.h"

    static const char *run(double x, int64_t w, double *out) {
      kvant_memref_float64_0d a0 = {&x, &x, 0}, r0 = {out, out, 0};
      kvant_memref_int64_0d a1 = {&w, &w, 0};
      return kvant_run_jit_energy(&a0, &a1, &r0);
    }

    int main(void) {
      double out = 0;
      const char *error = run(0.3, 5, &out);  /* wire 5 of 2 */
      printf("%s\\n", error ? "error" : "none");
      error = run(0.3, 0, &out);  /* a valid call right after */
      printf("%s %.15f\\n", error ? error : "none", out);
      return 0;
    }
    """
)


def test_errors_through_the_header(tmp_path):
    source = tmp_path / "second.py"
    source.write_text(SECOND_PROGRAM)
    done = kvant_compile(
        f"{source}:energy", "--args", "f64, i64", "-o", str(tmp_path / "energy.so")
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "energy.h").read_text()
    assert "kvant_rt_clear_error()" in text and "NaN" in text  # the protocol is documented
    (tmp_path / "main.c").write_text(ERROR_MAIN)
    exe = tmp_path / "main"
    build = subprocess.run(
        [
            "cc",
            "-o",
            str(exe),
            str(tmp_path / "main.c"),
            f"-I{tmp_path}",
            str(tmp_path / "energy.so"),
            f"-L{tmp_path}",
            "-lkvant_rt",
            f"-Wl,-rpath,{tmp_path}",
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.splitlines()
    assert first == "error"
    status, value = second.split()
    assert status == "none" and float(value) == pytest.approx(np.cos(0.3), abs=1e-12)


def test_compile_refuses_to_overwrite_its_source(tmp_path):
    source = tmp_path / "prog.py"
    text = PROGRAM.format(device="kvant.qubit")
    source.write_text(text)
    done = kvant_compile(f"{source}:cost", "--args", "f64[2], f64", "-o", str(source))
    assert done.returncode != 0 and "source file" in done.stderr
    assert source.read_text() == text
    done = kvant_compile("prog.py:cost", "--args", "f64[2], f64", "-o", "./prog.py", cwd=tmp_path)
    assert done.returncode != 0 and source.read_text() == text


VECTOR_PROGRAM = textwrap.dedent(
    """
    def affine(x):
        return 2.0 * x + 1.0
    """
)


def _wide_registers(library: Path) -> set:
    """The AVX (ymm) and AVX-512 (zmm) registers the library's own code uses."""
    import importlib.util

    llvm = importlib.util.find_spec("llvm")
    bins = [str(Path(p) / "bin") for p in (llvm.submodule_search_locations or [])] if llvm else []
    tool = shutil.which("llvm-objdump", path=os.pathsep.join(bins)) or shutil.which("objdump")
    if tool is None:
        pytest.skip("no llvm-objdump (LLVM tools wheel) or objdump to disassemble the library")
    text = subprocess.run(
        [tool, "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True
    ).stdout
    return {kind for kind in ("ymm", "zmm") if f"%{kind}" in text}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 register names")
def test_ahead_of_time_code_runs_on_any_cpu_of_the_architecture_unless_told(tmp_path):
    """``kvant compile`` generates code for the architecture's baseline (a library may be shipped
    to an older machine): no AVX registers in a vectorisable loop, and the values of jax.jit;
    ``--cpu x86-64-v3`` (a named CPU) uses them; an unknown CPU is refused by name."""
    source = tmp_path / "vec.py"
    source.write_text(VECTOR_PROGRAM)
    outputs = {}
    for cpu in (None, "x86-64-v3"):
        out = tmp_path / f"affine-{cpu or 'default'}.so"
        command = [sys.executable, "-m", "kvant.cli", "compile", f"{source}:affine"]
        command += ["--args", "f64[64]", "-o", str(out)] + (["--cpu", cpu] if cpu else [])
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs[cpu] = out
    assert _wide_registers(outputs[None]) == set()
    assert "ymm" in _wide_registers(outputs["x86-64-v3"])

    x = np.linspace(-1.0, 1.0, 64)
    for out in outputs.values():
        aval = jax.core.ShapedArray((64,), np.float64)
        library = CompiledLibrary(out, "jit_affine", [aval], [aval])
        np.testing.assert_allclose(np.asarray(library(x)[0]), 2.0 * x + 1.0, rtol=0, atol=0)

    done = subprocess.run(
        [sys.executable, "-m", "kvant.cli", "compile", f"{source}:affine", "--args", "f64[64]"]
        + ["-o", str(tmp_path / "bad.so"), "--cpu", "pentium-9000"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "unknown CPU 'pentium-9000'" in done.stderr and "Traceback" not in done.stderr
