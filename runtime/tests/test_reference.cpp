// Random circuits over every gate (adjoints, controls on 0 and 1, QubitUnitary) checked against
// PennyLane default.qubit results tabulated by gen_reference.py.
#include "check.hpp"
#include "helpers.hpp"

#include <utility>

using namespace testing;

namespace {

struct RefOp {
  int64_t gate; // -1: QubitUnitary with `matrix`
  std::vector<double> params;
  std::vector<int64_t> wires, ctrls;
  std::vector<int8_t> values;
  bool adjoint;
  std::vector<C> matrix;
};

struct RefCircuit {
  int64_t n;
  std::vector<RefOp> ops;
  std::vector<C> state;
  std::vector<std::pair<std::vector<int64_t>, std::vector<double>>> probs;
  std::vector<double> expvals, vars;
};

#include "reference_data.inc"

std::vector<double> interleaveVec(const std::vector<C> &v) {
  std::vector<double> out;
  for (C z : v) {
    out.push_back(z.real());
    out.push_back(z.imag());
  }
  return out;
}

// Must match observables() in gen_reference.py.
std::vector<int64_t> referenceObservables() {
  auto named = kvant_rt_obs_named;
  auto tensor = [](std::vector<int64_t> f) {
    return kvant_rt_obs_tensor(f.data(), static_cast<int64_t>(f.size()));
  };
  auto hermitian = [](const std::vector<C> &m, std::vector<int64_t> w) {
    const std::vector<double> raw = interleaveVec(m);
    return kvant_rt_obs_hermitian(raw.data(), w.data(), static_cast<int64_t>(w.size()));
  };
  std::vector<int64_t> obs;
  obs.push_back(named(KVANT_OBS_PauliX, 0));
  obs.push_back(named(KVANT_OBS_PauliY, 3));
  obs.push_back(named(KVANT_OBS_Hadamard, 4));
  obs.push_back(
      tensor({named(KVANT_OBS_PauliZ, 1), named(KVANT_OBS_PauliX, 2), named(KVANT_OBS_PauliY, 4)}));
  obs.push_back(tensor({named(KVANT_OBS_Hadamard, 0), named(KVANT_OBS_PauliZ, 3)}));
  obs.push_back(hermitian(kHerm2, {3, 1}));
  const std::vector<double> coeffs = {0.3, -1.1, 0.7, 0.5};
  const std::vector<int64_t> terms = {
      named(KVANT_OBS_PauliZ, 0), tensor({named(KVANT_OBS_PauliX, 1), named(KVANT_OBS_PauliX, 2)}),
      hermitian(kHerm1, {4}), named(KVANT_OBS_PauliY, 2)};
  obs.push_back(kvant_rt_obs_hamiltonian(coeffs.data(), terms.data(), 4));
  obs.push_back(named(KVANT_OBS_Identity, 2));
  return obs;
}

void runCircuit(const RefCircuit &c) {
  for (const RefOp &op : c.ops) {
    if (op.gate < 0) {
      const std::vector<double> raw = interleaveVec(op.matrix);
      kvant_rt_unitary(raw.data(), op.wires.data(), static_cast<int64_t>(op.wires.size()),
                       op.ctrls.data(), op.values.data(), static_cast<int64_t>(op.ctrls.size()),
                       op.adjoint);
    } else {
      gate(static_cast<kvant_gate_t>(op.gate), op.params, op.wires, op.ctrls, op.values,
           op.adjoint);
    }
  }
}

} // namespace

TEST(reference, pennylane_circuits) {
  CHECK(kCircuits.size() == 3);
  for (std::size_t i = 0; i < kCircuits.size(); ++i) {
    const RefCircuit &c = kCircuits[i];
    check::context() = "circuit " + std::to_string(i);
    Reg r(c.n);
    runCircuit(c);
    CHECK_NO_ERROR();
    CHECK_NEAR(maxDiff(readState(c.n), c.state), 0.0, 1e-10);
    for (const auto &[wires, expected] : c.probs) {
      std::vector<double> out(expected.size(), std::nan(""));
      kvant_rt_probs(out.data(), wires.data(), static_cast<int64_t>(wires.size()));
      double err = 0.0;
      for (std::size_t k = 0; k < out.size(); ++k)
        err = std::max(err, std::fabs(out[k] - expected[k]));
      CHECK_NEAR(err, 0.0, 1e-10);
    }
    const std::vector<int64_t> obs = referenceObservables();
    CHECK_NO_ERROR();
    CHECK(obs.size() == c.expvals.size());
    for (std::size_t k = 0; k < obs.size() && k < c.expvals.size(); ++k) {
      check::context() = "circuit " + std::to_string(i) + " observable " + std::to_string(k);
      CHECK_NEAR(kvant_rt_expval(obs[k]), c.expvals[k], 1e-10);
      CHECK_NEAR(kvant_rt_var(obs[k]), c.vars[k], 1e-10);
    }
    CHECK_NO_ERROR();
  }
  check::context().clear();
}
