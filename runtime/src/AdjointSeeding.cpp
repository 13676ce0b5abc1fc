#include "AdjointSeeding.hpp"
#include "Parallel.hpp"
#include "Settings.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace kvant::rt {
namespace {

void axpy(StateVector &y, double a, const StateVector &x) {
  Complex *yd = y.data();
  const Complex *xd = x.data();
  par::forRange(y.size(), [=](std::uint64_t i) { yd[i] += a * xd[i]; });
}

// Each adds its measurement's observable, weighted by the cotangent, applied to phi into
// `lambda`. expval: ct O phi.
void addExpvalCotangent(StateVector &lambda, const StateVector &phi, const Observable &o,
                        double ct) {
  if (ct != 0.0)
    axpy(lambda, ct, o.applied(phi));
}

// var = <O^2> - <O>^2, so d var = d<O^2> - 2 <O> d<O>: ct (O^2 - 2 <O> O) phi, applied as
// O (O phi) and O phi.
void addVarCotangent(StateVector &lambda, const StateVector &phi, const Observable &o, double ct) {
  if (ct == 0.0)
    return;
  const StateVector o1 = o.applied(phi);
  const StateVector o2 = o.applied(o1);
  const double e = o.expval(phi);
  axpy(lambda, ct, o2);
  axpy(lambda, -2.0 * e * ct, o1);
}

// probs[i] = <phi|P_i|phi> with P_i the projector on outcome i, so the weighted observable
// sum_i ct_i P_i is diagonal: lambda_j += ct[outcome(j)] phi_j.
void addProbsCotangent(StateVector &lambda, const StateVector &phi,
                       const std::vector<std::size_t> &wires, const double *ct) {
  std::vector<unsigned> bits;
  for (std::size_t x : wires)
    bits.push_back(phi.bitOf(x));
  Complex *l = lambda.data();
  const Complex *d = phi.data();
  const unsigned *b = bits.data();
  const std::size_t k = bits.size();
  par::forRange(phi.size(), [=](std::uint64_t j) {
    std::uint64_t idx = 0;
    for (std::size_t t = 0; t < k; ++t)
      idx = (idx << 1) | ((j >> b[t]) & 1);
    l[j] += ct[idx] * d[j];
  });
}

// Lambdas held at once by a Jacobian sweep: rows beyond this many (probs over many wires) take
// further sweeps, each from a fresh copy of the final state, to bound memory (~1 GiB).
// KVANT_RT_JACOBIAN_ROWS_PER_SWEEP overrides it (tests use it to exercise several sweeps).
std::size_t lambdasPerSweep(const StateVector &sv) {
  const std::size_t bytes = sv.size() * sizeof(Complex);
  const long fits = static_cast<long>(std::max<std::size_t>(1, (std::size_t{1} << 30) / bytes));
  return static_cast<std::size_t>(
      envSetting("KVANT_RT_JACOBIAN_ROWS_PER_SWEEP", fits, 1, 1L << 30));
}

} // namespace

void adjointJacobian(const Tape &tape, const StateVector &phi,
                     const std::vector<ObservablePtr> &observables, double *jacOut) {
  std::vector<StateVector> lambdas;
  for (const ObservablePtr &o : observables)
    lambdas.push_back(o->applied(phi));
  const std::vector<double> j = adjointSweepFrom(tape, phi, lambdas);
  std::copy(j.begin(), j.end(), jacOut);
}

void adjointJacobian(const Tape &tape, const StateVector &phi, const MeasurementList &list,
                     double *jacOut) {
  // Row k's lambda is the vector its entry's cotangent e_k would give in the VJP: O phi for
  // <O>, (O^2 - 2<O> O) phi for var O, the projector onto outcome i times phi for probs[i].
  auto lambdaOf = [&](std::int64_t row) {
    StateVector lambda(phi.numQubits());
    lambda.zero();
    for (const Measurement &x : list.measurements) {
      const std::int64_t size = x.numEntries();
      if (row < x.entry || row >= x.entry + size)
        continue;
      if (x.kind == KVANT_MEAS_EXPVAL) {
        addExpvalCotangent(lambda, phi, *x.obs, 1.0);
      } else if (x.kind == KVANT_MEAS_VAR) {
        addVarCotangent(lambda, phi, *x.obs, 1.0);
      } else {
        std::vector<double> oneHot(static_cast<std::size_t>(size), 0.0);
        oneHot[static_cast<std::size_t>(row - x.entry)] = 1.0;
        addProbsCotangent(lambda, phi, x.wires, oneHot.data());
      }
    }
    return lambda;
  };
  const std::size_t batch = lambdasPerSweep(phi), P = tape.numParams;
  const std::int64_t numRows = list.numEntries;
  for (std::int64_t first = 0; first < numRows; first += static_cast<std::int64_t>(batch)) {
    const std::int64_t last = std::min<std::int64_t>(numRows, first + batch);
    std::vector<StateVector> lambdas;
    for (std::int64_t row = first; row < last; ++row)
      lambdas.push_back(lambdaOf(row));
    const std::vector<double> j = adjointSweepFrom(tape, phi, lambdas);
    std::copy(j.begin(), j.end(), jacOut + static_cast<std::size_t>(first) * P);
  }
}

void adjointVjp(const Tape &tape, const StateVector &phi, const MeasurementList &list,
                const double *cotangent, double *gradOut) {
  if (tape.numParams == 0)
    return;
  // d(sum of results weighted by their cotangents) = 2 Re <lambda| dU |phi> with lambda the
  // sum of each measurement's weighted-observable vector: one lambda, one sweep.
  StateVector lambda(phi.numQubits());
  lambda.zero();
  for (const Measurement &x : list.measurements) {
    if (x.kind == KVANT_MEAS_EXPVAL)
      addExpvalCotangent(lambda, phi, *x.obs, cotangent[x.entry]);
    else if (x.kind == KVANT_MEAS_VAR)
      addVarCotangent(lambda, phi, *x.obs, cotangent[x.entry]);
    else
      addProbsCotangent(lambda, phi, x.wires, cotangent + x.entry);
  }
  std::vector<StateVector> lambdas;
  lambdas.push_back(std::move(lambda));
  const std::vector<double> g = adjointSweepFrom(tape, phi, lambdas);
  std::copy(g.begin(), g.end(), gradOut);
}

} // namespace kvant::rt
