// RUN: kvant-opt %s --kvant-gather-elements -split-input-file | FileCheck %s
// RUN: kvant-opt %s --kvant-gather-elements --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --convert-linalg-to-loops -split-input-file | FileCheck %s --check-prefix=LOOP

// Gate parameters p[k] = x[i_k] (16 of them, one read twice): one tensor.generate reading x at
// a constant table of the indices, in the order of the elements; the reads are gone. After
// bufferization, one loop.
// CHECK-LABEL: func.func @parameters(
// CHECK-SAME: %[[X:.*]]: tensor<20xf64>)
// CHECK-NOT: tensor.from_elements
// CHECK: %[[T:.*]] = arith.constant dense<{{\[}}[0], [1], [2], [3], [7], [8], [9], [10], [14], [15], [16], [17], [19], [18], [0], [0]]> : tensor<16x1xindex>
// CHECK: %[[G:.*]] = tensor.generate {
// CHECK: ^bb0(%[[K:.*]]: index):
// CHECK: %[[I:.*]] = tensor.extract %[[T]][%[[K]], %{{.*}}] : tensor<16x1xindex>
// CHECK: %[[V:.*]] = tensor.extract %[[X]][%[[I]]] : tensor<20xf64>
// CHECK: tensor.yield %[[V]] : f64
// CHECK: } : tensor<16xf64>
// CHECK-NOT: tensor.extract
// CHECK: return %[[G]]
// LOOP-LABEL: func.func @parameters(
// LOOP: scf.for
// LOOP: memref.load
// LOOP: memref.load
// LOOP: memref.store
// LOOP-NOT: memref.store
// LOOP: return
func.func @parameters(%x: tensor<20xf64>) -> tensor<16xf64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %c8 = arith.constant 8 : index
  %c9 = arith.constant 9 : index
  %c10 = arith.constant 10 : index
  %c14 = arith.constant 14 : index
  %c15 = arith.constant 15 : index
  %c16 = arith.constant 16 : index
  %c17 = arith.constant 17 : index
  %c18 = arith.constant 18 : index
  %c19 = arith.constant 19 : index
  %e0 = tensor.extract %x[%c0] : tensor<20xf64>
  %e1 = tensor.extract %x[%c1] : tensor<20xf64>
  %e2 = tensor.extract %x[%c2] : tensor<20xf64>
  %e3 = tensor.extract %x[%c3] : tensor<20xf64>
  %e7 = tensor.extract %x[%c7] : tensor<20xf64>
  %e8 = tensor.extract %x[%c8] : tensor<20xf64>
  %e9 = tensor.extract %x[%c9] : tensor<20xf64>
  %e10 = tensor.extract %x[%c10] : tensor<20xf64>
  %e14 = tensor.extract %x[%c14] : tensor<20xf64>
  %e15 = tensor.extract %x[%c15] : tensor<20xf64>
  %e16 = tensor.extract %x[%c16] : tensor<20xf64>
  %e17 = tensor.extract %x[%c17] : tensor<20xf64>
  %e18 = tensor.extract %x[%c18] : tensor<20xf64>
  %e19 = tensor.extract %x[%c19] : tensor<20xf64>
  %p = tensor.from_elements %e0, %e1, %e2, %e3, %e7, %e8, %e9, %e10, %e14, %e15, %e16, %e17, %e19, %e18, %e0, %e0 : tensor<16xf64>
  return %p : tensor<16xf64>
}

// -----

// All of a 2x8 tensor, element by element in its order: the tensor itself. A read used
// elsewhere too stays.
// CHECK-LABEL: func.func @whole(
// CHECK-SAME: %[[A:.*]]: tensor<2x8xf64>)
// CHECK-NOT: tensor.from_elements
// CHECK-NOT: tensor.generate
// CHECK: %[[E:.*]] = tensor.extract %[[A]][%{{.*}}, %{{.*}}] : tensor<2x8xf64>
// CHECK-NOT: tensor.extract
// CHECK: return %[[A]], %[[E]]
func.func @whole(%a: tensor<2x8xf64>) -> (tensor<2x8xf64>, f64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c7 = arith.constant 7 : index
  %e00 = tensor.extract %a[%c0, %c0] : tensor<2x8xf64>
  %e01 = tensor.extract %a[%c0, %c1] : tensor<2x8xf64>
  %e02 = tensor.extract %a[%c0, %c2] : tensor<2x8xf64>
  %e03 = tensor.extract %a[%c0, %c3] : tensor<2x8xf64>
  %e04 = tensor.extract %a[%c0, %c4] : tensor<2x8xf64>
  %e05 = tensor.extract %a[%c0, %c5] : tensor<2x8xf64>
  %e06 = tensor.extract %a[%c0, %c6] : tensor<2x8xf64>
  %e07 = tensor.extract %a[%c0, %c7] : tensor<2x8xf64>
  %e10 = tensor.extract %a[%c1, %c0] : tensor<2x8xf64>
  %e11 = tensor.extract %a[%c1, %c1] : tensor<2x8xf64>
  %e12 = tensor.extract %a[%c1, %c2] : tensor<2x8xf64>
  %e13 = tensor.extract %a[%c1, %c3] : tensor<2x8xf64>
  %e14 = tensor.extract %a[%c1, %c4] : tensor<2x8xf64>
  %e15 = tensor.extract %a[%c1, %c5] : tensor<2x8xf64>
  %e16 = tensor.extract %a[%c1, %c6] : tensor<2x8xf64>
  %e17 = tensor.extract %a[%c1, %c7] : tensor<2x8xf64>
  %t = tensor.from_elements %e00, %e01, %e02, %e03, %e04, %e05, %e06, %e07, %e10, %e11, %e12, %e13, %e14, %e15, %e16, %e17 : tensor<2x8xf64>
  return %t, %e13 : tensor<2x8xf64>, f64
}

// -----

// Left alone: fewer than 16 elements; an element that is not a read; reads of two tensors;
// a read at an index known at run time only; all of a tensor in another order (a 2-D result,
// which a gather does not build).
// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT: tensor.generate
// CHECK-COUNT-5: tensor.from_elements
// CHECK-NOT: tensor.generate
// CHECK: return
func.func @left_alone(%x: tensor<16xf64>, %y: tensor<16xf64>, %i: index, %s: f64)
    -> (tensor<15xf64>, tensor<16xf64>, tensor<16xf64>, tensor<16xf64>, tensor<4x4xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %x0 = tensor.extract %x[%c0] : tensor<16xf64>
  %x1 = tensor.extract %x[%c1] : tensor<16xf64>
  %x2 = tensor.extract %x[%c2] : tensor<16xf64>
  %x3 = tensor.extract %x[%c3] : tensor<16xf64>
  %y0 = tensor.extract %y[%c0] : tensor<16xf64>
  %xi = tensor.extract %x[%i] : tensor<16xf64>
  %few = tensor.from_elements %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2 : tensor<15xf64>
  %scalar = tensor.from_elements %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %s : tensor<16xf64>
  %two = tensor.from_elements %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %y0 : tensor<16xf64>
  %dynamic = tensor.from_elements %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %xi : tensor<16xf64>
  %square = tensor.from_elements %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3, %x0, %x1, %x2, %x3 : tensor<4x4xf64>
  return %few, %scalar, %two, %dynamic, %square : tensor<15xf64>, tensor<16xf64>, tensor<16xf64>, tensor<16xf64>, tensor<4x4xf64>
}
