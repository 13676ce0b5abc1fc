// gradient-expand-auto: the elementwise derivative rules of ScalarRules.cpp, one case per rule.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// addf: both operands receive the cotangent unchanged. On rank-0 tensors the rule runs on the
// extracted elements and each operand's cotangent is rebuilt with tensor.from_elements.
func.func private @addf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.addf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @addf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = arith.addf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         tensor.extract %[[A]][] : tensor<f64>
// CHECK:         tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[GA:.*]] = tensor.from_elements %[[CT]] : tensor<f64>
// CHECK-NEXT:    %[[GB:.*]] = tensor.from_elements %[[CT]] : tensor<f64>
// CHECK-NEXT:    %[[EA:.*]] = tensor.expand_shape %[[GA]]
// CHECK-NEXT:    %[[EB:.*]] = tensor.expand_shape %[[GB]]
// CHECK-NEXT:    %[[EA2:.*]] = tensor.expand_shape %[[EA]]
// CHECK-NEXT:    %[[EB2:.*]] = tensor.expand_shape %[[EB]]
// CHECK-NEXT:    %[[CA:.*]] = tensor.collapse_shape %[[EA2]]
// CHECK-NEXT:    %[[CA2:.*]] = tensor.collapse_shape %[[CA]]
// CHECK-NEXT:    %[[CB:.*]] = tensor.collapse_shape %[[EB2]]
// CHECK-NEXT:    %[[CB2:.*]] = tensor.collapse_shape %[[CB]]
// CHECK-NEXT:    return %[[R]], %[[CA2]], %[[CB2]] : tensor<f64>, tensor<f64>, tensor<f64>
// CHECK-LABEL: func.func @d_addf(
// CHECK:         %[[G:.*]]:3 = call @addf.jacobian.0.1(
// CHECK:         return %[[G]]#1, %[[G]]#2 : tensor<f64>, tensor<f64>
func.func @d_addf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @addf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// subf: the minuend receives the cotangent, the subtrahend its negation.
func.func private @subf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.subf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @subf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = arith.subf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[DB:.*]] = arith.negf %[[CT]] : f64
// CHECK-NEXT:    tensor.from_elements %[[CT]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_subf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @subf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// mulf: each operand receives the cotangent times the other operand.
func.func private @mulf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.mulf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @mulf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.mulf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[DA:.*]] = arith.mulf %[[CT]], %[[EB]] : f64
// CHECK:         %[[DB:.*]] = arith.mulf %[[CT]], %[[EA]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_mulf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @mulf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// divf r = a / b: d/da = ct / b; d/db = -(ct * r) / b, which is -ct * a / b^2.
func.func private @divf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.divf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @divf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = arith.divf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ER:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK:         %[[DA:.*]] = arith.divf %[[CT]], %[[EB]] : f64
// CHECK:         %[[M:.*]] = arith.mulf %[[CT]], %[[ER]] : f64
// CHECK:         %[[Q:.*]] = arith.divf %[[M]], %[[EB]] : f64
// CHECK:         %[[DB:.*]] = arith.negf %[[Q]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_divf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @divf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// divf on tensor<3xf64>: the same formula, evaluated point by point in one linalg.generic whose
// inputs are both operands, the forward result and the cotangent, and whose two results are
// the rows of the two Jacobians.
func.func private @divf_vec(%a: tensor<3xf64>, %b: tensor<3xf64>) -> tensor<3xf64> {
  %y = arith.divf %a, %b : tensor<3xf64>
  return %y : tensor<3xf64>
}
// CHECK-LABEL: func.func private @divf_vec.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<3xf64>, %[[B:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[R:.*]] = arith.divf %[[A]], %[[B]] : tensor<3xf64>
// CHECK:         %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         scf.for %[[K:[^ ]+]] = {{.*}} iter_args(%[[JA:[^ ]+]] = %{{[^,]+}}, %[[JB:[^ ]+]] = %{{[^)]+}})
// CHECK:           %[[SEED:.*]] = tensor.insert %[[ONE]] into %[[ZEROS]][%[[K]]] : tensor<3xf64>
// CHECK:           %[[G:.*]]:2 = linalg.generic
// CHECK-SAME:          iterator_types = ["parallel"]
// CHECK-SAME:          ins(%[[A]], %[[B]], %[[R]], %[[SEED]] : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>)
// CHECK-NEXT:      ^bb0(%[[IA:[^:]+]]: f64, %[[IB:[^:]+]]: f64, %[[IR:[^:]+]]: f64, %[[ICT:[^:]+]]: f64, %{{[^:]+}}: f64, %{{[^:]+}}: f64):
// CHECK-NEXT:        %[[DA:.*]] = arith.divf %[[ICT]], %[[IB]] : f64
// CHECK-NEXT:        %[[M:.*]] = arith.mulf %[[ICT]], %[[IR]] : f64
// CHECK-NEXT:        %[[Q:.*]] = arith.divf %[[M]], %[[IB]] : f64
// CHECK-NEXT:        %[[DB:.*]] = arith.negf %[[Q]] : f64
// CHECK-NEXT:        linalg.yield %[[DA]], %[[DB]] : f64, f64
// CHECK:           tensor.insert_slice %[[G]]#0 into %[[JA]][%[[K]], 0] [1, 3] [1, 1]
// CHECK:           tensor.insert_slice %[[G]]#1 into %[[JB]][%[[K]], 0] [1, 3] [1, 1]
func.func @d_divf_vec(%a: tensor<3xf64>, %b: tensor<3xf64>) -> (tensor<3x3xf64>, tensor<3x3xf64>) {
  %g:2 = gradient.grad "auto" @divf_vec(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<3xf64>, tensor<3xf64>) -> (tensor<3x3xf64>, tensor<3x3xf64>)
  return %g#0, %g#1 : tensor<3x3xf64>, tensor<3x3xf64>
}

// -----

// negf: the operand receives the negated cotangent.
func.func private @negf(%x: tensor<f64>) -> tensor<f64> {
  %y = arith.negf %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @negf.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         arith.negf %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[D:.*]] = arith.negf %[[CT]] : f64
// CHECK-NEXT:    tensor.from_elements %[[D]] : tensor<f64>
func.func @d_negf(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @negf(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// remf r = a - b * trunc(a / b): d/da = ct; d/db = -(ct * trunc(a / b)).
func.func private @remf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.remf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @remf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.remf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[Q:.*]] = arith.divf %[[EA]], %[[EB]] : f64
// CHECK:         %[[T:.*]] = math.trunc %[[Q]] : f64
// CHECK:         %[[M:.*]] = arith.mulf %[[CT]], %[[T]] : f64
// CHECK:         %[[DB:.*]] = arith.negf %[[M]] : f64
// CHECK:         tensor.from_elements %[[CT]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_remf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @remf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// maximumf (as lax.max): share = 1 where a > b, 1/2 where a == b, else 0; d/da = ct * share,
// d/db = ct * (1 - share).
func.func private @maximumf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.maximumf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @maximumf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.maximumf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:         %[[TIE:.*]] = arith.cmpf oeq, %[[EA]], %[[EB]] : f64
// CHECK:         %[[TIESHARE:.*]] = arith.select %[[TIE]], %[[HALF]], %[[ZERO]] : f64
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[WINS:.*]] = arith.cmpf ogt, %[[EA]], %[[EB]] : f64
// CHECK:         %[[SHARE:.*]] = arith.select %[[WINS]], %[[ONE]], %[[TIESHARE]] : f64
// CHECK:         %[[DA:.*]] = arith.mulf %[[CT]], %[[SHARE]] : f64
// CHECK:         %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[REST:.*]] = arith.subf %[[ONE2]], %[[SHARE]] : f64
// CHECK:         %[[DB:.*]] = arith.mulf %[[CT]], %[[REST]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_maximumf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @maximumf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}
// -----

// minimumf (as lax.min): share = 1 where a < b, 1/2 where a == b, else 0; d/da = ct * share,
// d/db = ct * (1 - share).
func.func private @minimumf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.minimumf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @minimumf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.minimumf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:         %[[TIE:.*]] = arith.cmpf oeq, %[[EA]], %[[EB]] : f64
// CHECK:         %[[TIESHARE:.*]] = arith.select %[[TIE]], %[[HALF]], %[[ZERO]] : f64
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[WINS:.*]] = arith.cmpf olt, %[[EA]], %[[EB]] : f64
// CHECK:         %[[SHARE:.*]] = arith.select %[[WINS]], %[[ONE]], %[[TIESHARE]] : f64
// CHECK:         %[[DA:.*]] = arith.mulf %[[CT]], %[[SHARE]] : f64
// CHECK:         %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[REST:.*]] = arith.subf %[[ONE2]], %[[SHARE]] : f64
// CHECK:         %[[DB:.*]] = arith.mulf %[[CT]], %[[REST]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_minimumf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @minimumf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}
// -----

// maxnumf shares the rule of maximumf: the larger operand takes the cotangent, a tie splits it.
func.func private @maxnumf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.maxnumf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @maxnumf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.maxnumf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:         %[[TIE:.*]] = arith.cmpf oeq, %[[EA]], %[[EB]] : f64
// CHECK:         %[[TIESHARE:.*]] = arith.select %[[TIE]], %[[HALF]], %[[ZERO]] : f64
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[WINS:.*]] = arith.cmpf ogt, %[[EA]], %[[EB]] : f64
// CHECK:         %[[SHARE:.*]] = arith.select %[[WINS]], %[[ONE]], %[[TIESHARE]] : f64
// CHECK:         %[[DA:.*]] = arith.mulf %[[CT]], %[[SHARE]] : f64
// CHECK:         %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[REST:.*]] = arith.subf %[[ONE2]], %[[SHARE]] : f64
// CHECK:         %[[DB:.*]] = arith.mulf %[[CT]], %[[REST]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_maxnumf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @maxnumf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}
// -----

// minnumf shares the rule of minimumf: the smaller operand takes the cotangent, a tie splits it.
func.func private @minnumf(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.minnumf %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @minnumf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.minnumf %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK:         %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK:         %[[TIE:.*]] = arith.cmpf oeq, %[[EA]], %[[EB]] : f64
// CHECK:         %[[TIESHARE:.*]] = arith.select %[[TIE]], %[[HALF]], %[[ZERO]] : f64
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[WINS:.*]] = arith.cmpf olt, %[[EA]], %[[EB]] : f64
// CHECK:         %[[SHARE:.*]] = arith.select %[[WINS]], %[[ONE]], %[[TIESHARE]] : f64
// CHECK:         %[[DA:.*]] = arith.mulf %[[CT]], %[[SHARE]] : f64
// CHECK:         %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[REST:.*]] = arith.subf %[[ONE2]], %[[SHARE]] : f64
// CHECK:         %[[DB:.*]] = arith.mulf %[[CT]], %[[REST]] : f64
// CHECK:         tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
func.func @d_minnumf(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @minnumf(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// select c ? a : b: the chosen operand receives the cotangent, the other zero; the condition
// receives nothing.
func.func private @select(%c: tensor<i1>, %a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.select %c, %a, %b : tensor<i1>, tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @select.jacobian.1.2(
// CHECK-SAME:      %[[C:[^:]+]]: tensor<i1>, %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         arith.select %[[C]], %[[A]], %[[B]] : tensor<i1>, tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[EC:.*]] = tensor.extract %[[C]][] : tensor<i1>
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[DA:.*]] = arith.select %[[EC]], %[[CT]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[DB:.*]] = arith.select %[[EC]], %[[ZERO]], %[[CT]] : f64
// CHECK-NEXT:    tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DB]] : tensor<f64>
// CHECK-NOT:     tensor.from_elements
// CHECK:         return
func.func @d_select(%c: tensor<i1>, %a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @select(%c, %a, %b) {diffArgIndices = array<i64: 1, 2>} : (tensor<i1>, tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// select on rank-0 tensors with a scalar i1 condition: the condition is used as it is (not
// extracted), the rule as above.
func.func private @select_i1(%c: i1, %a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %y = arith.select %c, %a, %b : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @select_i1.jacobian.1.2(
// CHECK-SAME:      %[[C:[^:]+]]: i1, %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NOT:     tensor.extract %[[C]]
// CHECK:         %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[DA:.*]] = arith.select %[[C]], %[[CT]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[DB:.*]] = arith.select %[[C]], %[[ZERO]], %[[CT]] : f64
func.func @d_select_i1(%c: i1, %a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @select_i1(%c, %a, %b) {diffArgIndices = array<i64: 1, 2>} : (i1, tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// select on tensor<3xf64> with one i1 condition: the same rule in a linalg.generic, where the
// condition is read through a rank-0 map at every point and gets no cotangent output.
func.func private @select_vec(%c: i1, %a: tensor<3xf64>, %b: tensor<3xf64>) -> tensor<3xf64> {
  %y = arith.select %c, %a, %b : tensor<3xf64>
  return %y : tensor<3xf64>
}
// CHECK:       #[[SCALAR:.*]] = affine_map<(d0) -> ()>
// CHECK:       #[[ID:.*]] = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func private @select_vec.jacobian.1.2(
// CHECK-SAME:      %[[C:[^:]+]]: i1, %[[A:[^:]+]]: tensor<3xf64>, %[[B:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[R:.*]] = arith.select %[[C]], %[[A]], %[[B]] : tensor<3xf64>
// CHECK:         %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         scf.for %[[K:[^ ]+]] = {{.*}} iter_args(%[[JA:[^ ]+]] = %{{[^,]+}}, %[[JB:[^ ]+]] = %{{[^)]+}})
// CHECK:           %[[SEED:.*]] = tensor.insert %[[ONE]] into %[[ZEROS]][%[[K]]] : tensor<3xf64>
// CHECK:           %[[G:.*]]:2 = linalg.generic
// CHECK-SAME:          indexing_maps = [#[[SCALAR]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]], #[[ID]]]
// CHECK-SAME:          ins(%[[C]], %[[A]], %[[B]], %[[R]], %[[SEED]] : i1, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>)
// CHECK-SAME:          outs(%{{[^:]+}} : tensor<3xf64>, tensor<3xf64>)
// CHECK-NEXT:      ^bb0(%[[IC:[^:]+]]: i1, %{{[^:]+}}: f64, %{{[^:]+}}: f64, %{{[^:]+}}: f64, %[[ICT:[^:]+]]: f64, %{{[^:]+}}: f64, %{{[^:]+}}: f64):
// CHECK-NEXT:        %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:        %[[DA:.*]] = arith.select %[[IC]], %[[ICT]], %[[ZERO]] : f64
// CHECK-NEXT:        %[[DB:.*]] = arith.select %[[IC]], %[[ZERO]], %[[ICT]] : f64
// CHECK-NEXT:        linalg.yield %[[DA]], %[[DB]] : f64, f64
// CHECK:           tensor.insert_slice %[[G]]#0 into %[[JA]][%[[K]], 0] [1, 3] [1, 1]
// CHECK:           tensor.insert_slice %[[G]]#1 into %[[JB]][%[[K]], 0] [1, 3] [1, 1]
func.func @d_select_vec(%c: i1, %a: tensor<3xf64>, %b: tensor<3xf64>) -> (tensor<3x3xf64>, tensor<3x3xf64>) {
  %g:2 = gradient.grad "auto" @select_vec(%c, %a, %b) {diffArgIndices = array<i64: 1, 2>} : (i1, tensor<3xf64>, tensor<3xf64>) -> (tensor<3x3xf64>, tensor<3x3xf64>)
  return %g#0, %g#1 : tensor<3x3xf64>, tensor<3x3xf64>
}

// -----

// extf and truncf on f32: truncf's rule widens the f32 cotangent to f64 (arith.extf), extf's
// rule narrows the f64 cotangent back to f32 (arith.truncf); sin in between multiplies by cos.
func.func private @ext_trunc(%x: tensor<f32>) -> tensor<f32> {
  %y = arith.extf %x : tensor<f32> to tensor<f64>
  %z = math.sin %y : tensor<f64>
  %w = arith.truncf %z : tensor<f64> to tensor<f32>
  return %w : tensor<f32>
}
// CHECK-LABEL: func.func private @ext_trunc.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f32>) -> (tensor<f32>, tensor<f32>)
// CHECK:         %[[Y:.*]] = arith.extf %[[X]] : tensor<f32> to tensor<f64>
// CHECK:         %[[Z:.*]] = math.sin %[[Y]] : tensor<f64>
// CHECK:         %[[W:.*]] = arith.truncf %[[Z]] : tensor<f64> to tensor<f32>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK:         %[[CT32:.*]] = tensor.extract %[[SEED]][] : tensor<f32>
// CHECK:         tensor.extract %[[W]][] : tensor<f32>
// CHECK-NEXT:    %[[CT64:.*]] = arith.extf %[[CT32]] : f32 to f64
// CHECK-NEXT:    %[[GZ:.*]] = tensor.from_elements %[[CT64]] : tensor<f64>
// CHECK-NEXT:    %[[EY:.*]] = tensor.extract %[[Y]][] : tensor<f64>
// CHECK-NEXT:    %[[CTZ:.*]] = tensor.extract %[[GZ]][] : tensor<f64>
// CHECK-NEXT:    tensor.extract %[[Z]][] : tensor<f64>
// CHECK-NEXT:    %[[COS:.*]] = math.cos %[[EY]] : f64
// CHECK-NEXT:    %[[DY:.*]] = arith.mulf %[[CTZ]], %[[COS]] : f64
// CHECK-NEXT:    %[[GY:.*]] = tensor.from_elements %[[DY]] : tensor<f64>
// CHECK-NEXT:    tensor.extract %[[X]][] : tensor<f32>
// CHECK-NEXT:    %[[CTY:.*]] = tensor.extract %[[GY]][] : tensor<f64>
// CHECK-NEXT:    tensor.extract %[[Y]][] : tensor<f64>
// CHECK-NEXT:    %[[DX:.*]] = arith.truncf %[[CTY]] : f64 to f32
// CHECK-NEXT:    %[[GX:.*]] = tensor.from_elements %[[DX]] : tensor<f32>
// CHECK-NEXT:    tensor.expand_shape %[[GX]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
// CHECK:         return %[[W]], %{{.*}} : tensor<f32>, tensor<f32>
func.func @d_ext_trunc(%x: tensor<f32>) -> tensor<f32> {
  %g = gradient.grad "auto" @ext_trunc(%x) {diffArgIndices = array<i64: 0>} : (tensor<f32>) -> tensor<f32>
  return %g : tensor<f32>
}

// -----

// sin: ct * cos(x).
func.func private @sin(%x: tensor<f64>) -> tensor<f64> {
  %y = math.sin %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @sin.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.sin %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[F:.*]] = math.cos %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_sin(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sin(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// cos: ct * -sin(x).
func.func private @cos(%x: tensor<f64>) -> tensor<f64> {
  %y = math.cos %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @cos.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.cos %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[S:.*]] = math.sin %[[A]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.negf %[[S]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_cos(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cos(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tan: ct * (1 + r^2), with r = tan(x) the forward result.
func.func private @tan(%x: tensor<f64>) -> tensor<f64> {
  %y = math.tan %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @tan.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.tan %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[RE]], %[[RE]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.addf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_tan(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @tan(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// asin: ct * 1 / sqrt(1 - x^2).
func.func private @asin(%x: tensor<f64>) -> tensor<f64> {
  %y = math.asin %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @asin.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.asin %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[DIFF:.*]] = arith.subf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[ROOT:.*]] = math.sqrt %[[DIFF]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE2]], %[[ROOT]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_asin(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @asin(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// acos: ct * -(1 / sqrt(1 - x^2)).
func.func private @acos(%x: tensor<f64>) -> tensor<f64> {
  %y = math.acos %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @acos.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.acos %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[DIFF:.*]] = arith.subf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[ROOT:.*]] = math.sqrt %[[DIFF]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[INV:.*]] = arith.divf %[[ONE2]], %[[ROOT]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.negf %[[INV]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_acos(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @acos(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// atan: ct * 1 / (1 + x^2).
func.func private @atan(%x: tensor<f64>) -> tensor<f64> {
  %y = math.atan %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @atan.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.atan %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SUM:.*]] = arith.addf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE2]], %[[SUM]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_atan(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @atan(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sinh: ct * cosh(x).
func.func private @sinh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.sinh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @sinh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.sinh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[F:.*]] = math.cosh %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_sinh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sinh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// cosh: ct * sinh(x).
func.func private @cosh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.cosh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @cosh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.cosh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[F:.*]] = math.sinh %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_cosh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cosh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tanh: ct * (1 - r^2), with r = tanh(x) the forward result.
func.func private @tanh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.tanh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @tanh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.tanh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[RE]], %[[RE]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.subf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_tanh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @tanh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// asinh: ct * 1 / sqrt(x^2 + 1).
func.func private @asinh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.asinh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @asinh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.asinh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[SUM:.*]] = arith.addf %[[SQ]], %[[ONE]] : f64
// CHECK-NEXT:    %[[ROOT:.*]] = math.sqrt %[[SUM]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE2]], %[[ROOT]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_asinh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @asinh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// acosh: ct * 1 / (sqrt(x - 1) * sqrt(x + 1)).
func.func private @acosh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.acosh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @acosh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.acosh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[P:.*]] = arith.addf %[[A]], %[[ONE]] : f64
// CHECK-NEXT:    %[[RP:.*]] = math.sqrt %[[P]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[M:.*]] = arith.subf %[[A]], %[[ONE2]] : f64
// CHECK-NEXT:    %[[RM:.*]] = math.sqrt %[[M]] : f64
// CHECK-NEXT:    %[[PROD:.*]] = arith.mulf %[[RM]], %[[RP]] : f64
// CHECK-NEXT:    %[[ONE3:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE3]], %[[PROD]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_acosh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @acosh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// atanh: ct * 1 / (1 - x^2).
func.func private @atanh(%x: tensor<f64>) -> tensor<f64> {
  %y = math.atanh %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @atanh.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.atanh %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[DIFF:.*]] = arith.subf %[[ONE]], %[[SQ]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE2]], %[[DIFF]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_atanh(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @atanh(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// exp: ct * r, the forward result itself (not a recomputed exp).
func.func private @exp(%x: tensor<f64>) -> tensor<f64> {
  %y = math.exp %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @exp.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.exp %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[RE]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_exp(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @exp(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// exp on tensor<3xf64>: the same rule in a linalg.generic over the operand, the forward result
// and the cotangent; the body multiplies the cotangent by the forward exp.
func.func private @exp_vec(%x: tensor<3xf64>) -> tensor<3xf64> {
  %y = math.exp %x : tensor<3xf64>
  return %y : tensor<3xf64>
}
// CHECK-LABEL: func.func private @exp_vec.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[R:.*]] = math.exp %[[X]] : tensor<3xf64>
// CHECK:         %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         scf.for %[[K:[^ ]+]] = {{.*}} iter_args(%[[J:[^ ]+]] = %{{[^)]+}})
// CHECK:           %[[SEED:.*]] = tensor.insert %[[ONE]] into %[[ZEROS]][%[[K]]] : tensor<3xf64>
// CHECK:           %[[G:.*]] = linalg.generic
// CHECK-SAME:          ins(%[[X]], %[[R]], %[[SEED]] : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>)
// CHECK-NEXT:      ^bb0(%{{[^:]+}}: f64, %[[IR:[^:]+]]: f64, %[[ICT:[^:]+]]: f64, %{{[^:]+}}: f64):
// CHECK-NEXT:        %[[D:.*]] = arith.mulf %[[ICT]], %[[IR]] : f64
// CHECK-NEXT:        linalg.yield %[[D]] : f64
// CHECK:           tensor.insert_slice %[[G]] into %[[J]][%[[K]], 0] [1, 3] [1, 1]
func.func @d_exp_vec(%x: tensor<3xf64>) -> tensor<3x3xf64> {
  %g = gradient.grad "auto" @exp_vec(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3x3xf64>
  return %g : tensor<3x3xf64>
}

// -----

// exp2: ct * r * ln 2, with r = 2^x the forward result.
func.func private @exp2(%x: tensor<f64>) -> tensor<f64> {
  %y = math.exp2 %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @exp2.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.exp2 %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[LN2:.*]] = arith.constant 0.69314718055994529 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.mulf %[[RE]], %[[LN2]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_exp2(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @exp2(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// expm1: ct * (r + 1), i.e. ct * e^x, with r = e^x - 1 the forward result.
func.func private @expm1(%x: tensor<f64>) -> tensor<f64> {
  %y = math.expm1 %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @expm1.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.expm1 %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.addf %[[RE]], %[[ONE]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_expm1(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @expm1(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log: ct * 1 / x.
func.func private @log(%x: tensor<f64>) -> tensor<f64> {
  %y = math.log %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @log.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.log %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE]], %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_log(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log2: ct * (1 / ln 2) / x.
func.func private @log2(%x: tensor<f64>) -> tensor<f64> {
  %y = math.log2 %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @log2.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.log2 %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[C:.*]] = arith.constant 1.4426950408889634 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[C]], %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_log2(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log2(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log10: ct * (1 / ln 10) / x.
func.func private @log10(%x: tensor<f64>) -> tensor<f64> {
  %y = math.log10 %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @log10.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.log10 %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[C:.*]] = arith.constant 0.43429448190325176 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[C]], %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_log10(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log10(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log1p: ct * 1 / (1 + x).
func.func private @log1p(%x: tensor<f64>) -> tensor<f64> {
  %y = math.log1p %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @log1p.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.log1p %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SUM:.*]] = arith.addf %[[ONE]], %[[A]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[ONE2]], %[[SUM]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_log1p(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log1p(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sqrt: ct * 0.5 / r, with r = sqrt(x) the forward result.
func.func private @sqrt(%x: tensor<f64>) -> tensor<f64> {
  %y = math.sqrt %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @sqrt.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.sqrt %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[HALF]], %[[RE]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_sqrt(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sqrt(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// rsqrt: ct * (-0.5 * r) / x, with r = x^(-1/2) the forward result (= -x^(-3/2) / 2).
func.func private @rsqrt(%x: tensor<f64>) -> tensor<f64> {
  %y = math.rsqrt %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @rsqrt.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.rsqrt %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[MHALF:.*]] = arith.constant -5.000000e-01 : f64
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[MHALF]], %[[RE]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[M]], %[[A]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_rsqrt(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @rsqrt(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// cbrt: ct * r / (3 x), with r = x^(1/3) the forward result (= x^(-2/3) / 3).
func.func private @cbrt(%x: tensor<f64>) -> tensor<f64> {
  %y = math.cbrt %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @cbrt.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.cbrt %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[THREE:.*]] = arith.constant 3.000000e+00 : f64
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[THREE]], %[[A]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.divf %[[RE]], %[[M]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_cbrt(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cbrt(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// absf: ct * sign(x), where sign(0) = 0 as in JAX: 1 if x > 0, else -1 if x < 0, else 0.
func.func private @absf(%x: tensor<f64>) -> tensor<f64> {
  %y = math.absf %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @absf.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.absf %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[MONE:.*]] = arith.constant -1.000000e+00 : f64
// CHECK-NEXT:    %[[LT:.*]] = arith.cmpf olt, %[[A]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[NEG:.*]] = arith.select %[[LT]], %[[MONE]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[GT:.*]] = arith.cmpf ogt, %[[A]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.select %[[GT]], %[[ONE]], %[[NEG]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_absf(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @absf(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// erf: ct * (2 / sqrt(pi)) * exp(-x^2).
func.func private @erf(%x: tensor<f64>) -> tensor<f64> {
  %y = math.erf %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @erf.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.erf %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[N:.*]] = arith.negf %[[SQ]] : f64
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[N]] : f64
// CHECK-NEXT:    %[[C:.*]] = arith.constant 1.1283791670955126 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.mulf %[[C]], %[[E]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_erf(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @erf(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// erfc: ct * (-2 / sqrt(pi)) * exp(-x^2).
func.func private @erfc(%x: tensor<f64>) -> tensor<f64> {
  %y = math.erfc %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @erfc.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.erfc %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[SQ:.*]] = arith.mulf %[[A]], %[[A]] : f64
// CHECK-NEXT:    %[[N:.*]] = arith.negf %[[SQ]] : f64
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[N]] : f64
// CHECK-NEXT:    %[[C:.*]] = arith.constant -1.1283791670955126 : f64
// CHECK-NEXT:    %[[F:.*]] = arith.mulf %[[C]], %[[E]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_erfc(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @erfc(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// floor: piecewise constant, so a zero derivative (as in JAX): the rule emits no op and the
// gradient is a zero constant.
func.func private @floor(%x: tensor<f64>) -> tensor<f64> {
  %y = math.floor %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @floor.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.floor %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[Z]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_floor(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @floor(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// ceil: piecewise constant, so a zero derivative (as in JAX): the rule emits no op and the
// gradient is a zero constant.
func.func private @ceil(%x: tensor<f64>) -> tensor<f64> {
  %y = math.ceil %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @ceil.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.ceil %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[Z]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_ceil(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @ceil(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// round: piecewise constant, so a zero derivative (as in JAX): the rule emits no op and the
// gradient is a zero constant.
func.func private @round(%x: tensor<f64>) -> tensor<f64> {
  %y = math.round %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @round.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.round %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[Z]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_round(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @round(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// roundeven: piecewise constant, so a zero derivative (as in JAX): the rule emits no op and the
// gradient is a zero constant.
func.func private @roundeven(%x: tensor<f64>) -> tensor<f64> {
  %y = math.roundeven %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @roundeven.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.roundeven %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[Z]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_roundeven(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @roundeven(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// trunc: piecewise constant, so a zero derivative (as in JAX): the rule emits no op and the
// gradient is a zero constant.
func.func private @trunc(%x: tensor<f64>) -> tensor<f64> {
  %y = math.trunc %x : tensor<f64>
  return %y : tensor<f64>
}
// CHECK-LABEL: func.func private @trunc.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.trunc %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[A:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[RE:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[Z]] []
// CHECK:         return %[[R]], %{{.*}} : tensor<f64>, tensor<f64>
func.func @d_trunc(%x: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @trunc(%x) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// atan2(y, x): with n = y^2 + x^2, d/dy = ct * x / n and d/dx = ct * -(y / n).
func.func private @atan2(%y: tensor<f64>, %x: tensor<f64>) -> tensor<f64> {
  %r = math.atan2 %y, %x : tensor<f64>
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @atan2.jacobian.0.1(
// CHECK-SAME:      %[[Y:[^:]+]]: tensor<f64>, %[[X:[^:]+]]: tensor<f64>)
// CHECK:         math.atan2 %[[Y]], %[[X]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[EY:.*]] = tensor.extract %[[Y]][] : tensor<f64>
// CHECK-NEXT:    %[[EX:.*]] = tensor.extract %[[X]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    tensor.extract
// CHECK-DAG:     %[[XX:.*]] = arith.mulf %[[EX]], %[[EX]] : f64
// CHECK-DAG:     %[[YY:.*]] = arith.mulf %[[EY]], %[[EY]] : f64
// CHECK:         %[[N:.*]] = arith.addf %[[YY]], %[[XX]] : f64
// CHECK-NEXT:    %[[QY:.*]] = arith.divf %[[EX]], %[[N]] : f64
// CHECK-NEXT:    %[[DY:.*]] = arith.mulf %[[CT]], %[[QY]] : f64
// CHECK-NEXT:    %[[QX:.*]] = arith.divf %[[EY]], %[[N]] : f64
// CHECK-NEXT:    %[[NQX:.*]] = arith.negf %[[QX]] : f64
// CHECK-NEXT:    %[[DX:.*]] = arith.mulf %[[CT]], %[[NQX]] : f64
// CHECK-NEXT:    tensor.from_elements %[[DY]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_atan2(%y: tensor<f64>, %x: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @atan2(%y, %x) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// powf r = a^p: d/da = ct * (p == 0 ? 0 : p * a^(p - 1)); d/dp = ct * log(a == 0 ? 1 : a) * r,
// with r the forward result.
func.func private @powf(%a: tensor<f64>, %p: tensor<f64>) -> tensor<f64> {
  %r = math.powf %a, %p : tensor<f64>
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @powf.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[P:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]] = math.powf %[[A]], %[[P]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK-NEXT:    %[[EP:.*]] = tensor.extract %[[P]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[ER:.*]] = tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[PM1:.*]] = arith.subf %[[EP]], %[[ONE]] : f64
// CHECK-NEXT:    %[[POW:.*]] = math.powf %[[EA]], %[[PM1]] : f64
// CHECK-NEXT:    %[[DADA:.*]] = arith.mulf %[[EP]], %[[POW]] : f64
// CHECK-NEXT:    %[[P0:.*]] = arith.cmpf oeq, %[[EP]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[SAFE:.*]] = arith.select %[[P0]], %[[ZERO]], %[[DADA]] : f64
// CHECK-NEXT:    %[[DA:.*]] = arith.mulf %[[CT]], %[[SAFE]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[A0:.*]] = arith.cmpf oeq, %[[EA]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[SAFEA:.*]] = arith.select %[[A0]], %[[ONE2]], %[[EA]] : f64
// CHECK-NEXT:    %[[LOG:.*]] = math.log %[[SAFEA]] : f64
// CHECK-NEXT:    %[[DRDP:.*]] = arith.mulf %[[LOG]], %[[ER]] : f64
// CHECK-NEXT:    %[[DP:.*]] = arith.mulf %[[CT]], %[[DRDP]] : f64
// CHECK-NEXT:    tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.from_elements %[[DP]] : tensor<f64>
func.func @d_powf(%a: tensor<f64>, %p: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @powf(%a, %p) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}

// -----

// fpowi r = a^n, integer n: d/da = ct * (float(n) * a^(n - 1)); the integer exponent gets no
// cotangent.
func.func private @fpowi(%a: tensor<f64>) -> tensor<f64> {
  %n = arith.constant dense<3> : tensor<i32>
  %r = math.fpowi %a, %n : tensor<f64>, tensor<i32>
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @fpowi.jacobian.0(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>)
// CHECK:         %[[N:.*]] = arith.constant dense<3> : tensor<i32>
// CHECK-NEXT:    %[[R:.*]] = math.fpowi %[[A]], %[[N]] : tensor<f64>, tensor<i32>
// CHECK-NEXT:    %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK-NEXT:    %[[EN:.*]] = tensor.extract %[[N]][] : tensor<i32>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    tensor.extract %[[R]][] : tensor<f64>
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : i32
// CHECK-NEXT:    %[[NM1:.*]] = arith.subi %[[EN]], %[[C1]] : i32
// CHECK-NEXT:    %[[NF:.*]] = arith.sitofp %[[EN]] : i32 to f64
// CHECK-NEXT:    %[[POW:.*]] = math.fpowi %[[EA]], %[[NM1]] : f64, i32
// CHECK-NEXT:    %[[F:.*]] = arith.mulf %[[NF]], %[[POW]] : f64
// CHECK-NEXT:    %[[D:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[G:.*]] = tensor.from_elements %[[D]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[G]] []
func.func @d_fpowi(%a: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @fpowi(%a) {diffArgIndices = array<i64: 0>} : (tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// copysign r = |a| sign(b): d/da = ct * (sign(a) * copysign(1, b)), with sign(0) = 0; b gets a
// zero cotangent.
func.func private @copysign(%a: tensor<f64>, %b: tensor<f64>) -> tensor<f64> {
  %r = math.copysign %a, %b : tensor<f64>
  return %r : tensor<f64>
}
// CHECK-LABEL: func.func private @copysign.jacobian.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<f64>)
// CHECK:         math.copysign %[[A]], %[[B]] : tensor<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[EA:.*]] = tensor.extract %[[A]][] : tensor<f64>
// CHECK-NEXT:    %[[EB:.*]] = tensor.extract %[[B]][] : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    tensor.extract
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SB:.*]] = math.copysign %[[ONE]], %[[EB]] : f64
// CHECK-NEXT:    %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[MONE:.*]] = arith.constant -1.000000e+00 : f64
// CHECK-NEXT:    %[[LT:.*]] = arith.cmpf olt, %[[EA]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[NEG:.*]] = arith.select %[[LT]], %[[MONE]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[ONE2:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[GT:.*]] = arith.cmpf ogt, %[[EA]], %[[ZERO]] : f64
// CHECK-NEXT:    %[[SA:.*]] = arith.select %[[GT]], %[[ONE2]], %[[NEG]] : f64
// CHECK-NEXT:    %[[F:.*]] = arith.mulf %[[SA]], %[[SB]] : f64
// CHECK-NEXT:    %[[DA:.*]] = arith.mulf %[[CT]], %[[F]] : f64
// CHECK-NEXT:    %[[GA:.*]] = tensor.from_elements %[[DA]] : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[GA]] []
// CHECK-NEXT:    %[[GB:.*]] = arith.constant dense<0.000000e+00> : tensor<f64>
// CHECK-NEXT:    tensor.expand_shape %[[GB]] []
func.func @d_copysign(%a: tensor<f64>, %b: tensor<f64>) -> (tensor<f64>, tensor<f64>) {
  %g:2 = gradient.grad "auto" @copysign(%a, %b) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %g#0, %g#1 : tensor<f64>, tensor<f64>
}
