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
template <class F> inline void forEachGroup(const GroupSpace &g, const F &f) {
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const bool threads = useThreads(g.count << g.numFixed) && blocks > 1;
  if (!threads) {
    // Not even an if(false) parallel region: libgomp still does team bookkeeping (and futex
    // wake-ups) for those, which costs more than a gate on a small register.
    const F fl = f; // local copies, as in the threaded path below
    const GroupSpace gl = g;
    const std::uint64_t run = gl.run;
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j)
        fl(i0 + j);
    }
    return;
  }
  // Inside the outlined OpenMP region the shared variables are reached through a pointer;
  // stores into the state could alias them, so gcc would reload every matrix entry after every
  // store. Thread-private copies (the kernel closure, the index masks) live in registers.
#pragma omp parallel if (threads)
  {
    const F fl = f;
    const GroupSpace gl = g;
    const std::uint64_t run = gl.run;
    if (run == 1) {
#pragma omp for schedule(static)
      for (std::int64_t b = 0; b < blocks; ++b)
        fl(gl.base(static_cast<std::uint64_t>(b)));
    } else {
#pragma omp for schedule(static)
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
        for (std::uint64_t j = 0; j < run; ++j)
          fl(i0 + j);
      }
    }
  }
}

// Like forEachGroup, but hands f2(i) two consecutive bases i, i + 1 at once when the runs
// allow it (run >= 2, i.e. no fixed bit 0), so kernels can work on two amplitudes per vector;
// f1 handles the single-base case.
template <class F1, class F2>
inline void forEachGroupPairs(const GroupSpace &g, const F1 &f1, const F2 &f2) {
  if (g.run < 2)
    return forEachGroup(g, f1);
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  auto body = [run](const GroupSpace &gl, const F2 &fl, std::int64_t b) {
    const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
    for (std::uint64_t j = 0; j < run; j += 2)
      fl(i0 + j);
  };
  if (!(useThreads(g.count << g.numFixed) && blocks > 1)) {
    const F2 fl = f2;
    const GroupSpace gl = g;
    for (std::int64_t b = 0; b < blocks; ++b)
      body(gl, fl, b);
    return;
  }
#pragma omp parallel
  {
    const F2 fl = f2;
    const GroupSpace gl = g;
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b)
      body(gl, fl, b);
  }
}

// Deterministic parallel reduction of N sums: f(i, acc) adds group i's contributions into
// acc[0..N). Partial sums live in a block-local array (registers, not memory that might alias
// the state), each thread owns a fixed slice of blocks, and the per-thread totals are added in
// thread order, so the result does not depend on timing.
template <std::size_t N, class F>
inline std::array<double, N> reduceGroups(const GroupSpace &g, const F &f) {
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  const bool threads = useThreads(g.count << g.numFixed) && blocks > 1;
  if (!threads) {
    const F fl = f;
    const GroupSpace gl = g;
    std::array<double, N> out{};
    for (std::int64_t b = 0; b < blocks; ++b) {
      double acc[N] = {};
      const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j)
        fl(i0 + j, acc);
      for (std::size_t w = 0; w < N; ++w)
        out[w] += acc[w];
    }
    return out;
  }
  const int nt = maxThreads();
  std::vector<std::array<double, N>> partial(static_cast<std::size_t>(nt));
  for (auto &a : partial)
    a.fill(0.0);
#pragma omp parallel num_threads(nt)
  {
    const F fl = f; // private copies: see forEachGroup
    const GroupSpace gl = g;
    std::array<double, N> &mine = partial[static_cast<std::size_t>(threadNum())];
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      double acc[N] = {};
      const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j)
        fl(i0 + j, acc);
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
  if (!useThreads(n)) {
    for (std::uint64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i)
    f(static_cast<std::uint64_t>(i));
}

} // namespace kvant::rt::par
