// The runtime's threads, and the policy for using them.
//
// Policy (why it is what it is):
// - How many threads: OMP_NUM_THREADS if set (the variable users already set for every other
//   numerical library; its first entry), else the CPUs this process may run on (affinity
//   mask). 1 disables threading.
// - Which loops: only states of at least 2^minParallelQubits() amplitudes. Below that a gate is
//   a few tens of microseconds at most, and waking a second thread -- or waiting for one the
//   OS has not scheduled because the machine is busy -- costs more than it saves. The default
//   (kDefaultMinParallelQubits) was measured on a 2-core machine shared with other work:
//   one-qubit gates at 16-20 qubits, serial vs 2 threads: with the other core idle 2 threads
//   gain ~1.7x from 17 qubits on, with it busy they lose up to ~1.8x at 16-17 qubits (a worker
//   that gets preempted holding a chunk); at 2^18 amplitudes and above the gain outweighs the
//   risk. KVANT_RT_MIN_PARALLEL_QUBITS
//   overrides it.
// - No busy-waiting beyond a short grace period: between two gates of a circuit the caller
//   spends a microsecond in the C API, so an idle worker spins briefly (kSpinMicros) to pick up
//   the next gate without a futex round trip, then sleeps on a condition variable. It never
//   spins for long, so an idle kvant process leaves the CPUs to others.
//   OMP_WAIT_POLICY=passive makes workers sleep at once; =active lets them spin 1 ms.
// - Work is split into chunks claimed dynamically (one atomic add each), not a static slice per
//   thread: if a worker is not running (the other core is busy), the calling thread takes its
//   chunks instead of waiting for it. The chunk layout does not depend on the thread count, so
//   neither do results.
// - A late worker must not stall the caller for a scheduler slice. On a 2-core machine where
//   another process (a compiler) keeps one core busy, the worker is preempted now and then
//   while it holds a chunk; the caller, done with every other chunk, must wait for that one.
//   It used to spin and sched_yield, which kept its own core busy, so the kernel never moved
//   the worker over and the wait lasted until the worker's core came back: 4-12 ms (multiples
//   of the 4 ms tick), on gates that take 0.15-0.4 ms. Measured, 200-gate circuit at 20
//   qubits with a compile running: ~10-140 stalls >1 ms per circuit, 80-210 ms instead of
//   ~30 ms idle and ~60 ms on one thread. Now the caller spins only kStragglerSpinMicros, then
//   sleeps until the last worker leaves (its core goes idle, so the late worker can run
//   there), and a wait longer than kStallMicros -- a worker that was not running -- makes the
//   next parallel loops run on the calling thread alone for a back-off period (kBackoffMin..
//   kBackoffMax, doubling while stalls repeat): under contention the second core is not
//   reliably there, and one thread at full speed beats two that wait for each other. The
//   first loop after the period probes again; results never depend on any of this.
// - One parallel loop at a time: a second thread entering while the pool is busy runs its loop
//   on its own (correct, just serial).
// - After fork() the child starts a fresh pool (the parent's threads do not exist there).
#include "Parallel.hpp"
#include "Settings.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

namespace kvant::rt::par {
namespace {

constexpr unsigned kDefaultMinParallelQubits = 18;
constexpr long kSpinMicros = 50;
// Straggler wait (see the policy above). A chunk is ~2^13 amplitudes, a few microseconds of
// work for every gate kernel, so a worker still inside one after kStragglerSpinMicros is most
// likely not running; after kStallMicros it certainly was not.
constexpr long kStragglerSpinMicros = 30;
constexpr long kStallMicros = 250;
constexpr std::int64_t kBackoffMinMicros = 4000;
constexpr std::int64_t kBackoffMaxMicros = 256000;

using SteadyClock = std::chrono::steady_clock;
inline std::int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

// Set on a thread while it runs chunks of a pooled job. A kernel called from inside a chunk
// (the adjoint sweep's cache blocks run whole gate kernels per block) must then run its loop
// serially: the pool is busy with the outer job, and on the calling thread try_lock on the
// busy mutex it already owns would be undefined behaviour.
thread_local bool insideJob = false;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int threadsFromEnvironment() {
  if (const char *env = std::getenv("OMP_NUM_THREADS")) {
    char *end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && v >= 1)
      return static_cast<int>(std::min(v, 256L));
  }
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1)
      return n;
  }
#endif
  const unsigned h = std::thread::hardware_concurrency();
  return h ? static_cast<int>(h) : 1;
}

long spinMicrosFromEnvironment() {
  if (const char *env = std::getenv("OMP_WAIT_POLICY")) {
    if (strcasecmp(env, "passive") == 0)
      return 0;
    if (strcasecmp(env, "active") == 0)
      return 1000;
  }
  return kSpinMicros;
}

struct Job {
  ChunkFn body;
  const void *ctx;
  std::size_t numChunks;
  std::atomic<std::size_t> next{0};

  void work() {
    for (std::size_t c = next.fetch_add(1); c < numChunks; c = next.fetch_add(1))
      body(ctx, c);
  }
};

class Pool {
public:
  explicit Pool(int workers) : pid_(getpid()), spinMicros_(spinMicrosFromEnvironment()) {
    for (int i = 0; i < workers; ++i) {
      pthread_t t;
      if (pthread_create(&t, nullptr, &Pool::entry, this) != 0)
        break; // fewer workers is still correct
      threads_.push_back(t);
    }
  }
  ~Pool() {
    if (getpid() != pid_)
      return; // a forked child: the threads are the parent's
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (pthread_t t : threads_)
      pthread_join(t, nullptr);
  }

  pid_t pid() const { return pid_; }
  bool hasWorkers() const { return !threads_.empty(); }

  // True while a recent stall keeps parallel loops on the calling thread.
  bool backingOff() const {
    const std::int64_t until = serialUntil_.load(std::memory_order_relaxed);
    return until != 0 && nowMicros() < until;
  }

  // Runs the job with the workers; false if the pool is busy with another caller's job.
  bool run(Job &job) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock())
      return false;
    current_.store(&job);
    generation_.fetch_add(1);
    if (sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lk(m_);
      cv_.notify_all();
    }
    job.work();
    current_.store(nullptr);
    // Workers still inside the job hold a chunk (or are about to find none left).
    if (inJob_.load() != 0)
      waitForStragglers();
    else
      backoffMicros_ = kBackoffMinMicros; // a clean loop: the next stall starts a short back-off
    return true;
  }

private:
  // Called with busy_ held. See the policy at the top of the file.
  void waitForStragglers() {
    const std::int64_t start = nowMicros();
    for (unsigned i = 1; inJob_.load() != 0; ++i) {
      cpuRelax();
      if ((i & 31) == 0 && nowMicros() - start > kStragglerSpinMicros) {
        // Sleep rather than spin or sched_yield: this core goes idle, so the scheduler can run
        // the late worker here instead of after whatever holds the worker's core.
        std::unique_lock<std::mutex> lk(doneM_);
        callerWaiting_.store(true);
        doneCv_.wait(lk, [&] { return inJob_.load() == 0; });
        callerWaiting_.store(false);
        break;
      }
    }
    if (nowMicros() - start <= kStallMicros) {
      backoffMicros_ = kBackoffMinMicros;
      return;
    }
    serialUntil_.store(nowMicros() + backoffMicros_, std::memory_order_relaxed);
    backoffMicros_ = std::min(2 * backoffMicros_, kBackoffMaxMicros);
    stalls_.fetch_add(1, std::memory_order_relaxed);
  }

public:
  std::uint64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }

private:
  static void *entry(void *self) {
    static_cast<Pool *>(self)->loop();
    return nullptr;
  }

  bool waitForWork(std::uint64_t seen) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spinMicros_);
    for (unsigned i = 0; spinMicros_ > 0; ++i) {
      if (generation_.load(std::memory_order_acquire) != seen || stop_.load())
        return !stop_.load();
      cpuRelax();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until)
        break;
    }
    std::unique_lock<std::mutex> lk(m_);
    sleeping_.fetch_add(1);
    cv_.wait(lk, [&] { return stop_.load() || generation_.load() != seen; });
    sleeping_.fetch_sub(1);
    return !stop_.load();
  }

  void loop() {
    std::uint64_t seen = generation_.load();
    while (waitForWork(seen)) {
      seen = generation_.load();
      // inJob_ first, then the job pointer: the caller clears the pointer before waiting for
      // inJob_ to reach 0, so a worker either sees no job or is waited for.
      inJob_.fetch_add(1);
      if (Job *job = current_.load()) {
        insideJob = true;
        job->work();
        insideJob = false;
      }
      // The last one out wakes a caller that went to sleep waiting for it. seq_cst on both
      // sides (inJob_ here then callerWaiting_; callerWaiting_ then inJob_ in the caller): at
      // least one of the two sees the other's write, so the wake-up is never lost.
      if (inJob_.fetch_sub(1) == 1 && callerWaiting_.load()) {
        std::lock_guard<std::mutex> lk(doneM_);
        doneCv_.notify_one();
      }
    }
  }

  const pid_t pid_;
  const long spinMicros_;
  std::vector<pthread_t> threads_;
  std::mutex busy_; // one job at a time
  std::mutex m_;    // sleeping workers
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::atomic<Job *> current_{nullptr};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> inJob_{0};
  std::atomic<int> sleeping_{0};
  // Straggler wait and back-off (policy at the top of the file).
  std::mutex doneM_;
  std::condition_variable doneCv_;
  std::atomic<bool> callerWaiting_{false};
  std::atomic<std::int64_t> serialUntil_{0};       // steady-clock microseconds; 0: not backing off
  std::int64_t backoffMicros_ = kBackoffMinMicros; // only touched with busy_ held
  std::atomic<std::uint64_t> stalls_{0};
};

std::mutex poolMutex;
std::unique_ptr<Pool> poolInstance;

Pool *pool() {
  std::lock_guard<std::mutex> lk(poolMutex);
  if (poolInstance && poolInstance->pid() != getpid())
    (void)poolInstance.release(); // forked child: the parent's pool object is unusable here
  if (!poolInstance)
    poolInstance = std::make_unique<Pool>(maxThreads() - 1);
  return poolInstance.get();
}

} // namespace

unsigned minParallelQubits() {
  static const unsigned value = static_cast<unsigned>(
      envSetting("KVANT_RT_MIN_PARALLEL_QUBITS", kDefaultMinParallelQubits, 0, 64)); // read once
  return value;
}

int maxThreads() {
  static const int value = threadsFromEnvironment();
  return value;
}

std::uint64_t poolStalls() {
  std::lock_guard<std::mutex> lk(poolMutex);
  return poolInstance ? poolInstance->stalls() : 0;
}

bool poolBackingOff() {
  std::lock_guard<std::mutex> lk(poolMutex);
  return poolInstance && poolInstance->backingOff();
}

void runChunks(std::size_t numChunks, bool parallel, ChunkFn body, const void *ctx) {
  Job job;
  job.body = body;
  job.ctx = ctx;
  job.numChunks = numChunks;
  if (parallel && numChunks > 1 && maxThreads() > 1 && !insideJob) {
    Pool *p = pool();
    if (p->hasWorkers() && !p->backingOff()) {
      insideJob = true;
      const bool ran = p->run(job);
      insideJob = false;
      if (ran)
        return;
    }
  }
  job.work();
}

} // namespace kvant::rt::par
