#include "GateKernels.hpp"

#include "Parallel.hpp"

#include <algorithm>
#include <cstring>

namespace kvant::rt::kernels {
namespace {

std::vector<unsigned> fixedBits(std::vector<unsigned> targets, const Controls &c) {
  targets.insert(targets.end(), c.bits.begin(), c.bits.end());
  return targets;
}

par::GroupSpace space(const StateVector &sv, std::vector<unsigned> targets, const Controls &c) {
  return par::GroupSpace(static_cast<unsigned>(sv.numQubits()), fixedBits(std::move(targets), c),
                         c.values);
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

// The loops below work on the interleaved doubles directly, with every matrix entry in a
// local scalar: through std::complex and a matrix pointer that may alias the state, gcc would
// reload the matrix after each store and not vectorise.
inline double *re(Complex *d, std::uint64_t i) { return reinterpret_cast<double *>(d + i); }

// One complex number per 128-bit vector (GCC/Clang vector extension; SSE2 on any x86-64). gcc
// does not vectorise the interleaved-complex loops by itself, so the hot kernels say it.
typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));
[[gnu::always_inline]] inline v2d ld(const Complex *p) {
  v2d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void st(Complex *p, v2d v) { std::memcpy(static_cast<void *>(p), &v, sizeof v); }
[[gnu::always_inline]] inline v2d swapReIm(v2d a) { return __builtin_shuffle(a, v2i{1, 0}); }
inline v2d splat(double x) { return v2d{x, x}; }
// Two complex numbers per 256-bit vector (lowered to two SSE2 registers on baseline x86-64):
// halves the loop overhead of the one-complex form where runs allow it.
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));
[[gnu::always_inline]] inline v4d ld2(const Complex *p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void st2(Complex *p, v4d v) { std::memcpy(static_cast<void *>(p), &v, sizeof v); }
[[gnu::always_inline]] inline v4d swapReIm(v4d a) { return __builtin_shuffle(a, v4i{1, 0, 3, 2}); }
inline v4d splat4(double x) { return v4d{x, x, x, x}; }
struct CMul4 {
  v4d r, i;
  explicit CMul4(Complex m)
      : r(splat4(m.real())), i(v4d{-m.imag(), m.imag(), -m.imag(), m.imag()}) {}
  [[gnu::always_inline]] v4d operator()(v4d a) const { return r * a + i * swapReIm(a); }
};


// The hot one-qubit kernels are compiled twice, for AVX2+FMA (x86-64-v3) and for the x86-64
// baseline, and the CPU picks at load time (gcc function multiversioning, an ifunc): the
// shipped library stays portable. Measured here at 12 qubits: 1.4 us vs 3.2 us per RX.
// The loop drivers they call must be inlined into them to profit (hence always_inline below).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KVANT_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define KVANT_MULTIVERSION
#endif

// m * a = re(m) a + im(m) (i a), with i a = (-a.im, a.re) = {-1, 1} * swap(a).
struct CMul {
  v2d r, i;
  explicit CMul(Complex m) : r(splat(m.real())), i(v2d{-m.imag(), m.imag()}) {}
  [[gnu::always_inline]] v2d operator()(v2d a) const { return r * a + i * swapReIm(a); }
};

} // namespace

KVANT_MULTIVERSION
void applyMatrix1(StateVector &sv, unsigned bit, const Complex *m, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t s = std::uint64_t{1} << bit;
  const par::GroupSpace g = space(sv, {bit}, c);
  const double m0r = m[0].real(), m0i = m[0].imag(), m1r = m[1].real(), m1i = m[1].imag();
  const double m2r = m[2].real(), m2i = m[2].imag(), m3r = m[3].real(), m3i = m[3].imag();

  if (m0i == 0 && m1i == 0 && m2i == 0 && m3i == 0) {
    // Real matrix (Hadamard, RY, ...): half the multiplications of the complex case.
    const v2d a0 = splat(m0r), a1 = splat(m1r), a2 = splat(m2r), a3 = splat(m3r);
    const v4d b0 = splat4(m0r), b1 = splat4(m1r), b2 = splat4(m2r), b3 = splat4(m3r);
    par::forEachGroupPairs(
        g,
        [=](std::uint64_t i) {
          const v2d x = ld(d + i), y = ld(d + i + s);
          st(d + i, a0 * x + a1 * y);
          st(d + i + s, a2 * x + a3 * y);
        },
        [=](std::uint64_t i) {
          const v4d x = ld2(d + i), y = ld2(d + i + s);
          st2(d + i, b0 * x + b1 * y);
          st2(d + i + s, b2 * x + b3 * y);
        });
    return;
  }
  if (m0i == 0 && m3i == 0 && m0r == m3r && m1r == 0 && m2r == 0) {
    // [[c, i u], [i v, c]] (RX and its adjoint).
    const v2d cc = splat(m0r), u = v2d{-m1i, m1i}, v = v2d{-m2i, m2i};
    const v4d c4 = splat4(m0r), u4 = v4d{-m1i, m1i, -m1i, m1i}, v4 = v4d{-m2i, m2i, -m2i, m2i};
    par::forEachGroupPairs(
        g,
        [=](std::uint64_t i) {
          const v2d x = ld(d + i), y = ld(d + i + s);
          st(d + i, cc * x + u * swapReIm(y));
          st(d + i + s, cc * y + v * swapReIm(x));
        },
        [=](std::uint64_t i) {
          const v4d x = ld2(d + i), y = ld2(d + i + s);
          st2(d + i, c4 * x + u4 * swapReIm(y));
          st2(d + i + s, c4 * y + v4 * swapReIm(x));
        });
    return;
  }
  const CMul c0(m[0]), c1(m[1]), c2(m[2]), c3(m[3]);
  const CMul4 e0(m[0]), e1(m[1]), e2(m[2]), e3(m[3]);
  par::forEachGroupPairs(
      g,
      [=](std::uint64_t i) {
        const v2d x = ld(d + i), y = ld(d + i + s);
        st(d + i, c0(x) + c1(y));
        st(d + i + s, c2(x) + c3(y));
      },
      [=](std::uint64_t i) {
        const v4d x = ld2(d + i), y = ld2(d + i + s);
        st2(d + i, e0(x) + e1(y));
        st2(d + i + s, e2(x) + e3(y));
      });
}

KVANT_MULTIVERSION
void applyDiagonal1(StateVector &sv, unsigned bit, Complex d0, Complex d1, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t s = std::uint64_t{1} << bit;
  if (d0 == Complex{1.0, 0.0}) {
    // Phase-type gates (PhaseShift, S, T, Z, CZ): only the |1> half is read and written, and
    // as a control-like fixed bit it keeps the inner loop contiguous.
    Controls withTarget = c;
    withTarget.bits.push_back(bit);
    withTarget.values |= s;
    const par::GroupSpace g = space(sv, {}, withTarget);
    const CMul m1(d1);
    const CMul4 n1(d1);
    par::forEachGroupPairs(
        g, [=](std::uint64_t i) { st(d + i, m1(ld(d + i))); },
        [=](std::uint64_t i) { st2(d + i, n1(ld2(d + i))); });
    return;
  }
  const par::GroupSpace g = space(sv, {bit}, c);
  const CMul m0(d0), m1(d1);
  const CMul4 n0(d0), n1(d1);
  par::forEachGroupPairs(
      g,
      [=](std::uint64_t i) {
        st(d + i, m0(ld(d + i)));
        st(d + i + s, m1(ld(d + i + s)));
      },
      [=](std::uint64_t i) {
        st2(d + i, n0(ld2(d + i)));
        st2(d + i + s, n1(ld2(d + i + s)));
      });
}

void applyPauliX(StateVector &sv, unsigned bit, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t s = std::uint64_t{1} << bit;
  par::forEachGroup(space(sv, {bit}, c), [=](std::uint64_t i) {
    const Complex a = d[i];
    d[i] = d[i + s];
    d[i + s] = a;
  });
}

void applyMatrix2(StateVector &sv, unsigned hi, unsigned lo, const Complex *m,
                  const Controls &c) {
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

void applySwap(StateVector &sv, unsigned a, unsigned b, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t sa = std::uint64_t{1} << a, sb = std::uint64_t{1} << b;
  par::forEachGroup(space(sv, {a, b}, c), [=](std::uint64_t i) {
    const Complex x = d[i + sa];
    d[i + sa] = d[i + sb];
    d[i + sb] = x;
  });
}

void applyMatrixN(StateVector &sv, const std::vector<unsigned> &bits, const Complex *m,
                  const Controls &c) {
  Complex *d = sv.data();
  const std::vector<std::uint64_t> off = groupOffsets(bits);
  const std::size_t dim = off.size();
  const par::GroupSpace g = space(sv, bits, c);
  const std::int64_t count = static_cast<std::int64_t>(g.count);
  // One scratch group per thread, allocated outside the loop.
#pragma omp parallel if (par::useThreads(sv.size()) && count > 1)
  {
    std::vector<Complex> in(dim);
#pragma omp for schedule(static)
    for (std::int64_t k = 0; k < count; ++k) {
      const std::uint64_t b = g.base(static_cast<std::uint64_t>(k));
      for (std::size_t j = 0; j < dim; ++j)
        in[j] = d[b | off[j]];
      for (std::size_t r = 0; r < dim; ++r) {
        const Complex *row = m + r * dim;
        Complex acc{0.0, 0.0};
        for (std::size_t j = 0; j < dim; ++j)
          acc += cmul(row[j], in[j]);
        d[b | off[r]] = acc;
      }
    }
  }
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
