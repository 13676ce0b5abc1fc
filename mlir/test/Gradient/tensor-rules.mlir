// gradient-expand-auto: the reverse rules of tensor / linalg ops (TensorRules.cpp) and of
// scf.index_switch (ControlFlowRules.cpp) that expand-auto.mlir does not pin down. Each case
// differentiates a scalar function; most end in a sum (linalg.reduce with addf), whose rule
// hands the op under test a cotangent made by linalg.broadcast of the seed.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// linalg.transpose: the result's dim i is the input's dim perm[i], so the cotangent goes back
// through a transpose by the inverse permutation ([1, 2, 0] -> [2, 0, 1]).
func.func private @transpose(%x: tensor<2x3x4xf64>) -> tensor<f64> {
  %e = tensor.empty() : tensor<3x4x2xf64>
  %t = linalg.transpose ins(%x : tensor<2x3x4xf64>) outs(%e : tensor<3x4x2xf64>) permutation = [1, 2, 0]
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%t : tensor<3x4x2xf64>) outs(%z : tensor<f64>) dimensions = [0, 1, 2]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @transpose.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3x4xf64>)
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<2x3x4xf64>) outs(%{{.*}} : tensor<3x4x2xf64>) permutation = [1, 2, 0]
// CHECK: linalg.reduce ins(%[[T]] : tensor<3x4x2xf64>)
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<3x4x2xf64>)
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x3x4xf64>
// CHECK: %[[DX:.*]] = linalg.transpose ins(%[[CT]] : tensor<3x4x2xf64>) outs(%[[INIT]] : tensor<2x3x4xf64>) permutation = [2, 0, 1]
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_transpose(%x: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  %g = gradient.grad "auto" @transpose(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3x4xf64>) -> tensor<2x3x4xf64>
  return %g : tensor<2x3x4xf64>
}

// -----

// linalg.broadcast: every input element is copied along the added dims, so its cotangent is
// the cotangent summed over exactly those dims ([0, 2]), starting from zeros.
func.func private @broadcast(%x: tensor<3xf64>) -> tensor<f64> {
  %e = tensor.empty() : tensor<2x3x4xf64>
  %b = linalg.broadcast ins(%x : tensor<3xf64>) outs(%e : tensor<2x3x4xf64>) dimensions = [0, 2]
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%b : tensor<2x3x4xf64>) outs(%z : tensor<f64>) dimensions = [0, 1, 2]
    (%p: f64, %q: f64) { %u = arith.addf %p, %q : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @broadcast.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<3xf64>)
// CHECK: linalg.broadcast ins(%[[X]] : tensor<3xf64>) outs(%{{.*}} : tensor<2x3x4xf64>) dimensions = [0, 2]
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x3x4xf64>) dimensions = [0, 1, 2]
// CHECK: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK: %[[DX:.*]] = linalg.reduce ins(%[[CT]] : tensor<2x3x4xf64>) outs(%[[ZEROS]] : tensor<3xf64>) dimensions = [0, 2]
// CHECK-NEXT: (%[[A:[a-z0-9_]+]]: f64, %[[B:[a-z0-9_]+]]: f64) {
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f64
// CHECK-NEXT: linalg.yield %[[S]] : f64
// CHECK: tensor.expand_shape %[[DX]]
func.func @grad_broadcast(%x: tensor<3xf64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @broadcast(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// linalg.fill: one scalar is written to every element, so its cotangent is the sum of the whole
// result cotangent (a reduce over all dims, then its element).
func.func private @fill(%x: tensor<f64>) -> tensor<f64> {
  %v = tensor.extract %x[] : tensor<f64>
  %e = tensor.empty() : tensor<2x3xf64>
  %f = linalg.fill ins(%v : f64) outs(%e : tensor<2x3xf64>) -> tensor<2x3xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%f : tensor<2x3xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @fill.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[V:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK: linalg.fill ins(%[[V]] : f64) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%[[CT]] : tensor<2x3xf64>) outs(%{{.*}} : tensor<f64>) dimensions = [0, 1]
// CHECK: %[[DV:.*]] = tensor.extract %[[SUM]][] : tensor<f64>
// CHECK: %[[DX:.*]] = tensor.from_elements %[[DV]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DX]]
func.func @grad_fill(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @fill(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tensor.splat: like fill, the scalar's cotangent is the sum of all of the result's cotangent.
func.func private @splat(%x: tensor<f64>) -> tensor<f64> {
  %v = tensor.extract %x[] : tensor<f64>
  %s = tensor.splat %v : tensor<2x3xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%s : tensor<2x3xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @splat.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[V:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK: tensor.splat %[[V]] : tensor<2x3xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%[[CT]] : tensor<2x3xf64>) outs(%{{.*}} : tensor<f64>) dimensions = [0, 1]
// CHECK: %[[DV:.*]] = tensor.extract %[[SUM]][] : tensor<f64>
// CHECK: %[[DX:.*]] = tensor.from_elements %[[DV]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DX]]
func.func @grad_splat(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @splat(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tensor.from_elements (several elements): element k of the row-major list gets the cotangent
// at the delinearized position of k; a scalar listed several times sums its positions' cotangents
// (%b sits at [0, 1], [1, 0] and [1, 1]; %a at [0, 0] only).
func.func private @elements(%x: tensor<f64>, %y: tensor<f64>) -> tensor<f64> {
  %a = tensor.extract %x[] : tensor<f64>
  %b = tensor.extract %y[] : tensor<f64>
  %t = tensor.from_elements %a, %b, %b, %b : tensor<2x2xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%t : tensor<2x2xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%p: f64, %q: f64) { %u = arith.addf %p, %q : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @elements.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<f64>, %[[Y:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK: %[[B:.*]] = tensor.extract %[[Y]][] : tensor<f64>
// CHECK: tensor.from_elements %[[A]], %[[B]], %[[B]], %[[B]] : tensor<2x2xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x2xf64>)
// CHECK: %[[I0:.*]] = arith.constant 0 : index
// CHECK: %[[J0:.*]] = arith.constant 0 : index
// CHECK: %[[E00:.*]] = tensor.extract %[[CT]][%[[I0]], %[[J0]]] : tensor<2x2xf64>
// CHECK: %[[I1:.*]] = arith.constant 0 : index
// CHECK: %[[J1:.*]] = arith.constant 1 : index
// CHECK: %[[E01:.*]] = tensor.extract %[[CT]][%[[I1]], %[[J1]]] : tensor<2x2xf64>
// CHECK: %[[I2:.*]] = arith.constant 1 : index
// CHECK: %[[J2:.*]] = arith.constant 0 : index
// CHECK: %[[E10:.*]] = tensor.extract %[[CT]][%[[I2]], %[[J2]]] : tensor<2x2xf64>
// CHECK: %[[S1:.*]] = arith.addf %[[E01]], %[[E10]] : f64
// CHECK: %[[I3:.*]] = arith.constant 1 : index
// CHECK: %[[J3:.*]] = arith.constant 1 : index
// CHECK: %[[E11:.*]] = tensor.extract %[[CT]][%[[I3]], %[[J3]]] : tensor<2x2xf64>
// CHECK: %[[S2:.*]] = arith.addf %[[S1]], %[[E11]] : f64
// CHECK: %[[DX:.*]] = tensor.from_elements %[[E00]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DX]]
// CHECK: %[[DY:.*]] = tensor.from_elements %[[S2]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DY]]
func.func @grad_elements(%x: tensor<f64>, %y: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @elements(%x, %y) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// tensor.insert: the inserted scalar gets the cotangent at the insert position; the destination
// gets the cotangent with that position zeroed (its old value there was overwritten). Both use
// the forward op's own index value.
func.func private @insert(%x: tensor<3xf64>, %s: tensor<f64>) -> tensor<f64> {
  %c1 = arith.constant 1 : index
  %v = tensor.extract %s[] : tensor<f64>
  %i = tensor.insert %v into %x[%c1] : tensor<3xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%i : tensor<3xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @insert.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<3xf64>, %[[S:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[V:.*]] = tensor.extract %[[S]][] : tensor<f64>
// CHECK: tensor.insert %[[V]] into %[[X]][%[[C1]]] : tensor<3xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<3xf64>)
// CHECK: %[[DV:.*]] = tensor.extract %[[CT]][%[[C1]]] : tensor<3xf64>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[DX:.*]] = tensor.insert %[[ZERO]] into %[[CT]][%[[C1]]] : tensor<3xf64>
// CHECK: %[[DS:.*]] = tensor.from_elements %[[DV]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DS]]
// CHECK: tensor.expand_shape %[[DX]]
func.func @grad_insert(%x: tensor<3xf64>, %s: tensor<f64>) -> (tensor<3xf64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @insert(%x, %s) {diffArgIndices = array<i64: 0, 1>} : (tensor<3xf64>, tensor<f64>) -> (tensor<3xf64>, tensor<f64>)
  return %g#0, %g#1 : tensor<3xf64>, tensor<f64>
}

// -----

// tensor.extract_slice (strided): the slice's cotangent is written into zeros of the source's
// shape at the same offsets, sizes and strides; elements not read get zero.
func.func private @slice(%x: tensor<4x6xf64>) -> tensor<f64> {
  %s = tensor.extract_slice %x[1, 2] [2, 2] [1, 3] : tensor<4x6xf64> to tensor<2x2xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%s : tensor<2x2xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @slice.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<4x6xf64>)
// CHECK: tensor.extract_slice %[[X]][1, 2] [2, 2] [1, 3] : tensor<4x6xf64> to tensor<2x2xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x2xf64>)
// CHECK: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<4x6xf64>
// CHECK: %[[DX:.*]] = tensor.insert_slice %[[CT]] into %[[ZEROS]][1, 2] [2, 2] [1, 3] : tensor<2x2xf64> into tensor<4x6xf64>
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_slice(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %g = gradient.grad "auto" @slice(%x) {diffArgIndices = array<i64: 0>} : (tensor<4x6xf64>) -> tensor<4x6xf64>
  return %g : tensor<4x6xf64>
}

// -----

// tensor.extract_slice (rank-reducing, one row): the cotangent goes back through the same
// rank-reducing insert_slice, into row 2 of zeros.
func.func private @row(%x: tensor<4x6xf64>) -> tensor<f64> {
  %s = tensor.extract_slice %x[2, 0] [1, 6] [1, 1] : tensor<4x6xf64> to tensor<6xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%s : tensor<6xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @row.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<4x6xf64>)
// CHECK: tensor.extract_slice %[[X]][2, 0] [1, 6] [1, 1] : tensor<4x6xf64> to tensor<6xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<6xf64>)
// CHECK: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<4x6xf64>
// CHECK: %[[DX:.*]] = tensor.insert_slice %[[CT]] into %[[ZEROS]][2, 0] [1, 6] [1, 1] : tensor<6xf64> into tensor<4x6xf64>
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_row(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %g = gradient.grad "auto" @row(%x) {diffArgIndices = array<i64: 0>} : (tensor<4x6xf64>) -> tensor<4x6xf64>
  return %g : tensor<4x6xf64>
}

// -----

// tensor.extract_slice of one element: the element's cotangent (read at [0, 0] of the 1x1
// cotangent) lands at the slice's offset [1, 0], i.e. row-major position 3 of the 2x3 source.
func.func private @element(%x: tensor<2x3xf64>) -> tensor<f64> {
  %s = tensor.extract_slice %x[1, 0] [1, 1] [1, 1] : tensor<2x3xf64> to tensor<1x1xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%s : tensor<1x1xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @element.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>)
// CHECK: tensor.extract_slice %[[X]][1, 0] [1, 1] [1, 1] : tensor<2x3xf64> to tensor<1x1xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<1x1xf64>)
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[E:.*]] = tensor.extract %[[CT]][%[[C0]], %[[C0]]] : tensor<1x1xf64>
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[DX:.*]] = tensor.from_elements %[[Z]], %[[Z]], %[[Z]], %[[E]], %[[Z]], %[[Z]] : tensor<2x3xf64>
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_element(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %g = gradient.grad "auto" @element(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  return %g : tensor<2x3xf64>
}

// -----

// tensor.insert_slice: the source gets the cotangent's slice at the insert's offsets, sizes and
// strides; the destination gets the cotangent with that slice zeroed.
func.func private @insert_slice(%x: tensor<2x2xf64>, %y: tensor<4x4xf64>) -> tensor<f64> {
  %i = tensor.insert_slice %x into %y[1, 0] [2, 2] [2, 3] : tensor<2x2xf64> into tensor<4x4xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%i : tensor<4x4xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @insert_slice.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x2xf64>, %[[Y:[a-z0-9_]+]]: tensor<4x4xf64>)
// CHECK: tensor.insert_slice %[[X]] into %[[Y]][1, 0] [2, 2] [2, 3] : tensor<2x2xf64> into tensor<4x4xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<4x4xf64>)
// CHECK: %[[DX:.*]] = tensor.extract_slice %[[CT]][1, 0] [2, 2] [2, 3] : tensor<4x4xf64> to tensor<2x2xf64>
// CHECK: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<2x2xf64>
// CHECK: %[[DY:.*]] = tensor.insert_slice %[[ZEROS]] into %[[CT]][1, 0] [2, 2] [2, 3] : tensor<2x2xf64> into tensor<4x4xf64>
// CHECK: tensor.collapse_shape %[[DX]]
// CHECK: tensor.collapse_shape %[[DY]]
func.func @grad_insert_slice(%x: tensor<2x2xf64>, %y: tensor<4x4xf64>) -> (tensor<2x2xf64>, tensor<4x4xf64>) {
  %g:2 = gradient.grad "auto" @insert_slice(%x, %y) {diffArgIndices = array<i64: 0, 1>} : (tensor<2x2xf64>, tensor<4x4xf64>) -> (tensor<2x2xf64>, tensor<4x4xf64>)
  return %g#0, %g#1 : tensor<2x2xf64>, tensor<4x4xf64>
}

// -----

// tensor.collapse_shape: a reshape, so the cotangent is reshaped back by the inverse
// expand_shape with the same reassociation, to the source's shape.
func.func private @collapse(%x: tensor<2x3x4xf64>) -> tensor<f64> {
  %c = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x3x4xf64> into tensor<6x4xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%c : tensor<6x4xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @collapse.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3x4xf64>)
// CHECK: tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x3x4xf64> into tensor<6x4xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<6x4xf64>)
// CHECK: %[[DX:.*]] = tensor.expand_shape %[[CT]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf64> into tensor<2x3x4xf64>
// CHECK: tensor.collapse_shape %[[DX]] {{\[\[}}0, 1, 2]] : tensor<2x3x4xf64> into tensor<24xf64>
func.func @grad_collapse(%x: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  %g = gradient.grad "auto" @collapse(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3x4xf64>) -> tensor<2x3x4xf64>
  return %g : tensor<2x3x4xf64>
}

// -----

// tensor.expand_shape: the cotangent is collapsed back with the same reassociation.
func.func private @expand(%x: tensor<6x4xf64>) -> tensor<f64> {
  %c = tensor.expand_shape %x [[0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf64> into tensor<2x3x4xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%c : tensor<2x3x4xf64>) outs(%z : tensor<f64>) dimensions = [0, 1, 2]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @expand.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<6x4xf64>)
// CHECK: tensor.expand_shape %[[X]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf64> into tensor<2x3x4xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x3x4xf64>)
// CHECK: %[[DX:.*]] = tensor.collapse_shape %[[CT]] {{\[\[}}0, 1], [2]] : tensor<2x3x4xf64> into tensor<6x4xf64>
// CHECK: tensor.collapse_shape %[[DX]] {{\[\[}}0, 1]] : tensor<6x4xf64> into tensor<24xf64>
func.func @grad_expand(%x: tensor<6x4xf64>) -> tensor<6x4xf64> {
  %g = gradient.grad "auto" @expand(%x) {diffArgIndices = array<i64: 0>} : (tensor<6x4xf64>) -> tensor<6x4xf64>
  return %g : tensor<6x4xf64>
}

// -----

// tensor.cast: the cotangent is cast back to the source's type; with two casts (static ->
// dynamic -> static) the reverse runs both, in reverse order.
func.func private @cast(%x: tensor<2x3xf64>) -> tensor<f64> {
  %d = tensor.cast %x : tensor<2x3xf64> to tensor<?x3xf64>
  %s = tensor.cast %d : tensor<?x3xf64> to tensor<2x3xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%s : tensor<2x3xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @cast.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>)
// CHECK: %[[D:.*]] = tensor.cast %[[X]] : tensor<2x3xf64> to tensor<?x3xf64>
// CHECK: tensor.cast %[[D]] : tensor<?x3xf64> to tensor<2x3xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK: %[[DD:.*]] = tensor.cast %[[CT]] : tensor<2x3xf64> to tensor<?x3xf64>
// CHECK: %[[DX:.*]] = tensor.cast %[[DD]] : tensor<?x3xf64> to tensor<2x3xf64>
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_cast(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %g = gradient.grad "auto" @cast(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  return %g : tensor<2x3xf64>
}

// -----

// tensor.concat: the cotangent is split along the concatenated dim (1) with extract_slice at
// the running offsets 0, 3, 5 (the sizes of the inputs before); an input used twice (%x) sums
// its two slices.
func.func private @concat(%x: tensor<2x3xf64>, %y: tensor<2x2xf64>) -> tensor<f64> {
  %c = tensor.concat dim(1) %x, %y, %x : (tensor<2x3xf64>, tensor<2x2xf64>, tensor<2x3xf64>) -> tensor<2x8xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%c : tensor<2x8xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @concat.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>, %[[Y:[a-z0-9_]+]]: tensor<2x2xf64>)
// CHECK: tensor.concat dim(1) %[[X]], %[[Y]], %[[X]] : (tensor<2x3xf64>, tensor<2x2xf64>, tensor<2x3xf64>) -> tensor<2x8xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2x8xf64>)
// CHECK: %[[S0:.*]] = tensor.extract_slice %[[CT]][0, 0] [2, 3] [1, 1] : tensor<2x8xf64> to tensor<2x3xf64>
// CHECK: %[[S1:.*]] = tensor.extract_slice %[[CT]][0, 3] [2, 2] [1, 1] : tensor<2x8xf64> to tensor<2x2xf64>
// CHECK: %[[S2:.*]] = tensor.extract_slice %[[CT]][0, 5] [2, 3] [1, 1] : tensor<2x8xf64> to tensor<2x3xf64>
// CHECK: %[[DX:.*]] = arith.addf %[[S0]], %[[S2]] : tensor<2x3xf64>
// CHECK: tensor.collapse_shape %[[DX]]
// CHECK: tensor.collapse_shape %[[S1]]
func.func @grad_concat(%x: tensor<2x3xf64>, %y: tensor<2x2xf64>) -> (tensor<2x3xf64>, tensor<2x2xf64>) {
  %g:2 = gradient.grad "auto" @concat(%x, %y) {diffArgIndices = array<i64: 0, 1>} : (tensor<2x3xf64>, tensor<2x2xf64>) -> (tensor<2x3xf64>, tensor<2x2xf64>)
  return %g#0, %g#1 : tensor<2x3xf64>, tensor<2x2xf64>
}

// -----

// tensor.pad: the source gets the interior of the cotangent (the slice at the low padding
// [1, 0] with the source's sizes); the padding scalar, written everywhere else, gets the sum of
// the whole cotangent minus the sum of that interior.
func.func private @pad(%x: tensor<2x3xf64>, %p: tensor<f64>) -> tensor<f64> {
  %v = tensor.extract %p[] : tensor<f64>
  %padded = tensor.pad %x low[1, 0] high[0, 2] {
  ^bb0(%i: index, %j: index):
    tensor.yield %v : f64
  } : tensor<2x3xf64> to tensor<3x5xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%padded : tensor<3x5xf64>) outs(%z : tensor<f64>) dimensions = [0, 1]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @pad.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>, %[[P:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[V:.*]] = tensor.extract %[[P]][] : tensor<f64>
// CHECK: tensor.pad %[[X]] low[1, 0] high[0, 2]
// CHECK: tensor.yield %[[V]] : f64
// CHECK: } : tensor<2x3xf64> to tensor<3x5xf64>
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<3x5xf64>)
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[CT]][1, 0] [2, 3] [1, 1] : tensor<3x5xf64> to tensor<2x3xf64>
// CHECK: %[[SUMIN:.*]] = linalg.reduce ins(%[[IN]] : tensor<2x3xf64>) outs(%{{.*}} : tensor<f64>) dimensions = [0, 1]
// CHECK: %[[SI:.*]] = tensor.extract %[[SUMIN]][] : tensor<f64>
// CHECK: %[[SUMALL:.*]] = linalg.reduce ins(%[[CT]] : tensor<3x5xf64>) outs(%{{.*}} : tensor<f64>) dimensions = [0, 1]
// CHECK: %[[SA:.*]] = tensor.extract %[[SUMALL]][] : tensor<f64>
// CHECK: %[[DV:.*]] = arith.subf %[[SA]], %[[SI]] : f64
// CHECK: tensor.collapse_shape %[[IN]]
// CHECK: %[[DP:.*]] = tensor.from_elements %[[DV]] : tensor<f64>
// CHECK: tensor.expand_shape %[[DP]]
func.func @grad_pad(%x: tensor<2x3xf64>, %p: tensor<f64>) -> (tensor<2x3xf64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @pad(%x, %p) {diffArgIndices = array<i64: 0, 1>} : (tensor<2x3xf64>, tensor<f64>) -> (tensor<2x3xf64>, tensor<f64>)
  return %g#0, %g#1 : tensor<2x3xf64>, tensor<f64>
}

// -----

// linalg.reduce with mulf (a product over dim 1): each element gets the cotangent of its row
// times the product of the row's other elements. A first generic, over the input with dim 1 a
// reduction, counts each row's zeros and multiplies its nonzero elements; a second, pointwise,
// picks prod/x when the row has no zero, the nonzero product for the single zero element when
// it has one, and 0 otherwise.
func.func private @prod(%x: tensor<2x3xf64>) -> tensor<f64> {
  %one = arith.constant dense<1.0> : tensor<2xf64>
  %p = linalg.reduce ins(%x : tensor<2x3xf64>) outs(%one : tensor<2xf64>) dimensions = [1]
    (%a: f64, %b: f64) { %u = arith.mulf %a, %b : f64
      linalg.yield %u : f64 }
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%p : tensor<2xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func private @prod.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>)
// CHECK: linalg.reduce ins(%[[X]] : tensor<2x3xf64>) outs(%{{.*}} : tensor<2xf64>) dimensions = [1]
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2xf64>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<2xf64>
// CHECK: %[[NOZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf64>
// CHECK: %[[STATS:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<2x3xf64>) outs(%[[ONES]], %[[NOZEROS]] : tensor<2xf64>, tensor<2xf64>)
// CHECK-NEXT: ^bb0(%[[XI:[a-z0-9_]+]]: f64, %[[PROD:[a-z0-9_]+]]: f64, %[[COUNT:[a-z0-9_]+]]: f64):
// CHECK-NEXT: %[[ISZ:.*]] = arith.cmpf oeq, %[[XI]], %[[ZERO]] : f64
// CHECK-NEXT: %[[FACTOR:.*]] = arith.select %[[ISZ]], %[[ONE]], %[[XI]] : f64
// CHECK-NEXT: %[[INC:.*]] = arith.select %[[ISZ]], %[[ONE]], %[[ZERO]] : f64
// CHECK-NEXT: %[[PROD2:.*]] = arith.mulf %[[PROD]], %[[FACTOR]] : f64
// CHECK-NEXT: %[[COUNT2:.*]] = arith.addf %[[COUNT]], %[[INC]] : f64
// CHECK-NEXT: linalg.yield %[[PROD2]], %[[COUNT2]] : f64, f64
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[CT]], %[[STATS]]#0, %[[STATS]]#1 : tensor<2x3xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK-NEXT: ^bb0(%[[XJ:[a-z0-9_]+]]: f64, %[[CTJ:[a-z0-9_]+]]: f64, %[[NZP:[a-z0-9_]+]]: f64, %[[NZ:[a-z0-9_]+]]: f64, %{{.*}}: f64):
// CHECK-NEXT: %[[XZ:.*]] = arith.cmpf oeq, %[[XJ]], %[[ZERO]] : f64
// CHECK-NEXT: %[[NONE:.*]] = arith.cmpf oeq, %[[NZ]], %[[ZERO]] : f64
// CHECK-NEXT: %[[SINGLE:.*]] = arith.cmpf oeq, %[[NZ]], %[[ONE]] : f64
// CHECK-NEXT: %[[THIS:.*]] = arith.andi %[[SINGLE]], %[[XZ]] : i1
// CHECK-NEXT: %[[ATZERO:.*]] = arith.select %[[THIS]], %[[NZP]], %[[ZERO]] : f64
// CHECK-NEXT: %[[QUOT:.*]] = arith.divf %[[NZP]], %[[XJ]] : f64
// CHECK-NEXT: %[[OTHERS:.*]] = arith.select %[[NONE]], %[[QUOT]], %[[ATZERO]] : f64
// CHECK-NEXT: %[[R:.*]] = arith.mulf %[[CTJ]], %[[OTHERS]] : f64
// CHECK-NEXT: linalg.yield %[[R]] : f64
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_prod(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %g = gradient.grad "auto" @prod(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  return %g : tensor<2x3xf64>
}

// -----

// linalg.reduce with maximumf (a max over dim 1): the row's cotangent goes to the elements equal
// to the row's max, split equally among ties: a first generic counts the hits per row, a second
// gives each hit cotangent / count and every other element 0.
func.func private @max(%x: tensor<2x3xf64>) -> tensor<f64> {
  %ninf = arith.constant dense<0xFFF0000000000000> : tensor<2xf64>
  %m = linalg.reduce ins(%x : tensor<2x3xf64>) outs(%ninf : tensor<2xf64>) dimensions = [1]
    (%a: f64, %b: f64) { %u = arith.maximumf %a, %b : f64
      linalg.yield %u : f64 }
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%m : tensor<2xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func private @max.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<2x3xf64>)
// CHECK: %[[M:.*]] = linalg.reduce ins(%[[X]] : tensor<2x3xf64>) outs(%{{.*}} : tensor<2xf64>) dimensions = [1]
// CHECK: arith.maximumf
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<2xf64>)
// CHECK: %[[NOHITS:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf64>
// CHECK: %[[COUNTS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]], %[[M]] : tensor<2x3xf64>, tensor<2xf64>) outs(%[[NOHITS]] : tensor<2xf64>)
// CHECK-NEXT: ^bb0(%[[XI:[a-z0-9_]+]]: f64, %[[MI:[a-z0-9_]+]]: f64, %[[N:[a-z0-9_]+]]: f64):
// CHECK-NEXT: %[[HIT:.*]] = arith.cmpf oeq, %[[XI]], %[[MI]] : f64
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: %[[O:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT: %[[INC:.*]] = arith.select %[[HIT]], %[[O]], %[[Z]] : f64
// CHECK-NEXT: %[[N2:.*]] = arith.addf %[[N]], %[[INC]] : f64
// CHECK-NEXT: linalg.yield %[[N2]] : f64
// CHECK: %[[DX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[X]], %[[M]], %[[CT]], %[[COUNTS]] : tensor<2x3xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>) outs(%{{.*}} : tensor<2x3xf64>)
// CHECK-NEXT: ^bb0(%[[XJ:[a-z0-9_]+]]: f64, %[[MJ:[a-z0-9_]+]]: f64, %[[CTJ:[a-z0-9_]+]]: f64, %[[NJ:[a-z0-9_]+]]: f64, %{{.*}}: f64):
// CHECK-NEXT: %[[HIT2:.*]] = arith.cmpf oeq, %[[XJ]], %[[MJ]] : f64
// CHECK-NEXT: %[[SHARE:.*]] = arith.divf %[[CTJ]], %[[NJ]] : f64
// CHECK-NEXT: %[[Z2:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: %[[R:.*]] = arith.select %[[HIT2]], %[[SHARE]], %[[Z2]] : f64
// CHECK-NEXT: linalg.yield %[[R]] : f64
// CHECK: tensor.collapse_shape %[[DX]]
func.func @grad_max(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %g = gradient.grad "auto" @max(%x) {diffArgIndices = array<i64: 0>} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  return %g : tensor<2x3xf64>
}

// -----

// tensor.generate (a gather: result[i] = x[2 - i] * s): a loop over the result's positions
// recomputes the body, reads the cotangent at [i], and adds each read's cotangent into the
// element it read (x at [2 - i], computed again from the loop's i); the captured scalar s
// accumulates its cotangent through the loop.
func.func private @generate(%x: tensor<3xf64>, %w: tensor<f64>) -> tensor<f64> {
  %c2 = arith.constant 2 : index
  %s = tensor.extract %w[] : tensor<f64>
  %g = tensor.generate {
  ^bb0(%i: index):
    %j = arith.subi %c2, %i : index
    %v = tensor.extract %x[%j] : tensor<3xf64>
    %p = arith.mulf %v, %s : f64
    tensor.yield %p : f64
  } : tensor<3xf64>
  %z = arith.constant dense<0.0> : tensor<f64>
  %r = linalg.reduce ins(%g : tensor<3xf64>) outs(%z : tensor<f64>) dimensions = [0]
    (%a: f64, %b: f64) { %u = arith.addf %a, %b : f64
      linalg.yield %u : f64 }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @generate.jacobian.0.1(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<3xf64>, %[[W:[a-z0-9_]+]]: tensor<f64>)
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[S:.*]] = tensor.extract %[[W]][] : tensor<f64>
// CHECK: tensor.generate
// CHECK: %[[CT:.*]] = linalg.broadcast ins(%{{.*}} : tensor<f64>) outs(%{{.*}} : tensor<3xf64>)
// CHECK: %[[DX0:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK: %[[DS0:.*]] = arith.constant 0.000000e+00 : f64
// CHECK: %[[LB:.*]] = arith.constant 0 : index
// CHECK: %[[UB:.*]] = arith.constant 3 : index
// CHECK: %[[STEP:.*]] = arith.constant 1 : index
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[I:[a-z0-9_]+]] = %[[LB]] to %[[UB]] step %[[STEP]] iter_args(%[[AX:[a-z0-9_]+]] = %[[DX0]], %[[AS:[a-z0-9_]+]] = %[[DS0]]) -> (tensor<3xf64>, f64) {
// CHECK-NEXT: %[[J:.*]] = arith.subi %[[C2]], %[[I]] : index
// CHECK-NEXT: %[[XJ:.*]] = tensor.extract %[[X]][%[[J]]] : tensor<3xf64>
// CHECK-NEXT: arith.mulf %[[XJ]], %[[S]] : f64
// CHECK-NEXT: %[[CTI:.*]] = tensor.extract %[[CT]][%[[I]]] : tensor<3xf64>
// CHECK-NEXT: %[[DXJ:.*]] = arith.mulf %[[CTI]], %[[S]] : f64
// CHECK-NEXT: %[[DSI:.*]] = arith.mulf %[[CTI]], %[[XJ]] : f64
// CHECK-NEXT: %[[OLD:.*]] = tensor.extract %[[AX]][%[[J]]] : tensor<3xf64>
// CHECK-NEXT: %[[NEW:.*]] = arith.addf %[[OLD]], %[[DXJ]] : f64
// CHECK-NEXT: %[[NX:.*]] = tensor.insert %[[NEW]] into %[[AX]][%[[J]]] : tensor<3xf64>
// CHECK-NEXT: %[[NS:.*]] = arith.addf %[[AS]], %[[DSI]] : f64
// CHECK-NEXT: scf.yield %[[NX]], %[[NS]] : tensor<3xf64>, f64
// CHECK-NEXT: }
// CHECK: %[[DW:.*]] = tensor.from_elements %[[LOOP]]#1 : tensor<f64>
// CHECK: tensor.expand_shape %[[DW]]
// CHECK: tensor.expand_shape %[[LOOP]]#0
func.func @grad_generate(%x: tensor<3xf64>, %w: tensor<f64>) -> (tensor<3xf64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @generate(%x, %w) {diffArgIndices = array<i64: 0, 1>} : (tensor<3xf64>, tensor<f64>) -> (tensor<3xf64>, tensor<f64>)
  return %g#0, %g#1 : tensor<3xf64>, tensor<f64>
}

// -----

// scf.index_switch: the reverse is an index_switch on the same index with the same case values;
// each case recomputes and reverses its own forward case (case 2: sin -> cos; case 5: exp ->
// times exp; default: x * x -> x + x), so only the case that ran contributes.
func.func private @switch(%x: tensor<f64>, %i: index) -> tensor<f64> {
  %r = scf.index_switch %i -> tensor<f64>
  case 2 {
    %s = math.sin %x : tensor<f64>
    scf.yield %s : tensor<f64>
  }
  case 5 {
    %e = math.exp %x : tensor<f64>
    scf.yield %e : tensor<f64>
  }
  default {
    %d = arith.mulf %x, %x : tensor<f64>
    scf.yield %d : tensor<f64>
  }
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @switch.jacobian.0(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: tensor<f64>, %[[I:[a-z0-9_]+]]: index)
// CHECK: scf.index_switch %[[I]] -> tensor<f64>
// CHECK: %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK: %[[BACK:.*]] = scf.index_switch %[[I]] -> tensor<f64>
// CHECK-NEXT: case 2 {
// CHECK-NEXT: math.sin %[[X]] : tensor<f64>
// CHECK-NEXT: %[[X2:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT: %[[CT2:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT: tensor.extract
// CHECK-NEXT: %[[COS:.*]] = math.cos %[[X2]] : f64
// CHECK-NEXT: %[[D2:.*]] = arith.mulf %[[CT2]], %[[COS]] : f64
// CHECK-NEXT: %[[T2:.*]] = tensor.from_elements %[[D2]] : tensor<f64>
// CHECK-NEXT: scf.yield %[[T2]] : tensor<f64>
// CHECK-NEXT: }
// CHECK-NEXT: case 5 {
// CHECK-NEXT: %[[E:.*]] = math.exp %[[X]] : tensor<f64>
// CHECK-NEXT: tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT: %[[CT5:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT: %[[EV:.*]] = tensor.extract %[[E]][] : tensor<f64>
// CHECK-NEXT: %[[D5:.*]] = arith.mulf %[[CT5]], %[[EV]] : f64
// CHECK-NEXT: %[[T5:.*]] = tensor.from_elements %[[D5]] : tensor<f64>
// CHECK-NEXT: scf.yield %[[T5]] : tensor<f64>
// CHECK-NEXT: }
// CHECK-NEXT: default {
// CHECK-NEXT: arith.mulf %[[X]], %[[X]] : tensor<f64>
// CHECK: %[[TA:.*]] = tensor.from_elements
// CHECK-NEXT: %[[TB:.*]] = tensor.from_elements
// CHECK-NEXT: %[[DD:.*]] = arith.addf %[[TA]], %[[TB]] : tensor<f64>
// CHECK-NEXT: scf.yield %[[DD]] : tensor<f64>
// CHECK-NEXT: }
// CHECK: tensor.expand_shape %[[BACK]]
func.func @grad_switch(%x: tensor<f64>, %i: index) -> tensor<f64> {
  %g = gradient.grad "auto" @switch(%x, %i) {diffArgIndices = array<i64: 0>} : (tensor<f64>, index) -> tensor<f64>
  return %g : tensor<f64>
}
