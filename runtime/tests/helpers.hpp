// Test-side tools: an RAII register, state read-back, and an independent reference model
// (dense matrices built from Pauli generators and textbook definitions, applied naively) that
// the runtime's kernels are checked against.
#pragma once

#include "check.hpp"
#include "kvant/runtime.h"

#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace testing {

using C = std::complex<double>;
constexpr C I{0.0, 1.0};
constexpr double kTol = 1e-12;

// ---------------------------------------------------------------- registers and state
struct Reg {
  int64_t handle;
  int64_t n;
  explicit Reg(int64_t numQubits) : handle(kvant_rt_qalloc(numQubits)), n(numQubits) {}
  ~Reg() { kvant_rt_qdealloc(handle); }
  Reg(const Reg &) = delete;
  Reg &operator=(const Reg &) = delete;
};

inline std::vector<C> readState(int64_t n) {
  std::vector<double> raw(2 * (std::size_t{1} << n), std::nan(""));
  kvant_rt_state(raw.data(), static_cast<int64_t>(std::size_t{1} << n));
  std::vector<C> s(std::size_t{1} << n);
  for (std::size_t i = 0; i < s.size(); ++i)
    s[i] = C{raw[2 * i], raw[2 * i + 1]};
  return s;
}

inline double maxDiff(const std::vector<C> &a, const std::vector<C> &b) {
  if (a.size() != b.size())
    return INFINITY;
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

inline void gate(kvant_gate_t g, std::vector<double> params, std::vector<int64_t> wires,
                 std::vector<int64_t> ctrls = {}, std::vector<int8_t> values = {},
                 bool adjoint = false) {
  kvant_rt_gate(g, params.data(), static_cast<int64_t>(params.size()), wires.data(),
                static_cast<int64_t>(wires.size()), ctrls.data(), values.data(),
                static_cast<int64_t>(ctrls.size()), adjoint ? 1 : 0);
}

// Checks that no error is pending, printing it if there is one, and clears it.
inline bool noError(const char *file, int line) {
  const char *e = kvant_rt_error();
  const bool ok = check::report(e == nullptr, file, line,
                                std::string("unexpected runtime error: ") + (e ? e : ""));
  kvant_rt_clear_error();
  return ok;
}
#define CHECK_NO_ERROR() ::testing::noError(__FILE__, __LINE__)

// Checks that an error is pending and that its message contains `part`; clears it.
inline bool hasError(const char *part, const char *file, int line) {
  const char *e = kvant_rt_error();
  bool ok = check::report(e != nullptr, file, line,
                          std::string("expected an error containing '") + part + "'");
  if (e)
    ok = check::report(std::string(e).find(part) != std::string::npos, file, line,
                       std::string("error message '") + e + "' should contain '" + part + "'");
  kvant_rt_clear_error();
  return ok;
}
#define CHECK_ERROR(part) ::testing::hasError(part, __FILE__, __LINE__)

// A generic entangled state with complex amplitudes; the tests read it back with readState,
// so correctness of these gates does not matter for the checks that use it.
inline void prepareRandomState(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-M_PI, M_PI);
  for (int layer = 0; layer < 2; ++layer) {
    for (int64_t w = 0; w < n; ++w) {
      gate(KVANT_GATE_RY, {u(rng)}, {w});
      gate(KVANT_GATE_RZ, {u(rng)}, {w});
    }
    for (int64_t w = 0; w + 1 < n; ++w)
      gate(KVANT_GATE_CNOT, {}, {w, w + 1});
  }
}

// ---------------------------------------------------------------- dense reference matrices
struct Mat {
  std::size_t dim = 0;
  std::vector<C> a;
  Mat() = default;
  explicit Mat(std::size_t d) : dim(d), a(d * d, 0.0) {}
  Mat(std::size_t d, std::vector<C> v) : dim(d), a(std::move(v)) {}
  C &operator()(std::size_t r, std::size_t c) { return a[r * dim + c]; }
  C operator()(std::size_t r, std::size_t c) const { return a[r * dim + c]; }
};

inline Mat eye(std::size_t d) {
  Mat m(d);
  for (std::size_t i = 0; i < d; ++i)
    m(i, i) = 1.0;
  return m;
}
inline Mat operator*(const Mat &x, const Mat &y) {
  Mat m(x.dim);
  for (std::size_t r = 0; r < x.dim; ++r)
    for (std::size_t k = 0; k < x.dim; ++k)
      for (std::size_t c = 0; c < x.dim; ++c)
        m(r, c) += x(r, k) * y(k, c);
  return m;
}
inline Mat operator*(C s, const Mat &x) {
  Mat m = x;
  for (C &v : m.a)
    v *= s;
  return m;
}
inline Mat operator+(const Mat &x, const Mat &y) {
  Mat m = x;
  for (std::size_t i = 0; i < m.a.size(); ++i)
    m.a[i] += y.a[i];
  return m;
}
inline Mat kron(const Mat &x, const Mat &y) {
  Mat m(x.dim * y.dim);
  for (std::size_t r1 = 0; r1 < x.dim; ++r1)
    for (std::size_t c1 = 0; c1 < x.dim; ++c1)
      for (std::size_t r2 = 0; r2 < y.dim; ++r2)
        for (std::size_t c2 = 0; c2 < y.dim; ++c2)
          m(r1 * y.dim + r2, c1 * y.dim + c2) = x(r1, c1) * y(r2, c2);
  return m;
}
inline Mat dagger(const Mat &x) {
  Mat m(x.dim);
  for (std::size_t r = 0; r < x.dim; ++r)
    for (std::size_t c = 0; c < x.dim; ++c)
      m(r, c) = std::conj(x(c, r));
  return m;
}

inline Mat pauliX() { return Mat(2, {0, 1, 1, 0}); }
inline Mat pauliY() { return Mat(2, {0, -I, I, 0}); }
inline Mat pauliZ() { return Mat(2, {1, 0, 0, -1}); }
inline Mat hadamard() { return (1 / std::sqrt(2.0)) * (pauliX() + pauliZ()); }

// exp(-i t/2 P) for an involutory P (P^2 = I).
inline Mat rotation(const Mat &p, double t) {
  return C(std::cos(t / 2)) * eye(p.dim) + (-I * std::sin(t / 2)) * p;
}

// |0><0| (x) I + |1><1| (x) U, with the control as the most significant wire.
inline Mat controlled(const Mat &u) {
  Mat m = eye(2 * u.dim);
  for (std::size_t r = 0; r < u.dim; ++r)
    for (std::size_t c = 0; c < u.dim; ++c)
      m(u.dim + r, u.dim + c) = u(r, c);
  return m;
}

// Identity except a 2x2 rotation [[c, -s], [s, c]] on basis states r0, r1.
inline Mat givens(std::size_t dim, std::size_t r0, std::size_t r1, double t) {
  Mat m = eye(dim);
  m(r0, r0) = std::cos(t / 2);
  m(r0, r1) = -std::sin(t / 2);
  m(r1, r0) = std::sin(t / 2);
  m(r1, r1) = std::cos(t / 2);
  return m;
}

inline Mat kronPower(const Mat &x, std::size_t k) {
  Mat m = eye(1);
  for (std::size_t i = 0; i < k; ++i)
    m = kron(m, x);
  return m;
}

// PennyLane's matrix of gate g on k wires (k matters for MultiRZ / GlobalPhase only).
inline Mat refGate(int64_t g, const std::vector<double> &p, std::size_t k) {
  const Mat X = pauliX(), Y = pauliY(), Z = pauliZ();
  switch (g) {
  case KVANT_GATE_Identity:
    return eye(2);
  case KVANT_GATE_Hadamard:
    return hadamard();
  case KVANT_GATE_PauliX:
    return X;
  case KVANT_GATE_PauliY:
    return Y;
  case KVANT_GATE_PauliZ:
    return Z;
  case KVANT_GATE_S:
    return Mat(2, {1, 0, 0, I});
  case KVANT_GATE_T:
    return Mat(2, {1, 0, 0, std::exp(I * M_PI / 4.0)});
  // sqrt(X) = ((1 + i) I + (1 - i) X) / 2
  case KVANT_GATE_SX:
    return C(0.5, 0.5) * eye(2) + C(0.5, -0.5) * X;
  case KVANT_GATE_PhaseShift:
    return Mat(2, {1, 0, 0, std::exp(I * p[0])});
  case KVANT_GATE_RX:
    return rotation(X, p[0]);
  case KVANT_GATE_RY:
    return rotation(Y, p[0]);
  case KVANT_GATE_RZ:
    return rotation(Z, p[0]);
  case KVANT_GATE_Rot:
    return rotation(Z, p[2]) * rotation(Y, p[1]) * rotation(Z, p[0]);
  case KVANT_GATE_CNOT:
    return controlled(X);
  case KVANT_GATE_CY:
    return controlled(Y);
  case KVANT_GATE_CZ:
    return controlled(Z);
  case KVANT_GATE_SWAP:
    return Mat(4, {1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1});
  // exp(i pi/4 (XX + YY))
  case KVANT_GATE_ISWAP:
    return rotation(kron(X, X), -M_PI / 2) * rotation(kron(Y, Y), -M_PI / 2);
  case KVANT_GATE_CSWAP:
    return controlled(refGate(KVANT_GATE_SWAP, p, 2));
  case KVANT_GATE_Toffoli:
    return controlled(controlled(X));
  case KVANT_GATE_CRX:
    return controlled(rotation(X, p[0]));
  case KVANT_GATE_CRY:
    return controlled(rotation(Y, p[0]));
  case KVANT_GATE_CRZ:
    return controlled(rotation(Z, p[0]));
  case KVANT_GATE_CRot:
    return controlled(refGate(KVANT_GATE_Rot, p, 1));
  case KVANT_GATE_ControlledPhaseShift:
    return controlled(refGate(KVANT_GATE_PhaseShift, p, 1));
  case KVANT_GATE_IsingXX:
    return rotation(kron(X, X), p[0]);
  case KVANT_GATE_IsingYY:
    return rotation(kron(Y, Y), p[0]);
  case KVANT_GATE_IsingZZ:
    return rotation(kron(Z, Z), p[0]);
  // exp(i phi/4 (XX + YY)); XX and YY commute.
  case KVANT_GATE_IsingXY:
    return rotation(kron(X, X), -p[0] / 2) * rotation(kron(Y, Y), -p[0] / 2);
  case KVANT_GATE_MultiRZ:
    return rotation(kronPower(Z, k), p[0]);
  case KVANT_GATE_SingleExcitation:
    return givens(4, 0b01, 0b10, p[0]);
  case KVANT_GATE_DoubleExcitation:
    return givens(16, 0b0011, 0b1100, p[0]);
  case KVANT_GATE_GlobalPhase:
    return std::exp(-I * p[0]) * eye(std::size_t{1} << k);
  default:
    return Mat();
  }
}

// Naive application of m on `wires` (wires[0] = most significant matrix bit) of an n-qubit
// state, only where every ctrls[i] has value values[i].
inline std::vector<C> refApply(const std::vector<C> &in, int64_t n, const Mat &m,
                               const std::vector<int64_t> &wires,
                               const std::vector<int64_t> &ctrls = {},
                               const std::vector<int8_t> &values = {}) {
  auto bit = [n](int64_t w) { return std::size_t{1} << (n - 1 - w); };
  std::vector<C> out(in.size());
  const std::size_t k = wires.size();
  for (std::size_t i = 0; i < in.size(); ++i) {
    bool active = true;
    for (std::size_t c = 0; c < ctrls.size(); ++c)
      active = active && (((i & bit(ctrls[c])) != 0) == (values[c] != 0));
    if (!active) {
      out[i] = in[i];
      continue;
    }
    std::size_t row = 0, rest = i;
    for (std::size_t t = 0; t < k; ++t) {
      row = (row << 1) | ((i & bit(wires[t])) ? 1 : 0);
      rest &= ~bit(wires[t]);
    }
    C acc = 0.0;
    for (std::size_t col = 0; col < (std::size_t{1} << k); ++col) {
      std::size_t j = rest;
      for (std::size_t t = 0; t < k; ++t)
        if (col & (std::size_t{1} << (k - 1 - t)))
          j |= bit(wires[t]);
      acc += m(row, col) * in[j];
    }
    out[i] = acc;
  }
  return out;
}

inline std::vector<double> interleave(const Mat &m) {
  std::vector<double> v;
  for (C z : m.a) {
    v.push_back(z.real());
    v.push_back(z.imag());
  }
  return v;
}

} // namespace testing
