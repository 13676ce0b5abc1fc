// probs on wire subsets in both orders, state read-back, and the register stack.
#include "check.hpp"
#include "helpers.hpp"

using namespace testing;

namespace {
std::vector<double> probs(std::vector<int64_t> wires) {
  std::vector<double> out(std::size_t{1} << wires.size(), std::nan(""));
  kvant_rt_probs(out.data(), wires.data(), static_cast<int64_t>(wires.size()));
  return out;
}
} // namespace

TEST(measurements, probs_product_state_marginals) {
  const double th[3] = {0.4, 1.9, -2.6};
  double p1[3], p0[3];
  for (int w = 0; w < 3; ++w) {
    p1[w] = std::pow(std::sin(th[w] / 2), 2);
    p0[w] = 1 - p1[w];
  }
  auto pw = [&](int w, int bit) { return bit ? p1[w] : p0[w]; };
  Reg r(3);
  for (int64_t w = 0; w < 3; ++w)
    gate(KVANT_GATE_RY, {th[w]}, {w});
  const std::vector<double> all = probs({0, 1, 2});
  for (int i = 0; i < 8; ++i)
    CHECK_NEAR(all[i], pw(0, i >> 2 & 1) * pw(1, i >> 1 & 1) * pw(2, i & 1), kTol);
  const std::vector<double> p20 = probs({2, 0}), p02 = probs({0, 2});
  for (int i = 0; i < 4; ++i) {
    CHECK_NEAR(p20[i], pw(2, i >> 1) * pw(0, i & 1), kTol);
    CHECK_NEAR(p02[i], pw(0, i >> 1) * pw(2, i & 1), kTol);
  }
  const std::vector<double> q1 = probs({1});
  CHECK_NEAR(q1[0], p0[1], kTol);
  CHECK_NEAR(q1[1], p1[1], kTol);
  const std::vector<double> none = probs({});
  CHECK_NEAR(none[0], 1.0, kTol);
  CHECK_NO_ERROR();
}

TEST(measurements, probs_entangled_orders) {
  const double t = 1.3, c2 = std::pow(std::cos(t / 2), 2), s2 = std::pow(std::sin(t / 2), 2);
  Reg r(3);
  gate(KVANT_GATE_RY, {t}, {0});
  gate(KVANT_GATE_CNOT, {}, {0, 2});
  gate(KVANT_GATE_PauliX, {}, {1}); // cos|010> + sin|111>
  const std::vector<double> p10 = probs({1, 0});
  CHECK_NEAR(p10[0], 0.0, kTol);
  CHECK_NEAR(p10[1], 0.0, kTol);
  CHECK_NEAR(p10[2], c2, kTol);
  CHECK_NEAR(p10[3], s2, kTol);
  const std::vector<double> p01 = probs({0, 1});
  CHECK_NEAR(p01[1], c2, kTol);
  CHECK_NEAR(p01[3], s2, kTol);
  const std::vector<double> p210 = probs({2, 1, 0});
  for (int i = 0; i < 8; ++i)
    CHECK_NEAR(p210[i], i == 2 ? c2 : (i == 7 ? s2 : 0.0), kTol);
  const std::vector<double> p02 = probs({0, 2});
  CHECK_NEAR(p02[0], c2, kTol);
  CHECK_NEAR(p02[3], s2, kTol);
  CHECK_NO_ERROR();
}

TEST(measurements, probs_consistent_with_state) {
  constexpr int64_t n = 5;
  Reg r(n);
  prepareRandomState(n, 77);
  const std::vector<C> s = readState(n);
  const std::vector<double> ordered = probs({0, 1, 2, 3, 4});
  const std::vector<double> reversed = probs({4, 3, 2, 1, 0});
  double total = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::size_t rev = 0;
    for (int b = 0; b < n; ++b)
      rev |= ((i >> b) & 1) << (n - 1 - b);
    CHECK_NEAR(ordered[i], std::norm(s[i]), kTol);
    CHECK_NEAR(reversed[rev], std::norm(s[i]), kTol);
    total += ordered[i];
  }
  CHECK_NEAR(total, 1.0, 1e-12);
  CHECK_NO_ERROR();
}

TEST(measurements, state_amplitudes) {
  const double t = 0.52;
  {
    Reg r(2);
    gate(KVANT_GATE_RX, {t}, {1});
    const std::vector<C> s = readState(2);
    CHECK_CNEAR(s[0], std::cos(t / 2), kTol);
    CHECK_CNEAR(s[1], C(0, -std::sin(t / 2)), kTol);
    CHECK_CNEAR(s[2], 0.0, kTol);
    CHECK_CNEAR(s[3], 0.0, kTol);
  }
  {
    Reg r(3);
    gate(KVANT_GATE_PauliX, {}, {0});
    gate(KVANT_GATE_Hadamard, {}, {2});
    const std::vector<C> s = readState(3);
    for (std::size_t i = 0; i < 8; ++i)
      CHECK_CNEAR(s[i], (i == 4 || i == 5) ? C(1 / std::sqrt(2.0)) : C(0.0), kTol);
  }
  CHECK_NO_ERROR();
}

TEST(registers, fresh_register_is_zero_state) {
  Reg r(4);
  CHECK(r.handle != 0);
  const std::vector<C> s = readState(4);
  for (std::size_t i = 0; i < s.size(); ++i)
    CHECK_CNEAR(s[i], i == 0 ? C(1.0) : C(0.0), 0.0);
  CHECK_NO_ERROR();
}

TEST(registers, stack_restores_previous_register) {
  const int64_t a = kvant_rt_qalloc(2);
  gate(KVANT_GATE_PauliX, {}, {0}); // a = |10>
  const int64_t b = kvant_rt_qalloc(3);
  CHECK(a != 0 && b != 0 && a != b);
  gate(KVANT_GATE_PauliX, {}, {2}); // b = |001>
  CHECK_CNEAR(readState(3)[1], 1.0, kTol);
  kvant_rt_qdealloc(b);
  CHECK_CNEAR(readState(2)[2], 1.0, kTol); // a is active again, untouched
  CHECK_NO_ERROR();
  // Freeing a register that is not on top keeps the top active.
  const int64_t c = kvant_rt_qalloc(1);
  kvant_rt_qdealloc(a);
  gate(KVANT_GATE_PauliX, {}, {0});
  CHECK_CNEAR(readState(1)[1], 1.0, kTol);
  kvant_rt_qdealloc(c);
  CHECK_NO_ERROR();
}

TEST(registers, max_size_accepted) {
  // 20 qubits (16 MiB) is cheap enough to allocate in a unit test; the cap itself is 30.
  Reg r(20);
  CHECK(r.handle != 0);
  gate(KVANT_GATE_Hadamard, {}, {19});
  const std::vector<double> p = probs({19});
  CHECK_NEAR(p[0], 0.5, kTol);
  CHECK_NO_ERROR();
}
