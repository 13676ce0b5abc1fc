// The loop drivers every state-vector kernel is built on, and the door to the thread pool.
//
// A kernel describes its work as `units` independent pieces (group bases, blocks of them,
// amplitude pairs, ...). The drivers cut [0, units) into chunks whose boundaries depend only
// on `units` and the number of amplitudes touched -- never on the thread count -- and run the
// chunks either on the calling thread or on the pool (ThreadPool.cpp, which also holds the
// threading policy). Reductions keep one partial sum per chunk and add them in chunk order, so
// a result is bit-for-bit the same with 1 thread or many.
//
// Hot loops go through runRange / reduceRange below: they are compiled for x86-64-v3 (AVX2 +
// FMA) and for the x86-64 baseline, and the CPU picks at load time (gcc target_clones: an
// ifunc). Because the clone is the function that contains the whole chunk loop, the AVX2 code
// runs on the pool's workers too, not only on the calling thread.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define KVANT_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KVANT_MULTIVERSION
#endif
#define KVANT_INLINE __attribute__((always_inline))

namespace kvant::rt::par {

// Threading policy (see ThreadPool.cpp): states below 2^minParallelQubits() amplitudes stay on
// the calling thread. KVANT_RT_MIN_PARALLEL_QUBITS overrides the default (tests set 1 to run
// the threaded paths on small states).
unsigned minParallelQubits();
// Threads a parallel loop may use, the calling thread included (OMP_NUM_THREADS, else the
// CPUs this process may run on).
int maxThreads();
inline bool useThreads(std::uint64_t amplitudes) {
  return amplitudes >= (std::uint64_t{1} << minParallelQubits()) && maxThreads() > 1;
}

// Runs body(ctx, chunk) for chunk = 0 .. numChunks-1, each exactly once, on the calling
// thread and (when `parallel`) the pool's workers. Returns when all are done.
using ChunkFn = void (*)(const void *ctx, std::size_t chunk);
void runChunks(std::size_t numChunks, bool parallel, ChunkFn body, const void *ctx);

// Straggler handling (ThreadPool.cpp): how many parallel loops had to wait for a worker that
// was not running, and whether such a stall currently keeps loops on the calling thread. For
// tests and diagnostics.
std::uint64_t poolStalls();
bool poolBackingOff();

// About 2^13 amplitudes per chunk: long enough that claiming a chunk (one atomic add) is
// noise, short enough that two threads finish together and a descheduled worker holds up
// little. Smaller when the threading threshold is lowered (tests), so that small states still
// split into several chunks.
inline std::uint64_t chunkAmplitudes() {
  const unsigned q = minParallelQubits();
  return std::uint64_t{1} << std::min(13u, q > 2 ? q - 2 : 0u);
}

inline std::size_t chunkCount(std::uint64_t units, std::uint64_t amplitudes) {
  const std::uint64_t c = std::max<std::uint64_t>(1, amplitudes / chunkAmplitudes());
  return static_cast<std::size_t>(std::min<std::uint64_t>(c, std::max<std::uint64_t>(units, 1)));
}
inline std::uint64_t chunkBegin(std::uint64_t units, std::size_t chunks, std::size_t c) {
  // units < 2^31 per chunk count < 2^20 keeps the product in 64 bits for every state we allow.
  return units * c / chunks;
}

// k(lo, hi): the chunk loop, in the AVX2 clone when the CPU has it. The kernel (its constants,
// pointers and index masks) is copied to a local first: reached through the caller's pointer,
// every store into the state could alias it, and gcc would reload each constant after each
// store; a local whose address never escapes lives in registers.
template <class K>
KVANT_MULTIVERSION void runRange(const K &k, std::uint64_t lo, std::uint64_t hi) {
  const K local = k;
  local(lo, hi);
}
template <std::size_t N, class K>
KVANT_MULTIVERSION void reduceRange(const K &k, std::uint64_t lo, std::uint64_t hi, double *acc) {
  const K local = k;
  double sums[N] = {}; // local too: never aliased by the state
  local(lo, hi, sums);
  for (std::size_t w = 0; w < N; ++w)
    acc[w] += sums[w];
}

// k(lo, hi) over a partition of [0, units); `amplitudes` is the work estimate.
template <class K> void launch(const K &k, std::uint64_t units, std::uint64_t amplitudes) {
  if (units == 0)
    return;
  if (!useThreads(amplitudes)) {
    runRange(k, 0, units);
    return;
  }
  const std::size_t chunks = chunkCount(units, amplitudes);
  struct Ctx {
    const K *k;
    std::uint64_t units;
    std::size_t chunks;
  } ctx{&k, units, chunks};
  runChunks(
      chunks, true,
      [](const void *p, std::size_t c) {
        const Ctx &x = *static_cast<const Ctx *>(p);
        runRange(*x.k, chunkBegin(x.units, x.chunks, c), chunkBegin(x.units, x.chunks, c + 1));
      },
      &ctx);
}

// Sum over a partition of [0, units) of k(lo, hi, acc), acc[0..N) zeroed per chunk; partial
// sums added in chunk order (the same chunks whether threaded or not).
template <std::size_t N, class K>
std::array<double, N> launchReduce(const K &k, std::uint64_t units, std::uint64_t amplitudes) {
  std::array<double, N> out{};
  if (units == 0)
    return out;
  const std::size_t chunks = chunkCount(units, amplitudes);
  if (chunks == 1) {
    reduceRange<N>(k, 0, units, out.data());
    return out;
  }
  std::vector<std::array<double, N>> partial(chunks);
  struct Ctx {
    const K *k;
    std::uint64_t units;
    std::size_t chunks;
    std::array<double, N> *partial;
  } ctx{&k, units, chunks, partial.data()};
  runChunks(
      chunks, useThreads(amplitudes),
      [](const void *p, std::size_t c) {
        const Ctx &x = *static_cast<const Ctx *>(p);
        std::array<double, N> acc{};
        reduceRange<N>(*x.k, chunkBegin(x.units, x.chunks, c), chunkBegin(x.units, x.chunks, c + 1),
                       acc.data());
        x.partial[c] = acc;
      },
      &ctx);
  for (const auto &a : partial)
    for (std::size_t w = 0; w < N; ++w)
      out[w] += a[w];
  return out;
}

// The longest contiguous run handed to an inner loop. Long enough to amortise the index
// arithmetic, short enough that a state splits into many chunks.
constexpr std::uint64_t kMaxRun = 1024;

// Base indices with the bits in `fixed` (ascending positions) zeroed: index k of the compact
// enumeration maps to `base(k)`.
struct GroupSpace {
  std::uint64_t lowMasks[64];
  unsigned numFixed = 0;
  std::uint64_t count = 0;  // number of groups
  std::uint64_t run = 1;    // contiguous run length of base indices
  std::uint64_t values = 0; // OR-ed into every base (control bits that must be 1)

  GroupSpace(unsigned numQubits, const unsigned *fixed, std::size_t numFixedBits,
             std::uint64_t values_)
      : values(values_) {
    unsigned sorted[64];
    numFixed = static_cast<unsigned>(numFixedBits);
    std::copy(fixed, fixed + numFixedBits, sorted);
    std::sort(sorted, sorted + numFixed);
    for (unsigned t = 0; t < numFixed; ++t)
      lowMasks[t] = (std::uint64_t{1} << sorted[t]) - 1;
    count = std::uint64_t{1} << (numQubits - numFixed);
    // Below the lowest fixed bit consecutive k give consecutive indices.
    const std::uint64_t lowRun = numFixed ? (std::uint64_t{1} << sorted[0]) : count;
    run = std::min({lowRun, kMaxRun, count});
  }
  GroupSpace(unsigned numQubits, const std::vector<unsigned> &fixed, std::uint64_t values_)
      : GroupSpace(numQubits, fixed.data(), fixed.size(), values_) {}
  KVANT_INLINE std::uint64_t base(std::uint64_t k) const {
    for (unsigned t = 0; t < numFixed; ++t)
      k = ((k & ~lowMasks[t]) << 1) | (k & lowMasks[t]);
    return k | values;
  }
  std::uint64_t blocks() const { return count / run; }
  // Amplitudes a kernel over these groups touches, for the threading decision.
  std::uint64_t amplitudes() const { return count << numFixed; }
};

// f(i) for every group base i, in the AVX2 clone when available.
template <class F> inline void forEachGroup(const GroupSpace &g, const F &f) {
  const GroupSpace gl = g;
  const F fl = f; // by value: the stores in f cannot alias the masks or the kernel constants
  launch(
      [gl, fl](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
        const std::uint64_t run = gl.run;
        for (std::uint64_t b = lo; b < hi; ++b) {
          const std::uint64_t i0 = gl.base(b * run);
          for (std::uint64_t j = 0; j < run; ++j)
            fl(i0 + j);
        }
      },
      g.blocks(), g.amplitudes());
}

// Like forEachGroup, but hands f2(i) two consecutive bases i, i + 1 at once when the runs
// allow it (run >= 2, i.e. no fixed bit 0), so kernels can work on two amplitudes per vector;
// f1 handles the single-base case.
template <class F1, class F2>
inline void forEachGroupPairs(const GroupSpace &g, const F1 &f1, const F2 &f2) {
  if (g.run < 2)
    return forEachGroup(g, f1);
  const GroupSpace gl = g;
  const F2 fl = f2;
  launch(
      [gl, fl](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
        const std::uint64_t run = gl.run;
        for (std::uint64_t b = lo; b < hi; ++b) {
          const std::uint64_t i0 = gl.base(b * run);
          for (std::uint64_t j = 0; j < run; j += 2)
            fl(i0 + j);
        }
      },
      g.blocks(), g.amplitudes());
}

// Deterministic reduction of N sums: f(i, acc) adds group i's contributions into acc[0..N).
template <std::size_t N, class F>
inline std::array<double, N> reduceGroups(const GroupSpace &g, const F &f) {
  const GroupSpace gl = g;
  const F fl = f;
  return launchReduce<N>(
      [gl, fl](std::uint64_t lo, std::uint64_t hi, double *out) KVANT_INLINE {
        const std::uint64_t run = gl.run;
        for (std::uint64_t b = lo; b < hi; ++b) {
          double acc[N] = {};
          const std::uint64_t i0 = gl.base(b * run);
          for (std::uint64_t j = 0; j < run; ++j)
            fl(i0 + j, acc);
          for (std::size_t w = 0; w < N; ++w)
            out[w] += acc[w];
        }
      },
      g.blocks(), g.amplitudes());
}

// Plain index loops over [0, n) with the same threading rule.
template <class F> inline void forRange(std::uint64_t n, const F &f) {
  const F fl = f;
  launch(
      [fl](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
        for (std::uint64_t i = lo; i < hi; ++i)
          fl(i);
      },
      n, n);
}

} // namespace kvant::rt::par
