#include "GateKernels.hpp"

#include "Parallel.hpp"
#include "Simd.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace kvant::rt::kernels {

using namespace simd;

namespace {

std::vector<unsigned> fixedBits(std::vector<unsigned> targets, const Controls &c) {
  targets.insert(targets.end(), c.bits.begin(), c.bits.end());
  return targets;
}

par::GroupSpace space(const StateVector &sv, std::vector<unsigned> targets, const Controls &c) {
  return par::GroupSpace(static_cast<unsigned>(sv.numQubits()), fixedBits(std::move(targets), c),
                         c.values);
}

// The groups of a one-target gate: fixed bits = target + controls, on the stack (this runs
// once per gate, and a heap allocation there costs as much as a gate on a small register).
par::GroupSpace space1(const StateVector &sv, unsigned bit, const Controls &c) {
  unsigned fixed[64];
  fixed[0] = bit;
  std::copy(c.bits.begin(), c.bits.end(), fixed + 1);
  return par::GroupSpace(static_cast<unsigned>(sv.numQubits()), fixed, 1 + c.bits.size(), c.values);
}

// Offsets of the 2^k members of a gate's amplitude group relative to its base index, in
// matrix-index order (bits[0] most significant).
std::vector<std::uint64_t> groupOffsets(const std::vector<unsigned> &bits) {
  const std::size_t k = bits.size();
  std::vector<std::uint64_t> off(std::size_t{1} << k, 0);
  for (std::size_t j = 0; j < off.size(); ++j)
    for (std::size_t t = 0; t < k; ++t)
      if (j & (std::size_t{1} << (k - 1 - t)))
        off[j] |= std::uint64_t{1} << bits[t];
  return off;
}

inline double *re(Complex *d, std::uint64_t i) { return reinterpret_cast<double *>(d + i); }

// A one-target operation in the three shapes the pair loop below hands it:
//   pair(x, y)      one amplitude pair, one complex per v2d;
//   two(x, y)       two neighbouring pairs, x = (d[i], d[i+1]), y = (d[i+s], d[i+s+1]);
//   adjacent(v)     target bit 0: the pair itself is one v4d (d[i], d[i+1]).
// Each kind keeps only the arithmetic its matrix needs: a memory-bound loop on a cached state
// is limited by these few operations.
struct GeneralOp {
  CMul c0, c1, c2, c3;
  CMul4 e0, e1, e2, e3, a, b;
  explicit GeneralOp(const Complex *m)
      : c0(m[0]), c1(m[1]), c2(m[2]), c3(m[3]), e0(m[0]), e1(m[1]), e2(m[2]), e3(m[3]),
        a(m[0], m[3]), b(m[1], m[2]) {}
  KVANT_SIMD_INLINE void pair(v2d &x, v2d &y) const {
    const v2d nx = c0(x) + c1(y);
    y = c2(x) + c3(y);
    x = nx;
  }
  KVANT_SIMD_INLINE void two(v4d &x, v4d &y) const {
    const v4d nx = e0(x) + e1(y);
    y = e2(x) + e3(y);
    x = nx;
  }
  KVANT_SIMD_INLINE v4d adjacent(v4d v) const { return a(v) + b(swapHalves(v)); }
};

// Real matrices (Hadamard, RY, ...): half the multiplications.
struct RealOp {
  double m0, m1, m2, m3;
  explicit RealOp(const Complex *m)
      : m0(m[0].real()), m1(m[1].real()), m2(m[2].real()), m3(m[3].real()) {}
  KVANT_SIMD_INLINE void pair(v2d &x, v2d &y) const {
    const v2d nx = m0 * x + m1 * y;
    y = m2 * x + m3 * y;
    x = nx;
  }
  KVANT_SIMD_INLINE void two(v4d &x, v4d &y) const {
    const v4d nx = m0 * x + m1 * y;
    y = m2 * x + m3 * y;
    x = nx;
  }
  KVANT_SIMD_INLINE v4d adjacent(v4d v) const {
    return v4d{m0, m0, m3, m3} * v + v4d{m1, m1, m2, m2} * swapHalves(v);
  }
};

// [[c, i u], [i v, c]] with real c, u, v: RX and its adjoint. (i u) y = u * (i y).
struct RxOp {
  double c, u, v;
  explicit RxOp(const Complex *m) : c(m[0].real()), u(m[1].imag()), v(m[2].imag()) {}
  KVANT_SIMD_INLINE void pair(v2d &x, v2d &y) const {
    const v2d nx = c * x + v2d{-u, u} * swapReIm(y);
    y = c * y + v2d{-v, v} * swapReIm(x);
    x = nx;
  }
  KVANT_SIMD_INLINE void two(v4d &x, v4d &y) const {
    const v4d nx = c * x + v4d{-u, u, -u, u} * swapReIm(y);
    y = c * y + v4d{-v, v, -v, v} * swapReIm(x);
    x = nx;
  }
  KVANT_SIMD_INLINE v4d adjacent(v4d a) const {
    return c * a + v4d{-u, u, -v, v} * swapReIm(swapHalves(a));
  }
};

struct DiagOp {
  CMul c0, c1;
  CMul4 e0, e1, a;
  DiagOp(Complex d0, Complex d1) : c0(d0), c1(d1), e0(d0), e1(d1), a(d0, d1) {}
  KVANT_SIMD_INLINE void pair(v2d &x, v2d &y) const {
    x = c0(x);
    y = c1(y);
  }
  KVANT_SIMD_INLINE void two(v4d &x, v4d &y) const {
    x = e0(x);
    y = e1(y);
  }
  KVANT_SIMD_INLINE v4d adjacent(v4d v) const { return a(v); }
};

struct IdentityOp {
  KVANT_SIMD_INLINE void pair(v2d &, v2d &) const {}
  KVANT_SIMD_INLINE void two(v4d &, v4d &) const {}
  KVANT_SIMD_INLINE v4d adjacent(v4d v) const { return v; }
};

struct SwapOp {
  KVANT_SIMD_INLINE void pair(v2d &x, v2d &y) const { std::swap(x, y); }
  KVANT_SIMD_INLINE void two(v4d &x, v4d &y) const { std::swap(x, y); }
  KVANT_SIMD_INLINE v4d adjacent(v4d v) const { return swapHalves(v); }
};

// op on every amplitude pair (i, i + 2^bit) of the groups g (fixed bits: target + controls),
// in each of the NS states d[0..NS) within the same loop iteration -- the adjoint sweep steps
// phi and lambda back together, in one pass over memory.
template <std::size_t NS, class Op>
void forPairs(const par::GroupSpace &g, Complex *const *states, unsigned bit, const Op &op) {
  struct Ptrs {
    Complex *p[NS];
  } d;
  std::copy(states, states + NS, d.p);
  const std::uint64_t s = std::uint64_t{1} << bit;
  if (g.numFixed == 1) {
    // No controls: flat loops over the pair index, no group enumeration. Low target bits
    // (where the group runs are 1 or 2 long) are as cheap as high ones this way.
    const std::uint64_t amps = g.amplitudes();
    if (bit == 0) {
      par::launch(
          [=](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
            for (std::uint64_t u = lo; u < hi; ++u)
              for (std::size_t k = 0; k < NS; ++k)
                st2(d.p[k] + 2 * u, op.adjacent(ld2(d.p[k] + 2 * u)));
          },
          amps / 2, amps);
      return;
    }
    const std::uint64_t low = s - 1;
    if (bit >= 2) {
      // Two v4d per half in each iteration (pairs j .. j + 3 share the block): the index
      // arithmetic, as many instructions as the rotation itself, is paid once per 8 amplitudes
      // (measured on a cached register: ~15% less time per gate). Same arithmetic per
      // amplitude.
      par::launch(
          [=](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
            for (std::uint64_t u = lo; u < hi; ++u) {
              const std::uint64_t j = 4 * u;
              const std::uint64_t i = ((j & ~low) << 1) | (j & low);
              for (std::size_t k = 0; k < NS; ++k) {
                Complex *p = d.p[k] + i;
                v4d x0 = ld2(p), x1 = ld2(p + 2), y0 = ld2(p + s), y1 = ld2(p + s + 2);
                op.two(x0, y0);
                op.two(x1, y1);
                st2(p, x0);
                st2(p + 2, x1);
                st2(p + s, y0);
                st2(p + s + 2, y1);
              }
            }
          },
          amps / 8, amps);
      return;
    }
    par::launch(
        [=](std::uint64_t lo, std::uint64_t hi) KVANT_INLINE {
          for (std::uint64_t u = lo; u < hi; ++u) {
            const std::uint64_t j = 2 * u; // pair index; j, j + 1 share the block (bit >= 1)
            const std::uint64_t i = ((j & ~low) << 1) | (j & low);
            for (std::size_t k = 0; k < NS; ++k) {
              v4d x = ld2(d.p[k] + i), y = ld2(d.p[k] + i + s);
              op.two(x, y);
              st2(d.p[k] + i, x);
              st2(d.p[k] + i + s, y);
            }
          }
        },
        amps / 4, amps);
    return;
  }
  if (bit == 0) {
    par::forEachGroup(g, [=](std::uint64_t i) KVANT_INLINE {
      for (std::size_t k = 0; k < NS; ++k)
        st2(d.p[k] + i, op.adjacent(ld2(d.p[k] + i)));
    });
  } else if (g.run >= 2) {
    par::forEachGroupPairs(
        g, [](std::uint64_t) {},
        [=](std::uint64_t i) KVANT_INLINE {
          for (std::size_t k = 0; k < NS; ++k) {
            v4d x = ld2(d.p[k] + i), y = ld2(d.p[k] + i + s);
            op.two(x, y);
            st2(d.p[k] + i, x);
            st2(d.p[k] + i + s, y);
          }
        });
  } else {
    par::forEachGroup(g, [=](std::uint64_t i) KVANT_INLINE {
      for (std::size_t k = 0; k < NS; ++k) {
        v2d x = ld(d.p[k] + i), y = ld(d.p[k] + i + s);
        op.pair(x, y);
        st(d.p[k] + i, x);
        st(d.p[k] + i + s, y);
      }
    });
  }
}

template <class Op>
void onePairs(StateVector &sv, StateVector *also, unsigned bit, const Controls &c, const Op &op) {
  const par::GroupSpace g = space1(sv, bit, c);
  if (also) {
    Complex *const d[2] = {sv.data(), also->data()};
    forPairs<2>(g, d, bit, op);
  } else {
    Complex *const d[1] = {sv.data()};
    forPairs<1>(g, d, bit, op);
  }
}

// Multiplies the amplitudes of the groups g (fixed bits: controls and the target, at value 1)
// by m: phase gates touch only the |1> half.
template <std::size_t NS>
void scaleGroups(const par::GroupSpace &g, Complex *const *states, Complex m) {
  struct Ptrs {
    Complex *p[NS];
  } d;
  std::copy(states, states + NS, d.p);
  const CMul m1(m);
  const CMul4 n1(m);
  par::forEachGroupPairs(
      g,
      [=](std::uint64_t i) KVANT_INLINE {
        for (std::size_t k = 0; k < NS; ++k)
          st(d.p[k] + i, m1(ld(d.p[k] + i)));
      },
      [=](std::uint64_t i) KVANT_INLINE {
        for (std::size_t k = 0; k < NS; ++k)
          st2(d.p[k] + i, n1(ld2(d.p[k] + i)));
      });
}

// k with a zero bit inserted just above the bits of `low` (a mask 2^p - 1): group index ->
// amplitude index, one fixed bit at a time, lowest first.
KVANT_INLINE inline std::uint64_t insertZero(std::uint64_t k, std::uint64_t low) {
  return ((k & ~low) << 1) | (k & low);
}

// The brick of applyBrick2 on bits hi > lo: oh on hi, ol on lo, then X on lo controlled by hi
// (CX = 1), X on hi controlled by lo (CX = 2) or nothing (CX = 0); with Post the X first and
// then the one-qubit gates. The four amplitudes of a
// group (a00, a01, a10, a11; first index bit hi) are loaded once, every gate of the brick is
// applied in registers, and the CNOT is a renaming of registers. Inside a forward block (an L2
// resident state) a one-qubit gate costs about one L2 round trip per amplitude, close to its
// arithmetic, so three passes become one and the arithmetic stays the same.
//
// Sel: only the half of the groups whose bit `sel` (not 0, hi or lo) equals selOne; two calls,
// the second with PreX, apply a CNOT from sel onto hi or lo before the brick (applyBrick2).
// PreX: X on hi (1) or lo (2) before everything else (a register renaming, the selector's CNOT).
template <int CX, bool Post, bool Sel, int PreX, class OpH, class OpL>
void brickPairs(Complex *d, std::uint64_t amps, unsigned hi, unsigned lo, const OpH &oh,
                const OpL &ol, unsigned sel, bool selOne) {
  const std::uint64_t sh = std::uint64_t{1} << hi, sl = std::uint64_t{1} << lo;
  // With Sel, bit sel is inserted into the group index as well (at its place among the
  // others) and set to selOne.
  const std::uint64_t ss = Sel ? std::uint64_t{1} << sel : 0, selValue = Sel && selOne ? ss : 0;
  const std::uint64_t groups = Sel ? amps / 2 : amps;
  if (lo == 0) {
    // (a00, a01) is one v4d at i, (a10, a11) one at i + sh; i has bits 0 and hi clear.
    const std::uint64_t low = (sh >> 1) - 1; // bits below hi in the index without bit 0
    // The selector's place in the index without bit 0, below or above hi's.
    const std::uint64_t lowS = (ss >> 1) - 1;
    const bool selBelow = sel < hi;
    par::launch(
        [=](std::uint64_t b, std::uint64_t e) KVANT_INLINE {
          for (std::uint64_t j = b; j < e; ++j) {
            std::uint64_t k = j;
            if (Sel && selBelow)
              k = insertZero(k, lowS);
            k = insertZero(k, low);
            if (Sel && !selBelow)
              k = insertZero(k, lowS);
            const std::uint64_t i = (k << 1) | selValue;
            v4d x = ld2(d + i), y = ld2(d + i + sh);
            if (PreX == 1) {
              std::swap(x, y);
            } else if (PreX == 2) {
              x = swapHalves(x);
              y = swapHalves(y);
            }
            auto ones = [&] {
              oh.two(x, y);
              x = ol.adjacent(x);
              y = ol.adjacent(y);
            };
            if (!Post)
              ones();
            if (CX == 1) {
              y = swapHalves(y);  // a10 <-> a11
            } else if (CX == 2) { // a01 <-> a11
              const v4d nx = __builtin_shuffle(x, y, v4i{0, 1, 6, 7});
              y = __builtin_shuffle(x, y, v4i{4, 5, 2, 3});
              x = nx;
            }
            if (Post)
              ones();
            st2(d + i, x);
            st2(d + i + sh, y);
          }
        },
        groups / 4, groups);
    return;
  }
  // lo >= 1: groups i and i + 1 side by side, one v4d per group member.
  const std::uint64_t lowL = sl - 1, lowH = sh - 1, lowS = ss - 1;
  const unsigned selRank = Sel ? (sel > lo) + (sel > hi) : 3; // inserted after this many
  par::launch(
      [=](std::uint64_t b, std::uint64_t e) KVANT_INLINE {
        for (std::uint64_t u = b; u < e; ++u) {
          std::uint64_t i = 2 * u;
          if (Sel && selRank == 0)
            i = insertZero(i, lowS);
          i = insertZero(i, lowL);
          if (Sel && selRank == 1)
            i = insertZero(i, lowS);
          i = insertZero(i, lowH);
          if (Sel && selRank == 2)
            i = insertZero(i, lowS);
          i |= selValue;
          Complex *p = d + i;
          v4d x00 = ld2(p), x01 = ld2(p + sl), x10 = ld2(p + sh), x11 = ld2(p + sh + sl);
          if (PreX == 1) {
            std::swap(x00, x10);
            std::swap(x01, x11);
          } else if (PreX == 2) {
            std::swap(x00, x01);
            std::swap(x10, x11);
          }
          auto ones = [&] {
            oh.two(x00, x10);
            oh.two(x01, x11);
            ol.two(x00, x01);
            ol.two(x10, x11);
          };
          if (!Post)
            ones();
          if (CX == 1)
            std::swap(x10, x11);
          else if (CX == 2)
            std::swap(x01, x11);
          if (Post)
            ones();
          st2(p, x00);
          st2(p + sl, x01);
          st2(p + sh, x10);
          st2(p + sh + sl, x11);
        }
      },
      groups / 8, groups);
}

// f(op) with the cheapest op kind that represents the 2x2 matrix m (nullptr: identity). The
// kinds are the ones the one-qubit kernels use; each brick is compiled for every pair of them.
template <class F> void withOneQubitOp(const Complex *m, const F &f) {
  if (!m)
    return f(IdentityOp{});
  if (m[1] == Complex{} && m[2] == Complex{})
    return f(DiagOp(m[0], m[3]));
  if (m[0].imag() == 0 && m[1].imag() == 0 && m[2].imag() == 0 && m[3].imag() == 0)
    return f(RealOp(m));
  if (m[0].imag() == 0 && m[3].imag() == 0 && m[0].real() == m[3].real() && m[1].real() == 0 &&
      m[2].real() == 0)
    return f(RxOp(m));
  f(GeneralOp(m));
}

} // namespace

void applyMatrix1(StateVector &sv, unsigned bit, const Complex *m, const Controls &c,
                  StateVector *also) {
  if (m[0].imag() == 0 && m[1].imag() == 0 && m[2].imag() == 0 && m[3].imag() == 0)
    return onePairs(sv, also, bit, c, RealOp(m));
  if (m[0].imag() == 0 && m[3].imag() == 0 && m[0].real() == m[3].real() && m[1].real() == 0 &&
      m[2].real() == 0)
    return onePairs(sv, also, bit, c, RxOp(m));
  onePairs(sv, also, bit, c, GeneralOp(m));
}

void applyDiagonal1(StateVector &sv, unsigned bit, Complex d0, Complex d1, const Controls &c,
                    StateVector *also) {
  if (d0 == Complex{1.0, 0.0}) {
    // Phase-type gates (PhaseShift, S, T, Z, CZ): only the |1> half is read and written, and
    // as a control-like fixed bit it keeps the inner loop contiguous.
    unsigned fixed[64];
    fixed[0] = bit;
    std::copy(c.bits.begin(), c.bits.end(), fixed + 1);
    const par::GroupSpace g(static_cast<unsigned>(sv.numQubits()), fixed, 1 + c.bits.size(),
                            c.values | (std::uint64_t{1} << bit));
    if (also) {
      Complex *const d[2] = {sv.data(), also->data()};
      return scaleGroups<2>(g, d, d1);
    }
    Complex *const d[1] = {sv.data()};
    return scaleGroups<1>(g, d, d1);
  }
  onePairs(sv, also, bit, c, DiagOp(d0, d1));
}

void applyPauliX(StateVector &sv, unsigned bit, const Controls &c, StateVector *also) {
  onePairs(sv, also, bit, c, SwapOp{});
}

void applyBrick2(StateVector &sv, unsigned a, const Complex *ma, unsigned b, const Complex *mb,
                 int cx, bool post, unsigned sel, unsigned selX) {
  const bool aHigh = a > b;
  const unsigned hi = aHigh ? a : b, lo = aHigh ? b : a;
  const Complex *mh = aHigh ? ma : mb, *ml = aHigh ? mb : ma;
  // Control a, target b: with a the high bit X acts on lo (CX = 1), else on hi (CX = 2).
  const int kind = cx == 0 ? 0 : aHigh ? 1 : 2;
  const bool half = sel != kNoSelector;
  if (half && (post || sel == 0 || sel == a || sel == b || sel >= sv.numQubits() ||
               (selX != a && selX != b)))
    throw Error("internal: a brick's selector must be another bit than 0 and its own, before "
                "its gates, with X on one of its bits");
  const bool xHigh = selX == hi;
  Complex *d = sv.data();
  const std::uint64_t amps = sv.size();
  withOneQubitOp(mh, [&](const auto &oh) {
    withOneQubitOp(ml, [&](const auto &ol) {
      if (half) { // where sel is 0 the brick alone, where it is 1 X on selX first
        auto both = [&](auto kindC) {
          constexpr int K = decltype(kindC)::value;
          brickPairs<K, false, true, 0>(d, amps, hi, lo, oh, ol, sel, false);
          if (xHigh)
            brickPairs<K, false, true, 1>(d, amps, hi, lo, oh, ol, sel, true);
          else
            brickPairs<K, false, true, 2>(d, amps, hi, lo, oh, ol, sel, true);
        };
        if (kind == 1)
          both(std::integral_constant<int, 1>{});
        else if (kind == 2)
          both(std::integral_constant<int, 2>{});
        else
          both(std::integral_constant<int, 0>{});
      } else if (kind == 1 && post) {
        brickPairs<1, true, false, 0>(d, amps, hi, lo, oh, ol, 0, false);
      } else if (kind == 1) {
        brickPairs<1, false, false, 0>(d, amps, hi, lo, oh, ol, 0, false);
      } else if (kind == 2 && post) {
        brickPairs<2, true, false, 0>(d, amps, hi, lo, oh, ol, 0, false);
      } else if (kind == 2) {
        brickPairs<2, false, false, 0>(d, amps, hi, lo, oh, ol, 0, false);
      } else {
        brickPairs<0, false, false, 0>(d, amps, hi, lo, oh, ol, 0, false);
      }
    });
  });
}

void applySwap(StateVector &sv, unsigned a, unsigned b, const Controls &c, StateVector *also) {
  const std::uint64_t sa = std::uint64_t{1} << a, sb = std::uint64_t{1} << b;
  const par::GroupSpace g = space(sv, {a, b}, c);
  Complex *const d0 = sv.data();
  Complex *const d1 = also ? also->data() : nullptr;
  par::forEachGroupPairs(
      g,
      [=](std::uint64_t i) KVANT_INLINE {
        for (Complex *d : {d0, d1})
          if (d) {
            const v2d x = ld(d + i + sa), y = ld(d + i + sb);
            st(d + i + sa, y);
            st(d + i + sb, x);
          }
      },
      [=](std::uint64_t i) KVANT_INLINE {
        for (Complex *d : {d0, d1})
          if (d) {
            const v4d x = ld2(d + i + sa), y = ld2(d + i + sb);
            st2(d + i + sa, y);
            st2(d + i + sb, x);
          }
      });
}

void applyMatrix2(StateVector &sv, unsigned hi, unsigned lo, const Complex *m, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t sh = std::uint64_t{1} << hi, sl = std::uint64_t{1} << lo;
  struct M4 {
    double r[16], i[16];
  } mm;
  for (int k = 0; k < 16; ++k) {
    mm.r[k] = m[k].real();
    mm.i[k] = m[k].imag();
  }
  par::forEachGroup(space(sv, {hi, lo}, c), [=](std::uint64_t b) {
    double *p[4] = {re(d, b), re(d, b + sl), re(d, b + sh), re(d, b + sh + sl)};
    double ar[4], ai[4];
    for (int k = 0; k < 4; ++k) {
      ar[k] = p[k][0];
      ai[k] = p[k][1];
    }
    for (int r = 0; r < 4; ++r) {
      double sr = 0.0, si = 0.0;
      for (int k = 0; k < 4; ++k) {
        sr += mm.r[4 * r + k] * ar[k] - mm.i[4 * r + k] * ai[k];
        si += mm.r[4 * r + k] * ai[k] + mm.i[4 * r + k] * ar[k];
      }
      p[r][0] = sr;
      p[r][1] = si;
    }
  });
}

void applyMatrixN(StateVector &sv, const std::vector<unsigned> &bits, const Complex *m,
                  const Controls &c) {
  Complex *d = sv.data();
  const std::vector<std::uint64_t> off = groupOffsets(bits);
  const std::size_t dim = off.size();
  const par::GroupSpace g = space(sv, bits, c);
  const std::uint64_t *o = off.data();
  // One scratch group per chunk, allocated outside the group loop.
  par::launch(
      [=, &g](std::uint64_t lo, std::uint64_t hi) {
        std::vector<Complex> in(dim);
        for (std::uint64_t k = lo; k < hi; ++k) {
          const std::uint64_t b = g.base(k);
          for (std::size_t j = 0; j < dim; ++j)
            in[j] = d[b | o[j]];
          for (std::size_t r = 0; r < dim; ++r) {
            const Complex *row = m + r * dim;
            Complex acc{0.0, 0.0};
            for (std::size_t j = 0; j < dim; ++j)
              acc += cmul(row[j], in[j]);
            d[b | o[r]] = acc;
          }
        }
      },
      g.count, g.amplitudes());
}

void applyTwoLevel(StateVector &sv, const std::vector<unsigned> &bits, std::uint64_t r0,
                   std::uint64_t r1, const Complex *m, const Controls &c) {
  Complex *d = sv.data();
  const std::vector<std::uint64_t> off = groupOffsets(bits);
  const std::uint64_t o0 = off.at(r0), o1 = off.at(r1);
  const Complex m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3];
  par::forEachGroup(space(sv, bits, c), [=](std::uint64_t b) {
    const Complex a0 = d[b | o0], a1 = d[b | o1];
    d[b | o0] = cmul(m0, a0) + cmul(m1, a1);
    d[b | o1] = cmul(m2, a0) + cmul(m3, a1);
  });
}

void applyParityPhase(StateVector &sv, std::uint64_t mask, Complex even, Complex odd,
                      const Controls &c) {
  Complex *d = sv.data();
  const double er = even.real(), ei = even.imag(), orr = odd.real(), oi = odd.imag();
  par::forEachGroup(space(sv, {}, c), [=](std::uint64_t i) {
    // Select by arithmetic rather than a table lookup or branch so the loop vectorises.
    const double odd1 = static_cast<double>(__builtin_popcountll(i & mask) & 1);
    const double pr = er + odd1 * (orr - er), pi = ei + odd1 * (oi - ei);
    double *p = re(d, i);
    const double ar = p[0], ai = p[1];
    p[0] = pr * ar - pi * ai;
    p[1] = pr * ai + pi * ar;
  });
}

void applyScalar(StateVector &sv, Complex s, const Controls &c) {
  Complex *d = sv.data();
  const double sr = s.real(), si = s.imag();
  par::forEachGroup(space(sv, {}, c), [=](std::uint64_t i) {
    double *p = re(d, i);
    const double ar = p[0], ai = p[1];
    p[0] = sr * ar - si * ai;
    p[1] = sr * ai + si * ar;
  });
}

Complex expvalMatrixN(const StateVector &sv, const std::vector<unsigned> &bits, const Complex *m) {
  const Complex *d = sv.data();
  const std::vector<std::uint64_t> off = groupOffsets(bits);
  const std::size_t dim = off.size();
  const par::GroupSpace g(static_cast<unsigned>(sv.numQubits()), bits, 0);
  const auto sum = par::reduceGroups<2>(g, [&](std::uint64_t b, double *acc) {
    for (std::size_t r = 0; r < dim; ++r) {
      const Complex *row = m + r * dim;
      Complex t{0.0, 0.0};
      for (std::size_t j = 0; j < dim; ++j)
        t += cmul(row[j], d[b | off[j]]);
      const Complex x = cmulConj(d[b | off[r]], t);
      acc[0] += x.real();
      acc[1] += x.imag();
    }
  });
  return {sum[0], sum[1]};
}

} // namespace kvant::rt::kernels
