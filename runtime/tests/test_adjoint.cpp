// Adjoint differentiation: Jacobians and VJPs of every parametrised gate (plain, adjoint,
// user-controlled) against central finite differences computed by re-running the circuit
// through the C API -- a reference that uses only forward gates and measurements.
#include "check.hpp"
#include "helpers.hpp"

#include <cstdlib>
#include <functional>

using namespace testing;

namespace {

struct GateCall {
  kvant_gate_t g;
  std::vector<int64_t> wires;
  int numParams;
  std::vector<int64_t> ctrls = {};
  std::vector<int8_t> values = {};
  bool adjoint = false;
};

constexpr int64_t kN = 5;

// A fixed entangling prefix (parameterless gates and fixed-angle gates are recorded too and
// must be undone correctly by the sweep), then `calls` with parameters taken from `params`,
// then a parameterless suffix.
void runCircuit(const std::vector<GateCall> &calls, const std::vector<double> &params) {
  for (int64_t w = 0; w < kN; ++w)
    gate(KVANT_GATE_Hadamard, {}, {w});
  gate(KVANT_GATE_RY, {0.3}, {1}); // counts as a parameter: it is recorded
  gate(KVANT_GATE_CNOT, {}, {0, 3});
  gate(KVANT_GATE_T, {}, {2});
  std::size_t k = 0;
  for (const GateCall &c : calls) {
    std::vector<double> p(params.begin() + k, params.begin() + k + c.numParams);
    k += c.numParams;
    gate(c.g, p, c.wires, c.ctrls, c.values, c.adjoint);
  }
  gate(KVANT_GATE_CZ, {}, {4, 1});
  gate(KVANT_GATE_SX, {}, {0});
}

// Observables on the active register: handles in a fixed order.
std::vector<int64_t> makeObservables() {
  std::vector<int64_t> obs;
  obs.push_back(kvant_rt_obs_named(KVANT_OBS_PauliZ, 0));
  const int64_t f[2] = {kvant_rt_obs_named(KVANT_OBS_PauliX, 1),
                        kvant_rt_obs_named(KVANT_OBS_PauliY, 2)};
  obs.push_back(kvant_rt_obs_tensor(f, 2));
  // A real-and-complex Hermitian on two wires (in reversed order).
  const Mat h(4, {0.5, C(0.1, 0.2), 0.0, C(0, -0.3), C(0.1, -0.2), -1.0, 0.4, 0.0, 0.0, 0.4, 0.2,
                  C(0.7, 0.1), C(0, 0.3), 0.0, C(0.7, -0.1), 0.9});
  const std::vector<double> hm = interleave(h);
  const int64_t hw[2] = {4, 2};
  const int64_t herm = kvant_rt_obs_hermitian(hm.data(), hw, 2);
  obs.push_back(herm);
  // A Pauli sum (one-pass path) and a Hamiltonian with a non-Pauli term (general path).
  const int64_t zz[2] = {kvant_rt_obs_named(KVANT_OBS_PauliZ, 0),
                         kvant_rt_obs_named(KVANT_OBS_PauliZ, 3)};
  const int64_t terms[3] = {kvant_rt_obs_tensor(zz, 2), kvant_rt_obs_named(KVANT_OBS_PauliX, 4),
                            kvant_rt_obs_named(KVANT_OBS_PauliY, 1)};
  const double coeffs[3] = {0.3, -1.2, 0.7};
  obs.push_back(kvant_rt_obs_hamiltonian(coeffs, terms, 3));
  const int64_t mixed[2] = {herm, kvant_rt_obs_named(KVANT_OBS_Hadamard, 0)};
  const double mc[2] = {0.8, -0.5};
  obs.push_back(kvant_rt_obs_hamiltonian(mc, mixed, 2));
  return obs;
}

// Some quantity of the final state, for finite differences.
using Measure = std::function<std::vector<double>()>;

std::vector<double> evaluate(const std::vector<GateCall> &calls, const std::vector<double> &p,
                             const Measure &measure) {
  Reg r(kN);
  runCircuit(calls, p);
  std::vector<double> v = measure();
  CHECK_NO_ERROR();
  return v;
}

// d measure / d p by central differences; rows: outputs, columns: params (row-major), with
// the prefix's RY(0.3) as parameter 0 (it is not varied: the runCircuit constant stays, so
// its column is checked separately).
std::vector<double> finiteDiff(const std::vector<GateCall> &calls, const std::vector<double> &p,
                               const Measure &measure, std::size_t numOut) {
  const double h = 1e-5;
  const std::size_t P = p.size();
  std::vector<double> jac(numOut * (P + 1), 0.0);
  for (std::size_t i = 0; i < P; ++i) {
    std::vector<double> a = p, b = p;
    a[i] += h;
    b[i] -= h;
    const std::vector<double> fa = evaluate(calls, a, measure), fb = evaluate(calls, b, measure);
    for (std::size_t k = 0; k < numOut; ++k)
      jac[k * (P + 1) + 1 + i] = (fa[k] - fb[k]) / (2 * h);
  }
  return jac;
}

std::vector<GateCall> gateVariants() {
  std::vector<GateCall> out;
  const std::vector<GateCall> base = {
      {KVANT_GATE_PhaseShift, {2}, 1},
      {KVANT_GATE_RX, {0}, 1},
      {KVANT_GATE_RY, {3}, 1},
      {KVANT_GATE_RZ, {1}, 1},
      {KVANT_GATE_Rot, {4}, 3},
      {KVANT_GATE_CRX, {1, 0}, 1},
      {KVANT_GATE_CRY, {2, 4}, 1},
      {KVANT_GATE_CRZ, {0, 2}, 1},
      {KVANT_GATE_CRot, {3, 1}, 3},
      {KVANT_GATE_ControlledPhaseShift, {4, 0}, 1},
      {KVANT_GATE_IsingXX, {0, 2}, 1},
      {KVANT_GATE_IsingYY, {3, 1}, 1},
      {KVANT_GATE_IsingZZ, {4, 0}, 1},
      {KVANT_GATE_IsingXY, {1, 2}, 1},
      {KVANT_GATE_MultiRZ, {0, 3, 4}, 1},
      {KVANT_GATE_SingleExcitation, {2, 0}, 1},
      {KVANT_GATE_DoubleExcitation, {0, 1, 2, 3}, 1},
      {KVANT_GATE_GlobalPhase, {}, 1, {2}, {1}}, // uncontrolled it has zero gradient
  };
  for (const GateCall &g : base) {
    out.push_back(g);
    GateCall a = g;
    a.adjoint = true;
    out.push_back(a);
    // A user control on a wire the gate does not use, on value 0 and 1.
    for (int8_t v = 0; v < 2; ++v) {
      GateCall c = g;
      for (int64_t w = kN - 1; w >= 0; --w)
        if (std::find(c.wires.begin(), c.wires.end(), w) == c.wires.end() &&
            std::find(c.ctrls.begin(), c.ctrls.end(), w) == c.ctrls.end()) {
          c.ctrls.push_back(w);
          c.values.push_back(v);
          break;
        }
      out.push_back(c);
    }
  }
  return out;
}

std::string describe(const GateCall &c) {
  std::string s = "gate " + std::to_string(c.g) + (c.adjoint ? " adjoint" : "");
  for (std::size_t i = 0; i < c.ctrls.size(); ++i)
    s += " ctrl " + std::to_string(c.ctrls[i]) + "=" + std::to_string(c.values[i]);
  return s;
}

// VJPs of measurements of one kind, through kvant_rt_adjoint_vjp_mixed: expvals or vars of
// `obs` (one cotangent entry each), or probs over `wires` (2^numWires entries).
void vjpOf(int64_t kind, const int64_t *obs, const double *ct, int64_t numObs, double *out,
           int64_t numParams) {
  const std::vector<int64_t> kinds(static_cast<std::size_t>(numObs), kind);
  const std::vector<int64_t> noWires(static_cast<std::size_t>(numObs), 0);
  kvant_rt_adjoint_vjp_mixed(kinds.data(), obs, noWires.data(), numObs, nullptr, 0, ct, numObs, out,
                             numParams);
}

void vjpProbs(const int64_t *wires, int64_t numWires, const double *ct, double *out,
              int64_t numParams) {
  const int64_t kind = KVANT_MEAS_PROBS, noObs = 0;
  kvant_rt_adjoint_vjp_mixed(&kind, &noObs, &numWires, 1, wires, numWires, ct,
                             int64_t{1} << numWires, out, numParams);
}

} // namespace

TEST(adjoint, jacobian_every_gate_matches_finite_differences) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  for (const GateCall &g : gateVariants()) {
    check::context() = describe(g);
    // The gate twice with different parameters, around another parametrised gate, so that
    // parameter bookkeeping across gates is exercised too.
    std::vector<GateCall> calls = {g, {KVANT_GATE_RX, {2}, 1}, g};
    std::vector<double> p;
    for (const GateCall &c : calls)
      for (int i = 0; i < c.numParams; ++i)
        p.push_back(u(rng));
    const std::size_t P = p.size() + 1; // + the prefix's RY
    std::vector<double> jac, values;
    std::vector<int64_t> obs;
    {
      Reg r(kN);
      kvant_rt_tape_begin();
      runCircuit(calls, p);
      kvant_rt_tape_end();
      CHECK(kvant_rt_tape_num_params() == static_cast<int64_t>(P));
      obs = makeObservables();
      jac.assign(obs.size() * P, std::nan(""));
      kvant_rt_adjoint_jacobian(obs.data(), static_cast<int64_t>(obs.size()), jac.data(),
                                static_cast<int64_t>(P));
      CHECK_NO_ERROR();
      // One observable at a time takes the single-lambda path (with same-pair gate chains
      // fused into one pass): it must give the same rows.
      for (std::size_t k = 0; k < obs.size(); ++k) {
        std::vector<double> row(P, std::nan(""));
        kvant_rt_adjoint_jacobian(&obs[k], 1, row.data(), static_cast<int64_t>(P));
        for (std::size_t i = 0; i < P; ++i)
          CHECK_NEAR(row[i], jac[k * P + i], 1e-12);
      }
      CHECK_NO_ERROR();
      for (int64_t o : obs)
        values.push_back(kvant_rt_expval(o));
      // Differentiation leaves the state alone.
      std::vector<double> again;
      for (int64_t o : obs)
        again.push_back(kvant_rt_expval(o));
      for (std::size_t k = 0; k < obs.size(); ++k)
        CHECK_NEAR(again[k], values[k], 1e-14);
    }
    const Measure expvals = [] {
      std::vector<double> v;
      for (int64_t o : makeObservables())
        v.push_back(kvant_rt_expval(o));
      return v;
    };
    const std::vector<double> fd = finiteDiff(calls, p, expvals, obs.size());
    for (std::size_t k = 0; k < obs.size(); ++k)
      for (std::size_t i = 1; i < P; ++i)
        CHECK_NEAR(jac[k * P + i], fd[k * P + i], 1e-7);
  }
}

TEST(adjoint, fixed_prefix_parameter) {
  // d/dt of <Z1> for RY(t) on |+>-free wire: the prefix's RY(0.3) acts on H|0> of wire 1,
  // then nothing else touches wire 1 before CZ(4,1) and SX(0), so <Z1> = <+|RY(t)^+ Z RY(t)|+>
  // = -sin(t); d/dt = -cos(0.3).
  Reg r(kN);
  kvant_rt_tape_begin();
  runCircuit({}, {});
  kvant_rt_tape_end();
  const int64_t z1 = kvant_rt_obs_named(KVANT_OBS_PauliZ, 1);
  double j = std::nan("");
  kvant_rt_adjoint_jacobian(&z1, 1, &j, 1);
  CHECK_NO_ERROR();
  CHECK_NEAR(kvant_rt_expval(z1), -std::sin(0.3), 1e-12);
  CHECK_NEAR(j, -std::cos(0.3), 1e-12);
}

TEST(adjoint, vjp_expval_probs_var) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  const std::vector<GateCall> calls = {
      {KVANT_GATE_Rot, {0}, 3},           {KVANT_GATE_CRY, {0, 2}, 1},
      {KVANT_GATE_IsingXY, {3, 4}, 1},    {KVANT_GATE_RX, {1}, 1},
      {KVANT_GATE_MultiRZ, {1, 2, 4}, 1}, {KVANT_GATE_CRot, {4, 3}, 3, {}, {}, true}};
  std::vector<double> p(10);
  for (double &x : p)
    x = u(rng);
  const std::size_t P = p.size() + 1;
  const int64_t probWires[3] = {3, 0, 2};
  std::vector<double> ctObs = {0.7, -1.3, 0.4, 2.0, -0.6};
  std::vector<double> ctProbs(8);
  for (double &x : ctProbs)
    x = u(rng);

  std::vector<double> gE(P, std::nan("")), gP(P, std::nan("")), gV(P, std::nan(""));
  std::vector<double> jac, mixedJac, batchedJac;
  std::vector<std::vector<double>> singleRows;
  {
    Reg r(kN);
    kvant_rt_tape_begin();
    runCircuit(calls, p);
    kvant_rt_tape_end();
    const std::vector<int64_t> obs = makeObservables();
    jac.assign(obs.size() * P, 0.0);
    kvant_rt_adjoint_jacobian(obs.data(), 5, jac.data(), P);
    vjpOf(KVANT_MEAS_EXPVAL, obs.data(), ctObs.data(), 5, gE.data(), P);
    vjpProbs(probWires, 3, ctProbs.data(), gP.data(), P);
    vjpOf(KVANT_MEAS_VAR, obs.data(), ctObs.data(), 5, gV.data(), P);
    // expval, var and probs rows in one call: each must equal the matching VJP with a one-hot
    // cotangent (5 observables alternating var / expval, then probs over wires 3, 0, 2)
    const int64_t kinds[6] = {KVANT_MEAS_VAR, KVANT_MEAS_EXPVAL, KVANT_MEAS_VAR,
                              KVANT_MEAS_VAR, KVANT_MEAS_EXPVAL, KVANT_MEAS_PROBS};
    const int64_t mixedObs[6] = {obs[0], obs[1], obs[2], obs[3], obs[4], 0};
    const int64_t wireCounts[6] = {0, 0, 0, 0, 0, 3};
    mixedJac.assign(13 * P, std::nan(""));
    kvant_rt_adjoint_jacobian_mixed(kinds, mixedObs, wireCounts, 6, probWires, 3, mixedJac.data(),
                                    13, P);
    for (int k = 0; k < 13; ++k) {
      singleRows.emplace_back(P, std::nan(""));
      double one = 1.0;
      if (k < 5 && kinds[k] == KVANT_MEAS_VAR) {
        vjpOf(KVANT_MEAS_VAR, &obs[k], &one, 1, singleRows.back().data(), P);
      } else if (k < 5) {
        vjpOf(KVANT_MEAS_EXPVAL, &obs[k], &one, 1, singleRows.back().data(), P);
      } else {
        double oneHot[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        oneHot[k - 5] = 1.0;
        vjpProbs(probWires, 3, oneHot, singleRows.back().data(), P);
      }
    }
    CHECK_NO_ERROR();
    // the same rows again, three per sweep (five sweeps): the same numbers
    setenv("KVANT_RT_JACOBIAN_ROWS_PER_SWEEP", "3", 1);
    batchedJac.assign(13 * P, std::nan(""));
    kvant_rt_adjoint_jacobian_mixed(kinds, mixedObs, wireCounts, 6, probWires, 3, batchedJac.data(),
                                    13, P);
    unsetenv("KVANT_RT_JACOBIAN_ROWS_PER_SWEEP");
    // a row count that does not match the measurements is an error, not a buffer overrun
    double unused[64];
    kvant_rt_adjoint_jacobian_mixed(kinds, mixedObs, wireCounts, 6, probWires, 3, unused, 12, P);
    CHECK(kvant_rt_error() != nullptr);
    kvant_rt_clear_error();
  }
  const Measure weightedExpval = [&] {
    double s = 0;
    const std::vector<int64_t> obs = makeObservables();
    for (std::size_t k = 0; k < obs.size(); ++k)
      s += ctObs[k] * kvant_rt_expval(obs[k]);
    return std::vector<double>{s};
  };
  const Measure weightedProbs = [&] {
    double pr[8];
    kvant_rt_probs(pr, probWires, 3);
    double s = 0;
    for (int i = 0; i < 8; ++i)
      s += ctProbs[i] * pr[i];
    return std::vector<double>{s};
  };
  const Measure weightedVar = [&] {
    double s = 0;
    const std::vector<int64_t> obs = makeObservables();
    for (std::size_t k = 0; k < obs.size(); ++k)
      s += ctObs[k] * kvant_rt_var(obs[k]);
    return std::vector<double>{s};
  };
  const std::vector<double> fE = finiteDiff(calls, p, weightedExpval, 1);
  const std::vector<double> fP = finiteDiff(calls, p, weightedProbs, 1);
  const std::vector<double> fV = finiteDiff(calls, p, weightedVar, 1);
  for (std::size_t i = 1; i < P; ++i) {
    check::context() = "parameter " + std::to_string(i);
    CHECK_NEAR(gE[i], fE[i], 1e-7);
    CHECK_NEAR(gP[i], fP[i], 1e-7);
    CHECK_NEAR(gV[i], fV[i], 1e-7);
    double ctJ = 0; // the VJP is ct^T J
    for (std::size_t k = 0; k < 5; ++k)
      ctJ += ctObs[k] * jac[k * P + i];
    CHECK_NEAR(gE[i], ctJ, 1e-12);
    for (std::size_t k = 0; k < 13; ++k) {
      CHECK_NEAR(mixedJac[k * P + i], singleRows[k][i], 1e-12);
      CHECK_NEAR(batchedJac[k * P + i], mixedJac[k * P + i], 1e-14);
    }
  }
}

TEST(adjoint, state_prep_before_gates_is_initial_state) {
  // StatePrep recorded first is the sweep's starting point, not an operation to undo.
  Reg r(2);
  kvant_rt_tape_begin();
  const double amps[4] = {0.6, 0, 0, 0.8}; // 0.6|0> + 0.8i|1> on wire 1
  const int64_t w1 = 1;
  kvant_rt_state_prep(amps, 2, &w1, 1);
  gate(KVANT_GATE_RX, {0.4}, {1});
  kvant_rt_tape_end();
  const int64_t z = kvant_rt_obs_named(KVANT_OBS_PauliZ, 1);
  double j = std::nan("");
  kvant_rt_adjoint_jacobian(&z, 1, &j, 1);
  CHECK_NO_ERROR();
  // <Z> after RX(t) on a|0>+b|1> with a=0.6, b=0.8i: Bloch vector y = 2 Im(conj(a) b) = 0.96,
  // z = 0.36 - 0.64 = -0.28; RX rotates (y, z) -> (y cos t - z sin t, y sin t + z cos t).
  CHECK_NEAR(kvant_rt_expval(z), 0.96 * std::sin(0.4) - 0.28 * std::cos(0.4), 1e-12);
  CHECK_NEAR(j, 0.96 * std::cos(0.4) + 0.28 * std::sin(0.4), 1e-12);
}

TEST(adjoint, errors) {
  Reg r(2);
  const int64_t z = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  double out[4];
  kvant_rt_adjoint_jacobian(&z, 1, out, 0);
  CHECK_ERROR("no tape");
  kvant_rt_tape_end();
  CHECK_ERROR("without tape_begin");

  kvant_rt_tape_begin();
  gate(KVANT_GATE_RX, {0.1}, {0});
  gate(KVANT_GATE_Rot, {0.1, 0.2, 0.3}, {1});
  kvant_rt_tape_end();
  CHECK(kvant_rt_tape_num_params() == 4);
  kvant_rt_adjoint_jacobian(&z, 1, out, 3);
  CHECK_ERROR("4 parameter(s)");
  kvant_rt_adjoint_jacobian(&z, 1, nullptr, 4);
  CHECK_ERROR("NULL output");
  const int64_t bogus = 12345;
  kvant_rt_adjoint_jacobian(&bogus, 1, out, 4);
  CHECK_ERROR("invalid observable handle");
  vjpOf(KVANT_MEAS_EXPVAL, &z, nullptr, 1, out, 4);
  CHECK_ERROR("cotangent");
  const int64_t w9 = 9;
  double ct[2] = {1, 0};
  vjpProbs(&w9, 1, ct, out, 4);
  CHECK_ERROR("out of range");
  kvant_rt_expval(z); // measurements in between are fine
  kvant_rt_adjoint_jacobian(&z, 1, out, 4);
  CHECK_NO_ERROR();
  gate(KVANT_GATE_PauliX, {}, {0});
  kvant_rt_adjoint_jacobian(&z, 1, out, 4);
  CHECK_ERROR("state changed after kvant_rt_tape_end");

  kvant_rt_tape_begin();
  gate(KVANT_GATE_RX, {0.1}, {0});
  kvant_rt_measure(1, 0, -1);
  kvant_rt_tape_end();
  kvant_rt_adjoint_jacobian(&z, 1, out, 1);
  CHECK_ERROR("mid-circuit measurement");

  kvant_rt_tape_begin();
  gate(KVANT_GATE_RX, {0.1}, {0});
  const int8_t bits[1] = {1};
  const int64_t w0 = 0;
  kvant_rt_basis_state(bits, &w0, 1);
  kvant_rt_tape_end();
  vjpOf(KVANT_MEAS_EXPVAL, &z, ct, 1, out, 1);
  CHECK_ERROR("state preparation after recorded gates");
}

TEST(adjoint, vjp_mixed_closed_form) {
  // RX(t) on |0>: <Z> = cos t, var(Z) = sin^2 t, probs = (cos^2(t/2), sin^2(t/2)); a second
  // qubit under RY(u) adds <X1> = sin u. Measurements in a mixed order, one call.
  const double t = 0.7, u = -1.1;
  Reg r(2);
  kvant_rt_tape_begin();
  gate(KVANT_GATE_RX, {t}, {0});
  gate(KVANT_GATE_RY, {u}, {1});
  kvant_rt_tape_end();
  const int64_t z0 = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  const int64_t x1 = kvant_rt_obs_named(KVANT_OBS_PauliX, 1);
  const int64_t kinds[4] = {KVANT_MEAS_PROBS, KVANT_MEAS_EXPVAL, KVANT_MEAS_VAR, KVANT_MEAS_EXPVAL};
  const int64_t obs[4] = {0, z0, z0, x1};
  const int64_t nw[4] = {1, 0, 0, 0};
  const int64_t wires[1] = {0};
  const double ct[5] = {0.3, -0.8, 1.7, 0.5, 2.0}; // probs (2), expval Z0, var Z0, expval X1
  double g[2] = {std::nan(""), std::nan("")};
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 4, wires, 1, ct, 5, g, 2);
  CHECK_NO_ERROR();
  const double dProbs = ct[0] * (-std::sin(t) / 2) + ct[1] * (std::sin(t) / 2);
  CHECK_NEAR(g[0], dProbs + ct[2] * -std::sin(t) + ct[3] * 2 * std::sin(t) * std::cos(t), 1e-12);
  CHECK_NEAR(g[1], ct[4] * std::cos(u), 1e-12);
}

TEST(adjoint, vjp_mixed_matches_finite_differences) {
  std::mt19937 rng(23);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  const std::vector<GateCall> calls = {
      {KVANT_GATE_Rot, {2}, 3},          {KVANT_GATE_CRX, {2, 0}, 1},
      {KVANT_GATE_IsingYY, {4, 1}, 1},   {KVANT_GATE_PhaseShift, {3}, 1},
      {KVANT_GATE_RY, {0}, 1, {4}, {0}}, {KVANT_GATE_SingleExcitation, {1, 3}, 1}};
  std::vector<double> p(8);
  for (double &x : p)
    x = u(rng);
  const std::size_t P = p.size() + 1;
  // expval(obs 3), probs(wires 4, 1), var(obs 2), probs(wire 0), var(obs 0), expval(obs 4).
  const int64_t kinds[6] = {KVANT_MEAS_EXPVAL, KVANT_MEAS_PROBS, KVANT_MEAS_VAR,
                            KVANT_MEAS_PROBS,  KVANT_MEAS_VAR,   KVANT_MEAS_EXPVAL};
  const std::size_t obsIndex[6] = {3, 0, 2, 0, 0, 4};
  const int64_t nw[6] = {0, 2, 0, 1, 0, 0};
  const int64_t wires[3] = {4, 1, 0};
  std::vector<double> ct(1 + 4 + 1 + 2 + 1 + 1);
  for (double &x : ct)
    x = u(rng);

  std::vector<double> g(P, std::nan(""));
  {
    Reg r(kN);
    kvant_rt_tape_begin();
    runCircuit(calls, p);
    kvant_rt_tape_end();
    const std::vector<int64_t> all = makeObservables();
    int64_t obs[6];
    for (int m = 0; m < 6; ++m)
      obs[m] = kinds[m] == KVANT_MEAS_PROBS ? 0 : all[obsIndex[m]];
    kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 6, wires, 3, ct.data(),
                               static_cast<int64_t>(ct.size()), g.data(), P);
    CHECK_NO_ERROR();
  }
  const Measure weighted = [&] {
    const std::vector<int64_t> all = makeObservables();
    double pr4[4], pr2[2];
    kvant_rt_probs(pr4, wires, 2);
    kvant_rt_probs(pr2, wires + 2, 1);
    double s = ct[0] * kvant_rt_expval(all[3]);
    for (int i = 0; i < 4; ++i)
      s += ct[1 + i] * pr4[i];
    s += ct[5] * kvant_rt_var(all[2]);
    s += ct[6] * pr2[0] + ct[7] * pr2[1];
    s += ct[8] * kvant_rt_var(all[0]);
    s += ct[9] * kvant_rt_expval(all[4]);
    return std::vector<double>{s};
  };
  const std::vector<double> fd = finiteDiff(calls, p, weighted, 1);
  for (std::size_t i = 1; i < P; ++i) {
    check::context() = "parameter " + std::to_string(i);
    CHECK_NEAR(g[i], fd[i], 1e-7);
  }
}

TEST(adjoint, vjp_mixed_errors) {
  Reg r(2);
  kvant_rt_tape_begin();
  gate(KVANT_GATE_RX, {0.1}, {0});
  kvant_rt_tape_end();
  const int64_t z = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  double g[1];
  const double ct[4] = {1, 2, 3, 4};
  const int64_t w[2] = {0, 1};
  int64_t kinds[2] = {KVANT_MEAS_EXPVAL, 7};
  int64_t obs[2] = {z, z};
  int64_t nw[2] = {0, 0};
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 0, ct, 2, g, 1);
  CHECK_ERROR("unknown measurement kind 7");
  kinds[1] = KVANT_MEAS_VAR;
  nw[1] = 1;
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 1, ct, 2, g, 1);
  CHECK_ERROR("expval/var takes no wires");
  kinds[1] = KVANT_MEAS_PROBS;
  nw[1] = 2;
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 1, ct, 5, g, 1);
  CHECK_ERROR("only 1 of num_wires_total");
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 2, ct, 4, g, 1);
  CHECK_ERROR("need 5 cotangent entries");
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 2, nullptr, 5, g, 1);
  CHECK_ERROR("cotangent");
  const int64_t bogus = 999;
  obs[0] = bogus;
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 2, ct, 5, g, 1);
  CHECK_ERROR("invalid observable handle");
  obs[0] = z;
  nw[1] = 1;
  kvant_rt_adjoint_vjp_mixed(kinds, obs, nw, 2, w, 1, ct, 3, g, 1);
  CHECK_NO_ERROR();
  CHECK_NEAR(g[0], 1 * -std::sin(0.1) + 2 * (-std::sin(0.1) / 2) + 3 * (std::sin(0.1) / 2), 1e-12);
}

namespace {

// A 10-qubit circuit of hardware-efficient layers (RY, RZ, CNOT ring) mixed with the other
// kinds the sweep treats differently: a Rot chain, controlled rotations, fixed gates (Toffoli,
// SWAP, S, a QubitUnitary) and a gate without a rotation form (IsingXX). At 10 qubits the
// sweep's cache blocking takes part when KVANT_RT_ADJOINT_BLOCK_QUBITS is below 10 (the
// runtime.adjoint_blocked* tests), including blocks that must keep the low bits in.
constexpr int64_t kWide = 10;

void wideCircuit(const std::vector<double> &p) {
  std::size_t k = 0;
  for (int layer = 0; layer < 2; ++layer) {
    for (int64_t w = 0; w < kWide; ++w) {
      gate(KVANT_GATE_RY, {p[k++]}, {w});
      gate(KVANT_GATE_RZ, {p[k++]}, {w});
    }
    for (int64_t w = 0; w < kWide; ++w)
      gate(KVANT_GATE_CNOT, {}, {w, (w + 1) % kWide});
    gate(KVANT_GATE_Rot, {p[k], p[k + 1], p[k + 2]}, {9});
    k += 3;
    gate(KVANT_GATE_CRY, {p[k++]}, {0, 9});
    gate(KVANT_GATE_CRZ, {p[k++]}, {8, 1}, {5}, {1});
    gate(KVANT_GATE_Toffoli, {}, {2, 7, 4});
    gate(KVANT_GATE_SWAP, {}, {3, 8});
    gate(KVANT_GATE_S, {}, {6}, {}, {}, true);
    const double u[8] = {0.6, 0.0, 0.0, 0.8, 0.0, 0.8, 0.6, 0.0}; // [[.6, .8i], [.8i, .6]]
    const int64_t uw = 5;
    kvant_rt_unitary(u, &uw, 1, nullptr, nullptr, 0, 0);
    gate(KVANT_GATE_IsingXX, {p[k++]}, {4, 6});
    gate(KVANT_GATE_RX, {p[k++]}, {1}, {}, {}, true);
  }
}

std::vector<int64_t> wideObservables() {
  std::vector<int64_t> terms, obs;
  std::vector<double> coeffs;
  for (int64_t w = 0; w < kWide; ++w) {
    terms.push_back(kvant_rt_obs_named(KVANT_OBS_PauliZ, w));
    coeffs.push_back(0.5 + 0.1 * static_cast<double>(w));
  }
  obs.push_back(kvant_rt_obs_hamiltonian(coeffs.data(), terms.data(), kWide));
  const int64_t f[2] = {kvant_rt_obs_named(KVANT_OBS_PauliX, 9),
                        kvant_rt_obs_named(KVANT_OBS_PauliY, 0)};
  obs.push_back(kvant_rt_obs_tensor(f, 2));
  obs.push_back(kvant_rt_obs_named(KVANT_OBS_PauliX, 4));
  return obs;
}

} // namespace

TEST(adjoint, wide_circuit_matches_finite_differences) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  const std::size_t P = 2 * (2 * kWide + 7);
  std::vector<double> p(P);
  for (double &x : p)
    x = u(rng);
  std::vector<double> jac, vjp(P, std::nan(""));
  std::size_t numObs = 0;
  const double ct[3] = {0.7, -1.3, 0.4};
  {
    Reg r(kWide);
    kvant_rt_tape_begin();
    wideCircuit(p);
    kvant_rt_tape_end();
    CHECK(kvant_rt_tape_num_params() == static_cast<int64_t>(P));
    const std::vector<int64_t> obs = wideObservables();
    numObs = obs.size();
    jac.assign(numObs * P, std::nan(""));
    kvant_rt_adjoint_jacobian(obs.data(), static_cast<int64_t>(numObs), jac.data(),
                              static_cast<int64_t>(P));
    vjpOf(KVANT_MEAS_EXPVAL, obs.data(), ct, static_cast<int64_t>(numObs), vjp.data(),
          static_cast<int64_t>(P));
    CHECK_NO_ERROR();
  }
  const auto values = [&](const std::vector<double> &q) {
    Reg r(kWide);
    wideCircuit(q);
    std::vector<double> v;
    for (int64_t o : wideObservables())
      v.push_back(kvant_rt_expval(o));
    CHECK_NO_ERROR();
    return v;
  };
  const double h = 1e-5;
  for (std::size_t i = 0; i < P; ++i) {
    std::vector<double> a = p, b = p;
    a[i] += h;
    b[i] -= h;
    const std::vector<double> fa = values(a), fb = values(b);
    double dv = 0.0;
    for (std::size_t k = 0; k < numObs; ++k) {
      const double fd = (fa[k] - fb[k]) / (2 * h);
      CHECK_NEAR(jac[k * P + i], fd, 1e-7);
      dv += ct[k] * fd;
    }
    CHECK_NEAR(vjp[i], dv, 1e-7);
  }
}
