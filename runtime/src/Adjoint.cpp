#include "Adjoint.hpp"

#include "Parallel.hpp"

#include <array>

namespace kvant::rt {
namespace {

constexpr std::size_t kMaxParamsPerGate = 3; // Rot, CRot

// Re(conj(a) * b)
inline double reConjMul(Complex a, Complex b) {
  return a.real() * b.real() + a.imag() * b.imag();
}

std::vector<unsigned> bitsOf(const StateVector &sv, const std::vector<std::size_t> &wires) {
  std::vector<unsigned> bits;
  for (std::size_t w : wires)
    bits.push_back(sv.bitOf(w));
  return bits;
}

// Dense local form of a group-type Op (Matrix, Diagonal1, TwoLevel): the members of a group
// (offsets from its base) and the matrix acting on them. For TwoLevel only the two coupled
// basis states are members: the gate is the identity on the rest, its derivative zero.
struct Local {
  std::vector<std::uint64_t> offsets;
  std::vector<Complex> m; // dim x dim
};

Local localForm(const StateVector &sv, const Op &op) {
  const std::vector<unsigned> bits = bitsOf(sv, op.targets);
  const std::size_t k = bits.size();
  std::vector<std::uint64_t> off(std::size_t{1} << k, 0);
  for (std::size_t j = 0; j < off.size(); ++j)
    for (std::size_t t = 0; t < k; ++t)
      if (j & (std::size_t{1} << (k - 1 - t)))
        off[j] |= std::uint64_t{1} << bits[t];
  Local l;
  switch (op.kind) {
  case Op::Matrix:
    l.offsets = off;
    l.m = op.m;
    break;
  case Op::Diagonal1:
    l.offsets = off;
    l.m = {op.m[0], 0.0, 0.0, op.m[1]};
    break;
  case Op::TwoLevel:
    l.offsets = {off.at(op.r0), off.at(op.r1)};
    l.m = op.m;
    break;
  default:
    throw Error("internal: no local form for this operation");
  }
  return l;
}

// One backward step of a parametrised group-type gate on one lambda, in a single pass over
// both vectors: phi <- U^-1 phi (if updatePhi; otherwise phi already holds phi_before),
// acc_p += Re <lambda| dU_p |phi_before>, lambda <- U^-1 lambda.
template <std::size_t DIM>
std::array<double, kMaxParamsPerGate>
fusedGroupStep(StateVector &phi, StateVector &lam, bool updatePhi, const par::GroupSpace &g,
               const Local &inv, const std::vector<Local> &derivs) {
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
  return par::reduceGroups<kMaxParamsPerGate>(g, [=, &c](std::uint64_t b, double *acc) {
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

// fusedGroupStep for one-target gates, the common case (RX/RY/RZ/Rot/PhaseShift and their
// controlled forms), written out on scalars: every matrix entry is a local double the
// compiler keeps in a register, where entries behind a pointer would be reloaded after each
// store into the (possibly aliasing) state.
template <std::size_t P>
std::array<double, kMaxParamsPerGate>
fusedStep1(StateVector &phi, StateVector &lam, bool updatePhi, const par::GroupSpace &g,
           const Local &inv, const std::vector<Local> &derivs) {
  const std::uint64_t o1 = inv.offsets[1];
  const double u0r = inv.m[0].real(), u0i = inv.m[0].imag(), u1r = inv.m[1].real(),
               u1i = inv.m[1].imag(), u2r = inv.m[2].real(), u2i = inv.m[2].imag(),
               u3r = inv.m[3].real(), u3i = inv.m[3].imag();
  double dr[P][4], di[P][4];
  for (std::size_t p = 0; p < P; ++p)
    for (int k = 0; k < 4; ++k) {
      dr[p][k] = derivs[p].m[k].real();
      di[p][k] = derivs[p].m[k].imag();
    }
  double *ph = reinterpret_cast<double *>(phi.data());
  double *la = reinterpret_cast<double *>(lam.data());
  const auto r = par::reduceGroups<P>(g, [=](std::uint64_t b, double *acc) {
    double *x0 = ph + 2 * b, *x1 = ph + 2 * (b + o1);
    double *l0 = la + 2 * b, *l1 = la + 2 * (b + o1);
    const double a0r = x0[0], a0i = x0[1], a1r = x1[0], a1i = x1[1];
    const double m0r = l0[0], m0i = l0[1], m1r = l1[0], m1i = l1[1];
    double y0r = a0r, y0i = a0i, y1r = a1r, y1i = a1i;
    if (updatePhi) {
      y0r = u0r * a0r - u0i * a0i + u1r * a1r - u1i * a1i;
      y0i = u0r * a0i + u0i * a0r + u1r * a1i + u1i * a1r;
      y1r = u2r * a0r - u2i * a0i + u3r * a1r - u3i * a1i;
      y1i = u2r * a0i + u2i * a0r + u3r * a1i + u3i * a1r;
      x0[0] = y0r;
      x0[1] = y0i;
      x1[0] = y1r;
      x1[1] = y1i;
    }
    for (std::size_t p = 0; p < P; ++p) {
      const double t0r = dr[p][0] * y0r - di[p][0] * y0i + dr[p][1] * y1r - di[p][1] * y1i;
      const double t0i = dr[p][0] * y0i + di[p][0] * y0r + dr[p][1] * y1i + di[p][1] * y1r;
      const double t1r = dr[p][2] * y0r - di[p][2] * y0i + dr[p][3] * y1r - di[p][3] * y1i;
      const double t1i = dr[p][2] * y0i + di[p][2] * y0r + dr[p][3] * y1i + di[p][3] * y1r;
      acc[p] += m0r * t0r + m0i * t0i + m1r * t1r + m1i * t1i;
    }
    l0[0] = u0r * m0r - u0i * m0i + u1r * m1r - u1i * m1i;
    l0[1] = u0r * m0i + u0i * m0r + u1r * m1i + u1i * m1r;
    l1[0] = u2r * m0r - u2i * m0i + u3r * m1r - u3i * m1i;
    l1[1] = u2r * m0i + u2i * m0r + u3r * m1i + u3i * m1r;
  });
  std::array<double, kMaxParamsPerGate> out{};
  for (std::size_t p = 0; p < P; ++p)
    out[p] = r[p];
  return out;
}

// The same for Parity (MultiRZ, IsingZZ) and Scalar (GlobalPhase) gates, which multiply each
// amplitude by a phase chosen by the parity of its target bits.
std::array<double, kMaxParamsPerGate> fusedPhaseStep(StateVector &phi, StateVector &lam,
                                                     bool updatePhi, const par::GroupSpace &g,
                                                     std::uint64_t mask, const Op &inv,
                                                     const std::vector<Op> &derivs) {
  auto pair = [](const Op &op) {
    return op.kind == Op::Scalar ? std::array<Complex, 2>{op.m[0], op.m[0]}
                                 : std::array<Complex, 2>{op.m[0], op.m[1]};
  };
  const std::array<Complex, 2> u = pair(inv);
  std::array<std::array<Complex, 2>, kMaxParamsPerGate> d{};
  const std::size_t P = derivs.size();
  for (std::size_t p = 0; p < P; ++p)
    d[p] = pair(derivs[p]);
  Complex *ph = phi.data(), *la = lam.data();
  return par::reduceGroups<kMaxParamsPerGate>(g, [=](std::uint64_t i, double *acc) {
    const int odd = __builtin_popcountll(i & mask) & 1;
    const Complex x = ph[i];
    const Complex y = updatePhi ? cmul(u[odd], x) : x;
    const Complex l = la[i];
    for (std::size_t p = 0; p < P; ++p)
      acc[p] += reConjMul(l, cmul(d[p][odd], y));
    if (updatePhi)
      ph[i] = y;
    la[i] = cmul(u[odd], l);
  });
}

std::array<double, kMaxParamsPerGate> fusedStep(StateVector &phi, StateVector &lam,
                                                bool updatePhi, const TapeEntry &e,
                                                const Op &inv) {
  const kernels::Controls ctrl = opControls(phi, e.op, e.ctrls);
  const unsigned n = static_cast<unsigned>(phi.numQubits());
  if (inv.kind == Op::Parity || inv.kind == Op::Scalar) {
    std::uint64_t mask = 0;
    if (inv.kind == Op::Parity)
      for (unsigned b : bitsOf(phi, inv.targets))
        mask |= std::uint64_t{1} << b;
    const par::GroupSpace g(n, ctrl.bits, ctrl.values);
    return fusedPhaseStep(phi, lam, updatePhi, g, mask, inv, e.derivs);
  }
  const Local li = localForm(phi, inv);
  std::vector<Local> ld;
  for (const Op &d : e.derivs)
    ld.push_back(localForm(phi, d));
  std::vector<unsigned> fixed = bitsOf(phi, inv.targets);
  fixed.insert(fixed.end(), ctrl.bits.begin(), ctrl.bits.end());
  const par::GroupSpace g(n, fixed, ctrl.values);
  switch (li.offsets.size()) {
  case 2:
    if (ld.size() == 1)
      return fusedStep1<1>(phi, lam, updatePhi, g, li, ld);
    if (ld.size() == 3)
      return fusedStep1<3>(phi, lam, updatePhi, g, li, ld);
    return fusedGroupStep<2>(phi, lam, updatePhi, g, li, ld);
  case 4:
    return fusedGroupStep<4>(phi, lam, updatePhi, g, li, ld);
  default:
    throw Error("internal: parametrised gate on more than two target wires");
  }
}

} // namespace

std::vector<double> adjointSweep(const Tape &tape, StateVector &phi,
                                 std::vector<StateVector> &lambdas) {
  const std::size_t m = lambdas.size(), P = tape.numParams;
  std::vector<double> out(m * P, 0.0);
  if (m == 0 || P == 0)
    return out;
  std::size_t next = P; // one past the parameters of the entry being processed
  for (auto it = tape.entries.rbegin(); it != tape.entries.rend() && next > 0; ++it) {
    const TapeEntry &e = *it;
    Op inv = e.op;
    adjointInPlace(inv);
    if (e.derivs.empty()) {
      execute(phi, inv, e.ctrls);
      for (StateVector &l : lambdas)
        execute(l, inv, e.ctrls);
      continue;
    }
    next -= e.derivs.size();
    for (std::size_t k = 0; k < m; ++k) {
      // The first lambda's pass also steps phi back; the others read the stepped phi.
      const auto acc = fusedStep(phi, lambdas[k], k == 0, e, inv);
      for (std::size_t p = 0; p < e.derivs.size(); ++p)
        out[k * P + next + p] = 2.0 * acc[p];
    }
  }
  return out;
}

} // namespace kvant::rt
