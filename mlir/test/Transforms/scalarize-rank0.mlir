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

// JAX's p[k] (slice + squeeze) read by a gate: the element is read from p itself, the slice
// and the squeeze are dead. A slice of a slice composes its offsets and strides.
// CHECK-LABEL: func.func @element_of_slice
// CHECK-SAME: (%[[P:.*]]: tensor<8xf64>, %[[Q:.*]]: tensor<4x6xf64>)
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[X:.*]] = tensor.extract %[[P]][%[[C3]]] : tensor<8xf64>
// CHECK-DAG: %[[Y:.*]] = tensor.extract %[[Q]][%[[C2]], %[[C5]]] : tensor<4x6xf64>
// CHECK-NOT: tensor.extract_slice
// CHECK-NOT: tensor.collapse_shape
// CHECK: return %[[X]], %[[Y]]
func.func @element_of_slice(%p: tensor<8xf64>, %q: tensor<4x6xf64>) -> (f64, f64) {
  %s = tensor.extract_slice %p[3] [1] [1] : tensor<8xf64> to tensor<1xf64>
  %c = tensor.collapse_shape %s [] : tensor<1xf64> into tensor<f64>
  %x = tensor.extract %c[] : tensor<f64>
  // rows 0, 2 (stride 2) of q, columns 1..5; then its row 1, element 4: q[2, 5]
  %c1 = arith.constant 1 : index
  %r = tensor.extract_slice %q[0, 1] [2, 5] [2, 1] : tensor<4x6xf64> to tensor<2x5xf64>
  %row = tensor.extract_slice %r[1, 0] [1, 5] [1, 1] : tensor<2x5xf64> to tensor<5xf64>
  %c4 = arith.constant 4 : index
  %y = tensor.extract %row[%c4] : tensor<5xf64>
  return %x, %y : f64, f64
}

// A dynamic row (p[i, k] in a loop): index arithmetic on the row, the column constant.
// CHECK-LABEL: func.func @dynamic_row
// CHECK-SAME: (%[[P:.*]]: tensor<2x6xf64>, %[[I:.*]]: index)
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: %[[X:.*]] = tensor.extract %[[P]][%[[I]], %[[C4]]] : tensor<2x6xf64>
// CHECK: return %[[X]]
func.func @dynamic_row(%p: tensor<2x6xf64>, %i: index) -> f64 {
  %s = tensor.extract_slice %p[%i, 4] [1, 1] [1, 1] : tensor<2x6xf64> to tensor<1x1xf64>
  %c = tensor.collapse_shape %s [] : tensor<1x1xf64> into tensor<f64>
  %x = tensor.extract %c[] : tensor<f64>
  return %x : f64
}

// A reshape that merges dimensions of more than one element is left alone.
// CHECK-LABEL: func.func @merging_reshape
// CHECK: tensor.collapse_shape
// CHECK: tensor.extract %{{.*}}[%{{.*}}] : tensor<6xf64>
func.func @merging_reshape(%p: tensor<2x3xf64>, %i: index) -> f64 {
  %c = tensor.collapse_shape %p [[0, 1]] : tensor<2x3xf64> into tensor<6xf64>
  %x = tensor.extract %c[%i] : tensor<6xf64>
  return %x : f64
}
