#include "Measurements.hpp"

#include "GateKernels.hpp"
#include "Parallel.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace kvant::rt {

double expval(const StateVector &sv, const Observable &obs) { return obs.expval(sv); }

double var(const StateVector &sv, const Observable &obs) {
  // Rounding can push a zero variance slightly below 0; a negative variance is never right.
  return std::max(0.0, obs.var(sv));
}

void probs(const StateVector &sv, const std::vector<std::size_t> &wires, double *out) {
  checkWires(wires, sv.numQubits(), "probs: wires");
  const std::size_t k = wires.size();
  const std::size_t n = sv.numQubits();
  const Complex *d = sv.data();
  const std::uint64_t size = sv.size();
  std::fill(out, out + (std::size_t{1} << k), 0.0);

  bool identityOrder = k == n;
  for (std::size_t i = 0; identityOrder && i < k; ++i)
    identityOrder = wires[i] == i;
  if (identityOrder) {
    par::forRange(size, [=](std::uint64_t i) { out[i] = std::norm(d[i]); });
    return;
  }

  std::vector<unsigned> bits;
  for (std::size_t w : wires)
    bits.push_back(sv.bitOf(w));
  auto outcome = [&bits](std::uint64_t i) {
    std::uint64_t idx = 0;
    for (unsigned b : bits)
      idx = (idx << 1) | ((i >> b) & 1);
    return idx;
  };
  const std::size_t dim = std::size_t{1} << k;
  // Per-chunk histograms, added in chunk order (deterministic); only for small outcome spaces,
  // where the histograms stay small next to the state.
  const std::uint64_t units = size;
  const std::size_t chunks = par::chunkCount(units, size);
  if (!par::useThreads(size) || chunks == 1 || dim > 1024) {
    for (std::uint64_t i = 0; i < size; ++i)
      out[outcome(i)] += std::norm(d[i]);
    return;
  }
  std::vector<double> partial(chunks * dim, 0.0);
  struct Ctx {
    const Complex *d;
    double *partial;
    std::size_t dim, chunks;
    std::uint64_t units;
    const decltype(outcome) *outcomeOf;
  } ctx{d, partial.data(), dim, chunks, units, &outcome};
  par::runChunks(
      chunks, true,
      [](const void *p, std::size_t c) {
        const Ctx &x = *static_cast<const Ctx *>(p);
        double *h = x.partial + c * x.dim;
        const std::uint64_t lo = par::chunkBegin(x.units, x.chunks, c);
        const std::uint64_t hi = par::chunkBegin(x.units, x.chunks, c + 1);
        for (std::uint64_t i = lo; i < hi; ++i)
          h[(*x.outcomeOf)(i)] += std::norm(x.d[i]);
      },
      &ctx);
  for (std::size_t c = 0; c < chunks; ++c)
    for (std::size_t j = 0; j < dim; ++j)
      out[j] += partial[c * dim + j];
}

void copyState(const StateVector &sv, double *out, std::size_t numAmplitudes) {
  if (numAmplitudes != sv.size())
    throw Error("state: buffer holds " + std::to_string(numAmplitudes) +
                " amplitudes, the register has " + std::to_string(sv.size()) + " (2^" +
                std::to_string(sv.numQubits()) + ")");
  const Complex *d = sv.data();
  for (std::size_t i = 0; i < numAmplitudes; ++i) {
    out[2 * i] = d[i].real();
    out[2 * i + 1] = d[i].imag();
  }
}

namespace {

std::mt19937_64 &rng() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }()};
  return gen;
}

// Uniform in [0, 1) with 53 random bits.
double uniform() { return static_cast<double>(rng()() >> 11) * 0x1.0p-53; }

void checkSampleArgs(const StateVector &sv, std::int64_t shots,
                     const std::vector<std::size_t> &wires, const char *what) {
  if (shots < 1)
    throw Error(std::string(what) + ": shots must be at least 1, got " + std::to_string(shots));
  if (wires.empty())
    throw Error(std::string(what) + ": needs at least one wire");
  checkWires(wires, sv.numQubits(), (std::string(what) + ": wires").c_str());
}

// Cumulative distribution of the outcomes over `wires`.
std::vector<double> cdfOver(const StateVector &sv, const std::vector<std::size_t> &wires) {
  std::vector<double> c(std::size_t{1} << wires.size());
  probs(sv, wires, c.data());
  for (std::size_t i = 1; i < c.size(); ++i)
    c[i] += c[i - 1];
  return c;
}

// An outcome index drawn from the cumulative distribution. upper_bound never lands on an
// outcome of probability 0 (its cdf entry equals its predecessor's).
std::uint64_t draw(const std::vector<double> &cdf) {
  const double u = uniform() * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
  return static_cast<std::uint64_t>(
      std::min<std::ptrdiff_t>(it - cdf.begin(), static_cast<std::ptrdiff_t>(cdf.size()) - 1));
}

} // namespace

void setSeed(std::uint64_t seed) { rng().seed(seed); }

double drawUniform() { return uniform(); }

std::uint64_t drawBits() { return rng()(); }

std::uint64_t drawOutcome(const std::vector<double> &cdf) { return draw(cdf); }

void sample(const StateVector &sv, std::int64_t shots, const std::vector<std::size_t> &wires,
            const std::function<void(std::int64_t, std::size_t, int)> &put) {
  checkSampleArgs(sv, shots, wires, "sample");
  const std::vector<double> cdf = cdfOver(sv, wires);
  const std::size_t k = wires.size();
  for (std::int64_t s = 0; s < shots; ++s) {
    const std::uint64_t idx = draw(cdf);
    for (std::size_t j = 0; j < k; ++j)
      put(s, j, static_cast<int>((idx >> (k - 1 - j)) & 1));
  }
}

void counts(const StateVector &sv, std::int64_t shots, const std::vector<std::size_t> &wires,
            std::int64_t *out) {
  checkSampleArgs(sv, shots, wires, "counts");
  const std::vector<double> cdf = cdfOver(sv, wires);
  std::vector<std::int64_t> c(cdf.size(), 0);
  for (std::int64_t s = 0; s < shots; ++s)
    ++c[draw(cdf)];
  std::copy(c.begin(), c.end(), out);
}

int measure(StateVector &sv, std::size_t wire, bool reset, int postselect) {
  checkWires({wire}, sv.numQubits(), "measure: wire");
  if (postselect < -1 || postselect > 1)
    throw Error("measure: postselect must be -1 (none), 0 or 1, got " + std::to_string(postselect));
  const unsigned bit = sv.bitOf(wire);
  const std::uint64_t mask = std::uint64_t{1} << bit;
  const Complex *d = sv.data();
  const par::GroupSpace all(static_cast<unsigned>(sv.numQubits()), {}, 0);
  const auto p = par::reduceGroups<2>(
      all, [=](std::uint64_t i, double *acc) { acc[(i & mask) ? 1 : 0] += std::norm(d[i]); });
  const double total = p[0] + p[1];
  int outcome;
  if (postselect >= 0) {
    outcome = postselect;
    if (!(p[outcome] / total >= 1e-14))
      throw Error("measure: postselecting outcome " + std::to_string(outcome) + " on wire " +
                  std::to_string(wire) + ", which has probability " +
                  std::to_string(p[outcome] / total));
  } else {
    outcome = uniform() * total < p[1] ? 1 : 0;
    // Rounding could pick an outcome of probability 0 only when u*total == p[1] == total,
    // which uniform() < 1 rules out; guard anyway so we never divide by zero below.
    if (p[outcome] <= 0)
      outcome = 1 - outcome;
  }
  const double scale = 1.0 / std::sqrt(p[outcome]);
  kernels::applyDiagonal1(sv, bit, outcome == 0 ? scale : 0.0, outcome == 1 ? scale : 0.0, {});
  if (reset && outcome == 1)
    kernels::applyPauliX(sv, bit, {});
  return outcome;
}

void prepareState(StateVector &sv, const std::vector<Complex> &amps,
                  const std::vector<std::size_t> &wires, const char *what) {
  if (wires.empty())
    throw Error(std::string(what) + ": needs at least one wire");
  checkWires(wires, sv.numQubits(), (std::string(what) + ": wires").c_str());
  if (amps.size() != (std::size_t{1} << wires.size()))
    throw Error(std::string(what) + ": " + std::to_string(wires.size()) + " wire(s) need " +
                std::to_string(std::size_t{1} << wires.size()) + " amplitudes, got " +
                std::to_string(amps.size()));
  double norm = 0.0;
  for (const Complex &a : amps)
    norm += std::norm(a);
  if (!(std::fabs(norm - 1.0) <= 1e-8))
    throw Error(std::string(what) + ": state is not normalised (squared norm " +
                std::to_string(norm) + ")");
  sv.zero();
  const std::size_t k = wires.size();
  Complex *d = sv.data();
  for (std::size_t idx = 0; idx < amps.size(); ++idx) {
    std::uint64_t full = 0;
    for (std::size_t j = 0; j < k; ++j)
      if ((idx >> (k - 1 - j)) & 1)
        full |= std::uint64_t{1} << sv.bitOf(wires[j]);
    d[full] = amps[idx];
  }
}

} // namespace kvant::rt
