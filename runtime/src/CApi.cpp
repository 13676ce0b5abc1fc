// The extern "C" surface: decodes the arguments of runtime.h's calls, hands them to the C++
// classes (Register.hpp, Measurements.hpp, AdjointSeeding.hpp, ...), and keeps the contract:
// registers per thread, handles, sticky errors, and never letting a C++ exception or a bad
// pointer escape.

// The library is built with hidden visibility; only the C API is exported, so that the many
// C++ libraries loaded into the same Python process (LLVM, MLIR, jaxlib) cannot clash with ours.
#pragma GCC visibility push(default)
#include "kvant/runtime.h"
#pragma GCC visibility pop

#include "AdjointSeeding.hpp"
#include "Arguments.hpp"
#include "Distributed.hpp"
#include "Gates.hpp"
#include "Linalg.hpp"
#include "MeasurementList.hpp"
#include "Measurements.hpp"
#include "Observables.hpp"
#include "Register.hpp"
#include "StateVector.hpp"

#include <algorithm>
#include <atomic>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

using namespace kvant::rt;

namespace {

struct ThreadState {
  std::vector<std::unique_ptr<Register>> stack; // back() is the active register
  std::string error;
  bool failed = false;
  // kvant_rt_gate's argument vectors, reused so that a gate call does not allocate for them
  // (calls are not reentrant; Register::applyGate copies what it keeps). Here rather than in
  // thread_locals of their own: each thread_local of a shared library costs a __tls_get_addr
  // call.
  std::vector<double> gateParams;
  std::vector<std::size_t> gateWires;
  // The host callbacks of the program this thread runs (kvant_rt_set_host_dispatch).
  kvant_host_dispatch_t hostDispatch = nullptr;
  void *hostContext = nullptr;
  // kvant_rt_set_distributed: new registers are distributed over `comm`'s ranks.
  std::shared_ptr<Communicator> comm;
  bool distribute = false;
  // kvant_rt_set_distributed(2): parameter-shift batches are dealt out over `comm`'s ranks.
  bool shifts = false;
  // The parameter-shift batches open on this thread (kvant_rt_shifts_begin); only the
  // outermost one is dealt out. The next evaluation's number in this call, and the seeds drawn
  // at the start of the open batch.
  int shiftDepth = 0;
  std::uint64_t shiftNext = 0, shiftBase = 0, shiftAfter = 0;
  // Shifted evaluations this thread ran / dealt out (kvant_rt_distributed_stats).
  std::int64_t shiftsOwned = 0, shiftsDealt = 0;
  // kvant_rt_distributed_stats of the last distributed register freed on this thread.
  std::int64_t lastStats[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
};

void distributedStats(DistributedState &d, std::int64_t *v) {
  const ExchangeStats &s = d.stats();
  v[0] = d.ranks();
  v[1] = static_cast<std::int64_t>(d.layout().k);
  v[2] = static_cast<std::int64_t>(s.swaps);
  v[3] = static_cast<std::int64_t>(s.bytesSent);
  v[4] = static_cast<std::int64_t>(s.messages);
  v[5] = static_cast<std::int64_t>(s.reductions);
  v[6] = static_cast<std::int64_t>(s.bufferBytes);
  v[7] = d.rank();
  v[8] = static_cast<std::int64_t>(s.exchangeNanos);
}

ThreadState &tls() {
  thread_local ThreadState state;
  return state;
}

// Register handles are unique across threads, so a handle used on the wrong thread or after
// qdealloc is recognised rather than silently aliasing another register.
std::atomic<std::int64_t> nextRegisterId{1};

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

// The active register, its state up to date.
Register &active() {
  Register &r = activeForGates();
  r.sync();
  return r;
}

ControlWires readControls(const std::int64_t *wires, const std::int8_t *values, std::int64_t n,
                          const Register &r) {
  ControlWires c;
  c.wires = readWires(wires, n, r.numQubits(), "control wires");
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

std::vector<ObservablePtr> readObservables(const Register &r, const int64_t *obs, int64_t num_obs,
                                           const char *what) {
  checkArray(obs, num_obs, kNoLimit, what);
  std::vector<ObservablePtr> out;
  for (int64_t k = 0; k < num_obs; ++k)
    out.push_back(r.observable(obs[k]));
  return out;
}

// The tape of the active register, checked for differentiation with num_params parameters
// into `out` (NULL only when there are none).
const Tape &tapeToDifferentiate(Register &r, const char *what, int64_t num_params,
                                const void *out) {
  const Tape &tape = r.tapeToDifferentiate(what, num_params);
  if (num_params > 0 && !out)
    throw Error(std::string(what) + ": NULL output buffer");
  return tape;
}

// A mixed measurement list whose result entries must number `num_entries` (the caller's
// cotangent or row count, named `entriesName`, counting `entriesWhat`).
MeasurementList readMeasurementList(const Register &r, const int64_t *kinds, const int64_t *obs,
                                    const int64_t *num_wires, int64_t num_meas,
                                    const int64_t *wires, int64_t num_wires_total,
                                    int64_t num_entries, const char *entriesName,
                                    const char *entriesWhat) {
  MeasurementList list =
      parseMeasurementList(r, kinds, obs, num_wires, num_meas, wires, num_wires_total);
  if (list.numEntries != num_entries)
    throw Error("the measurements need " + std::to_string(list.numEntries) + " " + entriesWhat +
                ", " + entriesName + " is " + std::to_string(num_entries));
  return list;
}

template <class T>
void sampleInto(const char *fn, T *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  guardedVoid(fn, [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r.numQubits(), "sample: wires");
    if (!out)
      throw Error("sample: NULL output buffer");
    const std::size_t k = w.size();
    auto put = [&](std::int64_t s, std::size_t j, int bit) {
      out[static_cast<std::size_t>(s) * k + j] = static_cast<T>(bit);
    };
    if (DistributedState *d = r.distributed())
      d->sample(shots, w, put);
    else
      sample(r.state(), shots, w, put);
  });
}

} // namespace

// ---- dense linear algebra
//
// The results are allocated before anything can fail and filled with NaN, so that the caller,
// which frees and may read them whatever happens, always gets valid buffers of its static shape.

namespace {

/// Fills `d` as a row-major memref of `sizes` with elements of `bytes` bytes in a malloc'ed
/// buffer, NaN-filled (zeros for integers); returns the data, null when out of memory (the call
/// then records the error; the caller frees a null pointer harmlessly).
template <class Desc>
void *allocateResult(Desc &d, std::initializer_list<std::int64_t> sizes, std::size_t bytes,
                     bool integer) {
  std::int64_t count = 1, k = 0;
  for (std::int64_t size : sizes) {
    d.sizes[k++] = size;
    count *= size;
  }
  std::int64_t stride = 1;
  for (std::int64_t j = k - 1; j >= 0; --j) {
    d.strides[j] = stride;
    stride *= d.sizes[j];
  }
  void *data = std::malloc(std::max<std::size_t>(1, std::size_t(count) * bytes));
  d.allocated = data;
  d.aligned = data;
  d.offset = 0;
  if (data == nullptr)
    return nullptr;
  if (integer) {
    std::memset(data, 0, std::size_t(count) * bytes);
  } else {
    double *values = static_cast<double *>(data);
    for (std::size_t i = 0; i < std::size_t(count) * bytes / sizeof(double); ++i)
      values[i] = std::numeric_limits<double>::quiet_NaN();
  }
  return data;
}

template <class T, class Desc> const T *input(const Desc *d, const char *what) {
  if (d == nullptr || d->aligned == nullptr)
    throw Error(std::string(what) + ": NULL array");
  return static_cast<const T *>(d->aligned) + d->offset;
}

void checkAllocated(std::initializer_list<const void *> buffers, const char *what) {
  for (const void *buffer : buffers)
    if (buffer == nullptr)
      throw std::bad_alloc();
  (void)what;
}

linalg::Op triangularOp(std::int64_t op) {
  if (op < 0 || op > 3)
    throw Error("triangular_solve: unknown op " + std::to_string(op));
  return static_cast<linalg::Op>(op);
}

template <class T> void luEntry(kvant_rt_lu_result_t *out, const kvant_rt_memref3_t *a) {
  std::int64_t batch = a->sizes[0], m = a->sizes[1], n = a->sizes[2], k = std::min(m, n);
  void *lu = allocateResult(out->lu, {batch, m, n}, sizeof(T), false);
  void *piv = allocateResult(out->pivots, {batch, k}, sizeof(std::int32_t), true);
  void *perm = allocateResult(out->permutation, {batch, m}, sizeof(std::int32_t), true);
  guarded("kvant_rt_lu", 0, [&] {
    checkAllocated({lu, piv, perm}, "lu");
    linalg::lu<T>(batch, m, n, input<T>(a, "lu"), static_cast<T *>(lu),
                  static_cast<std::int32_t *>(piv), static_cast<std::int32_t *>(perm));
    return 0;
  });
}

template <class T>
void triangularSolveEntry(kvant_rt_memref3_t *out, const kvant_rt_memref3_t *a,
                          const kvant_rt_memref3_t *b, std::int64_t left, std::int64_t lower,
                          std::int64_t op, std::int64_t unit) {
  std::int64_t batch = b->sizes[0], rows = b->sizes[1], cols = b->sizes[2], k = a->sizes[1];
  void *x = allocateResult(*out, {batch, rows, cols}, sizeof(T), false);
  guarded("kvant_rt_triangular_solve", 0, [&] {
    checkAllocated({x}, "triangular_solve");
    if (a->sizes[0] != batch || a->sizes[2] != k || (left ? rows : cols) != k)
      throw Error("triangular_solve: shapes of A and B do not match");
    linalg::triangularSolve<T>(batch, k, rows, cols, input<T>(a, "triangular_solve"),
                               input<T>(b, "triangular_solve"), static_cast<T *>(x), left != 0,
                               lower != 0, triangularOp(op), unit != 0);
    return 0;
  });
}

template <class T> void choleskyEntry(kvant_rt_memref3_t *out, const kvant_rt_memref3_t *a) {
  std::int64_t batch = a->sizes[0], n = a->sizes[1];
  void *l = allocateResult(*out, {batch, n, n}, sizeof(T), false);
  guarded("kvant_rt_cholesky", 0, [&] {
    checkAllocated({l}, "cholesky");
    linalg::cholesky<T>(batch, n, input<T>(a, "cholesky"), static_cast<T *>(l));
    return 0;
  });
}

template <class T>
void eighEntry(kvant_rt_eigh_result_t *out, const kvant_rt_memref3_t *a, std::int64_t lower) {
  std::int64_t batch = a->sizes[0], n = a->sizes[1];
  void *v = allocateResult(out->vectors, {batch, n, n}, sizeof(T), false);
  void *w = allocateResult(out->values, {batch, n}, sizeof(double), false);
  guarded("kvant_rt_eigh", 0, [&] {
    checkAllocated({v, w}, "eigh");
    linalg::eigh<T>(batch, n, input<T>(a, "eigh"), lower != 0, static_cast<T *>(v),
                    static_cast<double *>(w));
    return 0;
  });
}

template <class T>
void svdEntry(kvant_rt_svd_result_t *out, const kvant_rt_memref3_t *a, std::int64_t job) {
  std::int64_t batch = a->sizes[0], m = a->sizes[1], n = a->sizes[2], k = std::min(m, n);
  bool full = job == 2;
  void *s = allocateResult(out->s, {batch, k}, sizeof(double), false);
  void *u = allocateResult(out->u, {batch, m, full ? m : k}, sizeof(T), false);
  void *vt = allocateResult(out->vt, {batch, full ? n : k, n}, sizeof(T), false);
  guarded("kvant_rt_svd", 0, [&] {
    checkAllocated({s, u, vt}, "svd");
    if (job != 1 && job != 2)
      throw Error("svd: unknown job " + std::to_string(job));
    linalg::svd<T>(batch, m, n, input<T>(a, "svd"), static_cast<double *>(s), static_cast<T *>(u),
                   static_cast<T *>(vt), full);
    return 0;
  });
}

template <class T> void svdValuesEntry(kvant_rt_memref2_t *out, const kvant_rt_memref3_t *a) {
  std::int64_t batch = a->sizes[0], m = a->sizes[1], n = a->sizes[2], k = std::min(m, n);
  void *s = allocateResult(*out, {batch, k}, sizeof(double), false);
  guarded("kvant_rt_svd_values", 0, [&] {
    checkAllocated({s}, "svd");
    linalg::svd<T>(batch, m, n, input<T>(a, "svd"), static_cast<double *>(s), nullptr, nullptr,
                   false);
    return 0;
  });
}

template <class T>
void qrEntry(kvant_rt_qr_result_t *out, const kvant_rt_memref3_t *a, std::int64_t full) {
  std::int64_t batch = a->sizes[0], m = a->sizes[1], n = a->sizes[2], k = std::min(m, n);
  void *q = allocateResult(out->q, {batch, m, full ? m : k}, sizeof(T), false);
  void *r = allocateResult(out->r, {batch, full ? m : k, n}, sizeof(T), false);
  guarded("kvant_rt_qr", 0, [&] {
    checkAllocated({q, r}, "qr");
    linalg::qr<T>(batch, m, n, input<T>(a, "qr"), static_cast<T *>(q), static_cast<T *>(r),
                  full != 0);
    return 0;
  });
}

} // namespace

extern "C" {

// ---- registers

int64_t kvant_rt_qalloc(int64_t num_qubits) {
  return guarded("kvant_rt_qalloc", std::int64_t{0}, [&] {
    if (num_qubits < 1 || num_qubits > static_cast<std::int64_t>(kMaxQubits))
      throw Error("number of qubits must be between 1 and " + std::to_string(kMaxQubits) +
                  ", got " + std::to_string(num_qubits));
    ThreadState &t = tls();
    t.stack.reserve(t.stack.size() + 1); // so push_back below cannot throw after make_unique
    auto reg = t.distribute
                   ? std::make_unique<Register>(nextRegisterId.fetch_add(1), num_qubits, t.comm)
                   : std::make_unique<Register>(nextRegisterId.fetch_add(1), num_qubits);
    const std::int64_t id = reg->id();
    t.stack.push_back(std::move(reg));
    return id;
  });
}

void kvant_rt_qdealloc(int64_t reg) {
  // Deallocation runs even while an error is pending: the program's cleanup path must not leak.
  ThreadState &t = tls();
  for (auto it = t.stack.begin(); it != t.stack.end(); ++it)
    if ((*it)->id() == reg) {
      if (DistributedState *d = (*it)->distributed())
        distributedStats(*d, t.lastStats);
      t.stack.erase(it); // the one below the top becomes active if `reg` was the top
      return;
    }
  try {
    const std::string msg =
        std::to_string(reg) + " (never allocated, already freed, or owned by another thread)";
    recordError("kvant_rt_qdealloc", "unknown register handle ", msg.c_str());
  } catch (...) {
    recordError("kvant_rt_qdealloc", "unknown register handle", "");
  }
}

void kvant_rt_sync(void) {
  guardedVoid("kvant_rt_sync", [&] { (void)active(); });
}

// ---- gates

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
      readWiresInto(wires, num_wires, r.numQubits(), "wires", w);
    } catch (const Error &e) {
      throw Error(std::string(info->name) + ": " + e.what());
    }
    r.applyGate(gate, p, w, readControls(ctrl_wires, ctrl_values, num_ctrls, r), adjoint != 0);
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
    const std::vector<std::size_t> w =
        readWires(wires, num_wires, r.numQubits(), "QubitUnitary: wires");
    ControlWires c = readControls(ctrl_wires, ctrl_values, num_ctrls, r);
    if (w.empty())
      throw Error("QubitUnitary needs at least one wire");
    checkWires(w, r.numQubits(), "QubitUnitary: wires");
    const std::vector<Complex> m = readMatrix(matrix, w.size(), "QubitUnitary");
    r.applyUnitary(m, w, std::move(c), adjoint != 0);
  });
}

// ---- observables

int64_t kvant_rt_obs_named(int64_t kind, int64_t wire) {
  return guarded("kvant_rt_obs_named", std::int64_t{0}, [&] {
    Register &r = active();
    if (kind < 0 || kind >= KVANT_OBS_COUNT)
      throw Error("unknown observable id " + std::to_string(kind));
    const std::vector<std::size_t> w = readWires(&wire, 1, r.numQubits(), "observable wire");
    checkWires(w, r.numQubits(), "observable wire");
    return r.addObservable(makeNamed(kind, w[0]));
  });
}

int64_t kvant_rt_obs_tensor(const int64_t *factors, int64_t num_factors) {
  return guarded("kvant_rt_obs_tensor", std::int64_t{0}, [&] {
    Register &r = active();
    // Factors sit on distinct wires and each has at least one.
    checkArray(factors, num_factors, static_cast<std::int64_t>(r.numQubits()), "tensor factors");
    std::vector<ObservablePtr> fs;
    for (std::int64_t i = 0; i < num_factors; ++i)
      fs.push_back(r.observable(factors[i]));
    return r.addObservable(makeTensor(std::move(fs)));
  });
}

int64_t kvant_rt_obs_hermitian(const double *matrix, const int64_t *wires, int64_t num_wires) {
  return guarded("kvant_rt_obs_hermitian", std::int64_t{0}, [&] {
    Register &r = active();
    std::vector<std::size_t> w = readWires(wires, num_wires, r.numQubits(), "Hermitian: wires");
    if (w.empty())
      throw Error("Hermitian observable needs at least one wire");
    checkWires(w, r.numQubits(), "Hermitian: wires");
    std::vector<Complex> m = readMatrix(matrix, w.size(), "Hermitian");
    return r.addObservable(makeHermitian(std::move(m), std::move(w), r.numQubits()));
  });
}

int64_t kvant_rt_obs_hamiltonian(const double *coeffs, const int64_t *terms, int64_t num_terms) {
  return guarded("kvant_rt_obs_hamiltonian", std::int64_t{0}, [&] {
    Register &r = active();
    checkArray(coeffs, num_terms, kNoLimit, "Hamiltonian coefficients");
    checkArray(terms, num_terms, kNoLimit, "Hamiltonian terms");
    std::vector<ObservablePtr> ts;
    for (std::int64_t i = 0; i < num_terms; ++i)
      ts.push_back(r.observable(terms[i]));
    return r.addObservable(
        makeHamiltonian(std::vector<double>(coeffs, coeffs + num_terms), std::move(ts)));
  });
}

// ---- measurements

double kvant_rt_expval(int64_t obs) {
  return guarded("kvant_rt_expval", std::numeric_limits<double>::quiet_NaN(), [&] {
    Register &r = active();
    if (DistributedState *d = r.distributed())
      return d->expval(*r.observable(obs));
    return expval(r.state(), *r.observable(obs));
  });
}

double kvant_rt_var(int64_t obs) {
  return guarded("kvant_rt_var", std::numeric_limits<double>::quiet_NaN(), [&] {
    Register &r = active();
    if (DistributedState *d = r.distributed())
      return d->var(*r.observable(obs));
    return var(r.state(), *r.observable(obs));
  });
}

void kvant_rt_probs(double *out, const int64_t *wires, int64_t num_wires) {
  guardedVoid("kvant_rt_probs", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r.numQubits(), "probs: wires");
    if (!out)
      throw Error("probs: NULL output buffer");
    if (DistributedState *d = r.distributed())
      d->probs(w, out);
    else
      probs(r.state(), w, out);
  });
}

void kvant_rt_state(double *out, int64_t num_amplitudes) {
  guardedVoid("kvant_rt_state", [&] {
    Register &r = active();
    if (num_amplitudes < 0)
      throw Error("state: negative amplitude count " + std::to_string(num_amplitudes));
    if (!out)
      throw Error("state: NULL output buffer");
    if (DistributedState *d = r.distributed())
      d->state(out, static_cast<std::size_t>(num_amplitudes));
    else
      copyState(r.state(), out, static_cast<std::size_t>(num_amplitudes));
  });
}

// ---- state preparation

void kvant_rt_basis_state(const int8_t *bits, const int64_t *wires, int64_t num_wires) {
  guardedVoid("kvant_rt_basis_state", [&] {
    Register &r = active();
    const std::vector<std::size_t> w =
        readWires(wires, num_wires, r.numQubits(), "BasisState: wires");
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
    r.prepareState(amps, w, "BasisState");
  });
}

void kvant_rt_state_prep(const double *amplitudes, int64_t num_amplitudes, const int64_t *wires,
                         int64_t num_wires) {
  guardedVoid("kvant_rt_state_prep", [&] {
    Register &r = active();
    const std::vector<std::size_t> w =
        readWires(wires, num_wires, r.numQubits(), "StatePrep: wires");
    checkArray(amplitudes, num_amplitudes, std::int64_t{1} << r.numQubits(),
               "StatePrep: amplitudes");
    std::vector<Complex> amps(static_cast<std::size_t>(num_amplitudes));
    for (std::size_t i = 0; i < amps.size(); ++i)
      amps[i] = Complex{amplitudes[2 * i], amplitudes[2 * i + 1]};
    r.prepareState(amps, w, "StatePrep");
  });
}

// ---- sampling and mid-circuit measurement

void kvant_rt_set_seed(uint64_t seed) {
  guardedVoid("kvant_rt_set_seed", [&] { setSeed(seed); });
}

void kvant_rt_sample(int64_t *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  sampleInto("kvant_rt_sample", out, shots, wires, num_wires);
}

void kvant_rt_sample_f64(double *out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  sampleInto("kvant_rt_sample_f64", out, shots, wires, num_wires);
}

void kvant_rt_counts(int64_t *counts_out, int64_t shots, const int64_t *wires, int64_t num_wires) {
  guardedVoid("kvant_rt_counts", [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(wires, num_wires, r.numQubits(), "counts: wires");
    if (!counts_out)
      throw Error("counts: NULL output buffer");
    if (DistributedState *d = r.distributed())
      d->counts(shots, w, counts_out);
    else
      counts(r.state(), shots, w, counts_out);
  });
}

int8_t kvant_rt_measure(int64_t wire, int8_t reset, int8_t postselect) {
  return guarded("kvant_rt_measure", std::int8_t{0}, [&] {
    Register &r = active();
    const std::vector<std::size_t> w = readWires(&wire, 1, r.numQubits(), "measure: wire");
    return static_cast<std::int8_t>(r.measure(w[0], reset != 0, postselect));
  });
}

// ---- adjoint differentiation

void kvant_rt_tape_begin(void) {
  guardedVoid("kvant_rt_tape_begin", [&] { active().beginTape(); });
}

void kvant_rt_tape_end(void) {
  guardedVoid("kvant_rt_tape_end", [&] { active().endTape(); });
}

int64_t kvant_rt_tape_num_params(void) {
  return guarded("kvant_rt_tape_num_params", std::int64_t{0},
                 [&] { return static_cast<std::int64_t>(active().tapeNumParams()); });
}

void kvant_rt_adjoint_jacobian(const int64_t *obs, int64_t num_obs, double *jac_out,
                               int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_jacobian", [&] {
    Register &r = active();
    const Tape &tape = tapeToDifferentiate(r, "adjoint_jacobian", num_params, jac_out);
    const std::vector<ObservablePtr> os = readObservables(r, obs, num_obs, "observables");
    if (DistributedState *d = r.distributed())
      d->adjointJacobian(tape, os, jac_out);
    else
      adjointJacobian(tape, r.state(), os, jac_out);
  });
}

void kvant_rt_adjoint_jacobian_mixed(const int64_t *kinds, const int64_t *obs,
                                     const int64_t *num_wires, int64_t num_meas,
                                     const int64_t *wires, int64_t num_wires_total, double *jac_out,
                                     int64_t num_rows, int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_jacobian_mixed", [&] {
    Register &r = active();
    const Tape &tape = tapeToDifferentiate(r, "adjoint_jacobian_mixed", num_params, jac_out);
    const MeasurementList list = readMeasurementList(r, kinds, obs, num_wires, num_meas, wires,
                                                     num_wires_total, num_rows, "num_rows", "rows");
    if (DistributedState *d = r.distributed())
      d->adjointJacobian(tape, list, jac_out);
    else
      adjointJacobian(tape, r.state(), list, jac_out);
  });
}

void kvant_rt_adjoint_vjp_mixed(const int64_t *kinds, const int64_t *obs, const int64_t *num_wires,
                                int64_t num_meas, const int64_t *wires, int64_t num_wires_total,
                                const double *cotangent, int64_t num_cotangent, double *grad_out,
                                int64_t num_params) {
  guardedVoid("kvant_rt_adjoint_vjp_mixed", [&] {
    Register &r = active();
    const Tape &tape = tapeToDifferentiate(r, "adjoint_vjp_mixed", num_params, grad_out);
    checkArray(cotangent, num_cotangent, kNoLimit, "cotangent");
    const MeasurementList list =
        readMeasurementList(r, kinds, obs, num_wires, num_meas, wires, num_wires_total,
                            num_cotangent, "num_cotangent", "cotangent entries");
    if (DistributedState *d = r.distributed())
      d->adjointVjp(tape, list, cotangent, grad_out);
    else
      adjointVjp(tape, r.state(), list, cotangent, grad_out);
  });
}

// ---- distributed registers

void kvant_rt_set_distributed(int8_t enable) {
  guardedVoid("kvant_rt_set_distributed", [&] {
    if (enable < 0 || enable > 2)
      throw Error("mode must be 0, 1 (distributed registers) or 2 (parameter-shift batches), "
                  "got " +
                  std::to_string(enable));
    ThreadState &t = tls();
    if (enable && !t.comm)
      t.comm = Communicator::open();
    t.distribute = enable == 1;
    t.shifts = enable == 2;
    t.shiftDepth = 0;
    // Evaluations are numbered over the whole call, not per batch, so that batches smaller than
    // the number of ranks do not all start on rank 0.
    t.shiftNext = 0;
    if (t.shifts) {
      // Every rank simulates whole registers and draws for itself: all must draw as rank 0
      // does (an explicit seed, set after this call, replaces it on every rank alike).
      std::uint64_t seed = drawBits();
      t.comm->bcast(&seed, sizeof seed, 0);
      setSeed(seed);
    }
  });
}

namespace {

// SplitMix64's finaliser: the seed of evaluation i of a batch from the batch's seed, so that
// an evaluation draws the same on whichever rank runs it.
std::uint64_t evaluationSeed(std::uint64_t base, std::uint64_t i) {
  std::uint64_t z = base + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

} // namespace

// Not guarded like the other calls: the batch depth must stay balanced, and a rank that failed
// must still join the combining allreduce, or the others would wait for it forever.
void kvant_rt_shifts_begin(void) {
  ThreadState &t = tls();
  if (++t.shiftDepth != 1 || !t.shifts)
    return;
  t.shiftBase = drawBits();
  t.shiftAfter = drawBits();
}

int8_t kvant_rt_owns_shift(void) {
  ThreadState &t = tls();
  if (t.failed)
    return 0;
  if (t.shiftDepth != 1)
    return 1; // inside an evaluation this rank owns: all of it is this rank's
  const std::uint64_t i = t.shiftNext++;
  ++t.shiftsDealt;
  if (t.shifts) {
    if (i % static_cast<std::uint64_t>(t.comm->size()) !=
        static_cast<std::uint64_t>(t.comm->rank()))
      return 0;
    setSeed(evaluationSeed(t.shiftBase, i));
  }
  ++t.shiftsOwned;
  return 1;
}

void kvant_rt_combine_shifts(double *data, int64_t n) {
  ThreadState &t = tls();
  if (t.shiftDepth == 0) {
    recordError("kvant_rt_combine_shifts", "", "no parameter-shift batch is open");
    return;
  }
  if (--t.shiftDepth != 0 || !t.shifts)
    return;
  const bool failedHere = t.failed;
  try {
    if (n < 0 || (n > 0 && !data))
      throw Error("invalid data (" + std::to_string(n) + " values)");
    // The values, then this rank's failure: one allreduce carries both.
    std::vector<double> sum(static_cast<std::size_t>(n) + 1, 0.0);
    if (!failedHere)
      std::copy(data, data + n, sum.begin());
    sum[static_cast<std::size_t>(n)] = failedHere ? 1.0 : 0.0;
    t.comm->allreduceSum(sum.data(), sum.size());
    if (failedHere)
      return;
    if (sum[static_cast<std::size_t>(n)] != 0.0)
      throw Error("another MPI rank failed while evaluating its share of a parameter-shift "
                  "gradient (mpi=\"shifts\"); its error is reported there");
    std::copy(sum.begin(), sum.end() - 1, data);
    setSeed(t.shiftAfter); // the same on every rank, whatever each one drew
  } catch (const Error &e) {
    recordError("kvant_rt_combine_shifts", "", e.what());
  } catch (const std::bad_alloc &) {
    recordError("kvant_rt_combine_shifts", "", "out of memory");
  } catch (const std::exception &e) {
    recordError("kvant_rt_combine_shifts", "internal error: ", e.what());
  }
}

int64_t kvant_rt_distributed_stats(int64_t *out, int64_t num_out) {
  return guarded("kvant_rt_distributed_stats", std::int64_t{0}, [&] {
    checkArray(out, num_out, kNoLimit, "stats");
    ThreadState &t = tls();
    std::int64_t v[11] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (t.stack.empty())
      std::copy(t.lastStats, t.lastStats + 9, v);
    else if (DistributedState *d = t.stack.back()->distributed())
      distributedStats(*d, v);
    v[9] = t.shiftsOwned;
    v[10] = t.shiftsDealt;
    const std::int64_t n = std::min<std::int64_t>(num_out, 11);
    std::copy(v, v + n, out);
    return n;
  });
}

// ---- host callbacks

void kvant_rt_set_host_dispatch(kvant_host_dispatch_t dispatch, void *context,
                                kvant_host_dispatch_t *previous_dispatch, void **previous_context) {
  ThreadState &t = tls();
  if (previous_dispatch)
    *previous_dispatch = t.hostDispatch;
  if (previous_context)
    *previous_context = t.hostContext;
  t.hostDispatch = dispatch;
  t.hostContext = context;
}

void kvant_rt_host_callback(int64_t callback, int64_t num_args, void *const *args,
                            int64_t num_results, void *const *results,
                            const int64_t *result_bytes) {
  bool done = guarded("kvant_rt_host_callback", false, [&] {
    ThreadState &t = tls();
    if (num_args < 0 || num_results < 0)
      throw Error("negative buffer count");
    if ((num_args && !args) || (num_results && (!results || !result_bytes)))
      throw Error("NULL buffer array");
    if (!t.hostDispatch)
      throw Error("host callback " + std::to_string(callback) +
                  ": no host functions are installed on this thread (a program with host "
                  "callbacks runs only when called through kvant)");
    // The dispatcher is the host's code (a ctypes function): it reports failure by its
    // return value and never unwinds into this frame.
    if (t.hostDispatch(t.hostContext, callback, num_args, args, num_results, results) != 0)
      throw Error("host callback " + std::to_string(callback) + " failed");
    return true;
  });
  if (done || !results || !result_bytes)
    return;
  for (int64_t i = 0; i < num_results; ++i)
    if (results[i] && result_bytes[i] > 0)
      std::memset(results[i], 0, std::size_t(result_bytes[i]));
}
// ---- dense linear algebra (the helpers above extern "C")

#define KVANT_RT_LINALG_DEFINE(suffix, T)                                                          \
  void _mlir_ciface_kvant_rt_lu_##suffix(kvant_rt_lu_result_t *out, const kvant_rt_memref3_t *a) { \
    luEntry<T>(out, a);                                                                            \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_triangular_solve_##suffix(                                            \
      kvant_rt_memref3_t *out, const kvant_rt_memref3_t *a, const kvant_rt_memref3_t *b,           \
      int64_t left_side, int64_t lower, int64_t op, int64_t unit_diagonal) {                       \
    triangularSolveEntry<T>(out, a, b, left_side, lower, op, unit_diagonal);                       \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_cholesky_##suffix(kvant_rt_memref3_t *out,                            \
                                               const kvant_rt_memref3_t *a) {                      \
    choleskyEntry<T>(out, a);                                                                      \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_eigh_##suffix(kvant_rt_eigh_result_t *out,                            \
                                           const kvant_rt_memref3_t *a, int64_t lower) {           \
    eighEntry<T>(out, a, lower);                                                                   \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_svd_##suffix(kvant_rt_svd_result_t *out, const kvant_rt_memref3_t *a, \
                                          int64_t job) {                                           \
    svdEntry<T>(out, a, job);                                                                      \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_svd_values_##suffix(kvant_rt_memref2_t *out,                          \
                                                 const kvant_rt_memref3_t *a) {                    \
    svdValuesEntry<T>(out, a);                                                                     \
  }                                                                                                \
  void _mlir_ciface_kvant_rt_qr_##suffix(kvant_rt_qr_result_t *out, const kvant_rt_memref3_t *a,   \
                                         int64_t full_matrices) {                                  \
    qrEntry<T>(out, a, full_matrices);                                                             \
  }
KVANT_RT_LINALG_DEFINE(f64, double)
KVANT_RT_LINALG_DEFINE(c128, std::complex<double>)
#undef KVANT_RT_LINALG_DEFINE

// ---- errors

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
