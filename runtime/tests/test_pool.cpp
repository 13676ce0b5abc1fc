// The thread pool's straggler handling (src/ThreadPool.cpp), tested on the pool directly: a
// worker that stops inside a chunk (as one preempted by another process does) must not hang
// the caller, must not lose or repeat a chunk, and must make the next loops run on the calling
// thread alone for a while. Built from the pool's source (its functions are not exported from
// the library); run with OMP_NUM_THREADS=2.
#include "Parallel.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

int failures = 0;
#define EXPECT(cond)                                                                               \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                     \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

using namespace kvant::rt;

struct Loop {
  std::thread::id caller = std::this_thread::get_id();
  std::vector<std::atomic<int>> runs;
  std::atomic<int> onWorkers{0};
  std::atomic<bool> slept{false};
  int stallMicros = 0; // the first chunk a worker takes sleeps this long
  explicit Loop(std::size_t n) : runs(n) {}
};

void body(const void *ctx, std::size_t c) {
  Loop &l = *const_cast<Loop *>(static_cast<const Loop *>(ctx));
  l.runs[c].fetch_add(1);
  if (std::this_thread::get_id() != l.caller) {
    l.onWorkers.fetch_add(1);
    if (l.stallMicros > 0 && !l.slept.exchange(true))
      std::this_thread::sleep_for(std::chrono::microseconds(l.stallMicros));
  }
  // A few microseconds of work per chunk, so that a woken worker finds chunks left.
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(5);
  while (std::chrono::steady_clock::now() < until) {
  }
}

bool eachOnce(const Loop &l) {
  for (const auto &r : l.runs)
    if (r.load() != 1)
      return false;
  return true;
}

} // namespace

int main() {
  if (par::maxThreads() < 2) {
    std::printf("pool tests need 2 threads (OMP_NUM_THREADS=2); skipped\n");
    return 0;
  }
  // Wake the pool so its worker is spinning when the loops below start.
  {
    Loop warm(64);
    par::runChunks(warm.runs.size(), true, body, &warm);
    EXPECT(eachOnce(warm));
  }

  // A worker that stalls 20 ms inside a chunk: every chunk still runs exactly once, the call
  // returns after the stall, and it counts as one (the caller slept instead of spinning).
  bool stalled = false;
  for (int attempt = 0; attempt < 20 && !stalled; ++attempt) {
    const std::uint64_t before = par::poolStalls();
    Loop l(256);
    l.stallMicros = 20000;
    par::runChunks(l.runs.size(), true, body, &l);
    EXPECT(eachOnce(l));
    if (l.onWorkers.load() == 0)
      continue; // the worker was not scheduled in time; try again
    EXPECT(par::poolStalls() == before + 1);
    stalled = true;
    // Right after the stall, loops stay on the calling thread (the back-off lasts >= 4 ms;
    // this loop takes ~0.3 ms).
    EXPECT(par::poolBackingOff());
    Loop serial(64);
    par::runChunks(serial.runs.size(), true, body, &serial);
    EXPECT(eachOnce(serial));
    EXPECT(serial.onWorkers.load() == 0);
  }
  EXPECT(stalled);

  // The back-off ends (the longest first back-off is 4 ms; the second, if two stalls happened,
  // 8 ms), and loops are parallel again.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT(!par::poolBackingOff());
  bool parallelAgain = false;
  for (int attempt = 0; attempt < 20 && !parallelAgain; ++attempt) {
    Loop l(256);
    par::runChunks(l.runs.size(), true, body, &l);
    EXPECT(eachOnce(l));
    parallelAgain = l.onWorkers.load() > 0;
  }
  EXPECT(parallelAgain);

  // A loop marked serial never reaches the workers.
  Loop s(64);
  par::runChunks(s.runs.size(), false, body, &s);
  EXPECT(eachOnce(s) && s.onWorkers.load() == 0);

  if (failures)
    std::fprintf(stderr, "%d pool check(s) failed\n", failures);
  else
    std::printf("pool: all checks passed\n");
  return failures ? 1 : 0;
}
