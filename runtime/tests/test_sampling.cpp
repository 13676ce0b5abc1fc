// Sampling, counts, mid-circuit measurement and state preparation. Statistical checks use a
// fixed seed and 5-sigma binomial bounds, so they are deterministic and still fail on a wrong
// distribution.
#include "check.hpp"
#include "helpers.hpp"

using namespace testing;

namespace {

bool within5Sigma(double count, double shots, double p) {
  const double sigma = std::sqrt(shots * p * (1 - p));
  return std::fabs(count - shots * p) <= 5 * sigma + 1e-9;
}

} // namespace

TEST(sampling, bell_pair_samples_are_correlated_and_fair) {
  Reg r(3);
  gate(KVANT_GATE_Hadamard, {}, {0});
  gate(KVANT_GATE_CNOT, {}, {0, 2});
  kvant_rt_set_seed(1234);
  const int64_t shots = 20000;
  const int64_t wires[2] = {2, 0};
  std::vector<int64_t> s(2 * shots, -1);
  kvant_rt_sample(s.data(), shots, wires, 2);
  CHECK_NO_ERROR();
  int64_t ones = 0, disagree = 0;
  for (int64_t i = 0; i < shots; ++i) {
    ones += s[2 * i];
    disagree += s[2 * i] != s[2 * i + 1];
    if (!(s[2 * i] == 0 || s[2 * i] == 1)) {
      CHECK(false);
      break;
    }
  }
  CHECK(disagree == 0);
  CHECK(within5Sigma(static_cast<double>(ones), shots, 0.5));
  // The state is unchanged by sampling.
  CHECK_NEAR(std::norm(readState(3)[0b101]), 0.5, 1e-12);
  CHECK_NO_ERROR();
}

TEST(sampling, seed_reproducible_and_double_variant) {
  Reg r(2);
  gate(KVANT_GATE_RY, {1.1}, {0});
  gate(KVANT_GATE_RX, {0.4}, {1});
  const int64_t wires[2] = {0, 1};
  std::vector<int64_t> a(200), b(200), c(200);
  std::vector<double> d(200);
  kvant_rt_set_seed(7);
  kvant_rt_sample(a.data(), 100, wires, 2);
  kvant_rt_set_seed(7);
  kvant_rt_sample(b.data(), 100, wires, 2);
  kvant_rt_set_seed(7);
  kvant_rt_sample_f64(d.data(), 100, wires, 2);
  kvant_rt_set_seed(8);
  kvant_rt_sample(c.data(), 100, wires, 2);
  CHECK_NO_ERROR();
  CHECK(a == b);
  CHECK(a != c);
  bool same = true;
  for (std::size_t i = 0; i < a.size(); ++i)
    same = same && d[i] == static_cast<double>(a[i]);
  CHECK(same);
}

TEST(sampling, counts_match_probabilities) {
  Reg r(3);
  prepareRandomState(3, 99);
  const int64_t wires[2] = {2, 1};
  double p[4];
  kvant_rt_probs(p, wires, 2);
  kvant_rt_set_seed(42);
  const int64_t shots = 50000;
  int64_t counts[4] = {-1, -1, -1, -1};
  kvant_rt_counts(counts, shots, wires, 2);
  CHECK_NO_ERROR();
  CHECK(counts[0] + counts[1] + counts[2] + counts[3] == shots);
  for (int i = 0; i < 4; ++i) {
    check::context() = "outcome " + std::to_string(i);
    CHECK(within5Sigma(static_cast<double>(counts[i]), shots, p[i]));
  }
  // An outcome of probability 0 is never drawn.
  Reg r2(2);
  gate(KVANT_GATE_PauliX, {}, {1});
  int64_t c2[4];
  kvant_rt_counts(c2, 1000, wires + 1, 1); // wire 1 of the 2-qubit register
  CHECK_NO_ERROR();
  CHECK(c2[0] == 0 && c2[1] == 1000);
}

TEST(sampling, sample_errors) {
  Reg r(2);
  const int64_t w[1] = {0}, bad[1] = {5};
  int64_t out[4];
  kvant_rt_sample(out, 0, w, 1);
  CHECK_ERROR("shots must be at least 1");
  kvant_rt_sample(out, 2, w, 0);
  CHECK_ERROR("at least one wire");
  kvant_rt_sample(out, 2, bad, 1);
  CHECK_ERROR("out of range");
  kvant_rt_sample(nullptr, 2, w, 1);
  CHECK_ERROR("NULL output");
  kvant_rt_counts(out, -3, w, 1);
  CHECK_ERROR("shots must be at least 1");
}

TEST(sampling, measure_collapses_and_renormalises) {
  kvant_rt_set_seed(3);
  int ones = 0;
  const int trials = 4000;
  const double t = 1.3; // P(1) = sin^2(t/2)
  for (int i = 0; i < trials; ++i) {
    Reg r(2);
    gate(KVANT_GATE_RY, {t}, {0});
    gate(KVANT_GATE_CNOT, {}, {0, 1});
    const int8_t m = kvant_rt_measure(0, 0, -1);
    const std::vector<C> s = readState(2);
    ones += m == 1;
    if (!CHECK(std::fabs(std::abs(s[m == 1 ? 0b11 : 0b00]) - 1.0) < 1e-12))
      break;
  }
  CHECK_NO_ERROR();
  CHECK(within5Sigma(ones, trials, std::pow(std::sin(t / 2), 2)));
}

TEST(sampling, measure_reset_and_postselect) {
  Reg r(2);
  gate(KVANT_GATE_Hadamard, {}, {0});
  gate(KVANT_GATE_CNOT, {}, {0, 1});
  // Postselect 1 on wire 1, reset: wire 0 stays |1>, wire 1 returns to |0>.
  CHECK(kvant_rt_measure(1, 1, 1) == 1);
  CHECK_NO_ERROR();
  std::vector<C> s = readState(2);
  CHECK_NEAR(std::abs(s[0b10]), 1.0, 1e-12);
  // Now wire 1 is |0> with certainty: postselecting 1 is impossible.
  kvant_rt_measure(1, 0, 1);
  CHECK_ERROR("probability 0");
  kvant_rt_measure(1, 0, 2);
  CHECK_ERROR("postselect must be");
  kvant_rt_measure(7, 0, -1);
  CHECK_ERROR("out of range");
  // Postselection renormalises: |+> on wire 1 postselected on 0 is |0> with norm 1.
  gate(KVANT_GATE_RY, {0.8}, {1});
  CHECK(kvant_rt_measure(1, 0, 0) == 0);
  s = readState(2);
  CHECK_NEAR(std::abs(s[0b10]), 1.0, 1e-12);
  CHECK_NO_ERROR();
}

TEST(sampling, basis_state_and_state_prep) {
  Reg r(3);
  gate(KVANT_GATE_Hadamard, {}, {1}); // discarded by the preparation
  const int8_t bits[2] = {1, 0};
  const int64_t w[2] = {2, 0};
  kvant_rt_basis_state(bits, w, 2); // wire 2 = 1, wire 0 = 0
  CHECK_NO_ERROR();
  std::vector<C> s = readState(3);
  CHECK_NEAR(std::abs(s[0b001]), 1.0, 1e-15);

  // amplitudes over (wire 2, wire 0): index = 2 * b2 + b0
  const C a[4] = {C(0.5, 0), C(0, 0.5), C(-0.5, 0), C(0.1, std::sqrt(0.24))};
  std::vector<double> raw;
  for (C z : a) {
    raw.push_back(z.real());
    raw.push_back(z.imag());
  }
  kvant_rt_state_prep(raw.data(), 4, w, 2);
  CHECK_NO_ERROR();
  s = readState(3);
  // basis index = b0 * 4 + b1 * 2 + b2 with b1 = 0
  CHECK_CNEAR(s[0b000], a[0], 1e-15);
  CHECK_CNEAR(s[0b100], a[1], 1e-15);
  CHECK_CNEAR(s[0b001], a[2], 1e-15);
  CHECK_CNEAR(s[0b101], a[3], 1e-15);
  CHECK_NEAR(std::abs(s[0b010]) + std::abs(s[0b111]), 0.0, 1e-15);

  kvant_rt_state_prep(raw.data(), 3, w, 2);
  CHECK_ERROR("need 4 amplitudes");
  raw[0] = 0.9;
  kvant_rt_state_prep(raw.data(), 4, w, 2);
  CHECK_ERROR("not normalised");
  const int8_t badBits[2] = {1, 2};
  kvant_rt_basis_state(badBits, w, 2);
  CHECK_ERROR("not 0 or 1");
  const int64_t dup[2] = {1, 1};
  kvant_rt_basis_state(bits, dup, 2);
  CHECK_ERROR("repeated");
}
