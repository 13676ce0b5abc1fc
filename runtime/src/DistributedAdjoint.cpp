// Adjoint differentiation on a distributed register (Distributed.hpp): the single-process sweep
// (Adjoint.cpp) run on each rank's local vectors, one stretch of the tape at a time.
//
// Walking the tape backwards, a stretch is the longest run of gates whose targets are all at
// local positions of the current layout. Each rank turns the stretch into a tape of its own on
// local wires -- controls at global positions dropped where this rank's bit satisfies them, the
// gate made the identity where it does not -- and runs adjointSweep on its local phi and
// lambdas, which yields its part of every inner product <lambda| dU |phi>. The next gate's
// global targets are then swapped in on phi and every lambda together, and the walk goes on.
// The ranks' parts are added once at the end.
#include "Distributed.hpp"
#include "DistributedGroup.hpp"

#include "Parallel.hpp"
#include "Settings.hpp"
#include "kvant/runtime.h"

#include <algorithm>
#include <cstdint>

namespace kvant::rt {
namespace {

// MultiRZ and IsingZZ: a phase by the parity of their wires, whose global part each rank
// knows, so they need none of their wires local.
bool isParityGate(const TapeEntry &e) {
  return e.op.kind == Op::Parity && (e.gate == KVANT_GATE_MultiRZ || e.gate == KVANT_GATE_IsingZZ);
}

// The wires a tape entry needs at local positions: its targets, except for a global phase,
// which acts the same whatever its wires, and the parity gates.
const std::vector<std::size_t> &targetsOf(const TapeEntry &e) {
  static const std::vector<std::size_t> none;
  return e.op.kind == Op::Scalar || isParityGate(e) ? none : e.op.targets;
}

bool fitsLocally(const Layout &L, const TapeEntry &e) {
  for (std::size_t t : targetsOf(e))
    if (L.isGlobal(t))
      return false;
  return true;
}

// Entry `e` (targets local) on this rank's local wires. `acts` false: a control at a global
// position is not satisfied here, the gate is the identity on this rank. `scale`: the
// derivative by the local entry's parameter times `scale` is the one by the original's.
TapeEntry localEntry(const Layout &L, const TapeEntry &e, bool &acts, double &scale) {
  scale = 1.0;
  acts = true;
  for (std::size_t c : e.op.builtinCtrls)
    acts = acts && (!L.isGlobal(c) || L.globalBit(c) == 1);
  for (std::size_t i = 0; i < e.ctrls.wires.size(); ++i)
    acts = acts && (!L.isGlobal(e.ctrls.wires[i]) ||
                    L.globalBit(e.ctrls.wires[i]) == (e.ctrls.values[i] ? 1 : 0));
  TapeEntry out;
  if (!acts)
    return out; // a QubitUnitary slot with no operation and no parameter
  out = e;
  out.op.targets.clear();
  for (std::size_t t : targetsOf(e))
    out.op.targets.push_back(L.localWire(t));
  if (isParityGate(e)) {
    // exp(-i theta/2 Z..Z) with the global factors' parity g is MultiRZ(+-theta) on the local
    // wires, or, with none, the global phase exp(-i (+-theta/2)).
    int parity = 0;
    for (std::size_t t : e.op.targets)
      parity ^= L.isGlobal(t) ? L.globalBit(t) : 0;
    const double sign = parity ? -1.0 : 1.0;
    std::vector<std::size_t> localTargets;
    for (std::size_t t : e.op.targets)
      if (!L.isGlobal(t))
        localTargets.push_back(L.localWire(t));
    const bool phase = localTargets.empty();
    out.gate = phase ? KVANT_GATE_GlobalPhase : KVANT_GATE_MultiRZ;
    scale = phase ? sign / 2.0 : sign;
    out.params[0] = scale * e.params[0];
    out.op = gateOp(out.gate, {out.params[0]}, localTargets, e.adjoint);
  }
  out.op.builtinCtrls.clear();
  for (std::size_t c : e.op.builtinCtrls)
    if (!L.isGlobal(c))
      out.op.builtinCtrls.push_back(L.localWire(c));
  out.ctrls = ControlWires{};
  for (std::size_t i = 0; i < e.ctrls.wires.size(); ++i)
    if (!L.isGlobal(e.ctrls.wires[i])) {
      out.ctrls.wires.push_back(L.localWire(e.ctrls.wires[i]));
      out.ctrls.values.push_back(e.ctrls.values[i]);
    }
  return out;
}

void axpy(StateVector &y, double a, const StateVector &x) {
  Complex *yd = y.data();
  const Complex *xd = x.data();
  par::forRange(y.size(), [=](std::uint64_t i) { yd[i] += a * xd[i]; });
}

double innerRe(const StateVector &a, const StateVector &b) { // Re <a|b>
  const Complex *x = a.data(), *y = b.data();
  const par::GroupSpace all(static_cast<unsigned>(a.numQubits()), {}, 0);
  return par::reduceGroups<1>(all, [=](std::uint64_t i, double *acc) {
    acc[0] += x[i].real() * y[i].real() + x[i].imag() * y[i].imag();
  })[0];
}

} // namespace

std::vector<double> DistributedState::adjointSweep(const Tape &tape, Group &g, StateVector &phi,
                                                   std::vector<StateVector> &lambdas) {
  const std::size_t m = lambdas.size(), P = tape.numParams;
  std::vector<double> out(m * P, 0.0);
  if (m == 0 || P == 0)
    return out;
  const auto &entries = tape.entries;
  std::vector<std::size_t> firstParam(entries.size());
  for (std::size_t i = 0, p = 0; i < entries.size(); ++i) {
    firstParam[i] = p;
    p += entries[i].numParams;
  }
  Layout &L = g.layout;
  for (std::size_t end = entries.size(); end > 0;) {
    if (!fitsLocally(L, entries[end - 1])) {
      const TapeEntry &e = entries[end - 1];
      std::vector<std::size_t> keep = e.op.targets;
      keep.insert(keep.end(), e.op.builtinCtrls.begin(), e.op.builtinCtrls.end());
      keep.insert(keep.end(), e.ctrls.wires.begin(), e.ctrls.wires.end());
      makeLocal(g, targetsOf(e), keep);
    }
    std::size_t begin = end - 1;
    while (begin > 0 && fitsLocally(L, entries[begin - 1]))
      --begin;
    // The stretch [begin, end) as a tape of this rank, with its parameters' global indices.
    Tape local;
    std::vector<std::size_t> globalIndex;
    std::vector<double> scales;
    for (std::size_t i = begin; i < end; ++i) {
      bool acts;
      double scale;
      local.entries.push_back(localEntry(L, entries[i], acts, scale));
      if (!acts)
        continue;
      for (std::size_t p = 0; p < entries[i].numParams; ++p) {
        globalIndex.push_back(firstParam[i] + p);
        scales.push_back(scale);
      }
    }
    const std::size_t Pl = globalIndex.size();
    // One parameter more than the entries carry: the sweep stops once every parameter is
    // done, and this one never is, so phi and the lambdas are stepped back through the whole
    // stretch (the next stretch starts from them).
    local.numParams = Pl + 1;
    const std::vector<double> part = rt::adjointSweep(local, phi, lambdas);
    for (std::size_t l = 0; l < m; ++l)
      for (std::size_t q = 0; q < Pl; ++q)
        out[l * P + globalIndex[q]] += scales[q] * part[l * (Pl + 1) + q];
    end = begin;
  }
  reduce(out.data(), out.size());
  return out;
}

void DistributedState::seedLambda(Group &g, const StateVector &phi, const MeasurementList &list,
                                  const double *cotangent, StateVector &lambda) {
  // As AdjointSeeding.cpp: lambda = sum over measurements of the cotangent-weighted observable
  // applied to phi; O phi is built where O's wires are local, on vectors that follow the swaps.
  for (const Measurement &x : list.measurements) {
    if (x.kind == KVANT_MEAS_EXPVAL || x.kind == KVANT_MEAS_VAR) {
      const double ct = cotangent[x.entry];
      if (ct == 0.0)
        continue;
      StateVector o1 = phi;
      Group::Follow f1(g, o1);
      applyObservable(g, *x.obs, o1);
      if (x.kind == KVANT_MEAS_EXPVAL) {
        axpy(lambda, ct, o1);
        continue;
      }
      // d var = d<O^2> - 2 <O> d<O>: ct (O^2 - 2 <O> O) phi.
      const double e = reduce1(innerRe(phi, o1));
      StateVector o2 = o1;
      Group::Follow f2(g, o2);
      applyObservable(g, *x.obs, o2);
      axpy(lambda, ct, o2);
      axpy(lambda, -2.0 * e * ct, o1);
      continue;
    }
    // probs: lambda_j += ct[outcome(j)] phi_j, the outcome's bits of global wires this rank's.
    const Layout &L = g.layout;
    const std::size_t k = x.wires.size();
    std::uint64_t globalPart = 0;
    std::vector<unsigned> bits;
    std::vector<unsigned> slots;
    for (std::size_t j = 0; j < k; ++j) {
      if (L.isGlobal(x.wires[j])) {
        if (L.globalBit(x.wires[j]))
          globalPart |= std::uint64_t{1} << (k - 1 - j);
      } else {
        bits.push_back(phi.bitOf(L.localWire(x.wires[j])));
        slots.push_back(static_cast<unsigned>(k - 1 - j));
      }
    }
    Complex *l = lambda.data();
    const Complex *d = phi.data();
    const double *ct = cotangent + x.entry;
    const unsigned *b = bits.data(), *s = slots.data();
    const std::size_t h = bits.size();
    par::forRange(phi.size(), [=](std::uint64_t j) {
      std::uint64_t idx = globalPart;
      for (std::size_t t = 0; t < h; ++t)
        idx |= ((j >> b[t]) & 1) << s[t];
      l[j] += ct[idx] * d[j];
    });
  }
}

void DistributedState::adjointJacobian(const Tape &tape,
                                       const std::vector<ObservablePtr> &observables,
                                       double *jacOut) {
  flush();
  Layout L = layout_;
  StateVector phi = local_;
  Group g(L, {&phi});
  std::vector<StateVector> lambdas;
  lambdas.reserve(observables.size()); // the group holds pointers to them
  for (const ObservablePtr &o : observables) {
    lambdas.push_back(phi);
    g.vecs.push_back(&lambdas.back());
    applyObservable(g, *o, lambdas.back());
  }
  const std::vector<double> j = adjointSweep(tape, g, phi, lambdas);
  std::copy(j.begin(), j.end(), jacOut);
}

void DistributedState::adjointJacobian(const Tape &tape, const MeasurementList &list,
                                       double *jacOut) {
  flush();
  // Rows in batches of at most ~1 GiB of local vectors, each batch one sweep from a fresh copy
  // of the state (as AdjointSeeding.cpp does on one process).
  const std::size_t bytes = local_.size() * sizeof(Complex);
  const long fits = static_cast<long>(std::max<std::size_t>(1, (std::size_t{1} << 30) / bytes));
  const std::size_t batch =
      static_cast<std::size_t>(envSetting("KVANT_RT_JACOBIAN_ROWS_PER_SWEEP", fits, 1, 1L << 30));
  const std::size_t P = tape.numParams;
  const std::int64_t numRows = list.numEntries;
  std::vector<double> oneHot(static_cast<std::size_t>(numRows), 0.0);
  for (std::int64_t first = 0; first < numRows; first += static_cast<std::int64_t>(batch)) {
    const std::int64_t last = std::min<std::int64_t>(numRows, first + batch);
    Layout L = layout_;
    StateVector phi = local_;
    Group g(L, {&phi});
    std::vector<StateVector> lambdas;
    lambdas.reserve(static_cast<std::size_t>(last - first));
    for (std::int64_t row = first; row < last; ++row) {
      lambdas.emplace_back(phi.numQubits());
      lambdas.back().zero();
      g.vecs.push_back(&lambdas.back());
      oneHot[static_cast<std::size_t>(row)] = 1.0;
      seedLambda(g, phi, list, oneHot.data(), lambdas.back());
      oneHot[static_cast<std::size_t>(row)] = 0.0;
    }
    const std::vector<double> j = adjointSweep(tape, g, phi, lambdas);
    std::copy(j.begin(), j.end(), jacOut + static_cast<std::size_t>(first) * P);
  }
}

void DistributedState::adjointVjp(const Tape &tape, const MeasurementList &list,
                                  const double *cotangent, double *gradOut) {
  flush();
  if (tape.numParams == 0)
    return;
  Layout L = layout_;
  StateVector phi = local_;
  Group g(L, {&phi});
  std::vector<StateVector> lambdas;
  lambdas.emplace_back(phi.numQubits());
  lambdas.back().zero();
  g.vecs.push_back(&lambdas.back());
  seedLambda(g, phi, list, cotangent, lambdas.back());
  const std::vector<double> grad = adjointSweep(tape, g, phi, lambdas);
  std::copy(grad.begin(), grad.end(), gradOut);
}

} // namespace kvant::rt
