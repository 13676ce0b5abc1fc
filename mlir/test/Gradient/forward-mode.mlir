// gradient-expand-auto on gradient.jvp: forward mode, one tangent rule per op (ForwardMode.h,
// TangentRules.cpp). Each case checks the tangent code a rule emits beside the primal code.
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// Elementwise ops take their reverse scalar rule at cotangent 1 as the partial derivatives:
// on rank-0 tensors through the elements (mulf: ẏ = a ȧ + a ȧ), on other tensors in a
// linalg.generic (sin: ẏ = cos(x) ẋ).
func.func private @mulf(%a: tensor<f64>, %b: tensor<3xf64>) -> (tensor<f64>, tensor<3xf64>) {
  %y = arith.mulf %a, %a : tensor<f64>
  %s = math.sin %b : tensor<3xf64>
  return %y, %s : tensor<f64>, tensor<3xf64>
}
// CHECK-LABEL: func.func private @mulf.jvp.0.1(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<f64>, %[[B:[^:]+]]: tensor<3xf64>, %[[TA:[^:]+]]: tensor<f64>, %[[TB:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[Y:.*]] = arith.mulf %[[A]], %[[A]] : tensor<f64>
// CHECK:         %[[EA:.*]] = tensor.extract %[[A]][]
// CHECK:         %[[ETA:.*]] = tensor.extract %[[TA]][]
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
// CHECK:         %[[P:.*]] = arith.mulf %[[ONE]], %{{.*}} : f64
// CHECK:         %[[T1:.*]] = arith.mulf %[[P]], %[[ETA]] : f64
// CHECK:         %[[T2:.*]] = arith.mulf %{{.*}}, %{{.*}} : f64
// CHECK:         %[[DY:.*]] = arith.addf %[[T1]], %[[T2]] : f64
// CHECK:         %[[DYT:.*]] = tensor.from_elements %[[DY]] : tensor<f64>
// CHECK:         %[[S:.*]] = math.sin %[[B]] : tensor<3xf64>
// CHECK:         %[[DS:.*]] = linalg.generic {{.*}} ins(%[[B]], %[[S]], %[[TB]] : {{.*}})
// CHECK:         ^bb0(%[[X:[^:]+]]: f64, %{{[^:]+}}: f64, %[[XT:[^:]+]]: f64, %{{[^:]+}}: f64):
// CHECK:           %[[C:.*]] = math.cos %[[X]] : f64
// CHECK:           %[[PC:.*]] = arith.mulf %{{.*}}, %[[C]] : f64
// CHECK:           %[[T:.*]] = arith.mulf %[[PC]], %[[XT]] : f64
// CHECK:           linalg.yield %[[T]] : f64
// CHECK:         return %[[Y]], %[[S]], %[[DYT]], %[[DS]]
// CHECK-LABEL: func.func @jvp_mulf(
// CHECK:         %[[R:.*]]:4 = call @mulf.jvp.0.1(
// CHECK:         return %[[R]]#2, %[[R]]#3
func.func @jvp_mulf(%a: tensor<f64>, %b: tensor<3xf64>, %ta: tensor<f64>, %tb: tensor<3xf64>) -> (tensor<f64>, tensor<3xf64>) {
  %r:4 = gradient.jvp @mulf(%a, %b) tangents(%ta, %tb) {diffArgIndices = array<i64: 0, 1>} : (tensor<f64>, tensor<3xf64>), (tensor<f64>, tensor<3xf64>) -> (tensor<f64>, tensor<3xf64>, tensor<f64>, tensor<3xf64>)
  return %r#2, %r#3 : tensor<f64>, tensor<3xf64>
}

// -----

// extf converts the tangent as the value; select selects the tangents.
func.func private @conv(%a: tensor<2xf32>, %c: tensor<2xi1>, %b: tensor<2xf64>) -> tensor<2xf64> {
  %e = arith.extf %a : tensor<2xf32> to tensor<2xf64>
  %s = arith.select %c, %e, %b : tensor<2xi1>, tensor<2xf64>
  return %s : tensor<2xf64>
}
// CHECK-LABEL: func.func private @conv.jvp.0.2(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<2xf32>, %[[C:[^:]+]]: tensor<2xi1>, %[[B:[^:]+]]: tensor<2xf64>, %[[TA:[^:]+]]: tensor<2xf32>, %[[TB:[^:]+]]: tensor<2xf64>)
// CHECK-NEXT:    %[[E:.*]] = arith.extf %[[A]] : tensor<2xf32> to tensor<2xf64>
// CHECK-NEXT:    %[[TE:.*]] = arith.extf %[[TA]] : tensor<2xf32> to tensor<2xf64>
// CHECK-NEXT:    %[[S:.*]] = arith.select %[[C]], %[[E]], %[[B]]
// CHECK-NEXT:    %[[TS:.*]] = arith.select %[[C]], %[[TE]], %[[TB]]
// CHECK-NEXT:    return %[[S]], %[[TS]]
func.func @jvp_conv(%a: tensor<2xf32>, %c: tensor<2xi1>, %b: tensor<2xf64>, %ta: tensor<2xf32>, %tb: tensor<2xf64>) -> tensor<2xf64> {
  %r:2 = gradient.jvp @conv(%a, %c, %b) tangents(%ta, %tb) {diffArgIndices = array<i64: 0, 2>} : (tensor<2xf32>, tensor<2xi1>, tensor<2xf64>), (tensor<2xf32>, tensor<2xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}

// -----

// Tensor ops that move elements are linear: the same op on the tangents, index operands kept
// (extract, extract_slice, from_elements, concat).
func.func private @moves(%x: tensor<4xf64>, %i: index) -> tensor<3xf64> {
  %e = tensor.extract %x[%i] : tensor<4xf64>
  %s = tensor.extract_slice %x[1] [2] [1] : tensor<4xf64> to tensor<2xf64>
  %f = tensor.from_elements %e : tensor<1xf64>
  %c = tensor.concat dim(0) %s, %f : (tensor<2xf64>, tensor<1xf64>) -> tensor<3xf64>
  return %c : tensor<3xf64>
}
// CHECK-LABEL: func.func private @moves.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<4xf64>, %[[I:[^:]+]]: index, %[[T:[^:]+]]: tensor<4xf64>)
// CHECK-NEXT:    %[[E:.*]] = tensor.extract %[[X]][%[[I]]]
// CHECK-NEXT:    %[[TE:.*]] = tensor.extract %[[T]][%[[I]]]
// CHECK-NEXT:    %[[S:.*]] = tensor.extract_slice %[[X]][1] [2] [1]
// CHECK-NEXT:    %[[TS:.*]] = tensor.extract_slice %[[T]][1] [2] [1]
// CHECK-NEXT:    %[[F:.*]] = tensor.from_elements %[[E]]
// CHECK-NEXT:    %[[TF:.*]] = tensor.from_elements %[[TE]]
// CHECK-NEXT:    %[[C:.*]] = tensor.concat dim(0) %[[S]], %[[F]]
// CHECK-NEXT:    %[[TC:.*]] = tensor.concat dim(0) %[[TS]], %[[TF]]
// CHECK-NEXT:    return %[[C]], %[[TC]]
func.func @jvp_moves(%x: tensor<4xf64>, %i: index, %t: tensor<4xf64>) -> tensor<3xf64> {
  %r:2 = gradient.jvp @moves(%x, %i) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<4xf64>, index), (tensor<4xf64>) -> (tensor<3xf64>, tensor<3xf64>)
  return %r#1 : tensor<3xf64>
}

// -----

// insert / insert_slice: zeros stand for the destination's missing tangent; pad: the op on the
// tangent, its body yielding the padding value's tangent (zero for a constant).
func.func private @ins(%x: tensor<4xf64>, %v: tensor<f64>, %d: tensor<4xf64>) -> tensor<6xf64> {
  %e = tensor.extract %v[] : tensor<f64>
  %c0 = arith.constant 0 : index
  %i = tensor.insert %e into %d[%c0] : tensor<4xf64>
  %x2 = tensor.extract_slice %x[0] [2] [1] : tensor<4xf64> to tensor<2xf64>
  %s = tensor.insert_slice %x2 into %i[2] [2] [1] : tensor<2xf64> into tensor<4xf64>
  %cst = arith.constant 2.0 : f64
  %p = tensor.pad %s low[1] high[1] {
  ^bb0(%k: index):
    tensor.yield %cst : f64
  } : tensor<4xf64> to tensor<6xf64>
  return %p : tensor<6xf64>
}
func.func @jvp_ins(%x: tensor<4xf64>, %v: tensor<f64>, %d: tensor<4xf64>, %tx: tensor<4xf64>, %tv: tensor<f64>) -> tensor<6xf64> {
  %r:2 = gradient.jvp @ins(%x, %v, %d) tangents(%tx, %tv) {diffArgIndices = array<i64: 0, 1>} : (tensor<4xf64>, tensor<f64>, tensor<4xf64>), (tensor<4xf64>, tensor<f64>) -> (tensor<6xf64>, tensor<6xf64>)
  return %r#1 : tensor<6xf64>
}
// CHECK-LABEL: func.func private @ins.jvp.0.1(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<4xf64>, %[[V:[^:]+]]: tensor<f64>, %[[D:[^:]+]]: tensor<4xf64>, %[[TX:[^:]+]]: tensor<4xf64>, %[[TV:[^:]+]]: tensor<f64>)
// CHECK:         %[[TE:.*]] = tensor.extract %[[TV]][]
// CHECK:         %[[I:.*]] = tensor.insert %{{.*}} into %[[D]]
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<4xf64>
// CHECK:         %[[TI:.*]] = tensor.insert %[[TE]] into %[[Z]]
// CHECK:         %[[TXS:.*]] = tensor.extract_slice %[[TX]][0] [2] [1]
// CHECK:         %[[S:.*]] = tensor.insert_slice %{{.*}} into %[[I]][2] [2] [1]
// CHECK:         %[[TS:.*]] = tensor.insert_slice %[[TXS]] into %[[TI]][2] [2] [1]
// CHECK:         %[[P:.*]] = tensor.pad %[[S]] low[1] high[1]
// CHECK:         %[[TP:.*]] = tensor.pad %[[TS]] low[1] high[1]
// CHECK:           %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:           tensor.yield %[[ZERO]] : f64
// CHECK:         return %[[P]], %[[TP]]

// -----

// linalg: a reduction whose tangent does not read its accumulator (a sum) keeps the primal op
// and gets a generic of its own for the tangent, whose body keeps only what the tangent needs.
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
func.func private @matvec(%w: tensor<2x3xf64>, %x: tensor<3xf64>) -> tensor<2xf64> {
  %zero = arith.constant dense<0.0> : tensor<2xf64>
  %y = linalg.generic {indexing_maps = [#id, #col, #row], iterator_types = ["parallel", "reduction"]} ins(%w, %x : tensor<2x3xf64>, tensor<3xf64>) outs(%zero : tensor<2xf64>) {
  ^bb0(%a: f64, %b: f64, %acc: f64):
    %p = arith.mulf %a, %b : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  } -> tensor<2xf64>
  return %y : tensor<2xf64>
}
func.func @jvp_matvec(%w: tensor<2x3xf64>, %x: tensor<3xf64>, %t: tensor<3xf64>) -> tensor<2xf64> {
  %r:2 = gradient.jvp @matvec(%w, %x) tangents(%t) {diffArgIndices = array<i64: 1>} : (tensor<2x3xf64>, tensor<3xf64>), (tensor<3xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}
// CHECK-LABEL: func.func private @matvec.jvp.1(
// CHECK-SAME:      %[[W:[^:]+]]: tensor<2x3xf64>, %[[X:[^:]+]]: tensor<3xf64>, %[[T:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[Y:.*]] = linalg.generic {{.*}} ins(%[[W]], %[[X]] : {{.*}}) outs(%{{.*}} : tensor<2xf64>)
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf64>
// CHECK:         %[[DY:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[W]], %[[X]], %[[T]] : {{.*}}) outs(%[[Z]] : tensor<2xf64>)
// CHECK-NEXT:    ^bb0(%[[WI:[^:]+]]: f64, %{{[^:]+}}: f64, %[[TI:[^:]+]]: f64, %[[ACC:[^:]+]]: f64):
// CHECK:           %[[PW:.*]] = arith.mulf %{{.*}}, %[[WI]] : f64
// CHECK:           %[[TP:.*]] = arith.mulf %[[PW]], %[[TI]] : f64
// CHECK:           %[[TACC:.*]] = arith.mulf %{{.*}}, %[[ACC]] : f64
// CHECK:           %[[TTP:.*]] = arith.mulf %{{.*}}, %[[TP]] : f64
// CHECK:           %[[SUM:.*]] = arith.addf %[[TACC]], %[[TTP]] : f64
// CHECK-NEXT:      linalg.yield %[[SUM]] : f64
// CHECK:         return %[[Y]], %[[DY]]

// -----

// A max-reduction's tangent follows its running maximum: one generic carries both.
func.func private @rowmax(%x: tensor<2x3xf64>) -> tensor<2xf64> {
  %init = arith.constant dense<-1.0e300> : tensor<2xf64>
  %m = linalg.reduce ins(%x : tensor<2x3xf64>) outs(%init : tensor<2xf64>) dimensions = [1]
    (%in: f64, %acc: f64) {
      %r = arith.maximumf %in, %acc : f64
      linalg.yield %r : f64
    }
  return %m : tensor<2xf64>
}
func.func @jvp_rowmax(%x: tensor<2x3xf64>, %t: tensor<2x3xf64>) -> tensor<2xf64> {
  %r:2 = gradient.jvp @rowmax(%x) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<2x3xf64>), (tensor<2x3xf64>) -> (tensor<2xf64>, tensor<2xf64>)
  return %r#1 : tensor<2xf64>
}
// CHECK-LABEL: func.func private @rowmax.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<2x3xf64>, %[[T:[^:]+]]: tensor<2x3xf64>)
// CHECK:         %[[R:.*]]:2 = linalg.generic {{.*}} ins(%[[X]], %[[T]] : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<2xf64>, tensor<2xf64>)
// CHECK-NEXT:    ^bb0(%[[IN:[^:]+]]: f64, %[[TIN:[^:]+]]: f64, %[[ACC:[^:]+]]: f64, %[[TACC:[^:]+]]: f64):
// CHECK-NEXT:      %[[M:.*]] = arith.maximumf %[[IN]], %[[ACC]] : f64
// CHECK:           arith.cmpf ogt, %[[IN]], %[[ACC]] : f64
// CHECK:           %[[A:.*]] = arith.mulf %{{.*}}, %[[TIN]] : f64
// CHECK:           %[[B:.*]] = arith.mulf %{{.*}}, %[[TACC]] : f64
// CHECK:           %[[S:.*]] = arith.addf %[[A]], %[[B]] : f64
// CHECK-NEXT:      linalg.yield %[[M]], %[[S]] : f64, f64
// CHECK:         return %[[R]]#0, %[[R]]#1

// -----

// Named linalg ops: the generic form of their maps and body (matmul: Ȧ A + A Ȧ per point).
func.func private @mm(%a: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %init = arith.constant dense<0.0> : tensor<2x2xf64>
  %c = linalg.matmul ins(%a, %a : tensor<2x2xf64>, tensor<2x2xf64>) outs(%init : tensor<2x2xf64>) -> tensor<2x2xf64>
  return %c : tensor<2x2xf64>
}
func.func @jvp_mm(%a: tensor<2x2xf64>, %t: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %r:2 = gradient.jvp @mm(%a) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<2x2xf64>), (tensor<2x2xf64>) -> (tensor<2x2xf64>, tensor<2x2xf64>)
  return %r#1 : tensor<2x2xf64>
}
// CHECK-LABEL: func.func private @mm.jvp.0(
// CHECK-SAME:      %[[A:[^:]+]]: tensor<2x2xf64>, %[[T:[^:]+]]: tensor<2x2xf64>)
// CHECK:         %[[C:.*]] = linalg.matmul ins(%[[A]], %[[A]] : {{.*}})
// CHECK:         %[[DC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[A]], %[[A]], %[[T]], %[[T]] : {{.*}})
// CHECK:         return %[[C]], %[[DC]]

// -----

// scf.for carries the tangent beside the value; the loop replaces the primal one.
func.func private @loop(%x: tensor<f64>, %n: index) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%a = %x) -> (tensor<f64>) {
    %s = math.sin %a : tensor<f64>
    scf.yield %s : tensor<f64>
  }
  return %r : tensor<f64>
}
func.func @jvp_loop(%x: tensor<f64>, %n: index, %t: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @loop(%x, %n) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<f64>, index), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
// CHECK-LABEL: func.func private @loop.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>, %[[N:[^:]+]]: index, %[[T:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]]:2 = scf.for %{{.*}} = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[A:.*]] = %[[X]], %[[TA:.*]] = %[[T]]) -> (tensor<f64>, tensor<f64>)
// CHECK-NEXT:      %[[S:.*]] = math.sin %[[A]] : tensor<f64>
// CHECK:           %[[ETA:.*]] = tensor.extract %[[TA]][]
// CHECK:           math.cos
// CHECK:           %[[D:.*]] = arith.mulf %{{.*}}, %[[ETA]] : f64
// CHECK:           %[[DT:.*]] = tensor.from_elements %[[D]]
// CHECK:           scf.yield %[[S]], %[[DT]] : tensor<f64>, tensor<f64>
// CHECK:         return %[[R]]#0, %[[R]]#1

// -----

// scf.if: each branch yields its tangents too (the else branch passes the argument's on).
func.func private @branch(%x: tensor<f64>, %c: i1) -> tensor<f64> {
  %r = scf.if %c -> (tensor<f64>) {
    %s = math.exp %x : tensor<f64>
    scf.yield %s : tensor<f64>
  } else {
    scf.yield %x : tensor<f64>
  }
  return %r : tensor<f64>
}
func.func @jvp_branch(%x: tensor<f64>, %c: i1, %t: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @branch(%x, %c) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<f64>, i1), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
// CHECK-LABEL: func.func private @branch.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>, %[[C:[^:]+]]: i1, %[[T:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]]:2 = scf.if %[[C]] -> (tensor<f64>, tensor<f64>)
// CHECK:           %[[E:.*]] = math.exp %[[X]]
// CHECK:           %[[D:.*]] = tensor.from_elements
// CHECK:           scf.yield %[[E]], %[[D]]
// CHECK:         } else {
// CHECK:           scf.yield %[[X]], %[[T]]
// CHECK:         return %[[R]]#0, %[[R]]#1

// -----

// scf.while: the tangents are carried before and after the condition.
func.func private @wloop(%x: tensor<f64>) -> tensor<f64> {
  %c0 = arith.constant 0 : index
  %c3 = arith.constant 3 : index
  %c1 = arith.constant 1 : index
  %r:2 = scf.while (%a = %x, %i = %c0) : (tensor<f64>, index) -> (tensor<f64>, index) {
    %go = arith.cmpi slt, %i, %c3 : index
    scf.condition(%go) %a, %i : tensor<f64>, index
  } do {
  ^bb0(%b: tensor<f64>, %j: index):
    %s = arith.mulf %b, %b : tensor<f64>
    %k = arith.addi %j, %c1 : index
    scf.yield %s, %k : tensor<f64>, index
  }
  return %r#0 : tensor<f64>
}
func.func @jvp_wloop(%x: tensor<f64>, %t: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @wloop(%x) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<f64>), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
// CHECK-LABEL: func.func private @wloop.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>, %[[T:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]]:3 = scf.while (%[[A:.*]] = %[[X]], %[[I:.*]] = %{{.*}}, %[[TA:.*]] = %[[T]]) : (tensor<f64>, index, tensor<f64>) -> (tensor<f64>, index, tensor<f64>)
// CHECK:           scf.condition(%{{.*}}) %[[A]], %[[I]], %[[TA]]
// CHECK:         } do {
// CHECK:         ^bb0(%[[B:[^:]+]]: tensor<f64>, %{{[^:]+}}: index, %[[TB:[^:]+]]: tensor<f64>):
// CHECK:           %[[S:.*]] = arith.mulf %[[B]], %[[B]]
// CHECK:           %[[D:.*]] = tensor.from_elements
// CHECK:           scf.yield %[[S]], %{{.*}}, %[[D]]
// CHECK:         return %[[R]]#0, %[[R]]#2

// -----

// scf.index_switch: as scf.if, every case.
func.func private @sw(%x: tensor<f64>, %k: index) -> tensor<f64> {
  %r = scf.index_switch %k -> tensor<f64>
  case 0 {
    %s = math.cos %x : tensor<f64>
    scf.yield %s : tensor<f64>
  }
  default {
    scf.yield %x : tensor<f64>
  }
  return %r : tensor<f64>
}
func.func @jvp_sw(%x: tensor<f64>, %k: index, %t: tensor<f64>) -> tensor<f64> {
  %r:2 = gradient.jvp @sw(%x, %k) tangents(%t) {diffArgIndices = array<i64: 0>} : (tensor<f64>, index), (tensor<f64>) -> (tensor<f64>, tensor<f64>)
  return %r#1 : tensor<f64>
}
// CHECK-LABEL: func.func private @sw.jvp.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<f64>, %[[K:[^:]+]]: index, %[[T:[^:]+]]: tensor<f64>)
// CHECK:         %[[R:.*]]:2 = scf.index_switch %[[K]] -> tensor<f64>, tensor<f64>
// CHECK:         case 0 {
// CHECK:           %[[C:.*]] = math.cos %[[X]]
// CHECK:           math.sin
// CHECK:           arith.negf
// CHECK:           scf.yield %[[C]], %{{.*}}
// CHECK:         default {
// CHECK:           scf.yield %[[X]], %[[T]]
// CHECK:         return %[[R]]#0, %[[R]]#1
