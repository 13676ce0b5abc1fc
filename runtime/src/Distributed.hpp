// A state vector distributed over the ranks of an MPI job (docs/distributed.md).
//
// With P = 2^k ranks, the 2^n amplitudes of an n-qubit register are cut by their k most
// significant index bits: rank r holds the 2^(n-k) amplitudes whose top k bits spell r, as a
// local StateVector of n-k qubits. Which wire sits at which bit position is not fixed: a
// Layout maps every wire to a position (0 = most significant); positions 0..k-1 are "global"
// (the rank number), positions k..n-1 are the local vector's wires 0..n-k-1.
//
// Gates run the single-process kernels on the local vector, on wires renumbered through the
// layout. A gate whose target sits at a global position first swaps that wire with a local one
// (every rank exchanges half of its amplitudes with the rank that differs in that bit, in
// chunks through a bounded buffer) and the layout remembers the swap; controls at global
// positions need no exchange (each rank knows its value of them). Measurements evaluate on the
// local vectors and add the ranks' parts; random draws are made on rank 0 and broadcast, so
// every rank returns the same result.
#pragma once

#include "Adjoint.hpp"
#include "Forward.hpp"
#include "Gates.hpp"
#include "MeasurementList.hpp"
#include "Observables.hpp"
#include "StateVector.hpp"
#include "mpi/Communicator.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace kvant::rt {

// The loaded MPI plugin's communicator (one per process, opened on first use); every call
// throws Error with the plugin's message on failure.
class Communicator {
public:
  // Loads libkvant_rt_mpi.so (beside libkvant_rt.so, or $KVANT_RT_MPI_LIBRARY) and opens it.
  static std::shared_ptr<Communicator> open();

  int rank() const { return c_.rank; }
  int size() const { return c_.size; }
  void sendrecv(const void *send, void *recv, std::uint64_t bytes, int partner);
  void allreduceSum(double *data, std::uint64_t count);
  void bcast(void *data, std::uint64_t bytes, int root);

private:
  kvant_rt_comm c_{};
};

// Counters of the communication a register caused (the benchmark reads them).
struct ExchangeStats {
  std::uint64_t swaps = 0;         // global <-> local wire swaps, per vector swapped
  std::uint64_t bytesSent = 0;     // by this rank, in those swaps
  std::uint64_t messages = 0;      // point-to-point exchanges (sendrecv calls)
  std::uint64_t reductions = 0;    // allreduce / bcast calls
  std::uint64_t bufferBytes = 0;   // the exchange buffer's size (bounded, see Distributed.cpp)
  std::uint64_t exchangeNanos = 0; // wall time spent in the swaps' exchanges
};

// Where each wire is; shared by the vectors that move together (phi and the lambdas of the
// adjoint sweep).
struct Layout {
  std::size_t n = 0, k = 0; // wires, global positions
  int rank = 0;
  std::vector<std::size_t> pos;  // wire -> position
  std::vector<std::size_t> wire; // position -> wire

  std::size_t numLocal() const { return n - k; }
  bool isGlobal(std::size_t w) const { return pos[w] < k; }
  // The local vector's wire index of a wire at a local position.
  std::size_t localWire(std::size_t w) const { return pos[w] - k; }
  // This rank's value of a wire at a global position.
  int globalBit(std::size_t w) const { return (rank >> (k - 1 - pos[w])) & 1; }
};

class DistributedState {
public:
  // |0...0> on numQubits wires over the communicator's ranks (a power of 2). Registers too
  // small to split (fewer than k + kMinLocalQubits wires) are held whole on every rank.
  DistributedState(std::shared_ptr<Communicator> comm, std::size_t numQubits);

  static constexpr std::size_t kMinLocalQubits = 5;

  std::size_t numQubits() const { return layout_.n; }
  int ranks() const { return comm_->size(); }
  int rank() const { return comm_->rank(); }
  const Layout &layout() const { return layout_; }
  const StateVector &local() const { return local_; }
  const ExchangeStats &stats() const { return stats_; }

  // ---- changes of the state (wires already validated against numQubits)
  // Gates on local wires are queued, on large local vectors, and applied in cache blocks
  // (Forward.hpp) when the state is next needed or a swap moves it; flush() applies them.
  void apply(const Op &op, const ControlWires &ctrls);
  void flush();
  void prepare(const std::vector<Complex> &amps, const std::vector<std::size_t> &wires,
               const char *what);
  int measure(std::size_t wire, bool reset, int postselect);

  // ---- measurements (collective: every rank calls them in the same order)
  double expval(const Observable &obs);
  double var(const Observable &obs);
  void probs(const std::vector<std::size_t> &wires, double *out);
  void state(double *out, std::size_t numAmplitudes);
  void sample(std::int64_t shots, const std::vector<std::size_t> &wires,
              const std::function<void(std::int64_t, std::size_t, int)> &put);
  void counts(std::int64_t shots, const std::vector<std::size_t> &wires, std::int64_t *out);

  // ---- adjoint differentiation of `tape`, which ended in the current state
  void adjointJacobian(const Tape &tape, const std::vector<ObservablePtr> &observables,
                       double *jacOut);
  void adjointJacobian(const Tape &tape, const MeasurementList &list, double *jacOut);
  void adjointVjp(const Tape &tape, const MeasurementList &list, const double *cotangent,
                  double *gradOut);

private:
  // The vectors that follow the layout: the local state and, while an operation needs them,
  // copies (the adjoint sweep's phi and lambdas, an observable's O psi).
  class Group;

  // Local wire numbers of `wires` (all at local positions).
  std::vector<std::size_t> localWires(const Layout &l, const std::vector<std::size_t> &wires) const;
  // Sum over ranks (no-op when the register is held whole).
  void reduce(double *data, std::size_t count);
  double reduce1(double x) {
    reduce(&x, 1);
    return x;
  }
  // Makes every wire of `wires` local in `g`'s layout, swapping with local wires not in it
  // (nor in `keep`, which the caller needs to stay where they are).
  void makeLocal(Group &g, const std::vector<std::size_t> &wires);
  void makeLocal(Group &g, const std::vector<std::size_t> &wires,
                 const std::vector<std::size_t> &keep);
  void swapWires(Group &g, std::size_t globalWire, std::size_t localWire);
  // The op on `g`'s local vectors: global targets swapped in first; false if a control at a
  // global position rules this rank out (the op is the identity here).
  bool localize(Group &g, const Op &op, const ControlWires &ctrls, Op &localOp,
                ControlWires &localCtrls);
  // psi <- O psi on the vectors of `g` (`target` among them), any observable: terms and
  // factors one at a time when they do not fit in the local wires together.
  void applyObservable(Group &g, const Observable &obs, StateVector &target);
  double localExpval(Group &g, const Observable &obs);
  std::vector<std::uint64_t> drawOnRoot(std::size_t count,
                                        const std::function<std::uint64_t()> &draw);
  std::vector<double> adjointSweep(const Tape &tape, Group &g, StateVector &phi,
                                   std::vector<StateVector> &lambdas);
  void seedLambda(Group &g, const StateVector &phi, const MeasurementList &list,
                  const double *cotangent, StateVector &lambda);

  std::shared_ptr<Communicator> comm_;
  Layout layout_;
  StateVector local_;
  ExchangeStats stats_;
  std::vector<Complex> sendBuf_, recvBuf_;
  std::vector<PendingGate> pending_; // on local wires
  bool queueGates_ = false;
};

} // namespace kvant::rt
