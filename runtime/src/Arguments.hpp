// Reading arrays the C API's caller passes as (pointer, count): the count is checked before
// anything is read, so a garbage count cannot make us read far. Used by CApi.cpp and by the
// parsing of measurement lists (MeasurementList.cpp), which reads the same kind of arrays.
#pragma once

#include "StateVector.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace kvant::rt {

constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

// count must be non-negative, at most `maxCount`, and the pointer non-NULL when count > 0.
inline void checkArray(const void *p, std::int64_t n, std::int64_t maxCount, const char *what) {
  if (n < 0)
    throw Error(std::string(what) + ": negative count " + std::to_string(n));
  if (n > maxCount)
    throw Error(std::string(what) + ": count " + std::to_string(n) + " exceeds " +
                std::to_string(maxCount));
  if (n > 0 && !p)
    throw Error(std::string(what) + ": NULL pointer with count " + std::to_string(n));
}

// n wire indices, each non-negative, at most numQubits of them (the range and distinctness
// checks are checkWires', by the code that knows what the wires are for).
inline void readWiresInto(const std::int64_t *p, std::int64_t n, std::size_t numQubits,
                          const char *what, std::vector<std::size_t> &wires) {
  checkArray(p, n, static_cast<std::int64_t>(numQubits), what);
  wires.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (p[i] < 0)
      throw Error(std::string(what) + ": negative wire " + std::to_string(p[i]));
    wires[i] = static_cast<std::size_t>(p[i]);
  }
}

inline std::vector<std::size_t> readWires(const std::int64_t *p, std::int64_t n,
                                          std::size_t numQubits, const char *what) {
  std::vector<std::size_t> wires;
  readWiresInto(p, n, numQubits, what, wires);
  return wires;
}

} // namespace kvant::rt
