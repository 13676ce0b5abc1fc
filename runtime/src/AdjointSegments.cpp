// The segment step of the adjoint sweep (see AdjointSegments.hpp for the scheme and why).
#include "AdjointSegments.hpp"
#include "Blocks.hpp"
#include "Forward.hpp"
#include "Parallel.hpp"
#include "Settings.hpp"
#include "Simd.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>

namespace kvant::rt {
namespace {

using namespace simd;


// Defaults. A segment below this many parameters is left to the plain sweep: the checkpoint
// copy and the extra read of phi and lambda cost about what stepping phi back through a few
// gates does.
constexpr long kDefaultMinParams = 4;
// Checkpoints of one tape together: 2 GiB, eight 24-qubit states (the machines we target have
// tens of GiB; the lambdas and phi of the sweep come on top).
constexpr long kDefaultBudgetMiB = 2048;
// Blocks of the cross-reduced-matrix pass: phi and one lambda of 2^14 amplitudes are 512 KiB,
// well inside a 1-2 MiB L2.
constexpr unsigned kDefaultReduceQubits = 14;

unsigned reduceQubits() {
  // KVANT_RT_ADJOINT_REDUCE_QUBITS: small values let tests run several block layouts on small
  // registers. Read once.
  static const unsigned v = static_cast<unsigned>(
      envSetting("KVANT_RT_ADJOINT_REDUCE_QUBITS", kDefaultReduceQubits, 2, 24));
  return v;
}

Mat2 mul(const Mat2 &a, const Mat2 &b) {
  return {cmul(a[0], b[0]) + cmul(a[1], b[2]), cmul(a[0], b[1]) + cmul(a[1], b[3]),
          cmul(a[2], b[0]) + cmul(a[3], b[2]), cmul(a[2], b[1]) + cmul(a[3], b[3])};
}
Mat2 dagger(const Mat2 &a) {
  return {std::conj(a[0]), std::conj(a[2]), std::conj(a[1]), std::conj(a[3])};
}
constexpr Mat2 kIdentity = {Complex{1.0, 0.0}, Complex{0.0, 0.0}, Complex{0.0, 0.0},
                            Complex{1.0, 0.0}};

// The 2x2 form of a one-target operation (also of the non-unitary derivative Ops, which have
// the same kinds); false for anything else.
bool matrixOf(const Op &op, Mat2 &out) {
  switch (op.kind) {
  case Op::None:
    out = kIdentity;
    return true;
  case Op::PauliX:
    out = {Complex{0.0, 0.0}, Complex{1.0, 0.0}, Complex{1.0, 0.0}, Complex{0.0, 0.0}};
    return op.targets.size() == 1;
  case Op::Diagonal1:
    out = {op.m.at(0), Complex{0.0, 0.0}, Complex{0.0, 0.0}, op.m.at(1)};
    return op.targets.size() == 1;
  case Op::Matrix:
    if (op.targets.size() != 1 || op.m.size() != 4)
      return false;
    std::copy(op.m.begin(), op.m.end(), out.begin());
    return true;
  default:
    return false;
  }
}

// M_q for every bit in `bits`, for phi against each lambda: out[(k * bits.size() + t)] =
// {sum conj(l[q=0]) phi[q=0], sum conj(l[q=0]) phi[q=1], sum conj(l[q=1]) phi[q=0],
//  sum conj(l[q=1]) phi[q=1]} over the other bits, q = bits[t].
//
// Pairs i, i + 2^q are in one block when q is one of the block's bits, so the bits are covered
// by block layouts (Blocks.hpp) of at most B bits each: the low bits by contiguous blocks, the
// high ones by gathered blocks filled up with low bits. Each layout is one read of phi and the
// lambdas; per-block sums are added in block order, so the result does not depend on threads.
KVANT_SIMD_INLINE double alternating(v4d a) { return (a[0] - a[1]) + (a[2] - a[3]); }

// conj(l) x summed over a block: lane-wise l * x gives the real part's terms, l * swap(x)
// (lr xi, li xr) the imaginary part's with alternating signs.
KVANT_MULTIVERSION Complex blockProduct(const Complex *x, const Complex *l, std::size_t len) {
  if (len < 2)
    return cmulConj(l[0], x[0]);
  v4d a{}, b{};
  for (std::size_t i = 0; i < len; i += 2) {
    const v4d xv = ld2(x + i), lv = ld2(l + i);
    a += lv * xv;
    b += lv * swapReIm(xv);
  }
  return {sum(a), alternating(b)};
}

// M for one bit of a block, given the block's total conj(l) x: M01, M10, M11 summed over the
// pairs, M00 = total - M11.
KVANT_MULTIVERSION void reduceBit(const Complex *x, const Complex *l, std::size_t len,
                                  unsigned bit, Complex total, Complex *out) {
  const std::size_t s = std::size_t{1} << bit;
  v4d a01{}, b01{}, a10{}, b10{}, a11{}, b11{};
  if (s == 1) {
    // Both members of a pair in one v4d: (x0, x1) and (l0, l1).
    v4d a{}, b{}, d{}, e{};
    for (std::size_t i = 0; i < len; i += 2) {
      const v4d xv = ld2(x + i), lv = ld2(l + i), hx = swapHalves(xv);
      a += lv * hx;            // (l0 x1 | l1 x0) real terms
      b += lv * swapReIm(hx);  // their imaginary terms
      d += lv * xv;            // (l0 x0 | l1 x1)
      e += lv * swapReIm(xv);
    }
    out[0] = {d[0] + d[1], e[0] - e[1]};
    out[1] = {a[0] + a[1], b[0] - b[1]};
    out[2] = {a[2] + a[3], b[2] - b[3]};
    out[3] = {d[2] + d[3], e[2] - e[3]};
    return;
  }
  for (std::size_t base = 0; base < len; base += 2 * s)
    for (std::size_t j = 0; j < s; j += 2) {
      const std::size_t i = base + j;
      const v4d x0 = ld2(x + i), x1 = ld2(x + i + s), l0 = ld2(l + i), l1 = ld2(l + i + s);
      const v4d sx0 = swapReIm(x0), sx1 = swapReIm(x1);
      a01 += l0 * x1;
      b01 += l0 * sx1;
      a10 += l1 * x0;
      b10 += l1 * sx0;
      a11 += l1 * x1;
      b11 += l1 * sx1;
    }
  out[1] = {sum(a01), alternating(b01)};
  out[2] = {sum(a10), alternating(b10)};
  out[3] = {sum(a11), alternating(b11)};
  out[0] = total - out[3];
}

struct ReducePass {
  std::optional<blocks::Layout> layout;
  std::vector<unsigned> local;  // the layout's bits to reduce, renumbered to the block
  std::vector<std::size_t> slot; // their index in `bits`
  const Complex *phi = nullptr;
  std::vector<const Complex *> lam;
  std::vector<Complex> partial; // [block][lambda][bit][4]
  std::atomic<bool> failed{false};

  void block(std::size_t b) noexcept {
    try {
      run(b);
    } catch (...) {
      failed.store(true);
    }
  }

  void run(std::size_t b) {
    thread_local blocks::Buffer buffer;
    const std::size_t len = layout->blockSize(), m = lam.size(), nb = local.size();
    const std::uint64_t base = layout->base(b);
    // A block of the low bits is contiguous: read in place. Others are gathered.
    const bool contiguous = layout->lowRun == layout->B;
    Complex *buf = contiguous ? nullptr : buffer.get((m + 1) * len);
    const Complex *x = phi + base;
    if (!contiguous) {
      layout->gather(buf, phi, base);
      x = buf;
    }
    Complex *out = partial.data() + b * m * nb * 4;
    for (std::size_t k = 0; k < m; ++k) {
      const Complex *l = lam[k] + base;
      if (!contiguous) {
        layout->gather(buf + (k + 1) * len, lam[k], base);
        l = buf + (k + 1) * len;
      }
      const Complex total = blockProduct(x, l, len);
      for (std::size_t t = 0; t < nb; ++t)
        reduceBit(x, l, len, local[t], total, out + (k * nb + t) * 4);
    }
  }
};

std::vector<Mat2> crossReduced(const StateVector &phi, const std::vector<StateVector> &lambdas,
                               const std::vector<unsigned> &bits) {
  const unsigned n = static_cast<unsigned>(phi.numQubits());
  const std::size_t m = lambdas.size(), nb = bits.size();
  std::vector<Mat2> out(m * nb, Mat2{});
  const unsigned B = std::min(n, reduceQubits());
  // Low bits together; then the others in groups that leave >= 3 low bits in each block (runs
  // of at least 8 amplitudes when gathering).
  std::vector<std::vector<std::size_t>> groups(1);
  for (std::size_t t = 0; t < nb; ++t)
    if (bits[t] < B)
      groups[0].push_back(t);
  const unsigned highPer = B > 3 ? B - 3 : 1;
  for (std::size_t t = 0; t < nb; ++t) {
    if (bits[t] < B)
      continue;
    if (groups.size() == 1 || groups.back().size() >= highPer)
      groups.emplace_back();
    groups.back().push_back(t);
  }
  for (const std::vector<std::size_t> &g : groups) {
    if (g.empty())
      continue;
    ReducePass pass;
    std::uint64_t mask = 0;
    for (std::size_t t : g)
      mask |= std::uint64_t{1} << bits[t];
    pass.layout.emplace(mask, n, B);
    for (std::size_t t : g) {
      pass.local.push_back(pass.layout->local[bits[t]]);
      pass.slot.push_back(t);
    }
    pass.phi = phi.data();
    for (const StateVector &l : lambdas)
      pass.lam.push_back(l.data());
    const std::size_t numBlocks = std::size_t{1} << (n - B);
    pass.partial.assign(numBlocks * m * g.size() * 4, Complex{0.0, 0.0});
    par::runChunks(
        numBlocks, par::useThreads(phi.size()),
        [](const void *ctx, std::size_t b) {
          const_cast<ReducePass *>(static_cast<const ReducePass *>(ctx))->block(b);
        },
        &pass);
    if (pass.failed.load())
      throw Error("internal: a segment reduction failed (out of memory?)");
    for (std::size_t b = 0; b < numBlocks; ++b)
      for (std::size_t k = 0; k < m; ++k)
        for (std::size_t t = 0; t < g.size(); ++t)
          for (std::size_t e = 0; e < 4; ++e)
            out[k * nb + pass.slot[t]][e] += pass.partial[((b * m + k) * g.size() + t) * 4 + e];
  }
  return out;
}

} // namespace

bool segmentGate(const Op &op, const ControlWires &ctrls) {
  if (!ctrls.wires.empty() || !op.builtinCtrls.empty())
    return false;
  if (op.kind == Op::None)
    return op.targets.size() <= 1;
  Mat2 m;
  return matrixOf(op, m);
}

std::size_t segmentMinParams() {
  // KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS: 1 lets tests checkpoint every segment. Read once.
  static const std::size_t v = static_cast<std::size_t>(
      envSetting("KVANT_RT_ADJOINT_SEGMENT_MIN_PARAMS", kDefaultMinParams, 1, 1L << 30));
  return v;
}

std::size_t checkpointBudgetBytes() {
  // KVANT_RT_ADJOINT_CHECKPOINT_MIB: 0 takes no checkpoints (the plain sweep everywhere; tests
  // compare the two). Read once.
  static const std::size_t v = static_cast<std::size_t>(
      envSetting("KVANT_RT_ADJOINT_CHECKPOINT_MIB", kDefaultBudgetMiB, 0, 1L << 30));
  return v << 20;
}

bool planSegment(const Tape &tape, const Checkpoint &c, std::size_t numQubits, SegmentPlan &plan) {
  plan = SegmentPlan{};
  if (c.state.numQubits() != numQubits || c.end > tape.entries.size() || c.begin >= c.end)
    return false;
  std::size_t param = 0;
  for (std::size_t i = 0; i < c.begin; ++i)
    param += tape.entries[i].numParams;

  // Per wire, in recording order: each gate's matrix and its derivative matrices.
  struct Gate {
    Mat2 u;
    std::vector<Mat2> d;
    std::size_t param;
  };
  std::map<std::size_t, std::vector<Gate>> perWire;
  for (std::size_t i = c.begin; i < c.end; ++i) {
    const TapeEntry &e = tape.entries[i];
    if (!segmentGate(e.op, e.ctrls))
      return false;
    if (e.op.targets.empty()) { // an identity without wires
      if (e.numParams)
        return false;
      continue;
    }
    Gate g;
    g.param = param;
    if (!matrixOf(e.op, g.u))
      return false;
    if (e.numParams) {
      if (e.gate < 0)
        return false;
      const std::vector<double> ps(e.params, e.params + e.numParams);
      for (const Op &d : gateDerivativeOps(e.gate, ps, e.op.targets, e.adjoint)) {
        g.d.emplace_back();
        if (!matrixOf(d, g.d.back()))
          return false;
      }
    }
    param += e.numParams;
    plan.numParams += e.numParams;
    perWire[e.op.targets[0]].push_back(std::move(g));
  }

  // Gate j on wire q, P the gates before it on q: A = P^dag U_j^dag dU_j P (see the header).
  // Each wire's whole product, inverted, steps the lambdas back.
  for (const auto &[wire, gates] : perWire) {
    Mat2 before = kIdentity; // P
    const std::size_t slot = plan.bits.size();
    bool any = false;
    for (const Gate &g : gates) {
      const Mat2 pd = dagger(before), ud = dagger(g.u);
      for (const Mat2 &d : g.d) {
        const Mat2 a = mul(pd, mul(ud, mul(d, before)));
        plan.terms.push_back({g.param + static_cast<std::size_t>(&d - g.d.data()), slot, a});
        any = true;
      }
      before = mul(g.u, before);
    }
    if (any) // wires without parameters need no reduced matrix
      plan.bits.push_back(static_cast<unsigned>(numQubits - 1 - wire));
    PendingGate inv;
    inv.op.kind = Op::Matrix;
    inv.op.targets = {wire};
    const Mat2 bd = dagger(before);
    inv.op.m.assign(bd.begin(), bd.end());
    plan.undo.push_back(std::move(inv));
  }
  return true;
}

void segmentDerivatives(const SegmentPlan &plan, const StateVector &phiStart,
                        const std::vector<StateVector> &lambdas, double *out, std::size_t P) {
  if (plan.terms.empty())
    return;
  const std::vector<Mat2> red = crossReduced(phiStart, lambdas, plan.bits);
  for (std::size_t k = 0; k < lambdas.size(); ++k)
    for (const SegmentTerm &t : plan.terms) {
      const Mat2 &mq = red[k * plan.bits.size() + t.wire];
      Complex s{0.0, 0.0};
      for (std::size_t e = 0; e < 4; ++e)
        s += cmul(t.a[e], mq[e]);
      out[k * P + t.param] = 2.0 * s.real();
    }
}

} // namespace kvant::rt
