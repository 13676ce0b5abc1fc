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

// A step with its constants in vector form. For a Pauli rotation b = i beta is imaginary, so
// U^-1 = a I + beta (i sigma) and i sigma is X -> [[0, i], [i, 0]], Y -> [[0, 1], [-1, 0]] (real),
// Z -> diag(i, -i): each step below is a couple of multiply-adds, not a complex 2x2 product.
struct Step {
  Sigma sigma;
  double a, beta;
  CMul b;    // P1: U^-1 = I + b P1
  CMul4 b4;  // the same on two amplitudes
  CMul4 bHi; // (0, b): on the pair (x, y) of target bit 0
  KVANT_SIMD_INLINE v2d mulB(v2d v) const { return b(v); }
  KVANT_SIMD_INLINE v4d mulB(v4d v) const { return b4(v); }
};

// The accumulated quantity per step: T = Im <l| sigma x>, gathered lane-wise in `acc`; `plain`
// says whether T is the plain lane sum of acc (Y) or the alternating one (X, Z, P1).
template <Sigma S> constexpr bool plainSum() { return S == Sigma::Y; }

// Two pairs at a time (V = v4d: (d[i], d[i+1]) and (d[i+s], d[i+s+1])) or one (V = v2d).
template <Sigma S, class V>
KVANT_SIMD_INLINE void stepPair(const Step &st, V &x, V &y, V &l0, V &l1, V &acc) {
  const double a = st.a;
  const V ib = st.beta * -plusMinus<V>(); // i beta z = (-beta, beta) * swap(z)
  if constexpr (S == Sigma::X) {
    // T = Im(conj(l0) y + conj(l1) x); U^-1: x' = a x + i beta y, y' = a y + i beta x.
    const V sx = swapReIm(x), sy = swapReIm(y), sl0 = swapReIm(l0), sl1 = swapReIm(l1);
    acc += l0 * sy + l1 * sx;
    x = a * x + ib * sy;
    y = a * y + ib * sx;
    l0 = a * l0 + ib * sl1;
    l1 = a * l1 + ib * sl0;
  } else if constexpr (S == Sigma::Y) {
    // T = Re(conj(l1) x) - Re(conj(l0) y); x' = a x + beta y, y' = a y - beta x.
    acc += l1 * x - l0 * y;
    const V nx = a * x + st.beta * y, nl0 = a * l0 + st.beta * l1;
    y = a * y - st.beta * x;
    l1 = a * l1 - st.beta * l0;
    x = nx;
    l0 = nl0;
  } else if constexpr (S == Sigma::Z) {
    // T = Im(conj(l0) x) - Im(conj(l1) y); x' = (a + i beta) x, y' = (a - i beta) y.
    const V sx = swapReIm(x), sy = swapReIm(y);
    acc += l0 * sx - l1 * sy;
    x = a * x + ib * sx;
    y = a * y - ib * sy;
    l0 = a * l0 + ib * swapReIm(l0);
    l1 = a * l1 - ib * swapReIm(l1);
  } else {
    // P1: T = Im(conj(l1) y); y' = (1 + b) y, x unchanged.
    acc += l1 * swapReIm(y);
    y = y + st.mulB(y);
    l1 = l1 + st.mulB(l1);
  }
}

// Target bit 0: v = (x, y) in one v4d.
template <Sigma S> KVANT_SIMD_INLINE void stepAdjacent(const Step &st, v4d &v, v4d &l, v4d &acc) {
  const double a = st.a, be = st.beta;
  if constexpr (S == Sigma::X) {
    const v4d sv = swapReIm(swapHalves(v)), sl = swapReIm(swapHalves(l));
    acc += l * sv;
    v = a * v + v4d{-be, be, -be, be} * sv;
    l = a * l + v4d{-be, be, -be, be} * sl;
  } else if constexpr (S == Sigma::Y) {
    const v4d hv = swapHalves(v), hl = swapHalves(l);
    acc += l * hv * v4d{-1, -1, 1, 1};
    v = a * v + v4d{be, be, -be, -be} * hv;
    l = a * l + v4d{be, be, -be, -be} * hl;
  } else if constexpr (S == Sigma::Z) {
    const v4d sv = swapReIm(v);
    acc += l * sv * v4d{1, 1, -1, -1};
    v = a * v + v4d{-be, be, be, -be} * sv;
    l = a * l + v4d{-be, be, be, -be} * swapReIm(l);
  } else {
    acc += l * swapReIm(v) * v4d{0, 0, 1, 1};
    v = v + st.bHi(v);
    l = l + st.bHi(l);
  }
}

// Runtime choice of the step, for chains whose sigma sequence is not compiled in.
template <class V>
KVANT_SIMD_INLINE void stepPairAny(const Step &st, V &x, V &y, V &l0, V &l1, V &acc) {
  switch (st.sigma) {
  case Sigma::X:
    return stepPair<Sigma::X>(st, x, y, l0, l1, acc);
  case Sigma::Y:
    return stepPair<Sigma::Y>(st, x, y, l0, l1, acc);
  case Sigma::Z:
    return stepPair<Sigma::Z>(st, x, y, l0, l1, acc);
  default:
    return stepPair<Sigma::P1>(st, x, y, l0, l1, acc);
  }
}
KVANT_SIMD_INLINE void stepAdjacentAny(const Step &st, v4d &v, v4d &l, v4d &acc) {
  switch (st.sigma) {
  case Sigma::X:
    return stepAdjacent<Sigma::X>(st, v, l, acc);
  case Sigma::Y:
    return stepAdjacent<Sigma::Y>(st, v, l, acc);
  case Sigma::Z:
    return stepAdjacent<Sigma::Z>(st, v, l, acc);
  default:
    return stepAdjacent<Sigma::P1>(st, v, l, acc);
  }
}

// A chain with its sigmas fixed at compile time (the common short chains: one rotation, or
// RY-then-RZ style pairs), so each step is straight-line code.
template <Sigma... S> struct Fixed {
  static constexpr std::size_t N = sizeof...(S);
  template <class V>
  static KVANT_SIMD_INLINE void pairs(const Step *st, V &x, V &y, V &l0, V &l1, V *acc) {
    std::size_t t = 0;
    ((stepPair<S>(st[t], x, y, l0, l1, acc[t]), ++t), ...);
  }
  static KVANT_SIMD_INLINE void adjacent(const Step *st, v4d &v, v4d &l, v4d *acc) {
    std::size_t t = 0;
    ((stepAdjacent<S>(st[t], v, l, acc[t]), ++t), ...);
  }
};
template <std::size_t NN> struct Dynamic {
  static constexpr std::size_t N = NN;
  template <class V>
  static KVANT_SIMD_INLINE void pairs(const Step *st, V &x, V &y, V &l0, V &l1, V *acc) {
    for (std::size_t t = 0; t < N; ++t)
      stepPairAny(st[t], x, y, l0, l1, acc[t]);
  }
  static KVANT_SIMD_INLINE void adjacent(const Step *st, v4d &v, v4d &l, v4d *acc) {
    for (std::size_t t = 0; t < N; ++t)
      stepAdjacentAny(st[t], v, l, acc[t]);
  }
};

template <class V> double fold(Sigma s, V acc) {
  return s == Sigma::Y ? sum(acc) : alternating(acc);
}

template <class Policy>
std::array<double, kMaxChain> chainKernel(Complex *ph, Complex *la, bool storePhi, unsigned bit,
                                          const par::GroupSpace &g, const Step *steps) {
  constexpr std::size_t N = Policy::N;
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
              Policy::adjacent(k.st, v, l, acc);
              if (storePhi)
                st2(ph + i, v);
              st2(la + i, l);
            }
          }
          for (std::size_t t = 0; t < N; ++t)
            out[t] += fold(k.st[t].sigma, acc[t]);
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
              Policy::pairs(k.st, x, y, l0, l1, acc);
              if (storePhi) {
                st2(ph + i, x);
                st2(ph + i + s, y);
              }
              st2(la + i, l0);
              st2(la + i + s, l1);
            }
          }
          for (std::size_t t = 0; t < N; ++t)
            out[t] += fold(k.st[t].sigma, acc[t]);
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
            Policy::pairs(k.st, x, y, l0, l1, acc);
            if (storePhi) {
              st(ph + i, x);
              st(ph + i + s, y);
            }
            st(la + i, l0);
            st(la + i + s, l1);
          }
        }
        for (std::size_t t = 0; t < N; ++t)
          out[t] += fold(k.st[t].sigma, acc[t]);
      },
      g.blocks(), g.amplitudes());
}

template <Sigma A>
std::array<double, kMaxChain> chain2(Sigma b, Complex *ph, Complex *la, bool storePhi, unsigned bit,
                                     const par::GroupSpace &g, const Step *st) {
  switch (b) {
  case Sigma::X:
    return chainKernel<Fixed<A, Sigma::X>>(ph, la, storePhi, bit, g, st);
  case Sigma::Y:
    return chainKernel<Fixed<A, Sigma::Y>>(ph, la, storePhi, bit, g, st);
  case Sigma::Z:
    return chainKernel<Fixed<A, Sigma::Z>>(ph, la, storePhi, bit, g, st);
  default:
    return chainKernel<Fixed<A, Sigma::P1>>(ph, la, storePhi, bit, g, st);
  }
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
    st[t] = Step{steps[t].sigma,   steps[t].a,        steps[t].b.imag(),
                 CMul(steps[t].b), CMul4(steps[t].b), CMul4(Complex{0.0, 0.0}, steps[t].b)};
  std::array<double, kMaxChain> acc{};
  Complex *ph = phi.data(), *la = lam.data();
  if (numSteps == 1) {
    switch (st[0].sigma) {
    case Sigma::X:
      acc = chainKernel<Fixed<Sigma::X>>(ph, la, storePhi, bit, g, st);
      break;
    case Sigma::Y:
      acc = chainKernel<Fixed<Sigma::Y>>(ph, la, storePhi, bit, g, st);
      break;
    case Sigma::Z:
      acc = chainKernel<Fixed<Sigma::Z>>(ph, la, storePhi, bit, g, st);
      break;
    default:
      acc = chainKernel<Fixed<Sigma::P1>>(ph, la, storePhi, bit, g, st);
      break;
    }
  } else if (numSteps == 2) {
    switch (st[0].sigma) {
    case Sigma::X:
      acc = chain2<Sigma::X>(st[1].sigma, ph, la, storePhi, bit, g, st);
      break;
    case Sigma::Y:
      acc = chain2<Sigma::Y>(st[1].sigma, ph, la, storePhi, bit, g, st);
      break;
    case Sigma::Z:
      acc = chain2<Sigma::Z>(st[1].sigma, ph, la, storePhi, bit, g, st);
      break;
    default:
      acc = chain2<Sigma::P1>(st[1].sigma, ph, la, storePhi, bit, g, st);
      break;
    }
  } else if (numSteps == 3) {
    acc = chainKernel<Dynamic<3>>(ph, la, storePhi, bit, g, st);
  } else if (numSteps == 4) {
    acc = chainKernel<Dynamic<4>>(ph, la, storePhi, bit, g, st);
  } else {
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
