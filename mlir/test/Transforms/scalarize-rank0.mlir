// RUN: kvant-opt %s --kvant-scalarize-rank0 --canonicalize | FileCheck %s
// RUN: kvant-opt %s --kvant-scalarize-rank0 | FileCheck %s --check-prefix=ONCE

// A chain of rank-0 tensor ops becomes scalar code; only the result is a tensor again.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[A:.*]]: tensor<f64>, %[[B:.*]]: tensor<f64>)
// CHECK-DAG: %[[X:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK-DAG: %[[Y:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK: %[[M:.*]] = arith.mulf %[[X]], %[[Y]] : f64
// CHECK: %[[S:.*]] = math.sin %[[M]] : f64
// CHECK: %[[R:.*]] = tensor.from_elements %[[S]] : tensor<f64>
// CHECK: return %[[R]]
func.func @chain(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %m = arith.mulf %a, %b : tensor<f64>
  %s = math.sin %m : tensor<f64>
  return %s : tensor<f64>
}

// Comparisons keep their attributes; ranked (non-scalar) tensors are left alone.
// CHECK-LABEL: func.func @mixed
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f64
// CHECK: arith.addf %{{.*}}, %{{.*}} : tensor<3xf64>
func.func @mixed(%a: tensor<f64>, %v: tensor<3xf64>) -> (tensor<i1>, tensor<3xf64>) {
  %c = arith.cmpf olt, %a, %a : tensor<f64>
  %w = arith.addf %v, %v : tensor<3xf64>
  return %c, %w : tensor<i1>, tensor<3xf64>
}

// A tensor read by several ops is extracted once, right after its definition, by the pass
// itself (not left to a later CSE); results feed the next op as scalars.
// ONCE-LABEL: func.func @shared_operand
// ONCE-SAME: (%[[A:.*]]: tensor<f64>)
// ONCE-NEXT: %[[X:.*]] = tensor.extract %[[A]][] : tensor<f64>
// ONCE-NOT: tensor.extract
// ONCE: %[[M:.*]] = arith.mulf %[[X]], %[[X]] : f64
// ONCE-NOT: tensor.extract
// ONCE: math.cos %[[X]] : f64
// ONCE-NOT: tensor.extract
// ONCE: arith.addf %[[M]], %{{.*}} : f64
// ONCE-NOT: tensor.extract
// ONCE: return
func.func @shared_operand(%a: tensor<f64>) -> tensor<f64> {
  %m = arith.mulf %a, %a : tensor<f64>
  %c = math.cos %a : tensor<f64>
  %s = arith.addf %m, %c : tensor<f64>
  return %s : tensor<f64>
}
