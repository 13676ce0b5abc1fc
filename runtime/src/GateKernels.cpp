#include "GateKernels.hpp"

#include "Parallel.hpp"

#include <algorithm>

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

} // namespace

void applyMatrix1(StateVector &sv, unsigned bit, const Complex *m, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t s = std::uint64_t{1} << bit;
  const par::GroupSpace g = space(sv, {bit}, c);
  const double m0r = m[0].real(), m0i = m[0].imag(), m1r = m[1].real(), m1i = m[1].imag();
  const double m2r = m[2].real(), m2i = m[2].imag(), m3r = m[3].real(), m3i = m[3].imag();

  if (m0i == 0 && m1i == 0 && m2i == 0 && m3i == 0) {
    // Real matrix (Hadamard, RY, ...): half the multiplications of the complex case.
    par::forEachGroup(g, [=](std::uint64_t i) {
      double *p = re(d, i), *q = re(d, i + s);
      const double ar = p[0], ai = p[1], br = q[0], bi = q[1];
      p[0] = m0r * ar + m1r * br;
      p[1] = m0r * ai + m1r * bi;
      q[0] = m2r * ar + m3r * br;
      q[1] = m2r * ai + m3r * bi;
    });
    return;
  }
  if (m0i == 0 && m3i == 0 && m0r == m3r && m1r == 0 && m2r == 0) {
    // [[c, i u], [i v, c]] (RX and its adjoint): c a + i u b = (c ar - u bi, c ai + u br).
    const double cc = m0r, u = m1i, v = m2i;
    par::forEachGroup(g, [=](std::uint64_t i) {
      double *p = re(d, i), *q = re(d, i + s);
      const double ar = p[0], ai = p[1], br = q[0], bi = q[1];
      p[0] = cc * ar - u * bi;
      p[1] = cc * ai + u * br;
      q[0] = cc * br - v * ai;
      q[1] = cc * bi + v * ar;
    });
    return;
  }
  par::forEachGroup(g, [=](std::uint64_t i) {
    double *p = re(d, i), *q = re(d, i + s);
    const double ar = p[0], ai = p[1], br = q[0], bi = q[1];
    p[0] = m0r * ar - m0i * ai + m1r * br - m1i * bi;
    p[1] = m0r * ai + m0i * ar + m1r * bi + m1i * br;
    q[0] = m2r * ar - m2i * ai + m3r * br - m3i * bi;
    q[1] = m2r * ai + m2i * ar + m3r * bi + m3i * br;
  });
}

void applyDiagonal1(StateVector &sv, unsigned bit, Complex d0, Complex d1, const Controls &c) {
  Complex *d = sv.data();
  const std::uint64_t s = std::uint64_t{1} << bit;
  const double d0r = d0.real(), d0i = d0.imag(), d1r = d1.real(), d1i = d1.imag();
  if (d0 == Complex{1.0, 0.0}) {
    // Phase-type gates (PhaseShift, S, T, Z, CZ): only the |1> half is read and written, and
    // as a control-like fixed bit it keeps the inner loop contiguous.
    Controls withTarget = c;
    withTarget.bits.push_back(bit);
    withTarget.values |= s;
    const par::GroupSpace g = space(sv, {}, withTarget);
    par::forEachGroup(g, [=](std::uint64_t i) {
      double *q = re(d, i);
      const double br = q[0], bi = q[1];
      q[0] = d1r * br - d1i * bi;
      q[1] = d1r * bi + d1i * br;
    });
    return;
  }
  const par::GroupSpace g = space(sv, {bit}, c);
  par::forEachGroup(g, [=](std::uint64_t i) {
    double *p = re(d, i), *q = re(d, i + s);
    const double ar = p[0], ai = p[1], br = q[0], bi = q[1];
    p[0] = d0r * ar - d0i * ai;
    p[1] = d0r * ai + d0i * ar;
    q[0] = d1r * br - d1i * bi;
    q[1] = d1r * bi + d1i * br;
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
