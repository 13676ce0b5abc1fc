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
// Tiles of a block for its lowest bits: phi and one lambda of 2^10 amplitudes are 32 KiB, inside
// a 48 KiB L1 (the reduction of one bit or two is one pass, bound by reads).
constexpr unsigned kDefaultTileQubits = 10;

unsigned reduceQubits() {
  // KVANT_RT_ADJOINT_REDUCE_QUBITS: small values let tests run several block layouts on small
  // registers. Read once.
  static const unsigned v = static_cast<unsigned>(
      envSetting("KVANT_RT_ADJOINT_REDUCE_QUBITS", kDefaultReduceQubits, 2, 24));
  return v;
}

unsigned tileQubits() {
  // KVANT_RT_ADJOINT_TILE_QUBITS: small values let tests run several tiles per block on small
  // registers. Read once.
  static const unsigned v =
      static_cast<unsigned>(envSetting("KVANT_RT_ADJOINT_TILE_QUBITS", kDefaultTileQubits, 1, 24));
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

// What the derivatives need of M_q for every bit q in `bits`, for phi against each lambda.
// Every A = P^dag U^dag dU P is anti-Hermitian (U(theta) is unitary for all theta, so
// U^dag dU = -(dU^dag U)), so with a00, a11 imaginary and a10 = -conj(a01):
//   Re sum_ab a_ab M_ab = -Im(a00) Im(M00) - Im(a11) Im(M11) + Re(a01 K),  K = M01 - conj(M10),
// and Im(M00) = Im(T) - Im(M11) with T = <lambda|phi>. Per bit that is K and Im(M11): three
// sums, five multiply-adds per pair instead of eight for the whole M.
//
// Pairs i, i + 2^q are in one block when q is one of the block's bits, so the bits are covered
// by block layouts (Blocks.hpp) of at most B bits each: the low bits by contiguous blocks, the
// high ones by gathered blocks filled up with low bits. Each layout is one read of phi and the
// lambdas; per-block sums are added in block order, so the result does not depend on threads.
struct Reduced {
  double kr = 0, ki = 0, q = 0, imT = 0; // Re K, Im K, Im M11, Im T
};

KVANT_SIMD_INLINE double alternating(v4d a) { return (a[0] - a[1]) + (a[2] - a[3]); }

// Im <l|x> over a block: lane-wise l * swap(x) = (lr xi, li xr), with alternating signs.
KVANT_MULTIVERSION double blockImProduct(const Complex *x, const Complex *l, std::size_t len) {
  if (len < 2)
    return cmulConj(l[0], x[0]).imag();
  v4d b{};
  for (std::size_t i = 0; i < len; i += 2)
    b += ld2(l + i) * swapReIm(ld2(x + i));
  return alternating(b);
}

// The three sums of one pair (u: the bit is 0, v: it is 1), in vector form: Re K from r,
// Im K from i, Im M11 from q (alternating lane sums for i and q).
KVANT_SIMD_INLINE void pairTerms(v4d xu, v4d xv, v4d lu, v4d lv, v4d &r, v4d &i, v4d &q) {
  const v4d sxu = swapReIm(xu), sxv = swapReIm(xv);
  r += lu * xv - lv * xu;
  i += lu * sxv + lv * sxu;
  q += lv * sxv;
}

// Bit 0: both members of a pair in one v4d, (x0, x1) and (l0, l1).
KVANT_MULTIVERSION Reduced reduceBit0(const Complex *x, const Complex *l, std::size_t len) {
  v4d a{}, b{}, e{};
  for (std::size_t i = 0; i < len; i += 2) {
    const v4d xv = ld2(x + i), lv = ld2(l + i), hx = swapHalves(xv);
    a += lv * hx;           // (l0 x1 | l1 x0) real-part terms
    b += lv * swapReIm(hx); // their imaginary-part terms
    e += lv * swapReIm(xv); // (l0 x0 | l1 x1)
  }
  // M01 = (a0 + a1, b0 - b1), M10 = (a2 + a3, b2 - b3), Im M11 = e2 - e3.
  Reduced r;
  r.kr = (a[0] + a[1]) - (a[2] + a[3]);
  r.ki = (b[0] - b[1]) + (b[2] - b[3]);
  r.q = e[2] - e[3];
  r.imT = alternating(e); // (e0 - e1) + (e2 - e3): Im <l|x> over the block, for free
  return r;
}

// One bit with pairs 2^bit >= 2 apart.
KVANT_MULTIVERSION Reduced reduceBit(const Complex *x, const Complex *l, std::size_t len,
                                     unsigned bit) {
  const std::size_t s = std::size_t{1} << bit;
  v4d r{}, i{}, q{};
  for (std::size_t base = 0; base < len; base += 2 * s)
    for (std::size_t j = base; j < base + s; j += 2)
      pairTerms(ld2(x + j), ld2(x + j + s), ld2(l + j), ld2(l + j + s), r, i, q);
  return {sum(r), alternating(i), alternating(q), 0.0};
}

// Two bits b1 < b2 (both >= 1) in one pass: each group of four amplitudes x0..x3 (offsets 0,
// 2^b1, 2^b2, both) is read once for both bits, which halves the reads.
//
// What bounds this loop is the chain of additions into each running sum, not the arithmetic:
// with ten sums fed by one multiply-add per product, AVX2's 16 registers do not hold the sums
// and the twelve loaded or swapped vectors, and gcc keeps some sums on the stack, so every
// iteration waits for a store and a reload (measured on the 2-core AMD EPYC: 1.5-1.9 cycles
// of the time-stamp counter per pair and bit, whatever the data size). Here the six sums take
// one addition each per iteration, the products being added up first off the chain, and
// lambda's swapped halves (m = swapReIm(l)) are made one at a time, after the Re K terms, so
// that fewer vectors are live: 1.1-1.2 cycles per pair and bit on the same machine.
//   Re K  = sum over pairs (u, v) of  Re(conj(l_u) x_v) - Re(conj(l_v) x_u): lane sum of l_u x_v
//           - l_v x_u;
//   Im K  = sum of Im(conj(l_u) x_v) + Im(conj(l_v) x_u) = -(alternating lane sum of m_u x_v +
//           m_v x_u), since m x = (l_im x_re, l_re x_im);
//   Im M11 = -(alternating lane sum of m_v x_v).
KVANT_MULTIVERSION void reduceBits2(const Complex *x, const Complex *l, std::size_t len,
                                    unsigned b1, unsigned b2, Reduced &o1, Reduced &o2) {
  const std::size_t s1 = std::size_t{1} << b1, s2 = std::size_t{1} << b2;
  v4d Ru{}, Iu{}, Eu{}, Rv{}, Iv{}, Ev{}; // bit b1 (pairs x0-x1, x2-x3); bit b2 (x0-x2, x1-x3)
  for (std::size_t hi = 0; hi < len; hi += 2 * s2)
    for (std::size_t mid = hi; mid < hi + s2; mid += 2 * s1)
      for (std::size_t j = mid; j < mid + s1; j += 2) {
        const Complex *xp = x + j, *lp = l + j;
        const v4d x0 = ld2(xp), x1 = ld2(xp + s1), x2 = ld2(xp + s2), x3 = ld2(xp + s1 + s2);
        const v4d l0 = ld2(lp), l1 = ld2(lp + s1), l2 = ld2(lp + s2), l3 = ld2(lp + s1 + s2);
        Ru += (l0 * x1 - l1 * x0) + (l2 * x3 - l3 * x2);
        Rv += (l0 * x2 - l2 * x0) + (l1 * x3 - l3 * x1);
        const v4d m0 = swapReIm(l0);
        v4d iu = m0 * x1, iv = m0 * x2;
        const v4d m1 = swapReIm(l1);
        iu += m1 * x0;
        iv += m1 * x3;
        const v4d eu = m1 * x1;
        const v4d m2 = swapReIm(l2);
        iu += m2 * x3;
        iv += m2 * x0;
        const v4d ev = m2 * x2;
        const v4d m3 = swapReIm(l3), e3 = m3 * x3;
        Iu += iu + m3 * x2;
        Iv += iv + m3 * x1;
        Eu += eu + e3;
        Ev += ev + e3;
      }
  o1 = {sum(Ru), -alternating(Iu), -alternating(Eu), 0.0};
  o2 = {sum(Rv), -alternating(Iv), -alternating(Ev), 0.0};
}

void add(Reduced &a, const Reduced &b) {
  a.kr += b.kr;
  a.ki += b.ki;
  a.q += b.q;
  a.imT += b.imT;
}

struct ReducePass {
  std::optional<blocks::Layout> layout;
  std::vector<unsigned> local;   // the layout's bits to reduce, renumbered to the block
  std::vector<std::size_t> slot; // their index in `bits`
  const Complex *phi = nullptr;
  std::vector<const Complex *> lam;
  std::vector<Reduced> partial; // [block][lambda][bit]
  // Im T = Im <lambda|phi> is one number per lambda, not per bit: only the first pass computes
  // it (from reduceBit0's sums when bit 0 is in it, else with one more read of the block), in
  // partial[..][..][0].imT.
  bool withT = false;
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
    Reduced *out = partial.data() + b * m * nb;
    for (std::size_t k = 0; k < m; ++k) {
      const Complex *l = lam[k] + base;
      if (!contiguous) {
        layout->gather(buf + (k + 1) * len, lam[k], base);
        l = buf + (k + 1) * len;
      }
      Reduced *o = out + k * nb;
      std::fill(o, o + nb, Reduced{});
      // `local` is ascending (crossReduced sorts the bits): bit 0 first, then pairs. Bits whose
      // pairs lie within a tile are reduced tile by tile, so their several passes read phi and
      // lambda from L1 rather than L2; the rest read the whole block.
      const unsigned tq = std::min(tileQubits(), layout->B);
      const std::size_t tile = std::size_t{1} << tq;
      std::size_t inTile = 0;
      while (inTile < nb && local[inTile] < tq)
        ++inTile;
      for (std::size_t off = 0; off < len; off += tile) {
        const Complex *xt = x + off, *lt = l + off;
        std::size_t t = 0;
        if (local[0] == 0)
          add(o[t++], reduceBit0(xt, lt, tile));
        for (; t + 1 < inTile; t += 2) {
          Reduced r1, r2;
          reduceBits2(xt, lt, tile, local[t], local[t + 1], r1, r2);
          add(o[t], r1);
          add(o[t + 1], r2);
        }
        if (t < inTile)
          add(o[t], reduceBit(xt, lt, tile, local[t]));
      }
      // Only reduceBit0 sums Im T; kept in slot 0 when this pass provides Im T.
      double imT = local[0] == 0 ? o[0].imT : 0.0;
      if (withT && local[0] != 0)
        imT = blockImProduct(x, l, len);
      std::size_t t = inTile;
      for (; t + 1 < nb; t += 2)
        reduceBits2(x, l, len, local[t], local[t + 1], o[t], o[t + 1]);
      if (t < nb)
        o[t] = reduceBit(x, l, len, local[t]);
      for (std::size_t u = 0; u < nb; ++u)
        o[u].imT = 0.0;
      o[0].imT = withT ? imT : 0.0;
    }
  }
};

std::vector<Reduced> crossReduced(const StateVector &phi, const std::vector<StateVector> &lambdas,
                                  const std::vector<unsigned> &bits) {
  const unsigned n = static_cast<unsigned>(phi.numQubits());
  const std::size_t m = lambdas.size(), nb = bits.size();
  std::vector<Reduced> out(m * nb);
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
  std::vector<double> imT(m, 0.0); // Im <lambda_k|phi>, from the first pass
  bool firstPass = true;
  for (const std::vector<std::size_t> &g : groups) {
    if (g.empty())
      continue;
    std::vector<std::size_t> order = g; // ascending bits, as ReducePass::run needs them
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return bits[a] < bits[b]; });
    ReducePass pass;
    std::uint64_t mask = 0;
    for (std::size_t t : g)
      mask |= std::uint64_t{1} << bits[t];
    pass.layout.emplace(mask, n, B);
    for (std::size_t t : order) {
      pass.local.push_back(pass.layout->local[bits[t]]);
      pass.slot.push_back(t);
    }
    pass.withT = firstPass;
    firstPass = false;
    pass.phi = phi.data();
    for (const StateVector &l : lambdas)
      pass.lam.push_back(l.data());
    const std::size_t numBlocks = std::size_t{1} << (n - B);
    pass.partial.assign(numBlocks * m * g.size(), Reduced{});
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
        for (std::size_t t = 0; t < g.size(); ++t) {
          const Reduced &x = pass.partial[(b * m + k) * g.size() + t];
          Reduced &o = out[k * nb + pass.slot[t]];
          o.kr += x.kr;
          o.ki += x.ki;
          o.q += x.q;
          imT[k] += x.imT; // zero but in the first pass's first slot
        }
  }
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t t = 0; t < nb; ++t)
      out[k * nb + t].imT = imT[k];
  return out;
}

// The same for phi = phase * |index>: M[a][b] = sum over pairs (u, v) of conj(lambda at the
// member with bit value a) * (phi at the member with bit value b), and the only non-zero phi
// is at `index`. So M[a][c] = conj(lambda[index with the bit set to a]) * phase for c the
// index's own bit value, and M[a][1 - c] = 0.
// lambdaAt(k, i): amplitude i of lambda k at the segment's start, for i = index and index with
// one of `bits` flipped.
template <class F>
std::vector<Reduced> basisReduced(std::uint64_t index, Complex phase, std::size_t m,
                                  const std::vector<unsigned> &bits, const F &lambdaAt) {
  const std::size_t nb = bits.size();
  std::vector<Reduced> out(m * nb);
  for (std::size_t k = 0; k < m; ++k) {
    const double imT = (std::conj(lambdaAt(k, index)) * phase).imag();
    for (std::size_t t = 0; t < nb; ++t) {
      const std::uint64_t s = std::uint64_t{1} << bits[t];
      const unsigned c = (index & s) ? 1 : 0;
      Complex M[2][2] = {};
      M[0][c] = std::conj(lambdaAt(k, index & ~s)) * phase;
      M[1][c] = std::conj(lambdaAt(k, index | s)) * phase;
      const Complex K = M[0][1] - std::conj(M[1][0]);
      out[k * nb + t] = {K.real(), K.imag(), M[1][1].imag(), imT};
    }
  }
  return out;
}

void derivativesFrom(const SegmentPlan &plan, const std::vector<Reduced> &red, std::size_t m,
                     double *out, std::size_t P) {
  for (std::size_t k = 0; k < m; ++k)
    for (const SegmentTerm &t : plan.terms) {
      const Reduced &r = red[k * plan.bits.size() + t.wire];
      // 2 Re sum_ab a_ab M_ab for the anti-Hermitian a (see Reduced).
      const double im00 = r.imT - r.q;
      out[k * P + t.param] = 2.0 * (-t.a[0].imag() * im00 - t.a[3].imag() * r.q +
                                    t.a[1].real() * r.kr - t.a[1].imag() * r.ki);
    }
}

// ---- the first segment through a permutation gap
//
// With lambda at hi, G the gap's permutation (G|i> = |pi(i)>) and V = (x)_q V_q the segment,
// lambda_start = V^dag G^dag lambda_hi, so
//   lambda_start[k] = sum_j lambda_hi[j] prod_q Vd_q[k_q][i_q],   i = pi^-1(j), Vd_q = V_q^dag.
// The basis rule needs k = index and index with one bit q flipped: products over all bits with
// one factor swapped ("leave one out"). Split the index bits into a low half L and a high half
// H: one pass over lambda_hi accumulates
//   AL[l] = sum_{j: i = (h, l)} lambda_hi[j] wH[h],   AH[h] = sum_{j: i = (h, l)} lambda_hi[j]
//   wL[l]
// with wH, wL the products of the factors for k = index; then lambda_start[index] =
// sum_l AL[l] wL[l], and for q in L (H) the same sum with q's factor swapped, over 2^|L| (2^|H|)
// terms. pi^-1 is affine over GF(2) (X, CNOT, SWAP), evaluated from byte tables.

struct AffineMap { // i = T[0][j & 255] ^ T[1][(j >> 8) & 255] ^ ... ^ c
  std::vector<std::array<std::uint64_t, 256>> T;
  std::uint64_t c = 0;
};

// pi^-1 of the gap's gates (each its own inverse), as rows: bit p of i is
// parity(row[p] & j) ^ cst[p].
AffineMap inverseGapMap(const Tape &tape, const std::vector<char> &done, std::size_t lo,
                        std::size_t hi, unsigned n) {
  std::vector<std::uint64_t> row(n);
  std::vector<unsigned> cst(n, 0);
  for (unsigned p = 0; p < n; ++p)
    row[p] = std::uint64_t{1} << p;
  auto bitOf = [n](std::size_t w) { return static_cast<unsigned>(n - 1 - w); };
  // i = g_lo(... g_{hi-1}(j)): the latest gate acts on j first.
  for (std::size_t e = hi; e-- > lo;) {
    if (done[e])
      continue;
    const Op &op = tape.entries[e].op;
    if (op.kind == Op::PauliX) {
      const unsigned t = bitOf(op.targets[0]);
      if (op.builtinCtrls.empty()) {
        cst[t] ^= 1;
      } else {
        const unsigned c = bitOf(op.builtinCtrls[0]);
        row[t] ^= row[c];
        cst[t] ^= cst[c];
      }
    } else if (op.kind == Op::Swap) {
      const unsigned a = bitOf(op.targets[0]), b = bitOf(op.targets[1]);
      std::swap(row[a], row[b]);
      std::swap(cst[a], cst[b]);
    }
  }
  AffineMap m;
  std::vector<std::uint64_t> col(n, 0); // image of bit b of j
  for (unsigned p = 0; p < n; ++p) {
    m.c |= std::uint64_t{cst[p]} << p;
    for (unsigned b = 0; b < n; ++b)
      col[b] |= ((row[p] >> b) & 1) << p;
  }
  m.T.resize((n + 7) / 8);
  for (std::size_t t = 0; t < m.T.size(); ++t)
    for (unsigned v = 0; v < 256; ++v) {
      std::uint64_t x = 0;
      for (unsigned b = 0; b < 8 && 8 * t + b < n; ++b)
        if (v >> b & 1)
          x ^= col[8 * t + b];
      m.T[t][v] = x;
    }
  return m;
}

struct GapPass {
  const AffineMap *map = nullptr;
  const Complex *lambda = nullptr;
  const Complex *wH = nullptr, *wL = nullptr;
  unsigned nl = 0;
  std::size_t chunkLen = 0, lenL = 0, lenH = 0;
  std::vector<Complex> partial; // per chunk: AL (lenL) then AH (lenH)

  void chunk(std::size_t c) {
    Complex *AL = partial.data() + c * (lenL + lenH), *AH = AL + lenL;
    const std::uint64_t maskL = lenL - 1;
    const std::size_t tables = map->T.size();
    for (std::uint64_t j0 = c * chunkLen; j0 < (c + 1) * chunkLen; j0 += 256) {
      std::uint64_t base = map->c; // the bits above the lowest byte are fixed in this run
      for (std::size_t t = 1; t < tables; ++t)
        base ^= map->T[t][(j0 >> (8 * t)) & 255];
      const std::uint64_t end = std::min<std::uint64_t>(256, chunkLen);
      for (std::uint64_t v = 0; v < end; ++v) {
        const std::uint64_t i = base ^ map->T[0][v];
        const Complex a = lambda[j0 + v];
        const std::uint64_t l = i & maskL, h = i >> nl;
        // cmul, not std::complex's operator*: that one checks for NaN and branches to a
        // library call (measured: the pass ~28 % faster, perf samples at 20 qubits).
        AL[l] += cmul(a, wH[h]);
        AH[h] += cmul(a, wL[l]);
      }
    }
  }
};

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
        Mat2 a = mul(pd, mul(ud, mul(d, before)));
        // Anti-Hermitian up to rounding; made exactly so for the reduced form of M.
        const Mat2 ad = dagger(a);
        for (std::size_t e = 0; e < 4; ++e)
          a[e] = 0.5 * (a[e] - ad[e]);
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

void segmentDerivatives(const SegmentPlan &plan, const Checkpoint &start,
                        const std::vector<StateVector> &lambdas, double *out, std::size_t P) {
  if (plan.terms.empty())
    return;
  const std::vector<Reduced> red =
      start.basis
          ? basisReduced(start.index, start.phase, lambdas.size(), plan.bits,
                         [&](std::size_t k, std::uint64_t i) { return lambdas[k].data()[i]; })
          : crossReduced(start.state, lambdas, plan.bits);
  derivativesFrom(plan, red, lambdas.size(), out, P);
}

bool permutationGap(const Tape &tape, const std::vector<char> &done, std::size_t lo,
                    std::size_t hi) {
  for (std::size_t e = lo; e < hi; ++e) {
    if (done[e])
      continue;
    const TapeEntry &t = tape.entries[e];
    if (t.numParams || !t.ctrls.wires.empty())
      return false;
    const Op &op = t.op;
    const bool x = op.kind == Op::PauliX && op.targets.size() == 1 && op.builtinCtrls.size() <= 1;
    const bool swap = op.kind == Op::Swap && op.targets.size() == 2 && op.builtinCtrls.empty();
    if (!x && !swap && op.kind != Op::None)
      return false;
  }
  return true;
}

void segmentDerivativesThroughGap(const Tape &tape, const SegmentPlan &plan,
                                  const Checkpoint &start, std::size_t hi,
                                  const std::vector<char> &done,
                                  const std::vector<StateVector> &lambdas, double *out,
                                  std::size_t P) {
  if (plan.terms.empty())
    return;
  const unsigned n = static_cast<unsigned>(start.state.numQubits());
  const AffineMap map = inverseGapMap(tape, done, start.end, hi, n);
  // Vd_p for every bit p (the identity where the segment has no gate).
  std::vector<Mat2> vd(n, kIdentity);
  for (const PendingGate &g : plan.undo)
    std::copy(g.op.m.begin(), g.op.m.end(), vd[n - 1 - g.op.targets[0]].begin());
  const unsigned nl = n / 2, nh = n - nl;
  const std::size_t lenL = std::size_t{1} << nl, lenH = std::size_t{1} << nh;
  const std::uint64_t index = start.index;
  auto bitOfIndex = [&](unsigned p) { return static_cast<unsigned>(index >> p & 1); };
  // Products over the bits [from, from + count) of Vd_p[k_p][x_p] for x = 0 .. 2^count - 1; with
  // flip < count, that bit's factor uses the other row (k with bit `flip` flipped).
  auto products = [&](unsigned from, unsigned count, unsigned flip) {
    std::vector<Complex> w(std::size_t{1} << count);
    for (std::size_t x = 0; x < w.size(); ++x) {
      Complex v{1.0, 0.0};
      for (unsigned b = 0; b < count; ++b) {
        const unsigned p = from + b, row = bitOfIndex(p) ^ (b == flip ? 1 : 0);
        v *= vd[p][2 * row + (x >> b & 1)];
      }
      w[x] = v;
    }
    return w;
  };
  const std::vector<Complex> wL = products(0, nl, ~0u), wH = products(nl, nh, ~0u);
  // Fixed chunks (never the thread count), added in chunk order: the same result on any
  // number of threads.
  const std::size_t len = std::size_t{1} << n;
  const std::size_t numChunks = std::max<std::size_t>(1, std::min<std::size_t>(64, len / 256));
  std::vector<std::map<std::uint64_t, Complex>> at(lambdas.size());
  for (std::size_t k = 0; k < lambdas.size(); ++k) {
    GapPass pass;
    pass.map = &map;
    pass.lambda = lambdas[k].data();
    pass.wH = wH.data();
    pass.wL = wL.data();
    pass.nl = nl;
    pass.chunkLen = len / numChunks;
    pass.lenL = lenL;
    pass.lenH = lenH;
    pass.partial.assign(numChunks * (lenL + lenH), Complex{});
    par::runChunks(
        numChunks, par::useThreads(len),
        [](const void *ctx, std::size_t c) {
          const_cast<GapPass *>(static_cast<const GapPass *>(ctx))->chunk(c);
        },
        &pass);
    std::vector<Complex> AL(lenL), AH(lenH);
    for (std::size_t c = 0; c < numChunks; ++c) {
      const Complex *p = pass.partial.data() + c * (lenL + lenH);
      for (std::size_t x = 0; x < lenL; ++x)
        AL[x] += p[x];
      for (std::size_t x = 0; x < lenH; ++x)
        AH[x] += p[lenL + x];
    }
    auto contract = [](const std::vector<Complex> &a, const std::vector<Complex> &w) {
      Complex s{};
      for (std::size_t x = 0; x < a.size(); ++x)
        s += a[x] * w[x];
      return s;
    };
    at[k][index] = contract(AL, wL);
    for (unsigned p : plan.bits)
      at[k][index ^ (std::uint64_t{1} << p)] =
          p < nl ? contract(AL, products(0, nl, p)) : contract(AH, products(nl, nh, p - nl));
  }
  const std::vector<Reduced> red =
      basisReduced(index, start.phase, lambdas.size(), plan.bits,
                   [&](std::size_t k, std::uint64_t i) { return at[k].at(i); });
  derivativesFrom(plan, red, lambdas.size(), out, P);
}

} // namespace kvant::rt
