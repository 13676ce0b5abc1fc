// The distributed register's benchmark, driven by benchmarks/mpi/run_mpi.py (docs/distributed.md).
//
//   kvant_rt_mpi_bench N LAYERS dist|local
//
// Runs an N-qubit layered circuit -- LAYERS x (RY on every wire, a CNOT chain over all wires,
// RZ on every wire), so every layer touches the global wires -- through the public C API on a
// distributed register (dist: over the ranks of the MPI job) or an ordinary one (local), then
// measures <Z_w> for every wire and <X_0 X_{N-1}>. Each rank prints one JSON line: its peak
// resident memory, the state's bytes on this rank, the exchange counters, the time of the
// gates and of the measurements, and the measured values (rank 0's are compared with the
// 1-process run by run_mpi.py).
#include "kvant/runtime.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void check(const char *where) {
  if (const char *e = kvant_rt_error()) {
    std::fprintf(stderr, "kvant runtime error in %s: %s\n", where, e);
    std::exit(2);
  }
}

void gate(kvant_gate_t g, std::vector<double> p, std::vector<int64_t> w) {
  kvant_rt_gate(g, p.data(), static_cast<int64_t>(p.size()), w.data(),
                static_cast<int64_t>(w.size()), nullptr, nullptr, 0, 0);
}

long peakRssKiB() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s N LAYERS dist|local\n", argv[0]);
    return 1;
  }
  const int n = std::atoi(argv[1]), layers = std::atoi(argv[2]);
  const bool dist = std::string(argv[3]) == "dist";
  const long rssBefore = peakRssKiB();
  kvant_rt_set_distributed(dist ? 1 : 0);
  check("set_distributed");
  const auto t0 = Clock::now();
  kvant_rt_qalloc(n);
  check("qalloc");
  for (int l = 0; l < layers; ++l) {
    for (int w = 0; w < n; ++w)
      gate(KVANT_GATE_RY, {0.1 + 0.37 * w + 0.11 * l}, {w});
    for (int w = 0; w + 1 < n; ++w)
      gate(KVANT_GATE_CNOT, {}, {w, w + 1});
    for (int w = 0; w < n; ++w)
      gate(KVANT_GATE_RZ, {0.2 + 0.23 * w - 0.07 * l}, {w});
  }
  kvant_rt_sync();
  check("gates");
  const auto t1 = Clock::now();
  std::vector<double> values;
  for (int w = 0; w < n; ++w)
    values.push_back(kvant_rt_expval(kvant_rt_obs_named(KVANT_OBS_PauliZ, w)));
  const int64_t xx[2] = {kvant_rt_obs_named(KVANT_OBS_PauliX, 0),
                         kvant_rt_obs_named(KVANT_OBS_PauliX, n - 1)};
  values.push_back(kvant_rt_expval(kvant_rt_obs_tensor(xx, 2)));
  check("measurements");
  const auto t2 = Clock::now();
  int64_t stats[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  kvant_rt_distributed_stats(stats, 9);
  const long long localBytes = 16LL << (n - stats[1]);
  std::printf(
      "{\"n\": %d, \"layers\": %d, \"ranks\": %lld, \"rank\": %lld, \"global_wires\": %lld, "
      "\"state_bytes\": %lld, \"peak_rss_bytes\": %lld, \"rss_before_bytes\": %lld, "
      "\"swaps\": %lld, \"bytes_sent\": %lld, \"messages\": %lld, \"collectives\": %lld, "
      "\"buffer_bytes\": %lld, \"exchange_seconds\": %.6f, \"gate_seconds\": %.6f, "
      "\"measure_seconds\": %.6f, "
      "\"values\": [",
      n, layers, static_cast<long long>(stats[0]), static_cast<long long>(stats[7]),
      static_cast<long long>(stats[1]), localBytes, peakRssKiB() * 1024LL, rssBefore * 1024LL,
      static_cast<long long>(stats[2]), static_cast<long long>(stats[3]),
      static_cast<long long>(stats[4]), static_cast<long long>(stats[5]),
      static_cast<long long>(stats[6]), static_cast<double>(stats[8]) * 1e-9, seconds(t0, t1),
      seconds(t1, t2));
  for (std::size_t i = 0; i < values.size(); ++i)
    std::printf("%s%.17g", i ? ", " : "", values[i]);
  std::printf("]}\n");
  return 0;
}
