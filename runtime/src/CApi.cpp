// The extern "C" surface. Everything here is about the contract in runtime.h: registers per
// thread, handles, sticky errors, and never letting a C++ exception or a bad pointer escape.

// The library is built with hidden visibility; only the C API is exported, so that the many
// C++ libraries loaded into the same Python process (LLVM, MLIR, jaxlib) cannot clash with ours.
#pragma GCC visibility push(default)
#include "kvant/runtime.h"
#pragma GCC visibility pop

#include "Adjoint.hpp"
#include "Forward.hpp"
#include "Gates.hpp"
#include "Measurements.hpp"
#include "Observables.hpp"
#include "Parallel.hpp"
#include "StateVector.hpp"
#include "Settings.hpp"

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

using namespace kvant::rt;

namespace {

struct Register {
  Register(std::int64_t id, std::size_t numQubits)
      : id(id), sv(numQubits), queueGates(forwardBlockQubits(numQubits) > 0) {}
  std::int64_t id;
  StateVector sv;
  // Large registers queue their gates and apply them in cache-sized blocks when the state is
  // next needed (Forward.hpp): kvant_rt_gate validates and queues, every other call on the
  // register goes through active(), which applies the queue first.
  bool queueGates;
  std::vector<PendingGate> pending;
  std::vector<ObservablePtr> observables;

  // Adjoint differentiation: `version` counts state changes, so the differentiation calls can
  // tell whether the state is still the one the tape ended in.
  Tape tape;
  bool recording = false;
  bool hasTape = false;
  std::uint64_t version = 0, tapeVersion = 0;

  // Called after every successful state change. A change the backward sweep cannot undo
  // (measurement, state preparation after gates) poisons a tape being recorded.
  void changed(const char *irreversible = nullptr) {
    ++version;
    if (recording && irreversible && tape.invalidReason.empty())
      tape.invalidReason = irreversible;
  }
};

struct ThreadState {
  std::vector<std::unique_ptr<Register>> stack; // back() is the active register
  std::string error;
  bool failed = false;
  // kvant_rt_gate's argument vectors, reused so that a gate call does not allocate for them
  // (calls are not reentrant; gateOp copies what it keeps). Here rather than in thread_locals
  // of their own: each thread_local of a shared library costs a __tls_get_addr call.
  std::vector<double> gateParams;
  std::vector<std::size_t> gateWires;
};

ThreadState &tls() {
  thread_local ThreadState state;
  return state;
}

// Register handles are unique across threads, so a handle used on the wrong thread or after
// qdealloc is recognised rather than silently aliasing another register.
std::atomic<std::int64_t> nextRegisterId{1};

// Observable handle = (register tag << 32) | (index + 1): non-zero, positive, and tied to the
// register that owns it.
constexpr std::int64_t kRegTagMask = 0x7fffffff;
constexpr std::int64_t kObsIndexMask = 0xffffffff;

// Never throws: it runs inside catch handlers and on the qdealloc path, where an escaping
// exception would unwind into JIT-compiled C code.
void recordError(const char *fn, const char *prefix, const char *what) noexcept {
  ThreadState &t = tls();
  if (t.failed)
    return;
  t.failed = true;
  try {
    t.error = std::string(fn) + ": " + prefix + what;
  } catch (...) {
    t.error.clear(); // kvant_rt_error falls back to a static message
  }
}

// Runs f unless an error is pending; converts every exception into the sticky error.
template <class R, class F> R guarded(const char *fn, R onError, F &&f) noexcept {
  if (tls().failed)
    return onError;
  try {
    return f();
  } catch (const Error &e) {
    recordError(fn, "", e.what());
  } catch (const std::bad_alloc &) {
    recordError(fn, "", "out of memory");
  } catch (const std::exception &e) {
    recordError(fn, "internal error: ", e.what());
  } catch (...) {
    recordError(fn, "internal error: ", "unknown exception");
  }
  return onError;
}

template <class F> void guardedVoid(const char *fn, F &&f) noexcept {
  guarded(fn, 0, [&] {
    f();
    return 0;
  });
}

// The active register with its queued gates not yet applied: only for adding gates to it.
Register &activeForGates() {
  ThreadState &t = tls();
  if (t.stack.empty())
    throw Error("no active register (kvant_rt_qalloc was not called on this thread)");
  return *t.stack.back();
}

// Bounds the queue's memory; a flush this long is as efficient as any.
constexpr std::size_t kMaxPendingGates = 4096;

// The active register, its state up to date.
Register &active() {
  Register &r = activeForGates();
  if (!r.pending.empty())
    applyPending(r.sv, r.pending);
  return r;
}

// A (pointer, count) pair from the caller: count must be non-negative, at most `maxCount`
// (checked before anything is read, so a garbage count cannot make us read far), and the
// pointer non-NULL when count > 0.
void checkArray(const void *p, std::int64_t n, std::int64_t maxCount, const char *what) {
  if (n < 0)
    throw Error(std::string(what) + ": negative count " + std::to_string(n));
  if (n > maxCount)
    throw Error(std::string(what) + ": count " + std::to_string(n) + " exceeds " +
                std::to_string(maxCount));
  if (n > 0 && !p)
    throw Error(std::string(what) + ": NULL pointer with count " + std::to_string(n));
}

constexpr std::int64_t kNoLimit = std::numeric_limits<std::int64_t>::max();

void readWiresInto(const std::int64_t *p, std::int64_t n, const Register &r, const char *what,
                   std::vector<std::size_t> &wires) {
  checkArray(p, n, static_cast<std::int64_t>(r.sv.numQubits()), what);
  wires.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (p[i] < 0)
      throw Error(std::string(what) + ": negative wire " + std::to_string(p[i]));
    wires[i] = static_cast<std::size_t>(p[i]);
  }
}

std::vector<std::size_t> readWires(const std::int64_t *p, std::int64_t n, const Register &r,
                                   const char *what) {
  std::vector<std::size_t> wires;
  readWiresInto(p, n, r, what, wires);
  return wires;
}

ControlWires readControls(const std::int64_t *wires, const std::int8_t *values, std::int64_t n,
                          const Register &r) {
  ControlWires c;
  c.wires = readWires(wires, n, r, "control wires");
  checkArray(values, n, kNoLimit, "control values");
  for (std::int64_t i = 0; i < n; ++i) {
    if (values[i] != 0 && values[i] != 1)
      throw Error("control value " + std::to_string(values[i]) + " for wire " +
                  std::to_string(wires[i]) + " is not 0 or 1");
    c.values.push_back(values[i] == 1);
  }
  return c;
}

// num_wires already validated, so the 4^k entries are what the caller promised.
std::vector<Complex> readMatrix(const double *m, std::size_t numWires, const char *what) {
  const std::size_t dim = std::size_t{1} << numWires;
  if (!m)
    throw Error(std::string(what) + ": NULL matrix");
  std::vector<Complex> out(dim * dim);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = Complex{m[2 * i], m[2 * i + 1]};
  return out;
}

std::int64_t addObservable(Register &r, ObservablePtr obs) {
  if (r.observables.size() >= static_cast<std::size_t>(kObsIndexMask - 1))
    throw Error("too many observables in one register");
  r.observables.push_back(std::move(obs));
  return ((r.id & kRegTagMask) << 32) | static_cast<std::int64_t>(r.observables.size());
}

const ObservablePtr &lookupObservable(const Register &r, std::int64_t h) {
  const std::int64_t index = h & kObsIndexMask;
  if (h <= 0 || (h >> 32) != (r.id & kRegTagMask) || index == 0 ||
      static_cast<std::size_t>(index) > r.observables.size())
    throw Error("invalid observable handle " + std::to_string(h) +
                " (not created in the active register)");
  return r.observables[static_cast<std::size_t>(index - 1)];
}

} // namespace

extern "C" {

int64_t kvant_rt_qalloc(int64_t num_qubits) {
  return guarded("kvant_rt_qalloc", std::int64_t{0}, [&] {
    if (num_qubits < 1 || num_qubits > static_cast<std::int64_t>(kMaxQubits))
      throw Error("number of qubits must be between 1 and " + std::to_string(kMaxQubits) +
                  ", got " + std::to_string(num_qubits));
    ThreadState &t = tls();
    t.stack.reserve(t.stack.size() + 1); // so push_back below cannot throw after make_unique
    auto reg = std::make_unique<Register>(nextRegisterId.fetch_add(1), num_qubits);
    const std::int64_t id = reg->id;
    t.stack.push_back(std::move(reg));
    return id;
  });
}

void kvant_rt_qdealloc(int64_t reg) {
  // Deallocation runs even while an error is pending: the program's cleanup path must not leak.
  ThreadState &t = tls();
  for (auto it = t.stack.begin(); it != t.stack.end(); ++it)
    if ((*it)->id == reg) {
      t.stack.erase(it); // the one below the top becomes active if `reg` was the top
      return;
    }
  try {
    const std::string msg = std::to_string(reg) +
                            " (never allocated, already freed, or owned by another thread)";
    recordError("kvant_rt_qdealloc", "unknown register handle ", msg.c_str());
  } catch (...) {
    recordError("kvant_rt_qdealloc", "unknown register handle", "");
  }
}

void kvant_rt_sync(void) {
  guardedVoid("kvant_rt_sync", [&] { (void)active(); });
}

void kvant_rt_gate(int64_t gate, const double *params, int64_t num_params, const int64_t *wires,
                   int64_t num_wires, const int64_t *ctrl_wires, const int8_t *ctrl_values,
                   int64_t num_ctrls, int8_t adjoint) {
  guardedVoid("kvant_rt_gate", [&] {
    Register &r = activeForGates();
    const GateInfo *info = gateInfo(gate);
    if (!info)
      throw Error("unknown gate id " + std::to_string(gate));
    // Messages get the gate's name only on the error path: building "RX: wires" strings up
    // front cost more than the gate itself on small registers.
    ThreadState &t = tls();
    std::vector<double> &p = t.gateParams;
    std::vector<std::size_t> &w = t.gateWires;
    try {
      checkArray(params, num_params, info->numParams, "params");
      p.assign(params, params + num_params);
      readWiresInto(wires, num_wires, r, "wires", w);
    } catch (const Error &e) {
      throw Error(std::string(info->name) + ": " + e.what());
    }
    ControlWires c = readControls(ctrl_wires, ctrl_values, num_ctrls, r);
    validateGate(r.sv, gate, p, w, c);
    Op op = gateOp(gate, p, w, adjoint != 0);
    if (r.recording)
      r.tape.reserveOne(); // before the state changes: what can fail, fails first
    if (r.queueGates) {
      if (r.pending.size() >= kMaxPendingGates)
        applyPending(r.sv, r.pending);
      if (r.recording)
        r.pending.push_back(PendingGate{op, c}); // the tape keeps its own copy below
      else
        r.pending.push_back(PendingGate{std::move(op), std::move(c)});
    } else {
      execute(r.sv, op, c);
    }
    if (r.recording) {
      TapeEntry e;
      e.gate = gate;
      e.adjoint = adjoint != 0;
      e.numParams = static_cast<std::uint8_t>(p.size());
      std::copy(p.begin(), p.end(), e.params);
      e.op = std::move(op);
      e.ctrls = std::move(c);
      r.tape.entries.push_back(std::move(e)); // no allocation: room was reserved
      r.tape.numParams += p.size();
    }
    r.changed();
  });
}

void kvant_rt_gate_small(int64_t gate, int64_t num_wires, int64_t wire0, int64_t wire1,
                         double param0, double param1, double param2, int8_t adjoint) {
  const GateInfo *info = gateInfo(gate);
  if (num_wires < 0 || num_wires > 2 || (info && info->numParams > 3)) {
    guardedVoid("kvant_rt_gate_small", [&] {
      throw Error(std::string(info ? info->name : "gate") +
                  ": kvant_rt_gate_small takes at most 2 wires and 3 parameters");
    });
    return;
  }
  const double params[3] = {param0, param1, param2};
  const int64_t wires[2] = {wire0, wire1};
  // An unknown id reaches kvant_rt_gate with no parameters, which reports it.
  kvant_rt_gate(gate, params, info ? info->numParams : 0, wires, num_wires, nullptr, nullptr, 0,
                adjoint);
}

void kvant_rt_unitary(const double *matrix, const int64_t *wires, int64_t num_wires,
                      const int64_t *ctrl_wires, const int8_t *ctrl_values, int64_t num_ctrls,
                      int8_t adjoint) {
  guardedVoid("kvant_rt_unitary", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "QubitUnitary: wires");
    const ControlWires c = readControls(ctrl_wires, ctrl_values, num_ctrls, r);
    if (w.empty())
      throw Error("QubitUnitary needs at least one wire");
    checkWires(w, r.sv.numQubits(), "QubitUnitary: wires");
    const std::vector<Complex> m = readMatrix(matrix, w.size(), "QubitUnitary");
    if (r.recording) {
      TapeEntry e;
      e.op = unitaryOp(m, w, adjoint != 0);
      e.ctrls = c;
      r.tape.reserveOne();
      applyUnitary(r.sv, m, w, c, adjoint != 0);
      r.tape.entries.push_back(std::move(e));
    } else {
      applyUnitary(r.sv, m, w, c, adjoint != 0);
    }
    r.changed();
  });
}

int64_t kvant_rt_obs_named(int64_t kind, int64_t wire) {
  return guarded("kvant_rt_obs_named", std::int64_t{0}, [&] {
    Register &r = active();
    if (kind < 0 || kind >= KVANT_OBS_COUNT)
      throw Error("unknown observable id " + std::to_string(kind));
    const std::vector<std::size_t> w = readWires(&wire, 1, r, "observable wire");
    checkWires(w, r.sv.numQubits(), "observable wire");
    return addObservable(r, makeNamed(kind, w[0]));
  });
}

int64_t kvant_rt_obs_tensor(const int64_t *factors, int64_t num_factors) {
  return guarded("kvant_rt_obs_tensor", std::int64_t{0}, [&] {
    Register &r = active();
    // Factors sit on distinct wires and each has at least one.
    checkArray(factors, num_factors, static_cast<std::int64_t>(r.sv.numQubits()),
               "tensor factors");
    std::vector<ObservablePtr> fs;
    for (std::int64_t i = 0; i < num_factors; ++i)
      fs.push_back(lookupObservable(r, factors[i]));
    return addObservable(r, makeTensor(std::move(fs)));
  });
}

int64_t kvant_rt_obs_hermitian(const double *matrix, const int64_t *wires, int64_t num_wires) {
  return guarded("kvant_rt_obs_hermitian", std::int64_t{0}, [&] {
    Register &r = active();
    std::vector<std::size_t> w = readWires(wires, num_wires, r, "Hermitian: wires");
    if (w.empty())
      throw Error("Hermitian observable needs at least one wire");
    checkWires(w, r.sv.numQubits(), "Hermitian: wires");
    std::vector<Complex> m = readMatrix(matrix, w.size(), "Hermitian");
    return addObservable(r, makeHermitian(std::move(m), std::move(w), r.sv.numQubits()));
  });
}

int64_t kvant_rt_obs_hamiltonian(const double *coeffs, const int64_t *terms, int64_t num_terms) {
  return guarded("kvant_rt_obs_hamiltonian", std::int64_t{0}, [&] {
    Register &r = active();
    checkArray(coeffs, num_terms, kNoLimit, "Hamiltonian coefficients");
    checkArray(terms, num_terms, kNoLimit, "Hamiltonian terms");
    std::vector<ObservablePtr> ts;
    for (std::int64_t i = 0; i < num_terms; ++i)
      ts.push_back(lookupObservable(r, terms[i]));
    return addObservable(r, makeHamiltonian(std::vector<double>(coeffs, coeffs + num_terms),
                                            std::move(ts)));
  });
}

double kvant_rt_expval(int64_t obs) {
  return guarded("kvant_rt_expval", std::numeric_limits<double>::quiet_NaN(), [&] {
    Register &r = active();
    return expval(r.sv, *lookupObservable(r, obs));
  });
}

double kvant_rt_var(int64_t obs) {
  return guarded("kvant_rt_var", std::numeric_limits<double>::quiet_NaN(), [&] {
    Register &r = active();
    return var(r.sv, *lookupObservable(r, obs));
  });
}

void kvant_rt_probs(double *out, const int64_t *wires, int64_t num_wires) {
  guardedVoid("kvant_rt_probs", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "probs: wires");
    if (!out)
      throw Error("probs: NULL output buffer");
    probs(r.sv, w, out);
  });
}

void kvant_rt_state(double *out, int64_t num_amplitudes) {
  guardedVoid("kvant_rt_state", [&] {
    Register &r = active();
    if (num_amplitudes < 0)
      throw Error("state: negative amplitude count " + std::to_string(num_amplitudes));
    if (!out)
      throw Error("state: NULL output buffer");
    copyState(r.sv, out, static_cast<std::size_t>(num_amplitudes));
  });
}

void kvant_rt_basis_state(const int8_t *bits, const int64_t *wires, int64_t num_wires) {
  guardedVoid("kvant_rt_basis_state", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "BasisState: wires");
    checkArray(bits, num_wires, kNoLimit, "BasisState: bits");
    std::size_t idx = 0;
    for (std::int64_t i = 0; i < num_wires; ++i) {
      if (bits[i] != 0 && bits[i] != 1)
        throw Error("BasisState: bit " + std::to_string(bits[i]) + " for wire " +
                    std::to_string(w[i]) + " is not 0 or 1");
      idx = (idx << 1) | static_cast<std::size_t>(bits[i]);
    }
    std::vector<Complex> amps(std::size_t{1} << w.size(), Complex{0.0, 0.0});
    amps[idx] = 1.0;
    prepareState(r.sv, amps, w, "BasisState");
    r.changed(r.tape.entries.empty() ? nullptr : "a state preparation after recorded gates");
  });
}

void kvant_rt_state_prep(const double *amplitudes, int64_t num_amplitudes, const int64_t *wires,
                         int64_t num_wires) {
  guardedVoid("kvant_rt_state_prep", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "StatePrep: wires");
    checkArray(amplitudes, num_amplitudes, std::int64_t{1} << r.sv.numQubits(),
               "StatePrep: amplitudes");
    std::vector<Complex> amps(static_cast<std::size_t>(num_amplitudes));
    for (std::size_t i = 0; i < amps.size(); ++i)
      amps[i] = Complex{amplitudes[2 * i], amplitudes[2 * i + 1]};
    prepareState(r.sv, amps, w, "StatePrep");
    r.changed(r.tape.entries.empty() ? nullptr : "a state preparation after recorded gates");
  });
}

void kvant_rt_set_seed(uint64_t seed) {
  guardedVoid("kvant_rt_set_seed", [&] { setSeed(seed); });
}

} // extern "C"

namespace {
template <class T>
void sampleInto(const char *fn, T *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  guardedVoid(fn, [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "sample: wires");
    if (!out)
      throw Error("sample: NULL output buffer");
    const std::size_t k = w.size();
    sample(r.sv, shots, w, [&](std::int64_t s, std::size_t j, int bit) {
      out[static_cast<std::size_t>(s) * k + j] = static_cast<T>(bit);
    });
  });
}
} // namespace

extern "C" {

void kvant_rt_sample(int64_t *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  sampleInto("kvant_rt_sample", out, shots, wires, num_wires);
}

void kvant_rt_sample_f64(double *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  sampleInto("kvant_rt_sample_f64", out, shots, wires, num_wires);
}

void kvant_rt_counts(int64_t *counts_out, int64_t shots, const int64_t *wires,
                     int64_t num_wires) {
  guardedVoid("kvant_rt_counts", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "counts: wires");
    if (!counts_out)
      throw Error("counts: NULL output buffer");
    counts(r.sv, shots, w, counts_out);
  });
}

int8_t kvant_rt_measure(int64_t wire, int8_t reset, int8_t postselect) {
  return guarded("kvant_rt_measure", std::int8_t{0}, [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(&wire, 1, r, "measure: wire");
    const int outcome = measure(r.sv, w[0], reset != 0, postselect);
    r.changed("a mid-circuit measurement");
    return static_cast<std::int8_t>(outcome);
  });
}

void kvant_rt_tape_begin(void) {
  guardedVoid("kvant_rt_tape_begin", [&] {
    Register &r = active();
    r.tape.clear();
    r.recording = true;
    r.hasTape = true;
  });
}

void kvant_rt_tape_end(void) {
  guardedVoid("kvant_rt_tape_end", [&] {
    Register &r = active();
    if (!r.recording)
      throw Error("tape_end without tape_begin");
    r.recording = false;
    r.tapeVersion = r.version;
  });
}

int64_t kvant_rt_tape_num_params(void) {
  return guarded("kvant_rt_tape_num_params", std::int64_t{0}, [&] {
    Register &r = active();
    if (!r.hasTape)
      throw Error("no tape recorded on the active register (call kvant_rt_tape_begin)");
    return static_cast<std::int64_t>(r.tape.numParams);
  });
}

} // extern "C"

namespace {

// Checks that the tape can be differentiated at the current state; returns the register.
Register &tapeForDifferentiation(const char *what, int64_t num_params, const void *out) {
  Register &r = active();
  if (!r.hasTape)
    throw Error(std::string(what) + ": no tape recorded on the active register");
  if (!r.tape.invalidReason.empty())
    throw Error(std::string(what) + ": the tape contains " + r.tape.invalidReason +
                ", which adjoint differentiation does not support");
  if (!r.recording && r.version != r.tapeVersion)
    throw Error(std::string(what) +
                ": the state changed after kvant_rt_tape_end; differentiate before applying "
                "further operations");
  if (num_params != static_cast<std::int64_t>(r.tape.numParams))
    throw Error(std::string(what) + ": the tape has " + std::to_string(r.tape.numParams) +
                " parameter(s), num_params is " + std::to_string(num_params));
  if (num_params > 0 && !out)
    throw Error(std::string(what) + ": NULL output buffer");
  return r;
}

std::vector<ObservablePtr> readObservables(const Register &r, const int64_t *obs,
                                           int64_t num_obs, const char *what) {
  checkArray(obs, num_obs, kNoLimit, what);
  std::vector<ObservablePtr> out;
  for (int64_t k = 0; k < num_obs; ++k)
    out.push_back(lookupObservable(r, obs[k]));
  return out;
}

void axpy(StateVector &y, double a, const StateVector &x) {
  Complex *yd = y.data();
  const Complex *xd = x.data();
  par::forRange(y.size(), [=](std::uint64_t i) { yd[i] += a * xd[i]; });
}

// The lambda terms of the VJPs: each adds (its weighted observable) phi into `lambda`.
// expval: ct O phi.
void addExpvalCotangent(StateVector &lambda, const StateVector &phi, const Observable &o,
                        double ct) {
  if (ct != 0.0)
    axpy(lambda, ct, o.applied(phi));
}

// var = <O^2> - <O>^2, so d var = d<O^2> - 2 <O> d<O>: ct (O^2 - 2 <O> O) phi, applied as
// O (O phi) and O phi.
void addVarCotangent(StateVector &lambda, const StateVector &phi, const Observable &o,
                     double ct) {
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

// One backward sweep with a single lambda; writes the gradient.
void sweepOne(Register &r, StateVector lambda, double *grad_out) {
  StateVector phi = r.sv;
  std::vector<StateVector> lambdas;
  lambdas.push_back(std::move(lambda));
  const std::vector<double> g = adjointSweep(r.tape, phi, lambdas);
  std::copy(g.begin(), g.end(), grad_out);
}

// One measurement of a mixed list (kvant_rt_adjoint_vjp_mixed / _jacobian_mixed).
struct Measurement {
  std::int64_t kind;
  ObservablePtr obs;               // expval and var
  std::vector<std::size_t> wires;  // probs
  std::int64_t entry;              // offset of its first entry among all the results' entries
};

// Reads and checks a mixed measurement list before any work, so a bad entry late in the list
// fails the call cleanly; `num_entries` must be the total number of result entries.
std::vector<Measurement> readMeasurements(Register &r, const int64_t *kinds, const int64_t *obs,
                                          const int64_t *num_wires, int64_t num_meas,
                                          const int64_t *wires, int64_t num_wires_total,
                                          int64_t num_entries, const char *entriesName,
                                          const char *entriesWhat) {
  checkArray(kinds, num_meas, kNoLimit, "measurement kinds");
  checkArray(obs, num_meas, kNoLimit, "observables");
  checkArray(num_wires, num_meas, kNoLimit, "wire counts");
  checkArray(wires, num_wires_total, kNoLimit, "wires");
  std::vector<Measurement> ms;
  std::int64_t wireAt = 0, entryAt = 0;
  for (std::int64_t m = 0; m < num_meas; ++m) {
    const std::string which = "measurement " + std::to_string(m);
    Measurement x{kinds[m], nullptr, {}, entryAt};
    if (kinds[m] == KVANT_MEAS_EXPVAL || kinds[m] == KVANT_MEAS_VAR) {
      if (num_wires[m] != 0)
        throw Error(which + ": expval/var takes no wires, got " + std::to_string(num_wires[m]));
      x.obs = lookupObservable(r, obs[m]);
      entryAt += 1;
    } else if (kinds[m] == KVANT_MEAS_PROBS) {
      if (num_wires[m] < 0 || num_wires[m] > num_wires_total - wireAt)
        throw Error(which + ": probs over " + std::to_string(num_wires[m]) + " wires, but only " +
                    std::to_string(num_wires_total - wireAt) + " of num_wires_total are left");
      x.wires = readWires(wires + wireAt, num_wires[m], r, "probs: wires");
      checkWires(x.wires, r.sv.numQubits(), "probs: wires");
      wireAt += num_wires[m];
      entryAt += std::int64_t{1} << x.wires.size();
    } else {
      throw Error(which + ": unknown measurement kind " + std::to_string(kinds[m]) +
                  " (expval 0, var 1, probs 2)");
    }
    ms.push_back(std::move(x));
  }
  if (wireAt != num_wires_total)
    throw Error("num_wires_total is " + std::to_string(num_wires_total) +
                ", the probs measurements use " + std::to_string(wireAt));
  if (entryAt != num_entries)
    throw Error("the measurements need " + std::to_string(entryAt) + " " + entriesWhat + ", " +
                entriesName + " is " + std::to_string(num_entries));
  return ms;
}

// Lambdas held at once by a Jacobian sweep: rows beyond this many (probs over many wires) take
// further sweeps, each from a fresh copy of the final state, to bound memory (~1 GiB).
// KVANT_RT_JACOBIAN_ROWS_PER_SWEEP overrides it (tests use it to exercise several sweeps).
std::size_t lambdasPerSweep(const StateVector &sv) {
  const std::size_t bytes = sv.size() * sizeof(Complex);
  const long fits = static_cast<long>(std::max<std::size_t>(1, (std::size_t{1} << 30) / bytes));
  return static_cast<std::size_t>(envSetting("KVANT_RT_JACOBIAN_ROWS_PER_SWEEP", fits, 1, 1L << 30));
}

} // namespace

extern "C" {

void kvant_rt_adjoint_jacobian(const int64_t *obs, int64_t num_obs, double *jac_out,
                               int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_jacobian", [&] {
    Register &r = tapeForDifferentiation("adjoint_jacobian", num_params, jac_out);
    const std::vector<ObservablePtr> os = readObservables(r, obs, num_obs, "observables");
    StateVector phi = r.sv;
    std::vector<StateVector> lambdas;
    for (const ObservablePtr &o : os)
      lambdas.push_back(o->applied(r.sv));
    const std::vector<double> j = adjointSweep(r.tape, phi, lambdas);
    std::copy(j.begin(), j.end(), jac_out);
  });
}

void kvant_rt_adjoint_jacobian_mixed(const int64_t *kinds, const int64_t *obs,
                                     const int64_t *num_wires, int64_t num_meas,
                                     const int64_t *wires, int64_t num_wires_total,
                                     double *jac_out, int64_t num_rows, int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_jacobian_mixed", [&] {
    Register &r = tapeForDifferentiation("adjoint_jacobian_mixed", num_params, jac_out);
    const std::vector<Measurement> ms = readMeasurements(r, kinds, obs, num_wires, num_meas, wires,
                                                         num_wires_total, num_rows, "num_rows", "rows");
    // Row k's lambda is the vector its entry's cotangent e_k would give in the VJP: O phi for
    // <O>, (O^2 - 2<O> O) phi for var O, the projector onto outcome i times phi for probs[i].
    auto lambdaOf = [&](std::int64_t row) {
      StateVector lambda(r.sv.numQubits());
      lambda.zero();
      for (const Measurement &x : ms) {
        std::int64_t size = x.kind == KVANT_MEAS_PROBS ? std::int64_t{1} << x.wires.size() : 1;
        if (row < x.entry || row >= x.entry + size)
          continue;
        if (x.kind == KVANT_MEAS_EXPVAL) {
          addExpvalCotangent(lambda, r.sv, *x.obs, 1.0);
        } else if (x.kind == KVANT_MEAS_VAR) {
          addVarCotangent(lambda, r.sv, *x.obs, 1.0);
        } else {
          std::vector<double> oneHot(static_cast<std::size_t>(size), 0.0);
          oneHot[static_cast<std::size_t>(row - x.entry)] = 1.0;
          addProbsCotangent(lambda, r.sv, x.wires, oneHot.data());
        }
      }
      return lambda;
    };
    const std::size_t batch = lambdasPerSweep(r.sv), P = static_cast<std::size_t>(num_params);
    for (std::int64_t first = 0; first < num_rows; first += static_cast<std::int64_t>(batch)) {
      const std::int64_t last = std::min<std::int64_t>(num_rows, first + batch);
      std::vector<StateVector> lambdas;
      for (std::int64_t row = first; row < last; ++row)
        lambdas.push_back(lambdaOf(row));
      StateVector phi = r.sv;
      const std::vector<double> j = adjointSweep(r.tape, phi, lambdas);
      std::copy(j.begin(), j.end(), jac_out + static_cast<std::size_t>(first) * P);
    }
  });
}

void kvant_rt_adjoint_vjp(const int64_t *obs, const double *cotangent, int64_t num_obs,
                          double *grad_out, int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_vjp", [&] {
    Register &r = tapeForDifferentiation("adjoint_vjp", num_params, grad_out);
    const std::vector<ObservablePtr> os = readObservables(r, obs, num_obs, "observables");
    checkArray(cotangent, num_obs, kNoLimit, "cotangent");
    if (num_params == 0)
      return;
    // lambda = (sum_k ct_k O_k) phi: the weighted observable, so one sweep serves all outputs.
    StateVector lambda(r.sv.numQubits());
    lambda.zero();
    for (std::size_t k = 0; k < os.size(); ++k)
      addExpvalCotangent(lambda, r.sv, *os[k], cotangent[k]);
    sweepOne(r, std::move(lambda), grad_out);
  });
}

void kvant_rt_adjoint_vjp_probs(const int64_t *wires, int64_t num_wires,
                                const double *cotangent, double *grad_out, int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_vjp_probs", [&] {
    Register &r = tapeForDifferentiation("adjoint_vjp_probs", num_params, grad_out);
    const std::vector<std::size_t> w = readWires(wires, num_wires, r, "probs: wires");
    checkWires(w, r.sv.numQubits(), "probs: wires");
    checkArray(cotangent, std::int64_t{1} << w.size(), kNoLimit, "cotangent");
    if (num_params == 0)
      return;
    StateVector lambda(r.sv.numQubits());
    lambda.zero();
    addProbsCotangent(lambda, r.sv, w, cotangent);
    sweepOne(r, std::move(lambda), grad_out);
  });
}

void kvant_rt_adjoint_vjp_var(const int64_t *obs, const double *cotangent, int64_t num_obs,
                              double *grad_out, int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_vjp_var", [&] {
    Register &r = tapeForDifferentiation("adjoint_vjp_var", num_params, grad_out);
    const std::vector<ObservablePtr> os = readObservables(r, obs, num_obs, "observables");
    checkArray(cotangent, num_obs, kNoLimit, "cotangent");
    if (num_params == 0)
      return;
    StateVector lambda(r.sv.numQubits());
    lambda.zero();
    for (std::size_t k = 0; k < os.size(); ++k)
      addVarCotangent(lambda, r.sv, *os[k], cotangent[k]);
    sweepOne(r, std::move(lambda), grad_out);
  });
}

void kvant_rt_adjoint_vjp_mixed(const int64_t *kinds, const int64_t *obs,
                                const int64_t *num_wires, int64_t num_meas,
                                const int64_t *wires, int64_t num_wires_total,
                                const double *cotangent, int64_t num_cotangent, double *grad_out,
                                int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_vjp_mixed", [&] {
    Register &r = tapeForDifferentiation("adjoint_vjp_mixed", num_params, grad_out);
    checkArray(cotangent, num_cotangent, kNoLimit, "cotangent");
    const std::vector<Measurement> ms = readMeasurements(r, kinds, obs, num_wires, num_meas, wires,
                                                         num_wires_total, num_cotangent,
                                                         "num_cotangent", "cotangent entries");
    if (num_params == 0)
      return;
    // d(sum of results weighted by their cotangents) = 2 Re <lambda| dU |phi> with lambda the
    // sum of each measurement's weighted-observable vector: one lambda, one sweep.
    StateVector lambda(r.sv.numQubits());
    lambda.zero();
    for (const Measurement &x : ms) {
      if (x.kind == KVANT_MEAS_EXPVAL)
        addExpvalCotangent(lambda, r.sv, *x.obs, cotangent[x.entry]);
      else if (x.kind == KVANT_MEAS_VAR)
        addVarCotangent(lambda, r.sv, *x.obs, cotangent[x.entry]);
      else
        addProbsCotangent(lambda, r.sv, x.wires, cotangent + x.entry);
    }
    sweepOne(r, std::move(lambda), grad_out);
  });
}

const char *kvant_rt_error(void) {
  const ThreadState &t = tls();
  if (!t.failed)
    return nullptr;
  return t.error.empty() ? "kvant runtime error (out of memory while formatting the message)"
                         : t.error.c_str();
}

void kvant_rt_clear_error(void) {
  ThreadState &t = tls();
  t.failed = false;
  t.error.clear();
}

} // extern "C"
