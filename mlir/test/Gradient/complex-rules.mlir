// gradient-expand-auto: the derivative rules of complex ops (ScalarRules.cpp), one case per rule.
// The cotangent of z = x + iy is z̄ = ∂L/∂x + i ∂L/∂y (ReverseMode.h): a holomorphic w = f(z)
// passes back w̄ · conj(f'(z)). Each program builds z = complex(x, y) from real arguments, applies
// the op and returns a real part, so the checks also pin complex.create (x̄ = re(z̄)), complex.re
// (w̄ = complex(ct, 0)) and complex.im (w̄ = complex(0, ct)).
// RUN: kvant-opt %s --gradient-expand-auto -split-input-file | FileCheck %s

// exp: f' = w, so z̄ = w̄ conj(w).
func.func private @exp(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.exp %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @exp.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.exp %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[CW:.*]] = complex.conj %[[W]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CW]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_exp(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @exp(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// expm1: f' = w + 1.
func.func private @expm1(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.expm1 %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @expm1.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.expm1 %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.add %[[W]], %[[ONE]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_expm1(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @expm1(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log: f' = 1 / z.
func.func private @log(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.log %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @log.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.log %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.div %[[ONE]], %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_log(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// log1p: f' = 1 / (1 + z).
func.func private @log1p(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.log1p %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @log1p.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.log1p %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[ZP1:.*]] = complex.add %[[ONE]], %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[ONE2:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.div %[[ONE2]], %[[ZP1]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_log1p(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @log1p(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sqrt: f' = 1 / (2 w) = 0.5 / w.
func.func private @sqrt(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.sqrt %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @sqrt.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.sqrt %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[HALF:.*]] = complex.constant [5.000000e-01, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.div %[[HALF]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_sqrt(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sqrt(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// rsqrt: w = z^(-1/2), f' = -w / (2 z).
func.func private @rsqrt(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.rsqrt %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @rsqrt.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.rsqrt %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[MHALF:.*]] = complex.constant [-5.000000e-01, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[NUM:.*]] = complex.mul %[[MHALF]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.div %[[NUM]], %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_rsqrt(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @rsqrt(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sin: f' = cos z.
func.func private @sin(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.sin %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @sin.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.sin %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.cos %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_sin(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sin(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// cos: f' = -sin z.
func.func private @cos(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.cos %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @cos.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.cos %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[S:.*]] = complex.sin %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.neg %[[S]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_cos(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @cos(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tan: f' = 1 + w^2.
func.func private @tan(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.tan %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @tan.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.tan %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[W2:.*]] = complex.mul %[[W]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.add %[[ONE]], %[[W2]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_tan(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @tan(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// tanh: f' = 1 - w^2.
func.func private @tanh(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.tanh %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @tanh.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.tanh %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[W2:.*]] = complex.mul %[[W]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[D:.*]] = complex.sub %[[ONE]], %[[W2]] : complex<f64>
// CHECK-NEXT:    %[[CD:.*]] = complex.conj %[[D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CD]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_tanh(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @tanh(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// neg: z̄ = -w̄.
func.func private @neg(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.neg %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @neg.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.neg %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.neg %[[CT]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_neg(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @neg(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// conj is not holomorphic: (x, -y) passes (x̄, -ȳ) back, z̄ = conj(w̄).
func.func private @conj(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.conj %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @conj.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.conj %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.conj %[[CT]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_conj(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @conj(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sign: s = z / |z| (0 at 0), not holomorphic; z̄ = (s̄ - re(s̄ conj(s)) s) / |z|, and 0 at
// z = 0 (the factor 1/|z| is selected to 0 there).
func.func private @sign(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %w = complex.sign %z : complex<f64>
  %r = complex.im %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @sign.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create %[[X:[^,]+]], %[[Y:[^ ]+]] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.sign %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.im %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %[[ZERO]], %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[R:.*]] = complex.abs %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[C0:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[AT0:.*]] = arith.cmpf oeq, %[[R]], %[[C0]] : f64
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SAFE:.*]] = arith.select %[[AT0]], %[[C1]], %[[R]] : f64
// CHECK-NEXT:    %[[C1B:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[INV:.*]] = arith.divf %[[C1B]], %[[SAFE]] : f64
// CHECK-NEXT:    %[[C0B:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[INWARD:.*]] = arith.select %[[AT0]], %[[C0B]], %[[INV]] : f64
// CHECK-NEXT:    %[[CS:.*]] = complex.conj %[[W]] : complex<f64>
// CHECK-NEXT:    %[[P:.*]] = complex.mul %[[CT]], %[[CS]] : complex<f64>
// CHECK-NEXT:    %[[RADIAL:.*]] = complex.re %[[P]] : complex<f64>
// CHECK-NEXT:    %[[C0C:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[RADIALC:.*]] = complex.create %[[RADIAL]], %[[C0C]] : complex<f64>
// CHECK-NEXT:    %[[ALONG:.*]] = complex.mul %[[RADIALC]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[TANG:.*]] = complex.sub %[[CT]], %[[ALONG]] : complex<f64>
// CHECK-NEXT:    %[[C0D:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[INWARDC:.*]] = complex.create %[[INWARD]], %[[C0D]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[TANG]], %[[INWARDC]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_sign(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sign(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// add: both operands get w̄.
func.func private @add(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %c = complex.constant [0.5 : f64, -1.5 : f64] : complex<f64>
  %w = complex.add %z, %c : complex<f64>
  %r = complex.re %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @add.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[C:.*]] = complex.constant [5.000000e-01, -1.500000e+00] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.add %[[Z]], %[[C]] : complex<f64>
// CHECK-NEXT:    complex.re %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %{{.*}}, %[[ZERO]] : complex<f64>

// CHECK:         %[[DX:.*]] = complex.re %[[CT]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_add(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @add(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// sub: the minuend gets w̄, the subtrahend -w̄.
func.func private @sub(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %c = complex.constant [0.5 : f64, -1.5 : f64] : complex<f64>
  %w = complex.sub %z, %c : complex<f64>
  %r = complex.re %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @sub.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[C:.*]] = complex.constant [5.000000e-01, -1.500000e+00] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.sub %[[Z]], %[[C]] : complex<f64>
// CHECK-NEXT:    complex.re %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %{{.*}}, %[[ZERO]] : complex<f64>
// CHECK-NEXT:    complex.neg %[[CT]] : complex<f64>
// CHECK:         %[[DX:.*]] = complex.re %[[CT]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_sub(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @sub(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// mul: each factor gets w̄ times the conjugate of the other.
func.func private @mul(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %c = complex.constant [0.5 : f64, -1.5 : f64] : complex<f64>
  %w = complex.mul %z, %c : complex<f64>
  %r = complex.re %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @mul.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[C:.*]] = complex.constant [5.000000e-01, -1.500000e+00] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.mul %[[Z]], %[[C]] : complex<f64>
// CHECK-NEXT:    complex.re %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %{{.*}}, %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[CC:.*]] = complex.conj %[[C]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CC]] : complex<f64>
// CHECK-NEXT:    %[[CZ:.*]] = complex.conj %[[Z]] : complex<f64>
// CHECK-NEXT:    complex.mul %[[CT]], %[[CZ]] : complex<f64>
// CHECK:         %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_mul(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @mul(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// div: w = a / b; ā = w̄ / conj(b), b̄ = -ā conj(w).
func.func private @div(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %c = complex.constant [0.5 : f64, -1.5 : f64] : complex<f64>
  %w = complex.div %z, %c : complex<f64>
  %r = complex.re %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @div.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[C:.*]] = complex.constant [5.000000e-01, -1.500000e+00] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.div %[[Z]], %[[C]] : complex<f64>
// CHECK-NEXT:    complex.re %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %{{.*}}, %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[CB:.*]] = complex.conj %[[C]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.div %[[CT]], %[[CB]] : complex<f64>
// CHECK-NEXT:    %[[CW:.*]] = complex.conj %[[W]] : complex<f64>
// CHECK-NEXT:    %[[P:.*]] = complex.mul %[[DZ]], %[[CW]] : complex<f64>
// CHECK-NEXT:    complex.neg %[[P]] : complex<f64>
// CHECK:         %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_div(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @div(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// pow: w = a^p; d/da = p a^(p-1) (0 where p = 0), d/dp = log(a) w (log(0) read as 0), each
// conjugated.
func.func private @pow(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %c = complex.constant [0.5 : f64, -1.5 : f64] : complex<f64>
  %w = complex.pow %z, %c : complex<f64>
  %r = complex.re %w : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @pow.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[C:.*]] = complex.constant [5.000000e-01, -1.500000e+00] : complex<f64>
// CHECK-NEXT:    %[[W:.*]] = complex.pow %[[Z]], %[[C]] : complex<f64>
// CHECK-NEXT:    complex.re %[[W]]
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[CT:.*]] = complex.create %{{.*}}, %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[Z0:.*]] = complex.constant [0.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[PM1:.*]] = complex.sub %[[C]], %[[ONE]] : complex<f64>
// CHECK-NEXT:    %[[APM1:.*]] = complex.pow %[[Z]], %[[PM1]] : complex<f64>
// CHECK-NEXT:    %[[DA:.*]] = complex.mul %[[C]], %[[APM1]] : complex<f64>
// CHECK-NEXT:    %[[Z0B:.*]] = complex.constant [0.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[P0:.*]] = complex.eq %[[C]], %[[Z0B]] : complex<f64>
// CHECK-NEXT:    %[[DAS:.*]] = arith.select %[[P0]], %[[Z0]], %[[DA]] : complex<f64>
// CHECK-NEXT:    %[[CDA:.*]] = complex.conj %[[DAS]] : complex<f64>
// CHECK-NEXT:    %[[DZ:.*]] = complex.mul %[[CT]], %[[CDA]] : complex<f64>
// CHECK-NEXT:    %[[ONEB:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[Z0C:.*]] = complex.constant [0.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[A0:.*]] = complex.eq %[[Z]], %[[Z0C]] : complex<f64>
// CHECK-NEXT:    %[[SAFE:.*]] = arith.select %[[A0]], %[[ONEB]], %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[LOG:.*]] = complex.log %[[SAFE]] : complex<f64>
// CHECK-NEXT:    %[[DP:.*]] = complex.mul %[[LOG]], %[[W]] : complex<f64>
// CHECK-NEXT:    %[[CDP:.*]] = complex.conj %[[DP]] : complex<f64>
// CHECK-NEXT:    complex.mul %[[CT]], %[[CDP]] : complex<f64>
// CHECK:         %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_pow(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @pow(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// abs: r = |z| is real; z̄ = r̄ z / r, and 0 at z = 0 (as JAX).
func.func private @abs(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %x0 = tensor.extract %t0[] : tensor<f64>
  %x1 = tensor.extract %t1[] : tensor<f64>
  %z = complex.create %x0, %x1 : complex<f64>
  %r = complex.abs %z : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @abs.jacobian.0(
// CHECK:         %[[Z:.*]] = complex.create
// CHECK-NEXT:    %[[R:.*]] = complex.abs %[[Z]] : complex<f64>
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[CT:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK-NEXT:    %[[C0:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[AT0:.*]] = arith.cmpf oeq, %[[R]], %[[C0]] : f64
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-NEXT:    %[[SAFE:.*]] = arith.select %[[AT0]], %[[C1]], %[[R]] : f64
// CHECK-NEXT:    %[[Q:.*]] = arith.divf %[[CT]], %[[SAFE]] : f64
// CHECK-NEXT:    %[[C0B:.*]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT:    %[[SCALE:.*]] = arith.select %[[AT0]], %[[C0B]], %[[Q]] : f64
// CHECK-NEXT:    %[[IM:.*]] = complex.im %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[DY:.*]] = arith.mulf %[[SCALE]], %[[IM]] : f64
// CHECK-NEXT:    %[[RE:.*]] = complex.re %[[Z]] : complex<f64>
// CHECK-NEXT:    %[[DXP:.*]] = arith.mulf %[[SCALE]], %[[RE]] : f64
// CHECK-NEXT:    %[[DZ:.*]] = complex.create %[[DXP]], %[[DY]] : complex<f64>
// CHECK-NEXT:    %[[DX:.*]] = complex.re %[[DZ]] : complex<f64>
// CHECK:         tensor.from_elements %[[DX]] : tensor<f64>
func.func @d_abs(%t0: tensor<f64>, %t1: tensor<f64>) -> tensor<f64> {
  %g = gradient.grad "auto" @abs(%t0, %t1) {diffArgIndices = array<i64: 0>} : (tensor<f64>, tensor<f64>) -> tensor<f64>
  return %g : tensor<f64>
}

// -----

// Tensor rules on complex values. y = A z for a complex matrix A (linalg.generic with
// complex.mul/add, as dot_general is lowered): z̄_j = Σ_i ȳ_i conj(A_ij), the product rule's
// conjugate of the other factor (Ā = C̄ B^H for C = A B). Sums (linalg.reduce by complex.add)
// spread their cotangent; z's two cotangents are added with complex.add (a linalg.generic:
// the complex dialect has scalar ops only); z = complex(x, x) gives x̄ = re(z̄) + im(z̄).
#id = affine_map<(i) -> (i)>
#mat = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
#row = affine_map<(i, j) -> (i)>
func.func private @matvec(%x: tensor<3xf64>) -> tensor<f64> {
  %zero = arith.constant 0.0 : f64
  %a = arith.constant dense<[[(1.0, 2.0), (0.5, -1.0), (0.0, 3.0)], [(2.0, 0.0), (-1.0, 1.0), (0.25, 0.5)]]> : tensor<2x3xcomplex<f64>>
  %e = tensor.empty() : tensor<3xcomplex<f64>>
  %z = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<3xf64>) outs(%e : tensor<3xcomplex<f64>>) {
  ^bb0(%v: f64, %o: complex<f64>):
    %c = complex.create %v, %v : complex<f64>
    linalg.yield %c : complex<f64>
  } -> tensor<3xcomplex<f64>>
  %czero = complex.constant [0.0 : f64, 0.0 : f64] : complex<f64>
  %e2 = tensor.empty() : tensor<2xcomplex<f64>>
  %init = linalg.fill ins(%czero : complex<f64>) outs(%e2 : tensor<2xcomplex<f64>>) -> tensor<2xcomplex<f64>>
  %y = linalg.generic {indexing_maps = [#mat, #col, #row], iterator_types = ["parallel", "reduction"]} ins(%a, %z : tensor<2x3xcomplex<f64>>, tensor<3xcomplex<f64>>) outs(%init : tensor<2xcomplex<f64>>) {
  ^bb0(%aij: complex<f64>, %zj: complex<f64>, %acc: complex<f64>):
    %p = complex.mul %aij, %zj : complex<f64>
    %s = complex.add %acc, %p : complex<f64>
    linalg.yield %s : complex<f64>
  } -> tensor<2xcomplex<f64>>
  %e0 = tensor.empty() : tensor<complex<f64>>
  %init0 = linalg.fill ins(%czero : complex<f64>) outs(%e0 : tensor<complex<f64>>) -> tensor<complex<f64>>
  %sum = linalg.reduce ins(%y : tensor<2xcomplex<f64>>) outs(%init0 : tensor<complex<f64>>) dimensions = [0]
    (%u: complex<f64>, %w: complex<f64>) { %t = complex.add %u, %w : complex<f64>
      linalg.yield %t : complex<f64> }
  %sz = linalg.reduce ins(%z : tensor<3xcomplex<f64>>) outs(%init0 : tensor<complex<f64>>) dimensions = [0]
    (%u: complex<f64>, %w: complex<f64>) { %t = complex.add %u, %w : complex<f64>
      linalg.yield %t : complex<f64> }
  %s0 = tensor.extract %sum[] : tensor<complex<f64>>
  %s1 = tensor.extract %sz[] : tensor<complex<f64>>
  %both = complex.mul %s0, %s1 : complex<f64>
  %r = complex.im %both : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @matvec.jacobian.0(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<3xf64>)
// CHECK:         %[[A:.*]] = arith.constant dense<{{.*}}> : tensor<2x3xcomplex<f64>>
// CHECK:         %[[Z:.*]] = linalg.generic
// CHECK:         %[[S0:.*]] = tensor.extract %{{.*}}[] : tensor<complex<f64>>
// CHECK-NEXT:    %[[S1:.*]] = tensor.extract %{{.*}}[] : tensor<complex<f64>>
// CHECK-NEXT:    complex.mul %[[S0]], %[[S1]] : complex<f64>
// CHECK:         %[[CT:.*]] = complex.create %{{.*}}, %{{.*}} : complex<f64>
// CHECK-NEXT:    %[[CS1:.*]] = complex.conj %[[S1]] : complex<f64>
// CHECK-NEXT:    %[[DS0:.*]] = complex.mul %[[CT]], %[[CS1]] : complex<f64>
// CHECK-NEXT:    %[[CS0:.*]] = complex.conj %[[S0]] : complex<f64>
// CHECK-NEXT:    %[[DS1:.*]] = complex.mul %[[CT]], %[[CS0]] : complex<f64>
// CHECK:         %[[DS1T:.*]] = tensor.from_elements %[[DS1]] : tensor<complex<f64>>
// CHECK:         %[[SPREAD:.*]] = linalg.broadcast ins(%[[DS1T]] : tensor<complex<f64>>) outs(%{{.*}} : tensor<3xcomplex<f64>>)
// CHECK:         %[[DS0T:.*]] = tensor.from_elements %[[DS0]] : tensor<complex<f64>>
// CHECK:         %[[DY:.*]] = linalg.broadcast ins(%[[DS0T]] : tensor<complex<f64>>) outs(%{{.*}} : tensor<2xcomplex<f64>>)
// CHECK:         %[[DZ:.*]] = linalg.generic {{{.*}}iterator_types = ["reduction", "parallel"]} ins(%[[A]], %[[Z]], %[[DY]] : {{.*}}) outs(%{{.*}} : tensor<3xcomplex<f64>>)
// CHECK-NEXT:    ^bb0(%[[AIJ:[a-z0-9_]+]]: complex<f64>, %[[ZJ:[a-z0-9_]+]]: complex<f64>, %[[CTI:[a-z0-9_]+]]: complex<f64>, %[[ACC:[a-z0-9_]+]]: complex<f64>):
// CHECK:         %[[CA:.*]] = complex.conj %[[AIJ]] : complex<f64>
// CHECK-NEXT:    %[[TERM:.*]] = complex.mul %[[CTI]], %[[CA]] : complex<f64>
// CHECK-NEXT:    %[[NEXT:.*]] = complex.add %[[ACC]], %[[TERM]] : complex<f64>
// CHECK-NEXT:    linalg.yield %[[NEXT]] : complex<f64>
// CHECK:         %[[ZSUM:.*]] = linalg.generic {{.*}} ins(%[[SPREAD]], %[[DZ]] : tensor<3xcomplex<f64>>, tensor<3xcomplex<f64>>)
// CHECK-NEXT:    ^bb0(%[[P:[a-z0-9_]+]]: complex<f64>, %[[Q:[a-z0-9_]+]]: complex<f64>, %{{.*}}: complex<f64>):
// CHECK-NEXT:    %[[PQ:.*]] = complex.add %[[P]], %[[Q]] : complex<f64>
// CHECK-NEXT:    linalg.yield %[[PQ]] : complex<f64>
// CHECK:         %[[DX:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[ZSUM]] : tensor<3xf64>, tensor<3xcomplex<f64>>)
// CHECK-NEXT:    ^bb0(%{{.*}}: f64, %[[ZB:[a-z0-9_]+]]: complex<f64>, %[[OUT:[a-z0-9_]+]]: f64):
// CHECK:         %[[RE:.*]] = complex.re %[[ZB]] : complex<f64>
// CHECK-NEXT:    %[[IM:.*]] = complex.im %[[ZB]] : complex<f64>
// CHECK-NEXT:    %[[RI:.*]] = arith.addf %[[RE]], %[[IM]] : f64
// CHECK-NEXT:    arith.addf %[[OUT]], %[[RI]] : f64
// CHECK:         return %{{.*}}, %{{.*}} : tensor<f64>, tensor<3xf64>
func.func @d_matvec(%x: tensor<3xf64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @matvec(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}

// -----

// A complex product (linalg.reduce by complex.mul from 1): as the real rule, the product of
// the other elements, exact with zeros (nonzero product and zero count, both in the element
// type, compared with complex.eq), and conjugated: x̄_i = p̄ conj(Π_{j≠i} x_j).
#id = affine_map<(i) -> (i)>
func.func private @cprod(%x: tensor<3xf64>) -> tensor<f64> {
  %e = tensor.empty() : tensor<3xcomplex<f64>>
  %z = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<3xf64>) outs(%e : tensor<3xcomplex<f64>>) {
  ^bb0(%v: f64, %o: complex<f64>):
    %one = arith.constant 1.0 : f64
    %c = complex.create %v, %one : complex<f64>
    linalg.yield %c : complex<f64>
  } -> tensor<3xcomplex<f64>>
  %cone = complex.constant [1.0 : f64, 0.0 : f64] : complex<f64>
  %e0 = tensor.empty() : tensor<complex<f64>>
  %init = linalg.fill ins(%cone : complex<f64>) outs(%e0 : tensor<complex<f64>>) -> tensor<complex<f64>>
  %p = linalg.reduce ins(%z : tensor<3xcomplex<f64>>) outs(%init : tensor<complex<f64>>) dimensions = [0]
    (%u: complex<f64>, %w: complex<f64>) { %t = complex.mul %u, %w : complex<f64>
      linalg.yield %t : complex<f64> }
  %s = tensor.extract %p[] : tensor<complex<f64>>
  %r = complex.re %s : complex<f64>
  %out = tensor.from_elements %r : tensor<f64>
  return %out : tensor<f64>
}
// CHECK-LABEL: func.func private @cprod.jacobian.0(
// CHECK:         %[[Z:.*]] = linalg.generic
// CHECK:         %[[SEED:.*]] = arith.constant dense<1.000000e+00> : tensor<f64>
// CHECK-NEXT:    %[[E:.*]] = tensor.extract %[[SEED]][] : tensor<f64>
// CHECK:         %[[CT:.*]] = complex.create %[[E]], %{{.*}} : complex<f64>
// CHECK:         %[[CTT:.*]] = tensor.from_elements %[[CT]] : tensor<complex<f64>>
// CHECK:         %[[ZERO:.*]] = complex.constant [0.000000e+00, 0.000000e+00] : complex<f64>
// CHECK-NEXT:    %[[ONE:.*]] = complex.constant [1.000000e+00, 0.000000e+00] : complex<f64>
// CHECK:         %[[STATS:.*]]:2 = linalg.generic {{.*}} ins(%[[Z]] : tensor<3xcomplex<f64>>)
// CHECK-NEXT:    ^bb0(%[[XI:[a-z0-9_]+]]: complex<f64>, %[[PROD:[a-z0-9_]+]]: complex<f64>, %[[COUNT:[a-z0-9_]+]]: complex<f64>):
// CHECK-NEXT:    %[[ISZ:.*]] = complex.eq %[[XI]], %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[FACTOR:.*]] = arith.select %[[ISZ]], %[[ONE]], %[[XI]] : complex<f64>
// CHECK-NEXT:    %[[INC:.*]] = arith.select %[[ISZ]], %[[ONE]], %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[PROD2:.*]] = complex.mul %[[PROD]], %[[FACTOR]] : complex<f64>
// CHECK-NEXT:    %[[COUNT2:.*]] = complex.add %[[COUNT]], %[[INC]] : complex<f64>
// CHECK:         %[[DZ:.*]] = linalg.generic {{.*}} ins(%[[Z]], %[[CTT]], %[[STATS]]#0, %[[STATS]]#1 : {{.*}})
// CHECK-NEXT:    ^bb0(%[[XJ:[a-z0-9_]+]]: complex<f64>, %[[CTJ:[a-z0-9_]+]]: complex<f64>, %[[NZP:[a-z0-9_]+]]: complex<f64>, %[[NZ:[a-z0-9_]+]]: complex<f64>, %{{.*}}: complex<f64>):
// CHECK-NEXT:    %[[XZ:.*]] = complex.eq %[[XJ]], %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[NONE:.*]] = complex.eq %[[NZ]], %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[SINGLE:.*]] = complex.eq %[[NZ]], %[[ONE]] : complex<f64>
// CHECK-NEXT:    %[[THIS:.*]] = arith.andi %[[SINGLE]], %[[XZ]] : i1
// CHECK-NEXT:    %[[ATZERO:.*]] = arith.select %[[THIS]], %[[NZP]], %[[ZERO]] : complex<f64>
// CHECK-NEXT:    %[[QUOT:.*]] = complex.div %[[NZP]], %[[XJ]] : complex<f64>
// CHECK-NEXT:    %[[OTHERS:.*]] = arith.select %[[NONE]], %[[QUOT]], %[[ATZERO]] : complex<f64>
// CHECK-NEXT:    %[[CONJ:.*]] = complex.conj %[[OTHERS]] : complex<f64>
// CHECK-NEXT:    %[[R:.*]] = complex.mul %[[CTJ]], %[[CONJ]] : complex<f64>
// CHECK-NEXT:    linalg.yield %[[R]] : complex<f64>
// CHECK:         linalg.generic {{.*}} ins(%{{.*}}, %[[DZ]] : tensor<3xf64>, tensor<3xcomplex<f64>>)
func.func @d_cprod(%x: tensor<3xf64>) -> tensor<3xf64> {
  %g = gradient.grad "auto" @cprod(%x) {diffArgIndices = array<i64: 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %g : tensor<3xf64>
}
