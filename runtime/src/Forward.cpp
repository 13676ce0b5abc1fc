#include "Forward.hpp"
#include "Blocks.hpp"
#include "Settings.hpp"

#include "Parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

namespace kvant::rt {
namespace {

// 2^16 amplitudes = 1 MiB, a Zen 4 core's L2. Registers below kMinQubits (64 MiB) are not
// queued: a state that fits the L3 gains little from L2 blocks, and the copies in and out (in
// pieces of 8+ amplitudes scattered over the state) cost more. Measured, 200-gate layered
// circuit, one thread, same-load interleaved: 20 qubits 49-50 ms gate by gate vs 73-83 ms
// blocked (B = 14..16); 24 qubits (2 threads) 2.27-2.34 s vs 1.43-1.52 s with B = 16.
constexpr unsigned kDefaultBlockQubits = 16;
constexpr unsigned kMinQubits = 22;
// Blocks are copied back with streaming stores when the state is larger than this (it goes
// back to memory anyway; a plain store would first read every line it writes); a smaller
// state stays in L3 for the next run.
constexpr std::size_t kStreamBytes = std::size_t{32} << 20;

unsigned blockSetting() {
  // KVANT_RT_FORWARD_BLOCK_QUBITS: 0 disables queueing and blocking; a small value (>= 1)
  // blocks registers of any size with blocks of that many qubits (tests). Read once.
  static const unsigned value = static_cast<unsigned>(
      envSetting("KVANT_RT_FORWARD_BLOCK_QUBITS", kDefaultBlockQubits, 0, 24));
  return value;
}

// Index bits an op reads or writes (targets and controls).
std::uint64_t opBits(const StateVector &sv, const PendingGate &g) {
  std::uint64_t m = 0;
  for (std::size_t w : g.op.targets)
    m |= std::uint64_t{1} << sv.bitOf(w);
  for (std::size_t w : g.op.builtinCtrls)
    m |= std::uint64_t{1} << sv.bitOf(w);
  for (std::size_t w : g.ctrls.wires)
    m |= std::uint64_t{1} << sv.bitOf(w);
  return m;
}

struct Run {
  std::vector<PendingGate> gates; // wires renumbered to a B-qubit view of one block
  blocks::Layout layout;
  Complex *state = nullptr;
  bool stream = false;
  std::atomic<bool> failed{false};

  explicit Run(blocks::Layout l) : layout(std::move(l)) {}

  void block(std::size_t b) noexcept {
    try {
      apply(b);
    } catch (...) {
      failed.store(true);
    }
  }

  void apply(std::size_t b) {
    thread_local blocks::Buffer buffer;
    Complex *buf = buffer.get(layout.blockSize());
    const std::uint64_t base = layout.base(b);
    layout.gather(buf, state, base);
    StateVector view = StateVector::view(buf, layout.B);
    for (const PendingGate &g : gates)
      execute(view, g.op, g.ctrls);
    layout.scatter(state, buf, base, stream);
  }
};

// Applies gates[i, j) (together touching the bits in `mask`, at most B of them) block by block.
void blockedRun(StateVector &sv, std::vector<PendingGate> &gates, std::size_t i, std::size_t j,
                std::uint64_t mask, unsigned B) {
  const unsigned n = static_cast<unsigned>(sv.numQubits());
  Run run{blocks::Layout(mask, n, B)};
  // Global wire -> wire of the B-qubit view (whose bitOf is B - 1 - wire).
  auto toView = [&](std::size_t w) -> std::size_t { return B - 1 - run.layout.local[sv.bitOf(w)]; };
  run.gates.reserve(j - i);
  for (std::size_t k = i; k < j; ++k) {
    PendingGate g = std::move(gates[k]);
    for (std::size_t &w : g.op.targets)
      w = toView(w);
    for (std::size_t &w : g.op.builtinCtrls)
      w = toView(w);
    for (std::size_t &w : g.ctrls.wires)
      w = toView(w);
    run.gates.push_back(std::move(g));
  }
  run.state = sv.data();
  run.stream = sv.size() * sizeof(Complex) > kStreamBytes && run.layout.lowRun >= 2;
  const std::size_t numBlocks = std::size_t{1} << (n - B);
  par::runChunks(
      numBlocks, par::useThreads(sv.size()),
      [](const void *ctx, std::size_t b) {
        const_cast<Run *>(static_cast<const Run *>(ctx))->block(b);
      },
      &run);
  if (run.failed.load())
    throw Error("internal: a blocked run of gates failed (out of memory?)");
}

} // namespace

unsigned forwardBlockQubits(std::size_t numQubits) {
  const unsigned B = blockSetting();
  if (B == 0 || numQubits <= B)
    return 0;
  if (B >= 12 && numQubits < kMinQubits)
    return 0;
  return B;
}

void applyPending(StateVector &sv, std::vector<PendingGate> &gates) {
  const unsigned B = forwardBlockQubits(sv.numQubits());
  std::size_t i = 0;
  // On failure the rest is dropped with the list; the error is sticky anyway.
  struct Clear {
    std::vector<PendingGate> &g;
    ~Clear() { g.clear(); }
  } clear{gates};
  while (i < gates.size()) {
    std::size_t j = i + 1;
    // The 3 lowest bits are always in the block, so that it is copied in runs of at least 8
    // amplitudes (two cache lines), not single amplitudes from every line.
    const std::uint64_t forcedLow = B >= 8 ? 0x7 : 0;
    std::uint64_t mask = opBits(sv, gates[i]) | forcedLow;
    if (B > 0 && static_cast<unsigned>(__builtin_popcountll(mask)) <= B) {
      // The longest run of consecutive gates whose bits fit in a block.
      for (; j < gates.size(); ++j) {
        const std::uint64_t m = mask | opBits(sv, gates[j]);
        if (static_cast<unsigned>(__builtin_popcountll(m)) > B)
          break;
        mask = m;
      }
    }
    if (j - i >= 2 && static_cast<unsigned>(__builtin_popcountll(mask)) <= B) {
      blockedRun(sv, gates, i, j, mask, B); // a single gate gains nothing from the copies
    } else {
      execute(sv, gates[i].op, gates[i].ctrls);
    }
    i = j;
  }
}

} // namespace kvant::rt
