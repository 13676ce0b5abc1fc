// A minimal test harness (no GoogleTest available): TEST registers a function, CHECK* count
// failures and keep going, and main() exits non-zero if anything failed.
#pragma once

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Stats {
  long checks = 0;
  long failures = 0;
};
inline Stats &stats() {
  static Stats s;
  return s;
}

struct TestCase {
  std::string suite, name;
  std::function<void()> fn;
};
inline std::vector<TestCase> &registry() {
  static std::vector<TestCase> r;
  return r;
}
struct Registrar {
  Registrar(const char *suite, const char *name, std::function<void()> fn) {
    registry().push_back({suite, name, std::move(fn)});
  }
};

// Extra context printed with a failure (e.g. which gate of a table-driven loop).
inline std::string &context() {
  static std::string c;
  return c;
}

inline bool report(bool ok, const char *file, int line, const std::string &what) {
  ++stats().checks;
  if (!ok) {
    ++stats().failures;
    std::fprintf(stderr, "%s:%d: FAILED: %s%s%s\n", file, line, what.c_str(),
                 context().empty() ? "" : "  [",
                 context().empty() ? "" : (context() + "]").c_str());
  }
  return ok;
}

inline std::string fmt(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}
inline std::string fmt(std::complex<double> z) {
  return "(" + fmt(z.real()) + ", " + fmt(z.imag()) + ")";
}

// Runs the tests whose suite equals `filter` (all if null); returns the process exit code.
inline int runAll(const char *filter) {
  int ran = 0;
  for (const TestCase &t : registry()) {
    if (filter && t.suite != filter)
      continue;
    const long before = stats().failures;
    context().clear();
    t.fn();
    ++ran;
    std::printf("[%s] %s.%s\n", stats().failures == before ? "  OK  " : " FAIL ", t.suite.c_str(),
                t.name.c_str());
  }
  std::printf("%d test(s), %ld check(s), %ld failure(s)\n", ran, stats().checks, stats().failures);
  if (ran == 0) {
    std::fprintf(stderr, "no tests matched suite '%s'\n", filter ? filter : "");
    return 1;
  }
  return stats().failures == 0 ? 0 : 1;
}

} // namespace check

#define CHECK_CAT2(a, b) a##b
#define CHECK_CAT(a, b) CHECK_CAT2(a, b)

#define TEST(suite, name)                                                                          \
  static void suite##_##name();                                                                    \
  static ::check::Registrar CHECK_CAT(checkReg_, __LINE__)(#suite, #name, suite##_##name);         \
  static void suite##_##name()

#define CHECK(cond) ::check::report(static_cast<bool>(cond), __FILE__, __LINE__, #cond)

// NaN never compares near anything, so a NaN result fails.
#define CHECK_NEAR(actual, expected, tol)                                                          \
  do {                                                                                             \
    const double check_a_ = (actual), check_e_ = (expected);                                       \
    ::check::report(std::fabs(check_a_ - check_e_) <= (tol), __FILE__, __LINE__,                   \
                    std::string(#actual " = ") + ::check::fmt(check_a_) + ", expected " +          \
                        ::check::fmt(check_e_));                                                   \
  } while (0)

#define CHECK_CNEAR(actual, expected, tol)                                                         \
  do {                                                                                             \
    const std::complex<double> check_a_ = (actual), check_e_ = (expected);                         \
    ::check::report(std::abs(check_a_ - check_e_) <= (tol), __FILE__, __LINE__,                    \
                    std::string(#actual " = ") + ::check::fmt(check_a_) + ", expected " +          \
                        ::check::fmt(check_e_));                                                   \
  } while (0)
