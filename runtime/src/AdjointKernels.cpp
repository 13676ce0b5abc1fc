#include "AdjointKernels.hpp"

#include "Parallel.hpp"
#include "Simd.hpp"

#include <algorithm>
#include <cmath>

namespace kvant::rt::adjoint {

using namespace simd;

RotationStep pauliRotation(Sigma sigma, double theta, double s) {
  // U = cos(t/2) I - i s sin(t/2) sigma, U^-1 = cos(t/2) I + i s sin(t/2) sigma,
  // dU/dt = -i (s/2) sigma U.
  return {sigma, std::cos(theta / 2), Complex{0.0, s * std::sin(theta / 2)}, -s / 2};
}

RotationStep phaseRotation(double theta, double s) {
  // U = I + (e^{i s t} - 1) P1, U^-1 = I + (e^{-i s t} - 1) P1, dU/dt = i s P1 U.
  return {Sigma::P1, 1.0, std::polar(1.0, -s * theta) - 1.0, s};
}

namespace {

template <class V> V plusMinus();
template <> KVANT_SIMD_INLINE v2d plusMinus<v2d>() { return v2d{1, -1}; }
template <> KVANT_SIMD_INLINE v4d plusMinus<v4d>() { return v4d{1, -1, 1, -1}; }

KVANT_SIMD_INLINE double alternating(v2d a) { return a[0] - a[1]; }
KVANT_SIMD_INLINE double alternating(v4d a) { return (a[0] - a[1]) + (a[2] - a[3]); }

// A step with its complex constant in both vector widths.
struct Step {
  Sigma sigma;
  double a;
  CMul b;
  CMul4 b4;
  KVANT_SIMD_INLINE v2d mulB(v2d v) const { return b(v); }
  KVANT_SIMD_INLINE v4d mulB(v4d v) const { return b4(v); }
};

// (w0, w1) = sigma (x, y), amplitude-wise for the pairs held in x and y.
template <class V> KVANT_SIMD_INLINE void sigmaPair(Sigma s, V x, V y, V &w0, V &w1) {
  switch (s) {
  case Sigma::X:
    w0 = y;
    w1 = x;
    return;
  case Sigma::Y: // (-i y, i x)
    w0 = swapReIm(y) * plusMinus<V>();
    w1 = -(swapReIm(x) * plusMinus<V>());
    return;
  case Sigma::Z:
    w0 = x;
    w1 = -y;
    return;
  default: // P1
    w0 = V{};
    w1 = y;
    return;
  }
}

// sigma v for v = (x, y), the pair in one v4d (target bit 0).
KVANT_SIMD_INLINE v4d sigmaAdjacent(Sigma s, v4d v) {
  switch (s) {
  case Sigma::X:
    return swapHalves(v);
  case Sigma::Y:
    return swapReIm(swapHalves(v)) * v4d{1, -1, -1, 1};
  case Sigma::Z:
    return v * v4d{1, 1, -1, -1};
  default: // P1
    return v * v4d{0, 0, 1, 1};
  }
}

// Per pair (or two pairs, one pair per lane half): for each step, accumulate
// l . swap(sigma x) lane-wise (its alternating lane sum is Im <l| sigma x>), then move x and l
// back through a I + b sigma.
template <std::size_t N, class V>
KVANT_SIMD_INLINE void chainPairs(const Step *st, V &x, V &y, V &l0, V &l1, V *acc) {
  for (std::size_t t = 0; t < N; ++t) {
    V w0, w1, m0, m1;
    sigmaPair(st[t].sigma, x, y, w0, w1);
    sigmaPair(st[t].sigma, l0, l1, m0, m1);
    acc[t] += l0 * swapReIm(w0) + l1 * swapReIm(w1);
    const double a = st[t].a;
    x = a * x + st[t].mulB(w0);
    y = a * y + st[t].mulB(w1);
    l0 = a * l0 + st[t].mulB(m0);
    l1 = a * l1 + st[t].mulB(m1);
  }
}

template <std::size_t N>
std::array<double, kMaxChain> chainKernel(Complex *ph, Complex *la, bool storePhi, unsigned bit,
                                          const par::GroupSpace &g, const Step *steps) {
  struct K {
    Step st[N];
  } k;
  std::copy(steps, steps + N, k.st);
  const std::uint64_t s = std::uint64_t{1} << bit;
  const par::GroupSpace gl = g;
  if (bit == 0) {
    return par::launchReduce<kMaxChain>(
        [=](std::uint64_t lo, std::uint64_t hi, double *out) KVANT_INLINE {
          v4d acc[N] = {};
          const std::uint64_t run = gl.run;
          for (std::uint64_t b = lo; b < hi; ++b) {
            const std::uint64_t i0 = gl.base(b * run);
            for (std::uint64_t j = 0; j < run; ++j) {
              const std::uint64_t i = i0 + j;
              v4d v = ld2(ph + i), l = ld2(la + i);
              for (std::size_t t = 0; t < N; ++t) {
                const v4d w = sigmaAdjacent(k.st[t].sigma, v);
                const v4d m = sigmaAdjacent(k.st[t].sigma, l);
                acc[t] += l * swapReIm(w);
                v = k.st[t].a * v + k.st[t].b4(w);
                l = k.st[t].a * l + k.st[t].b4(m);
              }
              if (storePhi)
                st2(ph + i, v);
              st2(la + i, l);
            }
          }
          for (std::size_t t = 0; t < N; ++t)
            out[t] += alternating(acc[t]);
        },
        g.blocks(), g.amplitudes());
  }
  if (g.run >= 2) {
    return par::launchReduce<kMaxChain>(
        [=](std::uint64_t lo, std::uint64_t hi, double *out) KVANT_INLINE {
          v4d acc[N] = {};
          const std::uint64_t run = gl.run;
          for (std::uint64_t b = lo; b < hi; ++b) {
            const std::uint64_t i0 = gl.base(b * run);
            for (std::uint64_t j = 0; j < run; j += 2) {
              const std::uint64_t i = i0 + j;
              v4d x = ld2(ph + i), y = ld2(ph + i + s), l0 = ld2(la + i), l1 = ld2(la + i + s);
              chainPairs<N>(k.st, x, y, l0, l1, acc);
              if (storePhi) {
                st2(ph + i, x);
                st2(ph + i + s, y);
              }
              st2(la + i, l0);
              st2(la + i + s, l1);
            }
          }
          for (std::size_t t = 0; t < N; ++t)
            out[t] += alternating(acc[t]);
        },
        g.blocks(), g.amplitudes());
  }
  return par::launchReduce<kMaxChain>(
      [=](std::uint64_t lo, std::uint64_t hi, double *out) KVANT_INLINE {
        v2d acc[N] = {};
        const std::uint64_t run = gl.run;
        for (std::uint64_t b = lo; b < hi; ++b) {
          const std::uint64_t i0 = gl.base(b * run);
          for (std::uint64_t j = 0; j < run; ++j) {
            const std::uint64_t i = i0 + j;
            v2d x = ld(ph + i), y = ld(ph + i + s), l0 = ld(la + i), l1 = ld(la + i + s);
            chainPairs<N>(k.st, x, y, l0, l1, acc);
            if (storePhi) {
              st(ph + i, x);
              st(ph + i + s, y);
            }
            st(la + i, l0);
            st(la + i + s, l1);
          }
        }
        for (std::size_t t = 0; t < N; ++t)
          out[t] += alternating(acc[t]);
      },
      g.blocks(), g.amplitudes());
}

inline double reConjMul(Complex a, Complex b) { return a.real() * b.real() + a.imag() * b.imag(); }

template <std::size_t DIM>
std::array<double, kMaxParamsPerGate>
groupStepDim(StateVector &phi, StateVector &lam, bool updatePhi, const par::GroupSpace &g,
             const LocalOp &inv, const std::vector<LocalOp> &derivs) {
  struct Consts {
    std::uint64_t off[DIM];
    Complex u[DIM * DIM];
    Complex d[kMaxParamsPerGate][DIM * DIM];
  } c{};
  for (std::size_t r = 0; r < DIM; ++r)
    c.off[r] = inv.offsets[r];
  for (std::size_t i = 0; i < DIM * DIM; ++i)
    c.u[i] = inv.m[i];
  const std::size_t P = derivs.size();
  for (std::size_t p = 0; p < P; ++p)
    for (std::size_t i = 0; i < DIM * DIM; ++i)
      c.d[p][i] = derivs[p].m[i];
  Complex *ph = phi.data(), *la = lam.data();
  return par::reduceGroups<kMaxParamsPerGate>(g, [=](std::uint64_t b, double *acc) {
    Complex x[DIM], l[DIM], y[DIM], nl[DIM];
    for (std::size_t r = 0; r < DIM; ++r) {
      x[r] = ph[b + c.off[r]];
      l[r] = la[b + c.off[r]];
    }
    for (std::size_t r = 0; r < DIM; ++r) {
      Complex sy{0.0, 0.0}, sl{0.0, 0.0};
      for (std::size_t k = 0; k < DIM; ++k) {
        sy += cmul(c.u[r * DIM + k], x[k]);
        sl += cmul(c.u[r * DIM + k], l[k]);
      }
      y[r] = updatePhi ? sy : x[r];
      nl[r] = sl;
    }
    for (std::size_t p = 0; p < P; ++p)
      for (std::size_t r = 0; r < DIM; ++r) {
        Complex t{0.0, 0.0};
        for (std::size_t k = 0; k < DIM; ++k)
          t += cmul(c.d[p][r * DIM + k], y[k]);
        acc[p] += reConjMul(l[r], t);
      }
    for (std::size_t r = 0; r < DIM; ++r) {
      if (updatePhi)
        ph[b + c.off[r]] = y[r];
      la[b + c.off[r]] = nl[r];
    }
  });
}

} // namespace

void rotationChain(StateVector &phi, StateVector &lam, bool storePhi, unsigned bit,
                   const kernels::Controls &c, const RotationStep *steps, std::size_t numSteps,
                   double *out) {
  unsigned fixed[64];
  fixed[0] = bit;
  std::copy(c.bits.begin(), c.bits.end(), fixed + 1);
  const par::GroupSpace g(static_cast<unsigned>(phi.numQubits()), fixed, 1 + c.bits.size(),
                          c.values);
  Step st[kMaxChain];
  for (std::size_t t = 0; t < numSteps; ++t)
    st[t] = Step{steps[t].sigma, steps[t].a, CMul(steps[t].b), CMul4(steps[t].b)};
  std::array<double, kMaxChain> acc{};
  Complex *ph = phi.data(), *la = lam.data();
  switch (numSteps) {
  case 1:
    acc = chainKernel<1>(ph, la, storePhi, bit, g, st);
    break;
  case 2:
    acc = chainKernel<2>(ph, la, storePhi, bit, g, st);
    break;
  case 3:
    acc = chainKernel<3>(ph, la, storePhi, bit, g, st);
    break;
  case 4:
    acc = chainKernel<4>(ph, la, storePhi, bit, g, st);
    break;
  default:
    throw Error("internal: rotation chain of " + std::to_string(numSteps) + " steps");
  }
  // Re <l| (i k) sigma x> = -k Im <l| sigma x>.
  for (std::size_t t = 0; t < numSteps; ++t)
    out[t] = -steps[t].k * acc[t];
}

void groupStep(StateVector &phi, StateVector &lam, bool updatePhi,
               const std::vector<unsigned> &fixed, std::uint64_t ctrlValues, const LocalOp &inv,
               const std::vector<LocalOp> &derivs, double *out) {
  const par::GroupSpace g(static_cast<unsigned>(phi.numQubits()), fixed, ctrlValues);
  std::array<double, kMaxParamsPerGate> acc{};
  switch (inv.offsets.size()) {
  case 2:
    acc = groupStepDim<2>(phi, lam, updatePhi, g, inv, derivs);
    break;
  case 4:
    acc = groupStepDim<4>(phi, lam, updatePhi, g, inv, derivs);
    break;
  default:
    throw Error("internal: parametrised gate on more than two target wires");
  }
  std::copy(acc.begin(), acc.begin() + derivs.size(), out);
}

void phaseStep(StateVector &phi, StateVector &lam, bool updatePhi,
               const std::vector<unsigned> &ctrlBits, std::uint64_t ctrlValues, std::uint64_t mask,
               std::array<Complex, 2> u, const std::vector<std::array<Complex, 2>> &d,
               double *out) {
  const par::GroupSpace g(static_cast<unsigned>(phi.numQubits()), ctrlBits, ctrlValues);
  std::array<std::array<Complex, 2>, kMaxParamsPerGate> dd{};
  const std::size_t P = d.size();
  std::copy(d.begin(), d.end(), dd.begin());
  Complex *ph = phi.data(), *la = lam.data();
  const auto acc = par::reduceGroups<kMaxParamsPerGate>(g, [=](std::uint64_t i, double *a) {
    const int odd = __builtin_popcountll(i & mask) & 1;
    const Complex x = ph[i];
    const Complex y = updatePhi ? cmul(u[odd], x) : x;
    const Complex l = la[i];
    for (std::size_t p = 0; p < P; ++p)
      a[p] += reConjMul(l, cmul(dd[p][odd], y));
    if (updatePhi)
      ph[i] = y;
    la[i] = cmul(u[odd], l);
  });
  std::copy(acc.begin(), acc.begin() + P, out);
}

} // namespace kvant::rt::adjoint
