#include "Forward.hpp"
#include "Blocks.hpp"
#include "Settings.hpp"

#include "Parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include <unistd.h>

namespace kvant::rt {
namespace {

// Block qubits by default: blocks of at most half the L2 (measured, kvant_rt_bench layered:N and
// adjoint:N:L, two threads, interleaved, 2026-12-07): on the 2-core AMD EPYC VM (512 KiB L2)
// 2^14-amplitude blocks (256 KiB) against 2^16 ran the layered circuit 1.3-1.5x faster at 20 to
// 22 qubits (20: 19-25 vs 26-42 ms; 22: 78-82 vs 112-118 ms) and 1.1-1.3x at 23, and the
// ansatz's forward run and gradient as fast or faster; 2^15 was no better than 2^16 at 20 and 22
// qubits. On a 2 MiB L2 (the 2-core Xeon of the other measurements here) the rule gives 2^16,
// the fixed default before. From 24 qubits 2^16: on the EPYC the layered circuit was then faster
// with the larger blocks in 3 of 4 interleaved pairs (fewer runs over a state far beyond the L3:
// 486-674 vs 590-650 ms). Unknown L2: 2^16.
unsigned defaultBlockQubits(std::size_t numQubits) {
  static const unsigned halfL2 = [] {
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 <= 0)
      return 16u;
    unsigned b = 0;
    while ((std::size_t{16} << (b + 1)) <= static_cast<std::size_t>(l2) / 2)
      ++b;
    return std::clamp(b, 12u, 16u);
  }();
  return numQubits >= 24 ? 16u : halfL2;
}
// Registers below kMinQubits (4 MiB) are not queued: there a state stays in the caches and the
// copies cost what the blocks save. Measured, 200-gate layered circuit, one thread (perf stat
// task-clock of kvant_rt_bench layered:N, gates taken ahead as below): 16 qubits 91 ms either
// way, 18 qubits 517 ms gate by gate vs 427 ms blocked, 20 qubits 1.27 s vs 0.84 s. (Before runs
// took gates ahead, 20 qubits was faster gate by gate, and the threshold was 22.)
// KVANT_RT_FORWARD_MIN_QUBITS overrides it for such measurements.
constexpr unsigned kMinQubits = 18;
// Sub-runs in L1-sized blocks inside each block (see SubRun): off by default. Measured on the
// 2-core Xeon (2 MiB L2) with blocks of 2^11 amplitudes (32 KiB): the kernels ran ~20% faster
// on the small blocks, and the copies into them cost the same again (perf stat task-clock of
// layered:24 and layered:20, one thread: 7.96 / 7.88 s without, 7.89 / 8.35 s with).
constexpr unsigned kDefaultInnerQubits = 0;
// Blocks are copied back with streaming stores when the state is larger than this (it goes
// back to memory anyway; a plain store would first read every line it writes); a smaller
// state stays in L3 for the next run.
constexpr std::size_t kStreamBytes = std::size_t{32} << 20;

// -1 when unset (the default then depends on the register, defaultBlockQubits).
long blockSetting() {
  // KVANT_RT_FORWARD_BLOCK_QUBITS: 0 disables queueing and blocking; a small value (>= 1)
  // blocks registers of any size with blocks of that many qubits (tests). Read once.
  static const long value = envSetting("KVANT_RT_FORWARD_BLOCK_QUBITS", -1, 0, 24);
  return value;
}

unsigned fusionSetting() {
  // KVANT_RT_FORWARD_FUSION: 0 applies the gates of a run one by one, 1 fuses one-qubit gates
  // on a wire, 2 (default) also fuses one-qubit gates into the CNOT after them (bricks); 0 and
  // 1 for tests and measurement.
  static const unsigned value =
      static_cast<unsigned>(envSetting("KVANT_RT_FORWARD_FUSION", 2, 0, 2));
  return value;
}

unsigned innerSetting() {
  // KVANT_RT_FORWARD_INNER_QUBITS: the small blocks inside a block (0: none; tests and
  // measurement). Read once.
  static const unsigned value = static_cast<unsigned>(
      envSetting("KVANT_RT_FORWARD_INNER_QUBITS", kDefaultInnerQubits, 0, 24));
  return value;
}

// Calls f(w) for every wire an op reads or writes: its targets, its built-in controls (CNOT's
// control) and the controls the program added.
template <class F> void forEachWire(const PendingGate &g, F f) {
  for (std::size_t w : g.op.targets)
    f(w);
  for (std::size_t w : g.op.builtinCtrls)
    f(w);
  for (std::size_t w : g.ctrls.wires)
    f(w);
}

// Index bits an op reads or writes (targets and controls).
std::uint64_t opBits(std::size_t numQubits, const PendingGate &g) {
  std::uint64_t m = 0;
  forEachWire(g, [&](std::size_t w) { m |= std::uint64_t{1} << (numQubits - 1 - w); });
  return m;
}

// One run of a plan: gates (indices into the planned list, in the order they are applied)
// that together touch the bits in `mask`; blocked when there are two or more of them.
struct PlannedRun {
  std::vector<std::size_t> gates;
  std::uint64_t mask = 0;
};

// Splits gates with index bits `bits` (in their order) into runs of at most B bits each
// (forcedLow counted in). A run takes the first gate not yet planned and then every later one
// that fits and shares no bit with a gate it passed over: gates on disjoint bits commute, so
// taking a gate ahead of the ones passed over changes nothing but rounding. Without this, a
// layer of gates on all n > B bits ends a run after B bits and every later gate waits for the
// next pass over the state (the 200-gate layered circuit at 24 qubits with B = 16: 21 runs in
// order, 4 with gates taken ahead).
//
// joins (optional): for a one-qubit gate whose next ops on its wire are one-qubit gates and
// then a CNOT, that CNOT's index (else SIZE_MAX). Such a gate is not taken on its own: it goes
// with its CNOT, right before it, when the CNOT is taken (nothing between them touches its
// wire, so moving it there is exact), and stays for a later run when the CNOT is not, so that
// the two meet in a brick (see Brick) instead of costing a pass of their own. Its bits are the
// CNOT's, so waiting claims no room in the block. (Deciding this after choosing a run's bits
// instead left runs whose bits were claimed by gates that then waited: at 24 qubits a two-layer
// ansatz with a CNOT ring took 11 runs, 7 of them of 2 to 4 gates; it takes 4 now.)
//
// barriers (optional, ascending): positions p at which the state must be taken between gates
// [0, p) and the rest (snapshots, see applyPending). A run takes a gate at or after p only
// when every gate before p is done (in an earlier run or earlier in this one), so there is a
// moment, possibly inside a run, where exactly the gates before p have been applied.
std::vector<PlannedRun> planRuns(const std::vector<std::uint64_t> &bits, unsigned n, unsigned B,
                                 std::uint64_t forcedLow,
                                 const std::vector<std::size_t> *joins = nullptr,
                                 const std::vector<std::size_t> *barriers = nullptr) {
  std::vector<PlannedRun> runs;
  const std::size_t count = bits.size();
  std::vector<char> done(count, 0);
  // The gates waiting for each CNOT, in ascending order: a list through nextJoiner.
  std::vector<std::size_t> firstJoiner, nextJoiner;
  if (joins) {
    firstJoiner.assign(count, SIZE_MAX);
    nextJoiner.assign(count, SIZE_MAX);
    for (std::size_t i = count; i-- > 0;)
      if (const std::size_t c = (*joins)[i]; c != SIZE_MAX) {
        nextJoiner[i] = firstJoiner[c];
        firstJoiner[c] = i;
      }
  }
  const std::uint64_t all = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  // Looking further costs little (no state is touched) and finds more gates that commute
  // past the ones that did not fit.
  const std::size_t lookahead = 4 * std::size_t{n} + 16;
  auto fits = [B](std::uint64_t m) { return static_cast<unsigned>(__builtin_popcountll(m)) <= B; };
  auto scan = [&](std::size_t first, bool wait) {
    PlannedRun run;
    run.mask = forcedLow;
    std::uint64_t passed = 0;
    std::size_t scanned = 0;
    // The next barrier after `first` (those at or before it are open: all gates before
    // `first` are done).
    std::size_t nextBarrier = SIZE_MAX;
    std::vector<std::size_t>::const_iterator barrier;
    if (barriers) {
      barrier = std::upper_bound(barriers->begin(), barriers->end(), first);
      nextBarrier = barrier == barriers->end() ? SIZE_MAX : *barrier;
    }
    for (std::size_t j = first; j < count && scanned < lookahead && passed != all; ++j) {
      bool closed = false;
      while (j >= nextBarrier && !closed) {
        // Gates before the barrier can no longer join this run (joins do not cross barriers,
        // applyPending), so whether they are all done is settled here.
        closed = std::find(done.begin() + static_cast<std::ptrdiff_t>(first),
                           done.begin() + static_cast<std::ptrdiff_t>(nextBarrier),
                           0) != done.begin() + static_cast<std::ptrdiff_t>(nextBarrier);
        ++barrier;
        nextBarrier = barrier == barriers->end() ? SIZE_MAX : *barrier;
      }
      if (closed)
        break;
      if (done[j])
        continue;
      ++scanned;
      if (wait && (*joins)[j] != SIZE_MAX)
        continue; // goes with its CNOT
      if ((bits[j] & passed) == 0 && fits(run.mask | bits[j])) {
        run.mask |= bits[j];
        if (wait)
          for (std::size_t i = firstJoiner[j]; i != SIZE_MAX; i = nextJoiner[i])
            if (!done[i]) {
              run.gates.push_back(i);
              done[i] = 1;
            }
        run.gates.push_back(j);
        done[j] = 1;
      } else {
        if (j == first) { // too wide for any block: applied on its own
          run.gates.push_back(j);
          done[j] = 1;
          break;
        }
        passed |= bits[j];
      }
    }
    return run;
  };
  for (std::size_t first = 0; first < count;) {
    // (Gate `first` is before every closed barrier, so each scan takes at least one gate.)
    PlannedRun run = scan(first, joins != nullptr);
    if (run.gates.empty()) // only waiting gates in reach: take them as they come
      run = scan(first, false);
    runs.push_back(std::move(run));
    while (first < count && done[first])
      ++first;
  }
  return runs;
}

// Gates renumbered to a B-qubit view of one block of `layout`; the view's bitOf is B - 1 -
// wire.
std::vector<PendingGate> toView(std::size_t numQubits, const blocks::Layout &layout,
                                std::vector<PendingGate> &gates,
                                const std::vector<std::size_t> &which, bool move) {
  const unsigned B = layout.B;
  auto wire = [&](std::size_t w) -> std::size_t { return B - 1 - layout.local[numQubits - 1 - w]; };
  std::vector<PendingGate> out;
  out.reserve(which.size());
  for (std::size_t k : which) {
    PendingGate g = move ? std::move(gates[k]) : gates[k];
    for (std::size_t &w : g.op.targets)
      w = wire(w);
    for (std::size_t &w : g.op.builtinCtrls)
      w = wire(w);
    for (std::size_t &w : g.ctrls.wires)
      w = wire(w);
    out.push_back(std::move(g));
  }
  return out;
}

// Gate fusion. Within a run, a one-qubit gate without controls that follows another one on
// the same wire (nothing in between touching that wire) is multiplied into it: one pass
// instead of two, for the arithmetic of one 2x2 matrix. Only one-qubit blocks are formed:
// measured in L1 on this machine (kvant_rt_bench, 11 qubits), a one-qubit rotation costs
// ~0.4 ns per amplitude and CNOT ~0.26, so a dense 4x4 block (four complex products per
// amplitude against two for a one-qubit gate) would have to replace more than two rotations
// and a CNOT to pay; in a rotation/CNOT brick it replaces exactly that.
bool fusable(const PendingGate &g) {
  return g.ctrls.wires.empty() && g.op.builtinCtrls.empty() && g.op.targets.size() == 1 &&
         (g.op.kind == Op::PauliX || g.op.kind == Op::Diagonal1 ||
          (g.op.kind == Op::Matrix && g.op.m.size() == 4));
}

// The 2x2 matrix (row-major) of a fusable gate.
void matrixOf(const Op &op, Complex *m) {
  switch (op.kind) {
  case Op::PauliX:
    m[0] = 0.0, m[1] = 1.0, m[2] = 1.0, m[3] = 0.0;
    return;
  case Op::Diagonal1:
    m[0] = op.m[0], m[1] = 0.0, m[2] = 0.0, m[3] = op.m[1];
    return;
  default:
    std::copy(op.m.begin(), op.m.begin() + 4, m);
  }
}

// Fuses `later` into `earlier` (both fusable, same wire): earlier becomes later * earlier.
void fuseInto(Op &earlier, const Op &later) {
  if (earlier.kind == Op::Diagonal1 && later.kind == Op::Diagonal1) {
    earlier.m = {cmul(later.m[0], earlier.m[0]), cmul(later.m[1], earlier.m[1])};
    return;
  }
  Complex a[4], b[4];
  matrixOf(earlier, a);
  matrixOf(later, b);
  earlier.kind = Op::Matrix;
  earlier.m = {cmul(b[0], a[0]) + cmul(b[1], a[2]), cmul(b[0], a[1]) + cmul(b[1], a[3]),
               cmul(b[2], a[0]) + cmul(b[3], a[2]), cmul(b[2], a[1]) + cmul(b[3], a[3])};
}

// Fuses runs of one-qubit gates in `gates` (wires of a numQubits-qubit view), in place.
void fuseOneQubit(std::vector<PendingGate> &gates, std::size_t numQubits) {
  if (fusionSetting() == 0)
    return;
  std::vector<std::size_t> last(numQubits, SIZE_MAX); // the latest kept gate on each wire
  std::vector<PendingGate> out;
  out.reserve(gates.size());
  for (PendingGate &g : gates) {
    if (fusable(g)) {
      const std::size_t w = g.op.targets[0], k = last[w];
      if (k != SIZE_MAX && fusable(out[k])) {
        fuseInto(out[k].op, g.op);
        continue;
      }
    }
    const std::size_t idx = out.size();
    out.push_back(std::move(g));
    const PendingGate &kept = out.back();
    forEachWire(kept, [&](std::size_t w) { last[w] = idx; });
  }
  gates = std::move(out);
}

// Bricks. Inside a block a one-qubit gate costs about one pass over the L2-resident block,
// close to its arithmetic (measured, kvant_rt_bench gate1:16 / gate2:16, one thread: RX, RY,
// RZ ~0.37-0.39 ns per amplitude, CNOT ~0.2), so a layer of rotations followed by CNOTs on
// pairs is three passes per pair. kernels::applyBrick2 applies the one-qubit gates on the two
// wires of a CNOT together with it in one pass, keeping each gate's own (structured)
// arithmetic rather than a dense 4x4, which costs several rotations' arithmetic (see above).
// A one-qubit gate moves forward to the CNOT only if nothing in between touches its wire.
// Measured (perf stat task-clock of kvant_rt_bench layered:24, one thread, 6 circuits, busy
// machine): 7.5-8.2 s with one-qubit fusion only, 5.8 s with bricks, 5.1-5.4 s with lone
// gates paired as well; the 4x4-free form keeps a brick of two rotations and a CNOT at ~0.5 ns
// per amplitude against ~0.9 for the three gates one by one (kernel loops on a 16-qubit state).
struct Brick {
  std::size_t control = 0, target = 0; // view wires of the CNOT (or of the two gates)
  bool hasC = false, hasT = false;     // a one-qubit gate on the control / target wire
  bool cnot = true;                    // false: just the two one-qubit gates
  bool post = false;                   // the one-qubit gates come after the CNOT
  Complex mc[4], mt[4];
  // A CNOT (sel, selX) merged in before the brick (absorbLoneCnots); selX is control or target.
  std::size_t sel = SIZE_MAX, selX = SIZE_MAX;
};

// One step of a run inside a block: a gate, or a brick (when `brick` is set).
struct Step {
  PendingGate gate;
  std::optional<Brick> brick;
};

bool isCnot(const PendingGate &g) {
  return g.op.kind == Op::PauliX && g.op.targets.size() == 1 && g.op.builtinCtrls.size() == 1 &&
         g.ctrls.wires.empty();
}

bool touches(const Step &s, std::size_t w) {
  if (s.brick)
    return w == s.brick->control || w == s.brick->target || w == s.brick->sel;
  bool found = false;
  forEachWire(s.gate, [&](std::size_t x) { found = found || x == w; });
  return found;
}

// A CNOT (c, t) left without one-qubit gates (in brickwork circuits, the second CNOT layer of
// every round: the first layer's bricks took the rotations) costs a pass over the block of its
// own. It goes into the next brick on t instead, when that brick's other wire is not c: the
// brick kernel with a selector (applyBrick2) swaps the t pairs where c is 1 in registers before
// the brick's gates, so both cost one pass and the brick's arithmetic. The merged step goes after
// the last step between the two that touches the brick's other wire (the brick moves up past the
// others, none of which touches its wires), provided the CNOT moves down past no step that
// touches c (by the choice of the brick, none in between touches t). From the last CNOT to the
// first, so that a round's bricks, each reading the wire the next one changes, line up.
// c must not be the view's bit 0 (the brick kernel handles two groups differing in it at once).
void absorbLoneCnots(std::vector<Step> &steps, std::size_t numQubits) {
  for (std::size_t k = steps.size(); k-- > 0;) {
    if (steps[k].brick || !isCnot(steps[k].gate))
      continue;
    const std::size_t c = steps[k].gate.op.builtinCtrls[0], t = steps[k].gate.op.targets[0];
    if (c == numQubits - 1) // bit 0 of the view
      continue;
    std::size_t m = k + 1;
    while (m < steps.size() && !touches(steps[m], t))
      ++m;
    if (m == steps.size() || !steps[m].brick)
      continue;
    const Brick &b = *steps[m].brick;
    if (b.post || b.sel != SIZE_MAX || b.control == c || b.target == c)
      continue;
    const std::size_t x = b.control == t ? b.target : b.control;
    std::size_t p = k; // the merged step goes right after step p (at k itself when p == k)
    for (std::size_t j = k + 1; j < m; ++j)
      if (touches(steps[j], x))
        p = j;
    bool blocked = false;
    for (std::size_t j = k + 1; j <= p && !blocked; ++j)
      blocked = touches(steps[j], c);
    if (blocked)
      continue;
    Step merged = std::move(steps[m]);
    merged.brick->sel = c;
    merged.brick->selX = t;
    steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(m));
    if (p == k) {
      steps[k] = std::move(merged);
    } else {
      steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(p) + 1, std::move(merged));
      steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
}

// The steps of `gates` (wires of a numQubits-qubit view, one-qubit gates already fused):
// every CNOT takes the one-qubit gates that are the latest ops on its two wires.
std::vector<Step> formBricks(std::vector<PendingGate> &gates, std::size_t numQubits) {
  std::vector<Step> steps;
  steps.reserve(gates.size());
  if (fusionSetting() < 2) {
    for (PendingGate &g : gates)
      steps.push_back(Step{std::move(g), std::nullopt});
    return steps;
  }
  std::vector<std::size_t> open(numQubits, SIZE_MAX); // a step with a one-qubit gate, the
                                                      // latest op on the wire
  std::vector<char> taken(gates.size(), 0);
  for (PendingGate &g : gates) {
    if (isCnot(g)) {
      const std::size_t c = g.op.builtinCtrls[0], t = g.op.targets[0];
      if (open[c] != SIZE_MAX || open[t] != SIZE_MAX) {
        Brick b;
        b.control = c;
        b.target = t;
        if (open[c] != SIZE_MAX) {
          b.hasC = true;
          matrixOf(steps[open[c]].gate.op, b.mc);
          taken[open[c]] = 1;
        }
        if (open[t] != SIZE_MAX) {
          b.hasT = true;
          matrixOf(steps[open[t]].gate.op, b.mt);
          taken[open[t]] = 1;
        }
        open[c] = open[t] = SIZE_MAX;
        steps.push_back(Step{std::move(g), b});
        continue;
      }
    }
    const std::size_t idx = steps.size();
    steps.push_back(Step{std::move(g), std::nullopt});
    const PendingGate &kept = steps.back().gate;
    forEachWire(kept, [&](std::size_t w) { open[w] = SIZE_MAX; });
    if (fusable(kept))
      open[kept.op.targets[0]] = idx;
  }
  // A one-qubit gate left alone right after a CNOT without gates before it (nothing in between
  // on its wire) joins that CNOT, applied after it in the same pass: the adjoint sweep's undo
  // lists (a CNOT ring undone, then the segment's one-qubit gates) have them in this order.
  std::vector<std::size_t> latest(numQubits, SIZE_MAX); // the latest step on each wire
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (taken[k])
      continue;
    Step &s = steps[k];
    if (!s.brick && fusable(s.gate)) {
      const std::size_t w = s.gate.op.targets[0], j = latest[w];
      Step *c = j == SIZE_MAX ? nullptr : &steps[j];
      if (c && !c->brick && isCnot(c->gate)) {
        Brick b;
        b.control = c->gate.op.builtinCtrls[0];
        b.target = c->gate.op.targets[0];
        b.post = true;
        c->brick = b;
      }
      if (c && c->brick && c->brick->post) {
        Brick &b = *c->brick;
        const bool onControl = w == b.control;
        bool &has = onControl ? b.hasC : b.hasT;
        if (!has) {
          has = true;
          matrixOf(s.gate.op, onControl ? b.mc : b.mt);
          taken[k] = 1;
          continue; // the wire's latest step is still the brick
        }
      }
    }
    if (s.brick)
      latest[s.brick->control] = latest[s.brick->target] = k;
    else
      forEachWire(s.gate, [&](std::size_t w) { latest[w] = k; });
  }
  // One-qubit gates left alone (their wire's CNOT is in another run, or there is none) go in
  // twos: the later one moves back to the earlier when nothing in between touches its wire.
  std::vector<Step> out;
  out.reserve(steps.size());
  std::vector<std::size_t> touched(numQubits, 0); // 1 + the latest out step on each wire
  std::size_t single = SIZE_MAX;                  // an out step holding a lone one-qubit gate
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (taken[k])
      continue;
    Step &s = steps[k];
    if (!s.brick && fusable(s.gate)) {
      const std::size_t w = s.gate.op.targets[0];
      if (single != SIZE_MAX && out[single].gate.op.targets[0] != w && touched[w] <= single) {
        Step &first = out[single];
        Brick b;
        b.control = first.gate.op.targets[0];
        b.target = w;
        b.hasC = b.hasT = true;
        b.cnot = false;
        matrixOf(first.gate.op, b.mc);
        matrixOf(s.gate.op, b.mt);
        first.brick = b;
        touched[w] = single + 1;
        single = SIZE_MAX;
        continue;
      }
      single = out.size();
    }
    const std::size_t idx = out.size();
    out.push_back(std::move(s));
    const Step &kept = out.back();
    if (kept.brick) {
      touched[kept.brick->control] = touched[kept.brick->target] = idx + 1;
    } else {
      forEachWire(kept.gate, [&](std::size_t w) { touched[w] = idx + 1; });
    }
  }
  absorbLoneCnots(out, numQubits);
  return out;
}

void executeStep(StateVector &view, const Step &s) {
  if (!s.brick)
    return execute(view, s.gate.op, s.gate.ctrls);
  const Brick &b = *s.brick;
  const Complex *mc = b.hasC ? b.mc : nullptr, *mt = b.hasT ? b.mt : nullptr;
  const unsigned c = view.bitOf(b.control), t = view.bitOf(b.target), cx = b.cnot ? 1 : 0;
  if (b.sel == SIZE_MAX)
    return kernels::applyBrick2(view, c, mc, t, mt, cx, b.post);
  kernels::applyBrick2(view, c, mc, t, mt, cx, false, view.bitOf(b.sel), view.bitOf(b.selX));
}

// Inside a block (a B-qubit state in L2) the gates of a run go through the block once each.
// With KVANT_RT_FORWARD_INNER_QUBITS = B1 the run is planned again in smaller blocks of B1
// bits, and each sub-run of two or more gates is applied on a copy of each small block (one
// pass over the L2 block per sub-run), for caches where an L2 pass per gate is the limit.
struct SubRun {
  std::vector<Step> steps;              // wires of the B1-qubit view (or of the B-qubit view)
  std::optional<blocks::Layout> layout; // empty: the gate is applied to the block directly
  StateVector *snapshot = nullptr;      // set (and no steps): write the block there
};

struct Run {
  std::vector<SubRun> subRuns;
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
    thread_local blocks::Buffer buffer, inner;
    const std::uint64_t base = layout.base(b);
    // A block of the lowest bits is one contiguous stretch of the state: the gates run on it
    // in place. Copying it to a buffer and back would add two passes over it through the core
    // for nothing (the first gate brings it into L2 as the copy would).
    const bool contiguous = layout.lowRun == layout.B;
    Complex *buf = contiguous ? state + base : buffer.get(layout.blockSize());
    if (!contiguous)
      layout.gather(buf, state, base);
    StateVector view = StateVector::view(buf, layout.B);
    for (const SubRun &s : subRuns) {
      if (s.snapshot) {
        // Streaming stores whatever the state's size: a checkpoint is read only in the adjoint
        // sweep, after the rest of the forward run has passed through the caches, so a plain
        // store would read every line before writing it and then evict the state's own lines.
        layout.scatter(s.snapshot->data(), buf, base, layout.lowRun >= 2);
        continue;
      }
      if (!s.layout) {
        for (const Step &step : s.steps)
          executeStep(view, step);
        continue;
      }
      const blocks::Layout &l = *s.layout;
      Complex *small = inner.get(l.blockSize());
      const std::size_t numSmall = std::size_t{1} << (layout.B - l.B);
      for (std::size_t c = 0; c < numSmall; ++c) {
        const std::uint64_t smallBase = l.base(c);
        l.gather(small, buf, smallBase);
        StateVector v = StateVector::view(small, l.B);
        for (const Step &step : s.steps)
          executeStep(v, step);
        l.scatter(buf, small, smallBase, /*stream=*/false);
      }
    }
    if (!contiguous)
      layout.scatter(state, buf, base, stream);
  }
};

// The sub-runs of one part of a run (view gates, in order) inside a block of B qubits.
void addSubRuns(Run &run, std::vector<PendingGate> viewGates, unsigned B) {
  const unsigned B1 = innerSetting();
  if (B1 >= 3 && B1 < B) {
    std::vector<std::uint64_t> bits(viewGates.size());
    for (std::size_t k = 0; k < viewGates.size(); ++k)
      bits[k] = opBits(B, viewGates[k]);
    for (const PlannedRun &p : planRuns(bits, B, B1, B1 >= 8 ? 0x7 : 0)) {
      SubRun s;
      if (p.gates.size() >= 2 && static_cast<unsigned>(__builtin_popcountll(p.mask)) <= B1) {
        s.layout.emplace(p.mask, B, B1);
        std::vector<PendingGate> g = toView(B, *s.layout, viewGates, p.gates, false);
        fuseOneQubit(g, B1);
        s.steps = formBricks(g, B1);
      } else {
        for (std::size_t k : p.gates)
          s.steps.push_back(Step{viewGates[k], std::nullopt});
      }
      run.subRuns.push_back(std::move(s));
    }
  } else {
    SubRun s;
    fuseOneQubit(viewGates, B);
    s.steps = formBricks(viewGates, B);
    run.subRuns.push_back(std::move(s));
  }
}

// Applies the gates of `planned` (together touching the bits in its mask, at most B of them)
// block by block. cuts: (k, dest) pairs, k ascending: after the first k gates of the run, each
// block is also written to dest (a snapshot); gates are neither fused nor bricked across a
// cut.
void blockedRun(StateVector &sv, std::vector<PendingGate> &gates, const PlannedRun &planned,
                unsigned B, const std::vector<std::pair<std::size_t, StateVector *>> &cuts = {}) {
  const unsigned n = static_cast<unsigned>(sv.numQubits());
  Run run{blocks::Layout(planned.mask, n, B)};
  std::vector<PendingGate> viewGates = toView(n, run.layout, gates, planned.gates, true);
  auto addPart = [&](std::size_t lo, std::size_t hi) { // view gates [lo, hi), if any
    if (hi > lo)
      addSubRuns(run,
                 std::vector<PendingGate>(std::make_move_iterator(viewGates.begin() + lo),
                                          std::make_move_iterator(viewGates.begin() + hi)),
                 B);
  };
  std::size_t from = 0;
  for (const auto &[k, dest] : cuts) {
    addPart(from, k);
    SubRun marker;
    marker.snapshot = dest;
    run.subRuns.push_back(std::move(marker));
    from = k;
  }
  addPart(from, viewGates.size());
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
  const long setting = blockSetting();
  const unsigned B = setting >= 0 ? static_cast<unsigned>(setting) : defaultBlockQubits(numQubits);
  if (B == 0 || numQubits <= B)
    return 0;
  static const unsigned minQubits =
      static_cast<unsigned>(envSetting("KVANT_RT_FORWARD_MIN_QUBITS", kMinQubits, 1, 30));
  if (B >= 12 && numQubits < minQubits)
    return 0;
  return B;
}

void applyPending(StateVector &sv, std::vector<PendingGate> &gates,
                  const std::vector<Snapshot> &snapshots) {
  const unsigned B = forwardBlockQubits(sv.numQubits());
  // On failure the rest is dropped with the list; the error is sticky anyway.
  struct Clear {
    std::vector<PendingGate> &g;
    ~Clear() { g.clear(); }
  } clear{gates};
  const std::size_t count = gates.size();
  std::vector<std::size_t> barriers;
  for (const Snapshot &snap : snapshots) {
    if (snap.position > count || (!barriers.empty() && snap.position < barriers.back()))
      throw Error("internal: snapshots out of order or beyond the queue");
    barriers.push_back(snap.position);
  }
  auto copyAt = [&](std::size_t position) { // snapshots at `position`, taken by copying
    for (const Snapshot &snap : snapshots)
      if (snap.position == position)
        snap.dest->copyFrom(sv);
  };
  if (B == 0) {
    for (std::size_t k = 0; k < count; ++k) {
      copyAt(k);
      execute(sv, gates[k].op, gates[k].ctrls);
    }
    copyAt(count);
    return;
  }
  std::vector<std::uint64_t> bits(count);
  for (std::size_t k = 0; k < count; ++k)
    bits[k] = opBits(sv.numQubits(), gates[k]);
  // The 3 lowest bits are always in the block, so that it is copied in runs of at least 8
  // amplitudes (two cache lines), not single amplitudes from every line.
  const std::uint64_t forcedLow = B >= 8 ? 0x7 : 0;
  // Whether a barrier lies between gates a < b: a < p <= b.
  auto crosses = [&](std::size_t a, std::size_t b) {
    const auto it = std::upper_bound(barriers.begin(), barriers.end(), a);
    return it != barriers.end() && *it <= b;
  };
  std::vector<std::size_t> joins;
  if (fusionSetting() >= 2) {
    joins.assign(count, SIZE_MAX);
    std::vector<std::size_t> next(sv.numQubits(), SIZE_MAX); // the next op on each wire
    for (std::size_t k = count; k-- > 0;) {
      const PendingGate &g = gates[k];
      if (fusable(g)) {
        const std::size_t c = next[g.op.targets[0]];
        if (c != SIZE_MAX && isCnot(gates[c]))
          joins[k] = c;
        else if (c != SIZE_MAX && fusable(gates[c]))
          joins[k] = joins[c]; // fused with the next one-qubit gate, then joins its CNOT
        if (joins[k] != SIZE_MAX && crosses(k, joins[k]))
          joins[k] = SIZE_MAX; // waiting past a barrier would hold it closed (planRuns): runs
                               // would end early for it instead of going on past the barrier
      }
      forEachWire(g, [&](std::size_t w) { next[w] = k; });
    }
  }
  const std::vector<PlannedRun> runs =
      planRuns(bits, static_cast<unsigned>(sv.numQubits()), B, forcedLow,
               joins.empty() ? nullptr : &joins, barriers.empty() ? nullptr : &barriers);
  // KVANT_RT_FORWARD_TRACE=1: one line per flush on stderr, so tests can check the plan.
  static const bool trace = envSetting("KVANT_RT_FORWARD_TRACE", 0, 0, 1) == 1;
  // Where each snapshot is taken: inside the run that applies the last gate before it (when
  // that run goes on with later gates), else by a copy after that run.
  std::vector<std::size_t> runOf(count), lastRunBefore(count + 1, SIZE_MAX);
  for (std::size_t r = 0; r < runs.size(); ++r)
    for (std::size_t k : runs[r].gates)
      runOf[k] = r;
  for (std::size_t k = 0; k < count; ++k)
    lastRunBefore[k + 1] =
        lastRunBefore[k] == SIZE_MAX ? runOf[k] : std::max(lastRunBefore[k], runOf[k]);
  std::size_t inRun = 0;
  // cuts[r]: (gates of run r before the snapshot, destination); copies[r + 1]: snapshots copied
  // after run r (copies[0]: before any run).
  std::vector<std::vector<std::pair<std::size_t, StateVector *>>> cuts(runs.size());
  std::vector<std::vector<StateVector *>> copies(runs.size() + 1);
  for (const Snapshot &snap : snapshots) {
    const std::size_t r = lastRunBefore[snap.position];
    if (r == SIZE_MAX) {
      copies[0].push_back(snap.dest);
      continue;
    }
    const std::vector<std::size_t> &g = runs[r].gates;
    std::size_t before = 0;
    while (before < g.size() && g[before] < snap.position)
      ++before;
    for (std::size_t i = before; i < g.size(); ++i)
      if (g[i] < snap.position) // the planner keeps a run's gates ordered around a barrier
        throw Error("internal: a run of gates crosses a snapshot");
    if (before == g.size()) {
      copies[r + 1].push_back(snap.dest);
    } else {
      cuts[r].emplace_back(before, snap.dest);
      ++inRun;
    }
  }
  if (trace && count > 0) {
    std::string snaps;
    if (!snapshots.empty())
      snaps = ", " + std::to_string(snapshots.size()) + " snapshot(s), " + std::to_string(inRun) +
              " inside a run";
    std::fprintf(stderr, "kvant forward: %zu gate(s) in %zu run(s) on %zu qubits%s\n", count,
                 runs.size(), sv.numQubits(), snaps.c_str());
  }
  for (StateVector *dest : copies[0])
    dest->copyFrom(sv);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const PlannedRun &run = runs[r];
    if (run.gates.size() >= 2 && static_cast<unsigned>(__builtin_popcountll(run.mask)) <= B) {
      blockedRun(sv, gates, run, B, cuts[r]);
    } else { // a single gate gains nothing from the copies (and cannot hold a cut)
      for (std::size_t k : run.gates)
        execute(sv, gates[k].op, gates[k].ctrls);
    }
    for (StateVector *dest : copies[r + 1])
      dest->copyFrom(sv);
  }
}

} // namespace kvant::rt
