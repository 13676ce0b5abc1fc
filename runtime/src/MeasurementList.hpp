// The list of measurements a circuit returns, in the form the differentiation calls take it
// (kvant_rt_adjoint_vjp_mixed / _jacobian_mixed in runtime.h): expvals, vars and probs in any
// order, with their result entries concatenated in that order.
#pragma once

#include "Observables.hpp"
#include "kvant/runtime.h"

#include <cstdint>
#include <vector>

namespace kvant::rt {

class Register;

struct Measurement {
  std::int64_t kind;              // KVANT_MEAS_EXPVAL, _VAR or _PROBS
  ObservablePtr obs;              // expval and var
  std::vector<std::size_t> wires; // probs
  std::int64_t entry;             // offset of its first entry among all the results' entries

  std::int64_t numEntries() const {
    return kind == KVANT_MEAS_PROBS ? std::int64_t{1} << wires.size() : 1;
  }
};

struct MeasurementList {
  std::vector<Measurement> measurements;
  std::int64_t numEntries = 0; // of all the measurements together
};

// Reads and checks the C API's arrays (runtime.h, kvant_rt_adjoint_vjp_mixed) before any work,
// so that a bad entry late in the list fails the call cleanly: observable handles must belong
// to `r`, probs wires be valid for it, and the probs measurements use exactly num_wires_total
// wires.
MeasurementList parseMeasurementList(const Register &r, const std::int64_t *kinds,
                                     const std::int64_t *obs, const std::int64_t *numWires,
                                     std::int64_t numMeas, const std::int64_t *wires,
                                     std::int64_t numWiresTotal);

} // namespace kvant::rt
