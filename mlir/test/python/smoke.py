# Smoke test of the _kvant_mlir extension inside the upstream `mlir` Python bindings, with the
# pass pipeline the frontend runs (frontend/kvant/compiler/pipeline.py, loaded from its file: the
# lit suite puts only the build tree on PYTHONPATH, and the kvant package would import JAX).
# RUN: %python %s %t.o | FileCheck %s
#
# Run by hand: PYTHONPATH=<build>/mlir/python_packages python mlir/test/python/smoke.py /tmp/x.o
# (from any folder but the repository root: there `mlir` would resolve to our source folder).
import ctypes
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
from mlir import execution_engine, ir, passmanager
from mlir.runtime import get_ranked_memref_descriptor

# isort: split
# After the bindings: the extension links the libraries `import mlir` loads.
import _kvant_mlir as kv

# CHECK: gates: 33 RX (1, 1) MultiRZ (1, -1)
gates = {name: (p, w) for name, p, w in kv.gate_table()}
print("gates:", len(gates), "RX", gates["RX"], "MultiRZ", gates["MultiRZ"])
# CHECK: observables: ['Identity', 'PauliX', 'PauliY', 'PauliZ', 'Hadamard']
print("observables:", kv.observable_names())

CIRCUIT = """
func.func @circuit(%x: tensor<f64>) -> tensor<f64> {
  %r = quantum.alloc(1)
  %q = quantum.extract %r[0]
  %t = tensor.extract %x[] : tensor<f64>
  %q1 = quantum.custom "RX"(%t) %q : !quantum.bit
  %o = quantum.namedobs "PauliZ" %q1
  %e = quantum.expval %o
  quantum.dealloc %r
  %et = tensor.from_elements %e : tensor<f64>
  return %et : tensor<f64>
}
func.func @main(%x: tensor<f64>) -> tensor<f64> attributes {llvm.emit_c_interface} {
  %g = gradient.grad "fd" @circuit(%x)
      {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-07 : f64}
      : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}
"""

# Pure classical: run it in the ExecutionEngine to check the fd numbers.
CLASSICAL = """
func.func @cube(%x: tensor<3xf64>) -> tensor<f64> {
  %y = arith.mulf %x, %x : tensor<3xf64>
  %z = arith.mulf %y, %x : tensor<3xf64>
  %init = arith.constant dense<0.0> : tensor<f64>
  %s = linalg.reduce ins(%z : tensor<3xf64>) outs(%init : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %c = arith.addf %a, %b : f64
                         linalg.yield %c : f64 }
  return %s : tensor<f64>
}
func.func @main(%x: tensor<3xf64>) -> tensor<3xf64> attributes {llvm.emit_c_interface} {
  %g = gradient.grad "fd" @cube(%x) {diffArgIndices = array<i64: 0>, finiteDiffParam = 1.0e-6 : f64}
      : (tensor<3xf64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}
"""

_PIPELINE_SOURCE = (
    Path(__file__).resolve().parents[3] / "frontend" / "kvant" / "compiler" / "pipeline.py"
)
_spec = importlib.util.spec_from_file_location("kvant_pipeline", _PIPELINE_SOURCE)
_pipeline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_pipeline)
PIPELINE = _pipeline.pipeline()

with ir.Context() as ctx:
    kv.register_dialects(ctx)
    kv.register_dialects(ctx)  # idempotent
    module = ir.Module.parse(CIRCUIT)
    # Generic construction, as the frontend does it (inside a module, so the ops are owned).
    generic = ir.Module.create(loc=ir.Location.unknown())
    with ir.Location.unknown(), ir.InsertionPoint(generic.body):
        bit = ir.Type.parse("!quantum.bit")
        reg = ir.Type.parse("!quantum.reg")
        alloc = ir.Operation.create(
            "quantum.alloc",
            results=[reg],
            attributes={"nqubits": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 2)},
        )
        ext = ir.Operation.create(
            "quantum.extract",
            results=[bit],
            operands=[alloc.result],
            attributes={"idx_attr": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 1)},
        )
        gate = ir.Operation.create(
            "quantum.custom",
            results=[bit],
            operands=[ext.result],
            attributes={
                "gate_name": ir.StringAttr.get("Hadamard"),
                "operandSegmentSizes": ir.DenseI32ArrayAttr.get([0, 1, 0, 0]),
                "resultSegmentSizes": ir.DenseI32ArrayAttr.get([1, 0]),
            },
        )
        ir.Operation.create("quantum.dealloc", operands=[alloc.result])
    # CHECK: %{{.*}} = quantum.custom "Hadamard"() %{{.*}} : !quantum.bit
    print(gate)
    assert generic.operation.verify()

    pm = passmanager.PassManager.parse(PIPELINE)
    pm.run(module.operation)
    ir_text = kv.translate_to_llvm_ir(module)
    # CHECK: declare void @kvant_rt_gate_small(i64, i64, i64, i64, double, double, double,
    # CHECK-SAME: i8 signext)
    print([line for line in ir_text.splitlines() if "@kvant_rt_gate_small" in line][0])
    path = sys.argv[1]
    kv.emit_object(module, path, opt_level=3)
    with open(path, "rb") as f:
        head = f.read(4)
    # CHECK: object: True
    print("object:", head == b"\x7fELF" and os.path.getsize(path) > 0)

    # Errors become exceptions, not aborts.
    try:
        kv.translate_to_llvm_ir(ir.Module.parse(CIRCUIT))
    except RuntimeError as e:
        # CHECK: error: kvant: translation to LLVM IR failed: {{.*}}
        print("error:", str(e).splitlines()[0])
    try:
        kv.emit_object(module, path, opt_level=7)
    except RuntimeError as e:
        # CHECK: error: kvant: object emission failed: opt_level must be 0, 1, 2 or 3, got 7
        print("error:", e)
    try:
        kv.emit_object(module, "/nonexistent-dir/x.o")
    except RuntimeError as e:
        # CHECK: error: kvant: object emission failed: cannot open /nonexistent-dir/x.o
        print("error:", e)

    # Finite differences, numerically: d/dx sum(x^3) = 3 x^2.
    classical = ir.Module.parse(CLASSICAL)
    passmanager.PassManager.parse(PIPELINE).run(classical.operation)
    engine = execution_engine.ExecutionEngine(classical, opt_level=2)
    x = np.array([1.0, 2.0, -0.5])
    # The pipeline turns results into out-parameters the caller allocates (arguments first).
    grad = np.zeros(3)
    arg = ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(x)))
    out = ctypes.pointer(ctypes.pointer(get_ranked_memref_descriptor(grad)))
    engine.invoke("main", arg, out)
    # CHECK: fd ok: True
    print("fd ok:", bool(np.allclose(grad, 3 * x * x, rtol=1e-4, atol=1e-4)), grad)
