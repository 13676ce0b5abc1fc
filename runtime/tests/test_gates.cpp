// Gates: closed-form actions, every gate against the reference model (plain, adjoint,
// controlled on 0 and on 1), U^dagger U = 1, and QubitUnitary.
#include "check.hpp"
#include "helpers.hpp"

#include <algorithm>

using namespace testing;

namespace {

struct GateDef {
  int64_t id;
  const char *name;
  int numParams;
  int numWires;
};
const GateDef kGates[] = {
#define KVANT_GATE(id, name, nparams, nwires) {KVANT_GATE_##id, name, nparams, nwires},
#include "kvant/gates.def"
#undef KVANT_GATE
};

C amp(const std::vector<C> &s, std::size_t i) { return s.at(i); }

// Applies g to the basis state |bits> of an n-qubit register and returns the state.
std::vector<C> onBasis(int64_t n, std::size_t bits, kvant_gate_t g, std::vector<double> p,
                       std::vector<int64_t> wires) {
  Reg r(n);
  for (int64_t w = 0; w < n; ++w)
    if (bits & (std::size_t{1} << (n - 1 - w)))
      gate(KVANT_GATE_PauliX, {}, {w});
  gate(g, std::move(p), std::move(wires));
  std::vector<C> s = readState(n);
  CHECK_NO_ERROR();
  return s;
}

// Checks that g maps each basis state |i> to the basis state |perm[i]> (times phase[i]).
void checkPermutation(kvant_gate_t g, int64_t n, const std::vector<std::size_t> &perm,
                      const std::vector<C> &phase = {}) {
  for (std::size_t i = 0; i < perm.size(); ++i) {
    check::context() = "gate " + std::to_string(g) + " on |" + std::to_string(i) + ">";
    std::vector<int64_t> wires(n);
    for (int64_t w = 0; w < n; ++w)
      wires[w] = w;
    const std::vector<C> s = onBasis(n, i, g, {}, wires);
    CHECK_CNEAR(amp(s, perm[i]), phase.empty() ? C(1.0) : phase[i], kTol);
  }
  check::context().clear();
}

std::vector<int64_t> targetsFor(const GateDef &g, int variant) {
  int k = g.numWires;
  if (g.id == KVANT_GATE_MultiRZ)
    k = variant == 0 ? 3 : (variant == 1 ? 1 : 5);
  if (g.id == KVANT_GATE_GlobalPhase)
    k = variant == 0 ? 0 : 2;
  switch (k) {
  case 0:
    return {};
  case 1:
    return {4};
  case 2:
    return {3, 1};
  case 3:
    return {5, 0, 2};
  case 4:
    return {1, 4, 0, 3};
  default:
    return {4, 0, 3, 1, 5};
  }
}

int variantsFor(const GateDef &g) {
  if (g.id == KVANT_GATE_MultiRZ)
    return 3;
  if (g.id == KVANT_GATE_GlobalPhase)
    return 2;
  return 1;
}

std::vector<double> randomParams(int count, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(-2 * M_PI, 2 * M_PI);
  std::vector<double> p(count);
  for (double &x : p)
    x = u(rng);
  return p;
}

// Gram-Schmidt on a random complex matrix: a Haar-ish random unitary for the tests.
Mat randomUnitary(std::size_t dim, std::mt19937 &rng) {
  std::normal_distribution<double> g;
  std::vector<std::vector<C>> cols(dim, std::vector<C>(dim));
  for (std::size_t c = 0; c < dim; ++c) {
    for (C &x : cols[c])
      x = C(g(rng), g(rng));
    for (std::size_t p = 0; p < c; ++p) {
      C dot = 0.0;
      for (std::size_t r = 0; r < dim; ++r)
        dot += std::conj(cols[p][r]) * cols[c][r];
      for (std::size_t r = 0; r < dim; ++r)
        cols[c][r] -= dot * cols[p][r];
    }
    double norm = 0.0;
    for (C x : cols[c])
      norm += std::norm(x);
    for (C &x : cols[c])
      x /= std::sqrt(norm);
  }
  Mat m(dim);
  for (std::size_t r = 0; r < dim; ++r)
    for (std::size_t c = 0; c < dim; ++c)
      m(r, c) = cols[c][r];
  return m;
}

} // namespace

// ------------------------------------------------------------------ closed forms

TEST(gates, wire0_is_most_significant) {
  const std::vector<C> s = onBasis(3, 0, KVANT_GATE_PauliX, {}, {0});
  CHECK_CNEAR(amp(s, 0b100), 1.0, kTol);
  const std::vector<C> t = onBasis(3, 0, KVANT_GATE_PauliX, {}, {2});
  CHECK_CNEAR(amp(t, 0b001), 1.0, kTol);
}

TEST(gates, single_qubit_closed_forms) {
  const double t = 0.7341, h = 1 / std::sqrt(2.0);
  std::vector<C> s;
  s = onBasis(1, 0, KVANT_GATE_RX, {t}, {0});
  CHECK_CNEAR(amp(s, 0), std::cos(t / 2), kTol);
  CHECK_CNEAR(amp(s, 1), C(0, -std::sin(t / 2)), kTol);
  s = onBasis(1, 1, KVANT_GATE_RX, {t}, {0});
  CHECK_CNEAR(amp(s, 0), C(0, -std::sin(t / 2)), kTol);
  CHECK_CNEAR(amp(s, 1), std::cos(t / 2), kTol);
  s = onBasis(1, 0, KVANT_GATE_RY, {t}, {0});
  CHECK_CNEAR(amp(s, 0), std::cos(t / 2), kTol);
  CHECK_CNEAR(amp(s, 1), std::sin(t / 2), kTol);
  s = onBasis(1, 1, KVANT_GATE_RY, {t}, {0});
  CHECK_CNEAR(amp(s, 0), -std::sin(t / 2), kTol);
  s = onBasis(1, 0, KVANT_GATE_RZ, {t}, {0});
  CHECK_CNEAR(amp(s, 0), std::polar(1.0, -t / 2), kTol);
  s = onBasis(1, 1, KVANT_GATE_RZ, {t}, {0});
  CHECK_CNEAR(amp(s, 1), std::polar(1.0, t / 2), kTol);
  s = onBasis(1, 1, KVANT_GATE_PhaseShift, {t}, {0});
  CHECK_CNEAR(amp(s, 1), std::polar(1.0, t), kTol);
  s = onBasis(1, 0, KVANT_GATE_PhaseShift, {t}, {0});
  CHECK_CNEAR(amp(s, 0), 1.0, kTol);
  s = onBasis(1, 0, KVANT_GATE_Hadamard, {}, {0});
  CHECK_CNEAR(amp(s, 0), h, kTol);
  CHECK_CNEAR(amp(s, 1), h, kTol);
  s = onBasis(1, 1, KVANT_GATE_Hadamard, {}, {0});
  CHECK_CNEAR(amp(s, 1), -h, kTol);
  s = onBasis(1, 0, KVANT_GATE_PauliY, {}, {0});
  CHECK_CNEAR(amp(s, 1), I, kTol);
  s = onBasis(1, 1, KVANT_GATE_PauliY, {}, {0});
  CHECK_CNEAR(amp(s, 0), -I, kTol);
  s = onBasis(1, 1, KVANT_GATE_PauliZ, {}, {0});
  CHECK_CNEAR(amp(s, 1), -1.0, kTol);
  s = onBasis(1, 1, KVANT_GATE_S, {}, {0});
  CHECK_CNEAR(amp(s, 1), I, kTol);
  s = onBasis(1, 1, KVANT_GATE_T, {}, {0});
  CHECK_CNEAR(amp(s, 1), C(h, h), kTol);
  s = onBasis(1, 0, KVANT_GATE_SX, {}, {0});
  CHECK_CNEAR(amp(s, 0), C(0.5, 0.5), kTol);
  CHECK_CNEAR(amp(s, 1), C(0.5, -0.5), kTol);
  s = onBasis(1, 1, KVANT_GATE_Identity, {}, {0});
  CHECK_CNEAR(amp(s, 1), 1.0, kTol);
  // Rot(phi, theta, omega)|0> = (e^{-i(phi+omega)/2} cos, e^{-i(phi-omega)/2} sin)
  const double phi = 0.3, theta = 1.1, omega = -0.8;
  s = onBasis(1, 0, KVANT_GATE_Rot, {phi, theta, omega}, {0});
  CHECK_CNEAR(amp(s, 0), std::polar(std::cos(theta / 2), -(phi + omega) / 2), kTol);
  CHECK_CNEAR(amp(s, 1), std::polar(std::sin(theta / 2), -(phi - omega) / 2), kTol);
}

TEST(gates, permutation_gates_truth_tables) {
  checkPermutation(KVANT_GATE_CNOT, 2, {0, 1, 3, 2});
  checkPermutation(KVANT_GATE_SWAP, 2, {0, 2, 1, 3});
  checkPermutation(KVANT_GATE_CZ, 2, {0, 1, 2, 3}, {1, 1, 1, -1});
  checkPermutation(KVANT_GATE_CY, 2, {0, 1, 3, 2}, {1, 1, I, -I});
  checkPermutation(KVANT_GATE_ISWAP, 2, {0, 2, 1, 3}, {1, I, I, 1});
  checkPermutation(KVANT_GATE_Toffoli, 3, {0, 1, 2, 3, 4, 5, 7, 6});
  checkPermutation(KVANT_GATE_CSWAP, 3, {0, 1, 2, 3, 4, 6, 5, 7});
  // CNOT wires = [control, target] regardless of which is the higher wire.
  const std::vector<C> s = onBasis(2, 0b01, KVANT_GATE_CNOT, {}, {1, 0});
  CHECK_CNEAR(amp(s, 0b11), 1.0, kTol);
}

TEST(gates, two_qubit_closed_forms) {
  const double t = 1.234, c = std::cos(t / 2), sn = std::sin(t / 2);
  std::vector<C> s;
  // CRot on |11> = |1> (x) Rot|1>
  const double phi = 0.4, theta = -0.9, omega = 2.1;
  s = onBasis(2, 0b11, KVANT_GATE_CRot, {phi, theta, omega}, {0, 1});
  CHECK_CNEAR(amp(s, 0b10), -std::polar(std::sin(theta / 2), (phi - omega) / 2), kTol);
  CHECK_CNEAR(amp(s, 0b11), std::polar(std::cos(theta / 2), (phi + omega) / 2), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_CRot, {phi, theta, omega}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), 1.0, kTol);
  s = onBasis(2, 0b10, KVANT_GATE_CRX, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b10), c, kTol);
  CHECK_CNEAR(amp(s, 0b11), C(0, -sn), kTol);
  s = onBasis(2, 0b10, KVANT_GATE_CRY, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), sn, kTol);
  s = onBasis(2, 0b11, KVANT_GATE_CRZ, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), std::polar(1.0, t / 2), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_CRZ, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), 1.0, kTol);
  s = onBasis(2, 0b11, KVANT_GATE_ControlledPhaseShift, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), std::polar(1.0, t), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_ControlledPhaseShift, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), 1.0, kTol);
  s = onBasis(2, 0b00, KVANT_GATE_IsingXX, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b00), c, kTol);
  CHECK_CNEAR(amp(s, 0b11), C(0, -sn), kTol);
  s = onBasis(2, 0b00, KVANT_GATE_IsingYY, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), C(0, sn), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_IsingYY, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b10), C(0, -sn), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_IsingZZ, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), std::polar(1.0, t / 2), kTol);
  s = onBasis(2, 0b11, KVANT_GATE_IsingZZ, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), std::polar(1.0, -t / 2), kTol);
  s = onBasis(2, 0b01, KVANT_GATE_IsingXY, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), c, kTol);
  CHECK_CNEAR(amp(s, 0b10), C(0, sn), kTol);
  s = onBasis(2, 0b11, KVANT_GATE_IsingXY, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), 1.0, kTol);
  s = onBasis(2, 0b01, KVANT_GATE_SingleExcitation, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), c, kTol);
  CHECK_CNEAR(amp(s, 0b10), sn, kTol);
  s = onBasis(2, 0b10, KVANT_GATE_SingleExcitation, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b01), -sn, kTol);
  s = onBasis(2, 0b11, KVANT_GATE_SingleExcitation, {t}, {0, 1});
  CHECK_CNEAR(amp(s, 0b11), 1.0, kTol);
}

TEST(gates, multi_qubit_closed_forms) {
  const double t = 0.913;
  std::vector<C> s;
  s = onBasis(4, 0b0011, KVANT_GATE_DoubleExcitation, {t}, {0, 1, 2, 3});
  CHECK_CNEAR(amp(s, 0b0011), std::cos(t / 2), kTol);
  CHECK_CNEAR(amp(s, 0b1100), std::sin(t / 2), kTol);
  s = onBasis(4, 0b1100, KVANT_GATE_DoubleExcitation, {t}, {0, 1, 2, 3});
  CHECK_CNEAR(amp(s, 0b0011), -std::sin(t / 2), kTol);
  s = onBasis(4, 0b0101, KVANT_GATE_DoubleExcitation, {t}, {0, 1, 2, 3});
  CHECK_CNEAR(amp(s, 0b0101), 1.0, kTol);
  // MultiRZ: phase e^{-i t/2} for even parity on its wires, e^{+i t/2} for odd.
  s = onBasis(4, 0b1010, KVANT_GATE_MultiRZ, {t}, {0, 1, 3});
  CHECK_CNEAR(amp(s, 0b1010), std::polar(1.0, t / 2), kTol);
  s = onBasis(4, 0b1110, KVANT_GATE_MultiRZ, {t}, {0, 1, 3});
  CHECK_CNEAR(amp(s, 0b1110), std::polar(1.0, -t / 2), kTol);
  s = onBasis(4, 0b0001, KVANT_GATE_MultiRZ, {t}, {3});
  CHECK_CNEAR(amp(s, 0b0001), std::polar(1.0, t / 2), kTol);
  // GlobalPhase: e^{-i phi}, with or without wires.
  s = onBasis(2, 0b10, KVANT_GATE_GlobalPhase, {t}, {});
  CHECK_CNEAR(amp(s, 0b10), std::polar(1.0, -t), kTol);
  s = onBasis(2, 0b10, KVANT_GATE_GlobalPhase, {t}, {1});
  CHECK_CNEAR(amp(s, 0b10), std::polar(1.0, -t), kTol);
}

TEST(gates, controls_select_on_value) {
  // X on wire 2 controlled on wire 0 == 0: fires on |000>, not on |100>.
  for (int8_t value : {int8_t{0}, int8_t{1}}) {
    for (std::size_t start : {std::size_t{0b000}, std::size_t{0b100}}) {
      Reg r(3);
      if (start)
        gate(KVANT_GATE_PauliX, {}, {0});
      gate(KVANT_GATE_PauliX, {}, {2}, {0}, {value});
      const std::vector<C> s = readState(3);
      const bool fires = (start != 0) == (value == 1);
      CHECK_CNEAR(amp(s, fires ? (start | 1) : start), 1.0, kTol);
    }
  }
  // RX controlled on (wire 0 = 1, wire 1 = 0): only |10x> rotates.
  const double t = 0.77;
  for (std::size_t start = 0; start < 8; start += 2) {
    Reg r(3);
    for (int64_t w = 0; w < 2; ++w)
      if (start & (std::size_t{4} >> w))
        gate(KVANT_GATE_PauliX, {}, {w});
    gate(KVANT_GATE_RX, {t}, {2}, {0, 1}, {1, 0});
    const std::vector<C> s = readState(3);
    if (start == 0b100)
      CHECK_CNEAR(amp(s, start), std::cos(t / 2), kTol);
    else
      CHECK_CNEAR(amp(s, start), 1.0, kTol);
  }
  // CNOT with an extra control = Toffoli.
  for (std::size_t start = 0; start < 8; ++start) {
    check::context() = "CNOT+ctrl on " + std::to_string(start);
    Reg r(3);
    for (int64_t w = 0; w < 3; ++w)
      if (start & (std::size_t{4} >> w))
        gate(KVANT_GATE_PauliX, {}, {w});
    gate(KVANT_GATE_CNOT, {}, {1, 2}, {0}, {1});
    const std::vector<C> s = readState(3);
    CHECK_CNEAR(amp(s, start >= 6 ? start ^ 1 : start), 1.0, kTol);
  }
  check::context().clear();
  CHECK_NO_ERROR();
}

// ------------------------------------------------------------------ against the reference model

TEST(gates, reference_model_is_unitary) {
  std::mt19937 rng(7);
  for (const GateDef &g : kGates)
    for (int v = 0; v < variantsFor(g); ++v) {
      check::context() = g.name;
      const std::size_t k = targetsFor(g, v).size();
      const Mat m = refGate(g.id, randomParams(g.numParams, rng), k);
      CHECK(m.dim == (std::size_t{1} << k));
      const Mat p = dagger(m) * m;
      double err = 0.0;
      for (std::size_t i = 0; i < p.a.size(); ++i)
        err = std::max(err, std::abs(p.a[i] - eye(m.dim).a[i]));
      CHECK_NEAR(err, 0.0, 1e-12);
    }
  check::context().clear();
}

TEST(gates, every_gate_matches_reference_plain_adjoint_controlled) {
  constexpr int64_t n = 7; // room for two controls beside the 5-wire MultiRZ
  std::mt19937 rng(2024);
  unsigned seed = 1;
  for (const GateDef &g : kGates)
    for (int v = 0; v < variantsFor(g); ++v) {
      const std::vector<int64_t> targets = targetsFor(g, v);
      std::vector<int64_t> rest;
      for (int64_t w = 0; w < n; ++w)
        if (std::find(targets.begin(), targets.end(), w) == targets.end())
          rest.push_back(w);
      struct Ctrl {
        std::vector<int64_t> wires;
        std::vector<int8_t> values;
      };
      const Ctrl ctrlCases[] = {
          {{}, {}}, {{rest[0]}, {1}}, {{rest[0]}, {0}}, {{rest[1], rest[0]}, {1, 0}}};
      for (const Ctrl &ctrl : ctrlCases)
        for (bool adjoint : {false, true}) {
          check::context() = std::string(g.name) + " k=" + std::to_string(targets.size()) +
                             " ctrls=" + std::to_string(ctrl.wires.size()) +
                             (ctrl.values.empty() ? "" : " v0=" + std::to_string(ctrl.values[0])) +
                             (adjoint ? " adjoint" : "");
          const std::vector<double> p = randomParams(g.numParams, rng);
          Reg r(n);
          prepareRandomState(n, seed++);
          const std::vector<C> before = readState(n);
          gate(static_cast<kvant_gate_t>(g.id), p, targets, ctrl.wires, ctrl.values, adjoint);
          CHECK_NO_ERROR();
          const std::vector<C> after = readState(n);
          Mat m = refGate(g.id, p, targets.size());
          if (adjoint)
            m = dagger(m);
          const std::vector<C> expected = refApply(before, n, m, targets, ctrl.wires, ctrl.values);
          CHECK_NEAR(maxDiff(after, expected), 0.0, 1e-12);
        }
    }
  check::context().clear();
}

TEST(gates, adjoint_undoes_every_gate) {
  constexpr int64_t n = 6;
  std::mt19937 rng(99);
  unsigned seed = 500;
  for (const GateDef &g : kGates)
    for (int v = 0; v < variantsFor(g); ++v)
      for (int trial = 0; trial < 3; ++trial) {
        check::context() = std::string(g.name) + " trial " + std::to_string(trial);
        const std::vector<int64_t> targets = targetsFor(g, v);
        std::vector<int64_t> ctrls;
        std::vector<int8_t> values;
        if (trial == 2) // also with a control
          for (int64_t w = 0; w < n && ctrls.empty(); ++w)
            if (std::find(targets.begin(), targets.end(), w) == targets.end()) {
              ctrls.push_back(w);
              values.push_back(0);
            }
        const std::vector<double> p = randomParams(g.numParams, rng);
        Reg r(n);
        prepareRandomState(n, seed++);
        const std::vector<C> before = readState(n);
        gate(static_cast<kvant_gate_t>(g.id), p, targets, ctrls, values, false);
        gate(static_cast<kvant_gate_t>(g.id), p, targets, ctrls, values, true);
        CHECK_NEAR(maxDiff(readState(n), before), 0.0, 1e-12);
        gate(static_cast<kvant_gate_t>(g.id), p, targets, ctrls, values, true);
        gate(static_cast<kvant_gate_t>(g.id), p, targets, ctrls, values, false);
        CHECK_NEAR(maxDiff(readState(n), before), 0.0, 1e-12);
        CHECK_NO_ERROR();
      }
  check::context().clear();
}

TEST(gates, parametric_adjoint_is_negated_angle) {
  const double t = 0.5;
  for (kvant_gate_t g : {KVANT_GATE_RX, KVANT_GATE_RY, KVANT_GATE_RZ, KVANT_GATE_PhaseShift,
                         KVANT_GATE_IsingXY, KVANT_GATE_MultiRZ, KVANT_GATE_GlobalPhase}) {
    check::context() = "gate " + std::to_string(g);
    const std::vector<int64_t> wires =
        g == KVANT_GATE_IsingXY ? std::vector<int64_t>{0, 1} : std::vector<int64_t>{1};
    std::vector<C> a, b;
    {
      Reg r(2);
      prepareRandomState(2, 3);
      gate(g, {t}, wires, {}, {}, true);
      a = readState(2);
    }
    {
      Reg r(2);
      prepareRandomState(2, 3);
      gate(g, {-t}, wires);
      b = readState(2);
    }
    CHECK_NEAR(maxDiff(a, b), 0.0, 1e-13);
  }
  check::context().clear();
}

// ------------------------------------------------------------------ QubitUnitary

TEST(gates, qubit_unitary_matches_reference) {
  constexpr int64_t n = 5;
  std::mt19937 rng(11);
  const std::vector<std::vector<int64_t>> wireSets = {{3}, {4, 1}, {2, 0, 4}, {0, 1, 2, 3}};
  unsigned seed = 900;
  for (const auto &wires : wireSets)
    for (int mode = 0; mode < 4; ++mode) {
      check::context() =
          "QubitUnitary k=" + std::to_string(wires.size()) + " mode " + std::to_string(mode);
      const Mat u = randomUnitary(std::size_t{1} << wires.size(), rng);
      std::vector<int64_t> ctrls;
      std::vector<int8_t> values;
      if (mode >= 2)
        for (int64_t w = 0; w < n && ctrls.empty(); ++w)
          if (std::find(wires.begin(), wires.end(), w) == wires.end()) {
            ctrls.push_back(w);
            values.push_back(mode == 2 ? 1 : 0);
          }
      const bool adjoint = mode % 2 == 1;
      Reg r(n);
      prepareRandomState(n, seed++);
      const std::vector<C> before = readState(n);
      const std::vector<double> raw = interleave(u);
      kvant_rt_unitary(raw.data(), wires.data(), static_cast<int64_t>(wires.size()), ctrls.data(),
                       values.data(), static_cast<int64_t>(ctrls.size()), adjoint);
      CHECK_NO_ERROR();
      const std::vector<C> expected =
          refApply(before, n, adjoint ? dagger(u) : u, wires, ctrls, values);
      CHECK_NEAR(maxDiff(readState(n), expected), 0.0, 1e-12);
    }
  check::context().clear();
}

TEST(gates, qubit_unitary_equals_named_gate) {
  const std::vector<double> p = {0.3, -1.2, 2.2};
  const std::vector<double> raw = interleave(refGate(KVANT_GATE_CRot, p, 2));
  const std::vector<int64_t> wires = {2, 0};
  std::vector<C> a, b;
  {
    Reg r(3);
    prepareRandomState(3, 42);
    kvant_rt_unitary(raw.data(), wires.data(), 2, nullptr, nullptr, 0, 0);
    a = readState(3);
  }
  {
    Reg r(3);
    prepareRandomState(3, 42);
    gate(KVANT_GATE_CRot, p, wires);
    b = readState(3);
  }
  CHECK_NEAR(maxDiff(a, b), 0.0, 1e-13);
  CHECK_NO_ERROR();
}
