// Derivatives of a circuit's measurements from one tape: the vectors lambda that start the
// backward sweep (Adjoint.hpp) for expvals, vars and probs, and the sweeps that use them.
// The sweep gives 2 Re <lambda| dU |phi>, the derivative of <phi|A|phi> when lambda = A phi for
// a Hermitian A; each function below picks A for what it differentiates.
#pragma once

#include "Adjoint.hpp"
#include "MeasurementList.hpp"
#include "Observables.hpp"
#include "StateVector.hpp"

#include <vector>

namespace kvant::rt {

// `phi` is the state the tape ended in; it is not changed. Outputs have tape.numParams columns.

// jacOut[k * P + p] = d <observables[k]> / d theta_p, in one sweep carrying every row.
void adjointJacobian(const Tape &tape, const StateVector &phi,
                     const std::vector<ObservablePtr> &observables, double *jacOut);

// jacOut[k * P + p] = d entry_k / d theta_p for the list's list.numEntries result entries.
// One vector per row; rows beyond ~1 GiB of them take further sweeps.
void adjointJacobian(const Tape &tape, const StateVector &phi, const MeasurementList &list,
                     double *jacOut);

// gradOut[p] = sum_k cotangent[k] d entry_k / d theta_p, cotangent having list.numEntries
// entries: one weighted vector, one sweep.
void adjointVjp(const Tape &tape, const StateVector &phi, const MeasurementList &list,
                const double *cotangent, double *gradOut);

} // namespace kvant::rt
