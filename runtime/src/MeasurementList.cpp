#include "MeasurementList.hpp"
#include "Arguments.hpp"
#include "Register.hpp"

#include <string>
#include <utility>

namespace kvant::rt {

MeasurementList parseMeasurementList(const Register &r, const std::int64_t *kinds,
                                     const std::int64_t *obs, const std::int64_t *numWires,
                                     std::int64_t numMeas, const std::int64_t *wires,
                                     std::int64_t numWiresTotal) {
  checkArray(kinds, numMeas, kNoLimit, "measurement kinds");
  checkArray(obs, numMeas, kNoLimit, "observables");
  checkArray(numWires, numMeas, kNoLimit, "wire counts");
  checkArray(wires, numWiresTotal, kNoLimit, "wires");
  MeasurementList list;
  std::int64_t wireAt = 0;
  for (std::int64_t m = 0; m < numMeas; ++m) {
    const std::string which = "measurement " + std::to_string(m);
    Measurement x{kinds[m], nullptr, {}, list.numEntries};
    if (kinds[m] == KVANT_MEAS_EXPVAL || kinds[m] == KVANT_MEAS_VAR) {
      if (numWires[m] != 0)
        throw Error(which + ": expval/var takes no wires, got " + std::to_string(numWires[m]));
      x.obs = r.observable(obs[m]);
    } else if (kinds[m] == KVANT_MEAS_PROBS) {
      if (numWires[m] < 0 || numWires[m] > numWiresTotal - wireAt)
        throw Error(which + ": probs over " + std::to_string(numWires[m]) + " wires, but only " +
                    std::to_string(numWiresTotal - wireAt) + " of num_wires_total are left");
      x.wires = readWires(wires + wireAt, numWires[m], r.numQubits(), "probs: wires");
      checkWires(x.wires, r.numQubits(), "probs: wires");
      wireAt += numWires[m];
    } else {
      throw Error(which + ": unknown measurement kind " + std::to_string(kinds[m]) +
                  " (expval 0, var 1, probs 2)");
    }
    list.numEntries += x.numEntries();
    list.measurements.push_back(std::move(x));
  }
  if (wireAt != numWiresTotal)
    throw Error("num_wires_total is " + std::to_string(numWiresTotal) +
                ", the probs measurements use " + std::to_string(wireAt));
  return list;
}

} // namespace kvant::rt
