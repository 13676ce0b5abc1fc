#include "Adjoint.hpp"

#include "Parallel.hpp"

#include <algorithm>
#include <array>
#include <cstring>

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

// fusedGroupStep for one-target gates, the common case (RX/RY/RZ/Rot/PhaseShift, their
// controlled forms, excitations): one complex amplitude per 128-bit vector (SSE2),
// matrices as broadcast constants in registers, and
// vector accumulators reduced once per block. Same arithmetic as fusedGroupStep.
// Compiled for AVX2 and for baseline x86-64, picked by the CPU at load time (see
// GateKernels.cpp).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define KVANT_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define KVANT_MULTIVERSION
#endif

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));
[[gnu::always_inline]] inline v2d ld1(const Complex *p) {
  v2d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void st1(Complex *p, v2d v) {
  std::memcpy(static_cast<void *>(p), &v, sizeof v);
}
// m * a for one complex per 128-bit vector: re(m) a + im(m) (i a), i a = {-1, 1} * swap(a).
struct CMul2 {
  v2d r, i;
  CMul2() = default;
  explicit CMul2(Complex m) : r(v2d{m.real(), m.real()}), i(v2d{-m.imag(), m.imag()}) {}
  [[gnu::always_inline]] v2d operator()(v2d a) const {
    return r * a + i * __builtin_shuffle(a, v2i{1, 0});
  }
};

template <std::size_t P>
KVANT_MULTIVERSION std::array<double, kMaxParamsPerGate>
fusedStep1(StateVector &phi, StateVector &lam, bool updatePhi, const par::GroupSpace &g,
           const Local &inv, const std::vector<Local> &derivs) {
  struct K {
    std::uint64_t o0, o1;
    CMul2 u[4];
    CMul2 d[P][4];
  } k;
  k.o0 = inv.offsets[0]; // != 0 for TwoLevel
  k.o1 = inv.offsets[1];
  for (int i = 0; i < 4; ++i)
    k.u[i] = CMul2(inv.m[i]);
  for (std::size_t p = 0; p < P; ++p)
    for (int i = 0; i < 4; ++i)
      k.d[p][i] = CMul2(derivs[p].m[i]);
  Complex *ph = phi.data(), *la = lam.data();
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  const bool threads = par::useThreads(g.count << g.numFixed) && blocks > 1;
  const int nt = threads ? par::maxThreads() : 1;
  std::vector<std::array<double, P>> partial(static_cast<std::size_t>(nt));
  auto work = [&](std::int64_t b0, std::int64_t b1, std::array<double, P> &out)
                  __attribute__((always_inline)) {
    const K c = k; // local: registers, not memory the stores below might alias
    const par::GroupSpace gl = g;
    for (std::int64_t b = b0; b < b1; ++b) {
      v2d acc[P] = {};
      const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j) {
        Complex *x0 = ph + i0 + j + c.o0, *x1 = ph + i0 + j + c.o1;
        Complex *l0 = la + i0 + j + c.o0, *l1 = la + i0 + j + c.o1;
        const v2d a0 = ld1(x0), a1 = ld1(x1), m0 = ld1(l0), m1 = ld1(l1);
        v2d y0 = a0, y1 = a1;
        if (updatePhi) {
          y0 = c.u[0](a0) + c.u[1](a1);
          y1 = c.u[2](a0) + c.u[3](a1);
          st1(x0, y0);
          st1(x1, y1);
        }
        for (std::size_t p = 0; p < P; ++p)
          acc[p] += m0 * (c.d[p][0](y0) + c.d[p][1](y1)) + m1 * (c.d[p][2](y0) + c.d[p][3](y1));
        st1(l0, c.u[0](m0) + c.u[1](m1));
        st1(l1, c.u[2](m0) + c.u[3](m1));
      }
      for (std::size_t p = 0; p < P; ++p)
        out[p] += acc[p][0] + acc[p][1];
    }
  };
  for (auto &a : partial)
    a.fill(0.0);
  if (!threads) {
    work(0, blocks, partial[0]);
  } else {
#pragma omp parallel num_threads(nt)
    {
      // Static split in thread order: deterministic sums.
      const int t = par::threadNum(), T = nt;
      const std::int64_t lo = blocks * t / T, hi = blocks * (t + 1) / T;
      work(lo, hi, partial[static_cast<std::size_t>(t)]);
    }
  }
  std::array<double, kMaxParamsPerGate> out{};
  for (const auto &a : partial)
    for (std::size_t p = 0; p < P; ++p)
      out[p] += a[p];
  return out;
}

// A run of consecutive parametrised one-target gates acting on the same amplitude pairs
// (same target, same controls: RZ(w) after RY(w), Rot decompositions, ...) stepped back in
// ONE pass over phi and lambda instead of one pass per gate. With a single lambda (VJP, one
// observable) this cuts the backward memory traffic of such circuits nearly in half.
constexpr std::size_t kMaxChain = 4;
struct ChainGate {
  CMul2 u[4];
  CMul2 d[kMaxParamsPerGate][4];
  std::size_t numParams = 0;
};

KVANT_MULTIVERSION void fusedChain1(StateVector &phi, StateVector &lam, const par::GroupSpace &g, std::uint64_t o0,
                 std::uint64_t o1, const std::vector<ChainGate> &gates,
                 std::vector<std::array<double, kMaxParamsPerGate>> &result) {
  struct K {
    std::uint64_t o0, o1;
    std::size_t n;
    ChainGate gate[kMaxChain];
  } k;
  k.o0 = o0;
  k.o1 = o1;
  k.n = gates.size();
  for (std::size_t i = 0; i < k.n; ++i)
    k.gate[i] = gates[i];
  Complex *ph = phi.data(), *la = lam.data();
  const std::int64_t blocks = static_cast<std::int64_t>(g.count / g.run);
  const std::uint64_t run = g.run;
  const bool threads = par::useThreads(g.count << g.numFixed) && blocks > 1;
  const int nt = threads ? par::maxThreads() : 1;
  using Sums = std::array<std::array<double, kMaxParamsPerGate>, kMaxChain>;
  std::vector<Sums> partial(static_cast<std::size_t>(nt));
  for (Sums &p : partial)
    for (auto &a : p)
      a.fill(0.0);
  auto work = [&](std::int64_t b0, std::int64_t b1, Sums &out) __attribute__((always_inline)) {
    const K c = k;
    const par::GroupSpace gl = g;
    for (std::int64_t b = b0; b < b1; ++b) {
      v2d acc[kMaxChain][kMaxParamsPerGate] = {};
      const std::uint64_t i0 = gl.base(static_cast<std::uint64_t>(b) * run);
      for (std::uint64_t j = 0; j < run; ++j) {
        Complex *x0 = ph + i0 + j + c.o0, *x1 = ph + i0 + j + c.o1;
        Complex *l0 = la + i0 + j + c.o0, *l1 = la + i0 + j + c.o1;
        v2d y0 = ld1(x0), y1 = ld1(x1), m0 = ld1(l0), m1 = ld1(l1);
        for (std::size_t gi = 0; gi < c.n; ++gi) {
          const ChainGate &q = c.gate[gi];
          const v2d z0 = q.u[0](y0) + q.u[1](y1), z1 = q.u[2](y0) + q.u[3](y1);
          for (std::size_t p = 0; p < q.numParams; ++p)
            acc[gi][p] += m0 * (q.d[p][0](z0) + q.d[p][1](z1)) + m1 * (q.d[p][2](z0) + q.d[p][3](z1));
          const v2d n0 = q.u[0](m0) + q.u[1](m1), n1 = q.u[2](m0) + q.u[3](m1);
          y0 = z0;
          y1 = z1;
          m0 = n0;
          m1 = n1;
        }
        st1(x0, y0);
        st1(x1, y1);
        st1(l0, m0);
        st1(l1, m1);
      }
      for (std::size_t gi = 0; gi < c.n; ++gi)
        for (std::size_t p = 0; p < c.gate[gi].numParams; ++p)
          out[gi][p] += acc[gi][p][0] + acc[gi][p][1];
    }
  };
  if (!threads) {
    work(0, blocks, partial[0]);
  } else {
#pragma omp parallel num_threads(nt)
    {
      const int t = par::threadNum();
      work(blocks * t / nt, blocks * (t + 1) / nt, partial[static_cast<std::size_t>(t)]);
    }
  }
  result.assign(gates.size(), {});
  for (const Sums &p : partial)
    for (std::size_t gi = 0; gi < gates.size(); ++gi)
      for (std::size_t q = 0; q < kMaxParamsPerGate; ++q)
        result[gi][q] += p[gi][q];
}

// The amplitude pairs a parametrised one-target gate acts on, if it is one: its GroupSpace
// key (sorted fixed bits, control values) and member offsets.
struct PairKey {
  std::vector<unsigned> fixed;
  std::uint64_t values = 0, o0 = 0, o1 = 0;
  bool operator==(const PairKey &o) const {
    return fixed == o.fixed && values == o.values && o0 == o.o0 && o1 == o.o1;
  }
};

bool pairKey(const StateVector &sv, const TapeEntry &e, const Op &inv, PairKey &key) {
  if (e.derivs.empty() || !(inv.kind == Op::Diagonal1 || inv.kind == Op::TwoLevel ||
                            (inv.kind == Op::Matrix && inv.targets.size() == 1)))
    return false;
  const kernels::Controls ctrl = opControls(sv, e.op, e.ctrls);
  const Local l = localForm(sv, inv);
  key.fixed = bitsOf(sv, inv.targets);
  key.fixed.insert(key.fixed.end(), ctrl.bits.begin(), ctrl.bits.end());
  std::sort(key.fixed.begin(), key.fixed.end());
  key.values = ctrl.values;
  key.o0 = l.offsets[0];
  key.o1 = l.offsets[1];
  return true;
}

ChainGate chainGate(const StateVector &sv, const TapeEntry &e, const Op &inv) {
  ChainGate q;
  const Local l = localForm(sv, inv);
  for (int i = 0; i < 4; ++i)
    q.u[i] = CMul2(l.m[i]);
  q.numParams = e.derivs.size();
  for (std::size_t p = 0; p < q.numParams; ++p) {
    const Local d = localForm(sv, e.derivs[p]);
    for (int i = 0; i < 4; ++i)
      q.d[p][i] = CMul2(d.m[i]);
  }
  return q;
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
    if (m == 1) {
      // Chain this gate with the gates before it (backward order) that act on the same pairs.
      PairKey key;
      if (pairKey(phi, e, inv, key)) {
        std::vector<ChainGate> chain{chainGate(phi, e, inv)};
        std::vector<std::size_t> firstParam{next - e.derivs.size()};
        std::size_t start = next - e.derivs.size();
        auto j = it + 1;
        for (; j != tape.entries.rend() && chain.size() < kMaxChain; ++j) {
          Op jinv = j->op;
          adjointInPlace(jinv);
          PairKey other;
          if (!pairKey(phi, *j, jinv, other) || !(other == key))
            break;
          chain.push_back(chainGate(phi, *j, jinv));
          start -= j->derivs.size();
          firstParam.push_back(start);
        }
        if (chain.size() > 1) {
          const par::GroupSpace g(static_cast<unsigned>(phi.numQubits()), key.fixed, key.values);
          std::vector<std::array<double, kMaxParamsPerGate>> acc;
          fusedChain1(phi, lambdas[0], g, key.o0, key.o1, chain, acc);
          for (std::size_t gi = 0; gi < chain.size(); ++gi)
            for (std::size_t p = 0; p < chain[gi].numParams; ++p)
              out[firstParam[gi] + p] = 2.0 * acc[gi][p];
          next = start;
          it = j - 1; // the loop's ++it moves past the chain
          continue;
        }
      }
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
