// Measurements on a StateVector. Inputs are validated here; outputs are written only after
// validation succeeded.
#pragma once

#include "Observables.hpp"
#include "StateVector.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace kvant::rt {

double expval(const StateVector &sv, const Observable &obs);
double var(const StateVector &sv, const Observable &obs);

// out: 2^wires.size() entries, wires[0] the most significant bit. No wires: out[0] = 1
// (the norm), the marginal over nothing.
void probs(const StateVector &sv, const std::vector<std::size_t> &wires, double *out);

// out: 2 * numAmplitudes doubles, interleaved (re, im); numAmplitudes must be 2^n.
void copyState(const StateVector &sv, double *out, std::size_t numAmplitudes);

// Per-thread generator for sample / counts / measure.
void setSeed(std::uint64_t seed);
// Draws from that generator, for the distributed register (Distributed.cpp), whose rank 0
// draws as a single process would: a uniform number in [0, 1) with 53 random bits; an outcome
// index from a cumulative distribution (never one of probability 0).
double drawUniform();
// 64 raw bits from this thread's generator (seeds derived for parameter-shift batches).
std::uint64_t drawBits();
std::uint64_t drawOutcome(const std::vector<double> &cdf);
// put(shot, j, bit): the value of wires[j] in sample `shot`. Validates before calling put.
void sample(const StateVector &sv, std::int64_t shots, const std::vector<std::size_t> &wires,
            const std::function<void(std::int64_t, std::size_t, int)> &put);
// out: 2^wires.size() counts.
void counts(const StateVector &sv, std::int64_t shots, const std::vector<std::size_t> &wires,
            std::int64_t *out);
// Projective measurement of `wire`: returns the outcome; collapses and renormalises.
// postselect: -1 none, 0 or 1.
int measure(StateVector &sv, std::size_t wire, bool reset, int postselect);
// Discards the state: `amps` (2^k, wires[0] the MSB) on `wires`, |0> elsewhere.
void prepareState(StateVector &sv, const std::vector<Complex> &amps,
                  const std::vector<std::size_t> &wires, const char *what);

} // namespace kvant::rt
