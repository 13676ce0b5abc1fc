// The distributed register against the single-process one, run under mpirun (-n 1, 2, 4).
//
// Every rank builds each random program twice through the C API: on an ordinary register
// (kvant_rt_set_distributed(0)) -- the single-process runtime, which runtime/tests checks
// against independent references -- and on a distributed one, and compares everything the
// program returns: the state, probabilities, expectations and variances of every kind of
// observable, samples, counts and mid-circuit outcomes (from the same seed), and adjoint
// Jacobians and VJPs. Programs use every gate of gates.def, with and without controls and
// adjoints, on 8 to 12 qubits, so with 2 and 4 ranks gates and observables act on global wires.
// Each rank checks its own results; agreeing with the same reference, the ranks agree.
//
// Usage: kvant_rt_mpi_tests [num_programs]; exits non-zero on any mismatch.
#include "kvant/runtime.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using C = std::complex<double>;
int rank = 0;
long failures = 0, checks = 0;
std::string where;

void fail(const std::string &what) {
  ++failures;
  if (failures <= 20)
    std::fprintf(stderr, "rank %d: FAILED %s: %s\n", rank, where.c_str(), what.c_str());
}

[[maybe_unused]] void expectClose(double a, double b, double tol, const std::string &what) {
  ++checks;
  if (!(std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b))))
    fail(what + ": distributed " + std::to_string(a) + ", single-process " + std::to_string(b));
}

void expectNoError(const std::string &what) {
  ++checks;
  if (const char *e = kvant_rt_error()) {
    fail(what + ": runtime error: " + e);
    kvant_rt_clear_error();
  }
}

struct Gate {
  int64_t id;
  std::vector<double> params;
  std::vector<int64_t> wires, ctrls;
  std::vector<int8_t> values;
  int8_t adjoint = 0;
  std::vector<double> matrix; // QubitUnitary (id -1)
  int measureWire = -1;       // a mid-circuit measurement (id -2)
  int8_t reset = 0;
};

// A random unitary on k wires: Gram-Schmidt on a random complex matrix.
std::vector<double> randomUnitary(std::mt19937_64 &rng, int k) {
  const std::size_t d = std::size_t{1} << k;
  std::normal_distribution<double> nd;
  std::vector<C> m(d * d);
  for (auto &x : m)
    x = C{nd(rng), nd(rng)};
  for (std::size_t r = 0; r < d; ++r) {
    for (std::size_t q = 0; q < r; ++q) {
      C dot = 0;
      for (std::size_t c = 0; c < d; ++c)
        dot += std::conj(m[q * d + c]) * m[r * d + c];
      for (std::size_t c = 0; c < d; ++c)
        m[r * d + c] -= dot * m[q * d + c];
    }
    double norm = 0;
    for (std::size_t c = 0; c < d; ++c)
      norm += std::norm(m[r * d + c]);
    for (std::size_t c = 0; c < d; ++c)
      m[r * d + c] /= std::sqrt(norm);
  }
  std::vector<double> out;
  for (const C &x : m) {
    out.push_back(x.real());
    out.push_back(x.imag());
  }
  return out;
}

std::vector<int64_t> distinctWires(std::mt19937_64 &rng, int n, int count) {
  std::vector<int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(count));
  return all;
}

struct GateSpec {
  int nparams, nwires;
};
const GateSpec kSpecs[] = {
#define KVANT_GATE(id, name, nparams, nwires) {nparams, nwires},
#include "kvant/gates.def"
#undef KVANT_GATE
};

// Every gate of the table once (in a random order), then `extra` random ones; measurements
// sprinkled in when `measurements`.
std::vector<Gate> randomProgram(std::mt19937_64 &rng, int n, int extra, bool measurements) {
  std::vector<int64_t> ids(KVANT_GATE_COUNT);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::uniform_int_distribution<int64_t> anyGate(-1, KVANT_GATE_COUNT - 1);
  for (int i = 0; i < extra; ++i)
    ids.push_back(anyGate(rng));
  std::uniform_real_distribution<double> angle(-3.0, 3.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<Gate> prog;
  // A layer of Hadamards first, so that every wire carries amplitude.
  for (int w = 0; w < n; ++w)
    prog.push_back(Gate{KVANT_GATE_Hadamard, {}, {w}, {}, {}, 0, {}, -1, 0});
  for (int64_t id : ids) {
    Gate g;
    g.id = id;
    int nw;
    if (id == -1) {
      nw = 1 + static_cast<int>(u(rng) * 3); // QubitUnitary on 1..3 wires
      g.matrix = randomUnitary(rng, nw);
    } else {
      nw = kSpecs[id].nwires;
      if (nw < 0)
        nw = 1 + static_cast<int>(u(rng) * n); // MultiRZ / GlobalPhase: up to every wire
      for (int p = 0; p < kSpecs[id].nparams; ++p)
        g.params.push_back(angle(rng));
    }
    const int nc = u(rng) < 0.3 ? std::min(n - nw, 1 + static_cast<int>(u(rng) * 2)) : 0;
    const std::vector<int64_t> w = distinctWires(rng, n, nw + nc);
    g.wires.assign(w.begin(), w.begin() + nw);
    g.ctrls.assign(w.begin() + nw, w.end());
    for (int c = 0; c < nc; ++c)
      g.values.push_back(u(rng) < 0.5 ? 1 : 0);
    g.adjoint = u(rng) < 0.3;
    prog.push_back(g);
    if (measurements && u(rng) < 0.15) {
      Gate m;
      m.id = -2;
      m.measureWire = static_cast<int>(u(rng) * n);
      m.reset = u(rng) < 0.5;
      prog.push_back(m);
    }
  }
  return prog;
}

// Runs the program on the active register; returns the mid-circuit outcomes.
std::vector<int> run(const std::vector<Gate> &prog) {
  std::vector<int> outcomes;
  for (const Gate &g : prog) {
    if (g.id == -2) {
      outcomes.push_back(kvant_rt_measure(g.measureWire, g.reset, -1));
    } else if (g.id == -1) {
      kvant_rt_unitary(g.matrix.data(), g.wires.data(), static_cast<int64_t>(g.wires.size()),
                       g.ctrls.data(), g.values.data(), static_cast<int64_t>(g.ctrls.size()),
                       g.adjoint);
    } else {
      kvant_rt_gate(g.id, g.params.data(), static_cast<int64_t>(g.params.size()), g.wires.data(),
                    static_cast<int64_t>(g.wires.size()), g.ctrls.data(), g.values.data(),
                    static_cast<int64_t>(g.ctrls.size()), g.adjoint);
    }
  }
  return outcomes;
}

// Observables of every kind, created on the active register: named ones on every wire, tensor
// products (Pauli words and mixed), Hermitian matrices, Hamiltonians, a Pauli word on every wire.
std::vector<int64_t> makeObservables(std::mt19937_64 &rng, int n) {
  std::vector<int64_t> obs;
  std::uniform_int_distribution<int64_t> kind(0, KVANT_OBS_COUNT - 1);
  for (int w = 0; w < n; ++w)
    obs.push_back(kvant_rt_obs_named(kind(rng), w));
  for (int t = 0; t < 4; ++t) {
    const std::vector<int64_t> w = distinctWires(rng, n, 2 + t % 3);
    std::vector<int64_t> f;
    for (int64_t x : w)
      f.push_back(kvant_rt_obs_named(t % 2 ? kind(rng) : KVANT_OBS_PauliX + kind(rng) % 3, x));
    obs.push_back(kvant_rt_obs_tensor(f.data(), static_cast<int64_t>(f.size())));
  }
  std::vector<int64_t> hermitians;
  for (int k = 1; k <= 3; ++k) {
    const std::size_t d = std::size_t{1} << k;
    std::normal_distribution<double> nd;
    std::vector<C> a(d * d);
    for (auto &x : a)
      x = C{nd(rng), nd(rng)};
    std::vector<double> h;
    for (std::size_t r = 0; r < d; ++r)
      for (std::size_t c = 0; c < d; ++c) {
        const C v = a[r * d + c] + std::conj(a[c * d + r]);
        h.push_back(v.real());
        h.push_back(v.imag());
      }
    const std::vector<int64_t> w = distinctWires(rng, n, k);
    hermitians.push_back(kvant_rt_obs_hermitian(h.data(), w.data(), k));
    obs.push_back(hermitians.back());
  }
  std::vector<int64_t> all;
  for (int w = 0; w < n; ++w)
    all.push_back(kvant_rt_obs_named(KVANT_OBS_PauliX + (w % 3), w));
  const int64_t word = kvant_rt_obs_tensor(all.data(), n);
  obs.push_back(word);
  // Hamiltonians: Pauli words only; and mixed terms (a Hermitian, a tensor with one).
  const std::vector<double> coeffs = {0.5, -1.25, 0.75, 2.0};
  std::vector<int64_t> paulis = {obs[0], obs[n], obs[n + 1], word};
  obs.push_back(kvant_rt_obs_hamiltonian(coeffs.data(), paulis.data(), 4));
  std::vector<int64_t> mixed = {hermitians[2], obs[n + 2], obs[1], hermitians[1]};
  obs.push_back(kvant_rt_obs_hamiltonian(coeffs.data(), mixed.data(), 4));
  return obs;
}

struct Results {
  std::vector<double> state, probsAll, probsSome, expvals, vars, sampleBits, jac, jacMixed, vjp;
  std::vector<int64_t> counts;
  std::vector<int> outcomes;
};

Results evaluate(int n, const std::vector<Gate> &prog, uint64_t seed, bool differentiate) {
  Results r;
  std::mt19937_64 rng(seed);
  const int64_t reg = kvant_rt_qalloc(n);
  kvant_rt_set_seed(seed);
  if (differentiate)
    kvant_rt_tape_begin();
  r.outcomes = run(prog);
  if (differentiate)
    kvant_rt_tape_end();
  expectNoError("gates");
  const std::size_t size = std::size_t{1} << n;
  r.state.assign(2 * size, 0.0);
  kvant_rt_state(r.state.data(), static_cast<int64_t>(size));
  std::vector<int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  r.probsAll.assign(size, 0.0);
  kvant_rt_probs(r.probsAll.data(), all.data(), n);
  const std::vector<int64_t> some = distinctWires(rng, n, 3);
  r.probsSome.assign(8, 0.0);
  kvant_rt_probs(r.probsSome.data(), some.data(), 3);
  const std::vector<int64_t> obs = makeObservables(rng, n);
  for (int64_t o : obs) {
    r.expvals.push_back(kvant_rt_expval(o));
    r.vars.push_back(kvant_rt_var(o));
  }
  expectNoError("measurements");
  const int64_t shots = 200;
  std::vector<double> bits(static_cast<std::size_t>(shots) * 4);
  const std::vector<int64_t> sw = distinctWires(rng, n, 4);
  kvant_rt_sample_f64(bits.data(), shots, sw.data(), 4);
  r.sampleBits = bits;
  r.counts.assign(std::size_t{1} << 5, 0);
  const std::vector<int64_t> cw = distinctWires(rng, n, 5);
  kvant_rt_counts(r.counts.data(), shots, cw.data(), 5);
  expectNoError("samples");
  if (differentiate) {
    const int64_t P = kvant_rt_tape_num_params();
    std::vector<int64_t> some_obs = {obs[0], obs[static_cast<std::size_t>(n)], obs[obs.size() - 4],
                                     obs[obs.size() - 2], obs.back()};
    r.jac.assign(some_obs.size() * static_cast<std::size_t>(P), 0.0);
    kvant_rt_adjoint_jacobian(some_obs.data(), static_cast<int64_t>(some_obs.size()), r.jac.data(),
                              P);
    // expval, var, probs over 2 wires (one of them the top wire: global with 2+ ranks).
    const int64_t kinds[3] = {KVANT_MEAS_EXPVAL, KVANT_MEAS_VAR, KVANT_MEAS_PROBS};
    const int64_t mobs[3] = {obs[obs.size() - 1], obs[static_cast<std::size_t>(n) + 1], 0};
    const int64_t nw[3] = {0, 0, 2};
    const int64_t pw[2] = {0, n - 1};
    const int64_t rows = 1 + 1 + 4;
    r.jacMixed.assign(static_cast<std::size_t>(rows * P), 0.0);
    kvant_rt_adjoint_jacobian_mixed(kinds, mobs, nw, 3, pw, 2, r.jacMixed.data(), rows, P);
    const double ct[6] = {0.3, -1.1, 0.5, 0.25, -0.75, 1.5};
    r.vjp.assign(static_cast<std::size_t>(P), 0.0);
    kvant_rt_adjoint_vjp_mixed(kinds, mobs, nw, 3, pw, 2, ct, 6, r.vjp.data(), P);
    expectNoError("derivatives");
  }
  kvant_rt_qdealloc(reg);
  return r;
}

void compare(const std::vector<double> &a, const std::vector<double> &b, double tol,
             const std::string &what) {
  ++checks;
  if (a.size() != b.size()) {
    fail(what + ": sizes differ");
    return;
  }
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - b[i]) <= tol * std::max(1.0, std::fabs(b[i])))) {
      fail(what + "[" + std::to_string(i) + "]: distributed " + std::to_string(a[i]) +
           ", single-process " + std::to_string(b[i]));
      return;
    }
}

void testProgram(int n, uint64_t seed, bool measurements, bool differentiate) {
  std::mt19937_64 rng(seed);
  const std::vector<Gate> prog = randomProgram(rng, n, 40, measurements);
  kvant_rt_set_distributed(0);
  const Results ref = evaluate(n, prog, seed, differentiate);
  kvant_rt_set_distributed(1);
  expectNoError("set_distributed");
  const Results got = evaluate(n, prog, seed, differentiate);
  kvant_rt_set_distributed(0);
  compare(got.state, ref.state, 1e-12, "state");
  compare(got.probsAll, ref.probsAll, 1e-12, "probs (all wires)");
  compare(got.probsSome, ref.probsSome, 1e-12, "probs (3 wires)");
  compare(got.expvals, ref.expvals, 1e-11, "expval");
  compare(got.vars, ref.vars, 1e-10, "var");
  compare(got.sampleBits, ref.sampleBits, 0.0, "sample");
  ++checks;
  if (got.counts != ref.counts)
    fail("counts differ");
  ++checks;
  if (got.outcomes != ref.outcomes)
    fail("mid-circuit outcomes differ");
  if (differentiate) {
    compare(got.jac, ref.jac, 1e-10, "adjoint_jacobian");
    compare(got.jacMixed, ref.jacMixed, 1e-10, "adjoint_jacobian_mixed");
    compare(got.vjp, ref.vjp, 1e-10, "adjoint_vjp_mixed");
  }
}

// A gate on more wires than a rank holds is refused by name on every rank.
void testTooWide() {
  int64_t stats[8] = {0};
  kvant_rt_set_distributed(1);
  const int64_t reg = kvant_rt_qalloc(8);
  kvant_rt_distributed_stats(stats, 8);
  const int64_t local = 8 - stats[1];
  std::mt19937_64 rng(7);
  if (local < 8) {
    std::vector<double> u = randomUnitary(rng, static_cast<int>(local + 1));
    std::vector<int64_t> w(static_cast<std::size_t>(local + 1));
    std::iota(w.begin(), w.end(), 0);
    kvant_rt_unitary(u.data(), w.data(), local + 1, nullptr, nullptr, 0, 0);
    const char *e = kvant_rt_error();
    ++checks;
    if (!e || std::string(e).find("ranks") == std::string::npos)
      fail(std::string("a too-wide gate gave: ") + (e ? e : "no error"));
    kvant_rt_clear_error();
  }
  kvant_rt_qdealloc(reg);
  kvant_rt_set_distributed(0);
}

} // namespace

int main(int argc, char **argv) {
  const int programs = argc > 1 ? std::atoi(argv[1]) : 6;
  kvant_rt_set_distributed(1);
  int64_t stats[8] = {0};
  const int64_t probe = kvant_rt_qalloc(12);
  kvant_rt_distributed_stats(stats, 8);
  kvant_rt_qdealloc(probe);
  kvant_rt_set_distributed(0);
  if (const char *e = kvant_rt_error()) {
    std::fprintf(stderr, "cannot start a distributed register: %s\n", e);
    return 1;
  }
  rank = static_cast<int>(stats[7]);
  for (int p = 0; p < programs; ++p) {
    const int n = 8 + p % 5;
    for (int mode = 0; mode < 2; ++mode) {
      where = "program " + std::to_string(p) + " (" + std::to_string(n) + " qubits, " +
              (mode ? "adjoint" : "mid-circuit measurements") + ")";
      testProgram(n, 1000 + static_cast<uint64_t>(p), mode == 0, mode == 1);
    }
  }
  where = "too-wide gate";
  testTooWide();
  if (rank == 0)
    std::printf("%ld checks on %lld ranks (%lld global qubits at 12 qubits), %ld failed\n", checks,
                static_cast<long long>(stats[0]), static_cast<long long>(stats[1]), failures);
  return failures ? 1 : 0;
}
