// Integer settings read from the environment. They exist so that tests can force code paths
// on small states (blocking, thread counts, batch sizes); programs run with the defaults.
#pragma once

#include <cstdlib>

namespace kvant::rt {

// The value of environment variable `name` when it is an integer in [low, high]; otherwise
// (unset or malformed) `fallback`: a bad setting never fails a program.
inline long envSetting(const char *name, long fallback, long low, long high) {
  const char *env = std::getenv(name);
  if (!env)
    return fallback;
  char *end = nullptr;
  const long v = std::strtol(env, &end, 10);
  return end != env && *end == '\0' && v >= low && v <= high ? v : fallback;
}

} // namespace kvant::rt
