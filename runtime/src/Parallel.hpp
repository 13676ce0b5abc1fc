// Threading policy and the loop drivers every kernel is built on.
//
// All state-vector loops go through forEachGroup / reduceGroups: they enumerate the "base"
// indices of a gate's amplitude groups (fixed bits = targets and controls; targets 0, controls
// at their required value) in contiguous runs, so the innermost loop is a plain stride-1 loop
// the compiler can vectorise, and the outer loop over runs is what OpenMP splits.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kvant::rt::par {

// Below this many amplitudes a loop stays on the calling thread: waking the OpenMP team costs
// a few microseconds, more than a whole sweep over a 32k-amplitude (512 KiB) state.
// KVANT_RT_MIN_PARALLEL_QUBITS overrides it (tests set it to 1 to run the threaded paths on
// small states; benchmarks use it for tuning).
unsigned minParallelQubits();
inline bool useThreads(std::uint64_t work) {
  return work >= (std::uint64_t{1} << minParallelQubits());
}

inline int maxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
inline int threadNum() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// The longest contiguous run handed to the inner loop. Long enough to amortise the index
// arithmetic, short enough that small states still split into many blocks.
constexpr std::uint64_t kMaxRun = 256;

// Base indices with the bits in `fixed` (ascending positions) zeroed: index k of the compact
// enumeration maps to `insertZeros(k)`.
struct GroupSpace {
  std::uint64_t lowMasks[64];
  unsigned numFixed = 0;
  std::uint64_t count = 0;   // number of groups
  std::uint64_t run = 1;     // contiguous run length of base indices
  std::uint64_t values = 0;  // OR-ed into every base (control bits that must be 1)

  GroupSpace(unsigned numQubits, std::vector<unsigned> fixed, std::uint64_t values_)
      : values(values_) {
    std::sort(fixed.begin(), fixed.end());
    numFixed = static_cast<unsigned>(fixed.size());
    for (unsigned t = 0; t < numFixed; ++t)
      lowMasks[t] = (std::uint64_t{1} << fixed[t]) - 1;
    count = std::uint64_t{1} << (numQubits - numFixed);
    // Below the lowest fixed bit consecutive k give consecutive indices.
    const std::uint64_t lowRun = numFixed ? (std::uint64_t{1} << fixed[0]) : count;
    run = std::min({lowRun, kMaxRun, count});
  }
  std::uint64_t base(std::uint64_t k) const {
    for (unsigned t = 0; t < numFixed; ++t)
      k = ((k & ~lowMasks[t]) << 1) | (k & lowMasks[t]);
    return k | values;
  }
};

// f(i) for every group base i. The work estimate for the threading decision is the number of
// amplitudes touched, count << numFixed.
template <class F> inline void forEachGroup(const GroupSpace &g, F &&f) {
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  const bool threads = useThreads(g.count << g.numFixed) && blocks > 1;
  if (run == 1) {
#pragma omp parallel for schedule(static) if (threads)
    for (std::int64_t b = 0; b < blocks; ++b)
      f(g.base(static_cast<std::uint64_t>(b)));
    return;
  }
#pragma omp parallel for schedule(static) if (threads)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const std::uint64_t i0 = g.base(static_cast<std::uint64_t>(b) * run);
    for (std::uint64_t j = 0; j < run; ++j)
      f(i0 + j);
  }
}

// Deterministic parallel reduction of N sums: f(i, acc) adds group i's contributions into
// acc[0..N). Partial sums live in a block-local array (registers, not memory that might alias
// the state), each thread owns a fixed slice of blocks, and the per-thread totals are added in
// thread order, so the result does not depend on timing.
template <std::size_t N, class F>
inline std::array<double, N> reduceGroups(const GroupSpace &g, F &&f) {
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  const bool threads = useThreads(g.count << g.numFixed) && blocks > 1;
  const int nt = threads ? maxThreads() : 1;
  std::vector<std::array<double, N>> partial(static_cast<std::size_t>(nt));
  for (auto &a : partial)
    a.fill(0.0);
#pragma omp parallel num_threads(nt) if (threads)
  {
    std::array<double, N> &mine = partial[static_cast<std::size_t>(threadNum())];
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      double acc[N] = {};
      const std::uint64_t i0 = g.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j)
        f(i0 + j, acc);
      for (std::size_t w = 0; w < N; ++w)
        mine[w] += acc[w];
    }
  }
  std::array<double, N> out{};
  for (const auto &a : partial)
    for (std::size_t w = 0; w < N; ++w)
      out[w] += a[w];
  return out;
}

// Plain index loops over [0, n) with the same threading rule.
template <class F> inline void forRange(std::uint64_t n, F &&f) {
#pragma omp parallel for schedule(static) if (useThreads(n))
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
    f(static_cast<std::uint64_t>(i));
}

} // namespace kvant::rt::par
