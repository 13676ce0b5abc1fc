// Queued, cache-blocked forward gates (src/Forward.cpp) must give the states that gate-by-gate
// application gives, up to rounding: a run takes gates ahead of earlier ones on other bits
// (they commute, but the products are rounded in another order), and a gate's bit is
// renumbered inside a block, so a kernel may take another of its loop shapes (bit 0 vs higher
// bits), which gcc may contract into FMAs differently. The test builds one random circuit over
// every gate kind (with user controls, adjoints and QubitUnitary in between) and compares the
// state it ends in with the one a child process computes with blocking off
// (KVANT_RT_FORWARD_BLOCK_QUBITS=0): a few ulp apart at most. The comparison means something
// when this process blocks: ctest runs the suite with KVANT_RT_FORWARD_BLOCK_QUBITS=3
// (runtime.forward_blocked), and with blocks of 6 qubits split into small blocks of 3
// (KVANT_RT_FORWARD_INNER_QUBITS=3, runtime.forward_blocked_inner); the other suites run there
// too.
#include "check.hpp"
#include "helpers.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>

using namespace testing;

namespace {

struct GateDef {
  kvant_gate_t id;
  int numParams, numWires;
};
const GateDef kAll[] = {
#define KVANT_GATE(id, name, nparams, nwires) {KVANT_GATE_##id, nparams, nwires},
#include "kvant/gates.def"
#undef KVANT_GATE
};

// The circuit: 600 random operations on n = 9 qubits; deterministic.
std::vector<double> runCircuit() {
  const int64_t n = 9;
  Reg reg(n);
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<double> angle(-3.0, 3.0);
  auto pick = [&](int64_t k, std::vector<int64_t> &out) {
    std::vector<int64_t> all(n);
    for (int64_t i = 0; i < n; ++i)
      all[i] = i;
    std::shuffle(all.begin(), all.end(), rng);
    out.assign(all.begin(), all.begin() + k);
  };
  for (int64_t w = 0; w < n; ++w) {
    const int64_t wire = w;
    kvant_rt_gate(KVANT_GATE_Hadamard, nullptr, 0, &wire, 1, nullptr, nullptr, 0, 0);
  }
  for (int step = 0; step < 600; ++step) {
    std::vector<int64_t> wires;
    if (step % 97 == 50) { // a 2-qubit QubitUnitary (a real rotation is unitary)
      pick(2, wires);
      const double t = angle(rng), c = std::cos(t), s = std::sin(t);
      const double m[32] = {c, 0, -s, 0, 0, 0, 0, 0, s, 0, c, 0, 0,  0, 0, 0,
                            0, 0, 0,  0, c, 0, s, 0, 0, 0, 0, 0, -s, 0, c, 0};
      kvant_rt_unitary(m, wires.data(), 2, nullptr, nullptr, 0, 0);
      continue;
    }
    const GateDef &g = kAll[rng() % (sizeof kAll / sizeof kAll[0])];
    const int64_t k = g.numWires >= 0 ? g.numWires : 1 + static_cast<int64_t>(rng() % 3);
    const int64_t numCtrls = rng() % 5 == 0 ? 1 + static_cast<int64_t>(rng() % 2) : 0;
    if (k + numCtrls > n)
      continue;
    std::vector<int64_t> all;
    pick(k + numCtrls, all);
    wires.assign(all.begin(), all.begin() + k);
    const std::vector<int64_t> ctrls(all.begin() + k, all.end());
    const std::vector<int8_t> values = {1, static_cast<int8_t>(rng() % 2)};
    double p[3] = {angle(rng), angle(rng), angle(rng)};
    kvant_rt_gate(g.id, p, g.numParams, wires.data(), k, ctrls.data(), values.data(), numCtrls,
                  static_cast<int8_t>(rng() % 2));
  }
  std::vector<double> raw(2 * (std::size_t{1} << n));
  kvant_rt_state(raw.data(), static_cast<int64_t>(std::size_t{1} << n));
  return raw;
}

// Bricks (Forward.cpp: one-qubit gates fused into the CNOT after them): layers of one-qubit
// gates of every kind the brick kernel tells apart (real, RX-like, diagonal, general, products
// of two on one wire, identity where a wire is left out) followed by CNOTs on random pairs in
// both directions, near and far apart, so that bricks land on every bit position of a block
// (bit 0 and higher, control above and below the target); now and then a controlled gate or a
// CNOT with a user control, which must not be taken into a brick.
std::vector<double> runBrickCircuit() {
  const int64_t n = 9;
  Reg reg(n);
  std::mt19937_64 rng(4321);
  std::uniform_real_distribution<double> angle(-3.0, 3.0);
  const kvant_gate_t one[] = {KVANT_GATE_RX,       KVANT_GATE_RY,         KVANT_GATE_RZ,
                              KVANT_GATE_Hadamard, KVANT_GATE_S,          KVANT_GATE_T,
                              KVANT_GATE_PauliX,   KVANT_GATE_PauliY,     KVANT_GATE_PauliZ,
                              KVANT_GATE_SX,       KVANT_GATE_PhaseShift, KVANT_GATE_Rot};
  auto gate1 = [&](kvant_gate_t g, int64_t w) {
    double p[3] = {angle(rng), angle(rng), angle(rng)};
    int np = 0;
    if (g == KVANT_GATE_Rot)
      np = 3;
    else if (g == KVANT_GATE_RX || g == KVANT_GATE_RY || g == KVANT_GATE_RZ ||
             g == KVANT_GATE_PhaseShift)
      np = 1;
    kvant_rt_gate(g, p, np, &w, 1, nullptr, nullptr, 0, static_cast<int8_t>(rng() % 2));
  };
  for (int layer = 0; layer < 40; ++layer) {
    for (int64_t w = 0; w < n; ++w) {
      const unsigned r = rng() % 8;
      if (r == 0)
        continue; // this wire's side of a brick is the identity
      gate1(one[rng() % (sizeof one / sizeof one[0])], w);
      if (r == 1) // two on one wire: a fused, general matrix
        gate1(one[rng() % (sizeof one / sizeof one[0])], w);
    }
    for (int k = 0; k < 5; ++k) {
      int64_t w[2] = {static_cast<int64_t>(rng() % n), 0};
      w[1] = rng() % 2 ? (w[0] + 1) % n : static_cast<int64_t>(rng() % n);
      if (w[1] == w[0])
        w[1] = (w[0] + n - 1) % n;
      if (rng() % 2)
        std::swap(w[0], w[1]);
      const unsigned r = rng() % 10;
      if (r == 0) { // a CNOT with a user control (value 0 or 1): not a brick
        int64_t c = (std::max(w[0], w[1]) + 1) % n;
        while (c == w[0] || c == w[1])
          c = (c + 1) % n;
        const int8_t v = static_cast<int8_t>(rng() % 2);
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, w, 2, &c, &v, 1, 0);
      } else if (r == 1) {
        double p = angle(rng);
        kvant_rt_gate(KVANT_GATE_CRX, &p, 1, w, 2, nullptr, nullptr, 0, 0);
      } else {
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, w, 2, nullptr, nullptr, 0, 0);
      }
    }
  }
  std::vector<double> raw(2 * (std::size_t{1} << n));
  kvant_rt_state(raw.data(), static_cast<int64_t>(std::size_t{1} << n));
  return raw;
}

// One of RX, RY, RZ (a random angle), Hadamard or T on wire w.
void randomRotationOrFixed(std::mt19937_64 &rng, int64_t w) {
  const kvant_gate_t one[] = {KVANT_GATE_RX, KVANT_GATE_RY, KVANT_GATE_RZ, KVANT_GATE_Hadamard,
                              KVANT_GATE_T};
  const kvant_gate_t g = one[rng() % 5];
  const double p = std::uniform_real_distribution<double>(-3.0, 3.0)(rng);
  const int np = g == KVANT_GATE_Hadamard || g == KVANT_GATE_T ? 0 : 1;
  kvant_rt_gate(g, &p, np, &w, 1, nullptr, nullptr, 0, 0);
}

// Ansatz layers with CNOT chains: one-qubit gates (one to three per wire, of mixed kinds) and
// then a CNOT ring in either direction, now and then interrupted by a gate that is not a
// CNOT (CZ, CRX) or a CNOT with a user control. A one-qubit gate waits for the CNOT it joins
// (Forward.cpp, planRuns), so the runs of a chain move gates forward past others: this circuit
// checks that the order they are applied in is still exact.
std::vector<double> runRingCircuit() {
  const int64_t n = 9;
  Reg reg(n);
  std::mt19937_64 rng(97);
  std::uniform_real_distribution<double> angle(-3.0, 3.0);
  for (int layer = 0; layer < 12; ++layer) {
    for (int64_t w = 0; w < n; ++w)
      for (unsigned k = rng() % 4; k > 0; --k)
        randomRotationOrFixed(rng, w);
    const bool down = rng() % 2;
    for (int64_t k = 0; k < n; ++k) {
      int64_t w[2] = {k, (k + 1) % n};
      if (down)
        std::swap(w[0], w[1]);
      const unsigned r = rng() % 12;
      if (r == 0) {
        kvant_rt_gate(KVANT_GATE_CZ, nullptr, 0, w, 2, nullptr, nullptr, 0, 0);
      } else if (r == 1) {
        const double p = angle(rng);
        kvant_rt_gate(KVANT_GATE_CRX, &p, 1, w, 2, nullptr, nullptr, 0, 0);
      } else if (r == 2) {
        const int64_t c = (k + 4) % n;
        const int8_t v = 1;
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, w, 2, &c, &v, 1, 0);
      } else {
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, w, 2, nullptr, nullptr, 0, 0);
      }
      if (rng() % 6 == 0) { // a one-qubit gate inside the chain
        const double p = angle(rng);
        kvant_rt_gate(KVANT_GATE_RY, &p, 1, &w[rng() % 2], 1, nullptr, nullptr, 0, 0);
      }
    }
  }
  std::vector<double> raw(2 * (std::size_t{1} << n));
  kvant_rt_state(raw.data(), static_cast<int64_t>(std::size_t{1} << n));
  return raw;
}

// Brickwork rounds: one-qubit gates (some wires left out), then CNOTs on the even pairs and
// then on the odd pairs, each in either direction, now and then a pair far apart. The second
// layer's CNOTs have no one-qubit gates before them, so each is merged into the next brick on
// its target (Forward.cpp, absorbLoneCnots), with the brick's other wire above and below it,
// the selector wire above and below the brick, and the brick on the view's bit 0.
std::vector<double> runBrickworkCircuit() {
  const int64_t n = 9;
  Reg reg(n);
  std::mt19937_64 rng(2468);
  for (int round = 0; round < 16; ++round) {
    for (int64_t w = 0; w < n; ++w)
      if (rng() % 6 != 0)
        randomRotationOrFixed(rng, w);
    for (int64_t start = 0; start < 2; ++start)
      for (int64_t a = start; a + 1 < n; a += 2) {
        int64_t w[2] = {a, a + 1};
        if (rng() % 8 == 0)
          w[1] = (a + 2 + static_cast<int64_t>(rng() % (n - 2))) % n;
        if (w[1] == w[0])
          continue;
        if (rng() % 2)
          std::swap(w[0], w[1]);
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, w, 2, nullptr, nullptr, 0, 0);
      }
  }
  std::vector<double> raw(2 * (std::size_t{1} << n));
  kvant_rt_state(raw.data(), static_cast<int64_t>(std::size_t{1} << n));
  return raw;
}

// A test that needs runtime settings other than its own process's (they are read once, from the
// environment) runs this binary's forward suite again as a child with KVANT_RT_TEST_CHILD=name
// and the settings in `env`; in the child every other test that uses a child returns at once
// (childRole). With `withStderr` the child's stderr comes through the pipe too.
FILE *openChild(const char *name, const std::string &env, bool withStderr) {
  char exe[4096] = {};
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(len > 0);
  if (len <= 0)
    return nullptr;
  const std::string cmd = std::string("KVANT_RT_TEST_CHILD=") + name + " " + env +
                          " ASAN_OPTIONS=detect_leaks=0 '" + exe + "' forward" +
                          (withStderr ? " 2>&1" : "");
  FILE *child = popen(cmd.c_str(), "r");
  CHECK(child != nullptr);
  return child;
}

// In a child (KVANT_RT_TEST_CHILD set): 1 if it runs for test `name`, -1 if for another one.
// 0 in the parent.
int childRole(const char *name) {
  const char *c = std::getenv("KVANT_RT_TEST_CHILD");
  return !c ? 0 : std::strcmp(c, name) == 0 ? 1 : -1;
}

// Runs `circuit` here and in a child process that applies gates one by one
// (KVANT_RT_FORWARD_BLOCK_QUBITS=0, no queue, no fusion) and compares the two states.
void compareWithGateByGate(const char *name, std::vector<double> (*circuit)()) {
  const int role = childRole(name);
  if (role < 0)
    return;
  const std::vector<double> mine = circuit();
  CHECK(kvant_rt_error() == nullptr);
  if (role > 0) { // the child: print the state, bit-exact
    for (double x : mine) {
      std::uint64_t u;
      std::memcpy(&u, &x, sizeof u);
      std::printf("amp %016" PRIx64 "\n", u);
    }
    return;
  }
  FILE *child = openChild(name, "KVANT_RT_FORWARD_BLOCK_QUBITS=0", false);
  if (!child)
    return;
  std::size_t i = 0, mismatches = 0, bitwiseEqual = 0;
  double maxDiff = 0.0;
  char line[64];
  while (std::fgets(line, sizeof line, child)) {
    std::uint64_t u = 0;
    if (std::sscanf(line, "amp %" SCNx64, &u) != 1)
      continue; // the harness's own summary line
    double x;
    std::memcpy(&x, &u, sizeof x);
    if (i < mine.size()) {
      bitwiseEqual += std::memcmp(&x, &mine[i], sizeof x) == 0;
      const double d = std::abs(x - mine[i]);
      maxDiff = std::max(maxDiff, d);
      mismatches += d > 1e-14; // amplitudes are at most 1; rounding stays far below this
    }
    ++i;
  }
  pclose(child);
  CHECK(i == mine.size());
  CHECK(mismatches == 0);
  std::printf("forward (%s): %zu of %zu doubles bit-identical, max |difference| %.3g\n", name,
              bitwiseEqual, i, maxDiff);
}

} // namespace

TEST(forward, blocked_gates_match_gate_by_gate) { compareWithGateByGate("random", runCircuit); }

TEST(forward, bricks_match_gate_by_gate) { compareWithGateByGate("bricks", runBrickCircuit); }

TEST(forward, rings_match_gate_by_gate) { compareWithGateByGate("rings", runRingCircuit); }

TEST(forward, brickwork_matches_gate_by_gate) {
  compareWithGateByGate("brickwork", runBrickworkCircuit);
}

// The plan of a hardware-efficient ansatz (RY and RZ on every wire, then a CNOT ring; two
// layers) on 14 qubits in blocks of 8 (3 of them the lowest bits, always in): the ring is a
// chain, each CNOT waiting for the one before it, so a run can advance it only over the wires
// in its block, and the one-qubit gates must not take the block's room from it. A child process
// prints the plan (KVANT_RT_FORWARD_TRACE=1). The planner that chose a run's bits first and
// only then let one-qubit gates wait for their CNOTs needed 18 runs here (this one 6), most of them
// of two or three gates, each a pass over the state.
TEST(forward, ansatz_ring_takes_few_runs) {
  const int64_t n = 14;
  const int role = childRole("plan");
  if (role < 0)
    return;
  if (role > 0) {
    Reg reg(n);
    for (int layer = 0; layer < 2; ++layer) {
      for (int64_t w = 0; w < n; ++w) {
        const double a = 0.1 + 0.1 * w, b = 0.2 + 0.1 * w;
        kvant_rt_gate(KVANT_GATE_RY, &a, 1, &w, 1, nullptr, nullptr, 0, 0);
        kvant_rt_gate(KVANT_GATE_RZ, &b, 1, &w, 1, nullptr, nullptr, 0, 0);
      }
      for (int64_t w = 0; w < n; ++w) {
        const int64_t ws[2] = {w, (w + 1) % n};
        kvant_rt_gate(KVANT_GATE_CNOT, nullptr, 0, ws, 2, nullptr, nullptr, 0, 0);
      }
    }
    kvant_rt_sync();
    return;
  }
  FILE *child = openChild("plan",
                          "KVANT_RT_FORWARD_TRACE=1 KVANT_RT_FORWARD_BLOCK_QUBITS=8 "
                          "KVANT_RT_FORWARD_INNER_QUBITS=0 KVANT_RT_FORWARD_FUSION=2",
                          true);
  if (!child)
    return;
  std::size_t gates = 0, runs = 0;
  char line[256];
  while (std::fgets(line, sizeof line, child)) {
    std::size_t g = 0, r = 0, q = 0; // tests without a child run in the child too
    if (std::sscanf(line, "kvant forward: %zu gate(s) in %zu run(s) on %zu qubits", &g, &r, &q) ==
            3 &&
        q == static_cast<std::size_t>(n)) {
      gates += g;
      runs += r;
    }
  }
  pclose(child);
  CHECK(gates == 2 * 3 * n);
  std::printf("forward plan of the 14-qubit ansatz: %zu gates in %zu runs\n", gates, runs);
  CHECK(runs <= 8);
}

// Gates queued on an inactive register are applied when it is active and read again.
TEST(forward, queue_survives_nested_registers) {
  const int64_t outer = kvant_rt_qalloc(6);
  const int64_t w0 = 0, w5 = 5;
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, &w0, 1, nullptr, nullptr, 0, 0);
  {
    Reg inner(6);
    kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, &w5, 1, nullptr, nullptr, 0, 0);
    const std::vector<C> s = readState(6);
    CHECK(std::abs(s[1] - C{1.0, 0.0}) < kTol);
  }
  const std::vector<C> s = readState(6);
  CHECK(std::abs(s[32] - C{1.0, 0.0}) < kTol);
  kvant_rt_qdealloc(outer);
  CHECK(kvant_rt_error() == nullptr);
}
