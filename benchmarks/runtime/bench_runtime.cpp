// kvant runtime micro-benchmarks, driven by benchmarks/runtime/run_runtime.py.
//
//   kvant_rt_bench CASE [CASE ...]      CASE: gate1:N gate2:N layered:N adjoint:N:L rx:N sweep:N
//                                            layout:N
//
// Prints one JSON object per line: {"case": ..., "n": ..., "seconds": ..., ...}. Everything
// goes through the public C API, exactly as compiled programs call it; the circuits are the
// ones run_runtime.py builds for Lightning and qulacs (see circuits there), so keep the two in
// sync.
#include "kvant/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void fail(const char *where) {
  if (const char *e = kvant_rt_error()) {
    std::fprintf(stderr, "kvant runtime error in %s: %s\n", where, e);
    std::exit(2);
  }
}

void g1(kvant_gate_t g, double p, int64_t w) {
  kvant_rt_gate(g, &p, g == KVANT_GATE_Hadamard || g == KVANT_GATE_PauliX ? 0 : 1, &w, 1,
                nullptr, nullptr, 0, 0);
}
void g2(kvant_gate_t g, int64_t a, int64_t b) {
  const int64_t w[2] = {a, b};
  kvant_rt_gate(g, nullptr, 0, w, 2, nullptr, nullptr, 0, 0);
}

// Median of `repeat` timings of f(), after one warm-up call.
template <class F> double median(int repeat, F &&f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < repeat; ++r) {
    const auto a = Clock::now();
    f();
    t.push_back(seconds(a, Clock::now()));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int repeatsFor(int n) { return n >= 24 ? 5 : n >= 20 ? 9 : 21; }
// Gates per timing sample: enough that a sample lasts well above the clock's resolution.
int gatesPerSample(int n) { return n >= 20 ? 4 * n : std::max(n, (1 << 22) >> n); }

void emit(const char *kase, int n, const char *extra, double s) {
  std::printf("{\"case\": \"%s\", \"n\": %d%s, \"seconds\": %.9g}\n", kase, n, extra, s);
  std::fflush(stdout);
}

// Per-gate time of single-qubit gate g cycled over all wires.
double gate1(kvant_gate_t g, int n) {
  const int64_t reg = kvant_rt_qalloc(n);
  for (int w = 0; w < n; ++w)
    g1(KVANT_GATE_Hadamard, 0, w);
  const int per = gatesPerSample(n);
  const double t = median(repeatsFor(n), [&] {
    for (int k = 0; k < per; ++k)
      g1(g, 0.3 + 1e-3 * k, k % n);
    kvant_rt_sync(); // large registers queue gates: time them applied
  });
  fail("gate1");
  kvant_rt_qdealloc(reg);
  return t / per;
}

// Per-gate time of two-qubit gate g on neighbouring pairs (w, w+1 mod n), cycled.
double gate2(kvant_gate_t g, int n) {
  const int64_t reg = kvant_rt_qalloc(n);
  for (int w = 0; w < n; ++w)
    g1(KVANT_GATE_Hadamard, 0, w);
  const int per = gatesPerSample(n);
  const double t = median(repeatsFor(n), [&] {
    for (int k = 0; k < per; ++k)
      g2(g, k % n, (k + 1) % n);
    kvant_rt_sync();
  });
  fail("gate2");
  kvant_rt_qdealloc(reg);
  return t / per;
}

// The 200-gate layered circuit: layer l applies RX/RY/RZ (by l mod 3) with angle
// 0.1 (l + 1) + 0.01 w to every wire w, then CNOT(w, w+1) for w = 0, 2, 4, ... and then for
// w = 1, 3, 5, ...; stops after 200 gates. Timed: gates only, on a fresh |0> register.
void layered(int n) {
  int count = 0;
  for (int l = 0; count < 200; ++l) {
    const kvant_gate_t rot = l % 3 == 0 ? KVANT_GATE_RX : l % 3 == 1 ? KVANT_GATE_RY : KVANT_GATE_RZ;
    for (int w = 0; w < n && count < 200; ++w, ++count)
      g1(rot, 0.1 * (l + 1) + 0.01 * w, w);
    for (int start = 0; start < 2; ++start)
      for (int w = start; w + 1 < n && count < 200; w += 2, ++count)
        g2(KVANT_GATE_CNOT, w, w + 1);
  }
}

// Hardware-efficient ansatz: L layers of RY(w) and RZ(w) on every wire, then a CNOT ring
// (w, w+1 mod n). Angles: 0.1 + 0.05 k for the k-th parameter.
void ansatz(int n, int L) {
  int k = 0;
  for (int l = 0; l < L; ++l) {
    for (int w = 0; w < n; ++w) {
      g1(KVANT_GATE_RY, 0.1 + 0.05 * k++, w);
      g1(KVANT_GATE_RZ, 0.1 + 0.05 * k++, w);
    }
    for (int w = 0; w < n; ++w)
      if (n > 1)
        g2(KVANT_GATE_CNOT, w, (w + 1) % n);
  }
}

int64_t sumOfZ(int n) {
  std::vector<int64_t> terms(n);
  std::vector<double> coeffs(n, 1.0);
  for (int w = 0; w < n; ++w)
    terms[w] = kvant_rt_obs_named(KVANT_OBS_PauliZ, w);
  return kvant_rt_obs_hamiltonian(coeffs.data(), terms.data(), n);
}

void adjoint(int n, int L) {
  const int rep = n >= 20 ? 5 : n >= 16 ? 9 : 51;
  double sink = 0;
  // Forward: allocate, run, <sum Z>.
  const double fwd = median(rep, [&] {
    const int64_t reg = kvant_rt_qalloc(n);
    ansatz(n, L);
    sink += kvant_rt_expval(sumOfZ(n));
    kvant_rt_qdealloc(reg);
  });
  // Gradient: the same forward run with the tape on, then the Jacobian (2nL parameters).
  std::vector<double> jac(2 * n * L);
  const double grad = median(rep, [&] {
    const int64_t reg = kvant_rt_qalloc(n);
    kvant_rt_tape_begin();
    ansatz(n, L);
    kvant_rt_tape_end();
    const int64_t h = sumOfZ(n);
    sink += kvant_rt_expval(h);
    kvant_rt_adjoint_jacobian(&h, 1, jac.data(), static_cast<int64_t>(jac.size()));
    kvant_rt_qdealloc(reg);
  });
  fail("adjoint");
  char extra[96];
  std::snprintf(extra, sizeof extra, ", \"layers\": %d, \"forward\": %.9g, \"sink\": %.3g", L,
                fwd, sink);
  emit("adjoint", n, extra, grad);
}

// The same blocked run on two block layouts: 13 wires get RY and, unless `light`, a CNOT chain
// (two rounds, 50 gates; light: 13 RY), one run of the forward pass with 16-qubit blocks (run
// with KVANT_RT_FORWARD_BLOCK_QUBITS=16: the default depends on the machine), once
// on the wires of index bits 3-15 (with the three lowest bits, always in a block, a contiguous
// block) and once on the wires of bits 11-23 (blocks gathered from 2^13 runs of 8 amplitudes).
// What the gathered run costs more is all that renumbering the qubits so that the run is
// contiguous (itself a permutation pass over the state) could save.
double layoutRun(int n, int lowestBit, bool light) {
  const int64_t reg = kvant_rt_qalloc(n);
  auto wire = [&](int k) { return static_cast<int64_t>(n - 1 - (lowestBit + k)); };
  const double t = median(repeatsFor(n), [&] {
    for (int round = 0; round < (light ? 1 : 2); ++round) {
      for (int k = 0; k < 13; ++k)
        g1(KVANT_GATE_RY, 0.1 + 0.01 * k + 0.2 * round, wire(k));
      for (int k = 0; k + 1 < 13 && !light; ++k)
        g2(KVANT_GATE_CNOT, wire(k), wire(k + 1));
    }
    kvant_rt_sync();
  });
  fail("layout");
  kvant_rt_qdealloc(reg);
  return t;
}

// One in-place read-modify-write pass over a 2^n-amplitude state with all threads: the
// memory-bound floor for any gate that touches every amplitude.
double sweep(int n) {
  const std::size_t len = std::size_t{2} << n; // doubles
  double *x = static_cast<double *>(std::aligned_alloc(64, len * sizeof(double)));
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < len; ++i)
    x[i] = 1e-3 * static_cast<double>(i & 1023);
  const double t = median(repeatsFor(n) + 4, [&] {
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < len; ++i)
      x[i] = x[i] * 0.999 + 1e-9;
  });
  std::free(x);
  return t;
}

} // namespace

int main(int argc, char **argv) {
  for (int a = 1; a < argc; ++a) {
    std::string c = argv[a];
    int n = 0, L = 0;
    if (std::sscanf(c.c_str(), "gate1:%d", &n) == 1) {
      emit("RX", n, "", gate1(KVANT_GATE_RX, n));
      emit("RY", n, "", gate1(KVANT_GATE_RY, n));
      emit("RZ", n, "", gate1(KVANT_GATE_RZ, n));
      emit("Hadamard", n, "", gate1(KVANT_GATE_Hadamard, n));
      emit("PhaseShift", n, "", gate1(KVANT_GATE_PhaseShift, n));
    } else if (std::sscanf(c.c_str(), "gate2:%d", &n) == 1) {
      emit("CNOT", n, "", gate2(KVANT_GATE_CNOT, n));
      emit("CZ", n, "", gate2(KVANT_GATE_CZ, n));
      emit("SWAP", n, "", gate2(KVANT_GATE_SWAP, n));
    } else if (std::sscanf(c.c_str(), "layered:%d", &n) == 1) {
      const int64_t reg = kvant_rt_qalloc(n);
      const double t = median(repeatsFor(n), [&] {
        layered(n);
        kvant_rt_sync(); // large registers queue gates: time them applied
      });
      fail("layered");
      kvant_rt_qdealloc(reg);
      emit("layered200", n, "", t);
    } else if (std::sscanf(c.c_str(), "adjoint:%d:%d", &n, &L) == 2) {
      adjoint(n, L);
    } else if (std::sscanf(c.c_str(), "rx:%d", &n) == 1) {
      // RX on every wire in turn, reported per wire.
      const int64_t reg = kvant_rt_qalloc(n);
      for (int w = 0; w < n; ++w) {
        const double t = median(repeatsFor(n), [&] {
          g1(KVANT_GATE_RX, 0.37, w);
          kvant_rt_sync();
        });
        char extra[32];
        std::snprintf(extra, sizeof extra, ", \"wire\": %d", w);
        emit("RX_wire", n, extra, t);
      }
      fail("rx");
      kvant_rt_qdealloc(reg);
    } else if (std::sscanf(c.c_str(), "layout:%d", &n) == 1) {
      emit("layout_contiguous", n, "", layoutRun(n, 3, false));
      emit("layout_gathered", n, "", layoutRun(n, n - 13, false));
      emit("layout_contiguous_light", n, "", layoutRun(n, 3, true));
      emit("layout_gathered_light", n, "", layoutRun(n, n - 13, true));
    } else if (std::sscanf(c.c_str(), "sweep:%d", &n) == 1) {
      emit("sweep", n, "", sweep(n));
    } else {
      std::fprintf(stderr, "unknown case '%s'\n", c.c_str());
      return 1;
    }
  }
  return 0;
}
