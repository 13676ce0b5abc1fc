// One simulated register (the "register" of runtime.h): its state, the gates queued on it, the
// observables created in it, and the adjoint tape with the counters that tell whether the state
// is still the one the tape ended in. Arguments reach it validated in form by the C API
// (CApi.cpp decodes pointers and counts); what depends on the register (wires in range, a gate's
// arity, a handle belonging to it) is checked here or in the code it calls.
#pragma once

#include "Adjoint.hpp"
#include "Distributed.hpp"
#include "Forward.hpp"
#include "Gates.hpp"
#include "Observables.hpp"
#include "StateVector.hpp"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace kvant::rt {

class Register {
public:
  // |0...0> on numQubits qubits (at most kMaxQubits, checked by the caller); `id` is the
  // handle the C API gave it, unique across threads.
  Register(std::int64_t id, std::size_t numQubits);
  // The same, distributed over the ranks of `comm` (Distributed.hpp): the state lives in
  // distributed(), and state() must not be called.
  Register(std::int64_t id, std::size_t numQubits, std::shared_ptr<Communicator> comm);

  std::int64_t id() const { return id_; }
  std::size_t numQubits() const { return sv_.numQubits(); }
  DistributedState *distributed() { return dist_.get(); }

  // Large registers queue their gates and apply them in cache-sized blocks when the state is
  // next needed (Forward.hpp). sync() applies the queue; state() does too, then returns it.
  void sync();
  const StateVector &state() {
    if (dist_)
      throw Error("internal: the whole state of a distributed register was asked for");
    sync();
    return sv_;
  }

  // ---- changes of the state
  // A gate of gates.def, parameters and wires of the right counts (the C API checks the
  // counts); validated against the register here, queued on large registers, recorded while
  // a tape is.
  void applyGate(std::int64_t gate, const std::vector<double> &params,
                 const std::vector<std::size_t> &wires, ControlWires ctrls, bool adjoint);
  // matrix: 2^k x 2^k row-major for the k = wires.size() wires, already range-checked.
  void applyUnitary(const std::vector<Complex> &matrix, const std::vector<std::size_t> &wires,
                    ControlWires ctrls, bool adjoint);
  // Replaces the state (Measurements.hpp prepareState); after recorded gates it poisons the tape.
  void prepareState(const std::vector<Complex> &amps, const std::vector<std::size_t> &wires,
                    const char *what);
  // Mid-circuit measurement (Measurements.hpp measure); poisons a tape being recorded.
  int measure(std::size_t wire, bool reset, int postselect);

  // ---- observables: handles owned by this register and freed with it
  std::int64_t addObservable(ObservablePtr obs);
  // The observable of a handle this register returned; an Error for any other value.
  const ObservablePtr &observable(std::int64_t handle) const;

  // ---- the adjoint tape
  void beginTape();
  void endTape();
  // Error if no tape was ever begun on this register.
  std::size_t tapeNumParams() const;
  // The tape, after checking that it can be differentiated at the current state with
  // numParams parameters; `what` names the caller in the error messages.
  const Tape &tapeToDifferentiate(const char *what, std::int64_t numParams);

private:
  // Called after every successful state change. A change the backward sweep cannot undo
  // (measurement, state preparation after gates) poisons a tape being recorded.
  void changed(const char *irreversible = nullptr);
  // Segments of one-qubit gates while recording (AdjointSegments.hpp): a queued gate opens or
  // extends one, any other gate or a flush of the queue ends it; closeSegment() then gives the
  // tape a checkpoint of the state before it, when the segment is worth one, which the next
  // flush of the queue writes (a snapshot, Forward.hpp).
  void noteSegmentGate(const Op &op, const ControlWires &ctrls, std::size_t numParams);
  void closeSegment();
  // Applies the queue, writing the checkpoints that wait for a state inside it.
  void flushPending();

  std::int64_t id_;
  // A distributed register's sv_ is a view without amplitudes: only its size is used (to
  // validate wires); dist_ holds the state.
  StateVector sv_;
  std::unique_ptr<DistributedState> dist_;
  bool queueGates_;
  std::vector<PendingGate> pending_;
  // Checkpoints whose state is the state after the first `position` queued gates: (position,
  // index into tape_.checkpoints), ascending; written by the next flush.
  std::vector<std::pair<std::size_t, std::size_t>> snapshots_;
  std::vector<ObservablePtr> observables_;

  Tape tape_;
  bool recording_ = false;
  bool segOpen_ = false;
  // The open segment's first tape entry, the index of its first gate in pending_, parameters.
  std::size_t segBegin_ = 0, segPending_ = 0, segParams_ = 0;
  bool hasTape_ = false;
  // Whether the state is known to be the basis state basisPhase_ * |basisIndex_> (it is after
  // allocation; gates that map basis states to basis states keep it known, see
  // applyToBasisState), and the same at the start of the open segment. A segment that starts
  // on a known basis state needs no copy of the state as its checkpoint.
  bool basisKnown_ = true, segBasisKnown_ = false;
  std::uint64_t basisIndex_ = 0, segBasisIndex_ = 0;
  Complex basisPhase_{1.0, 0.0}, segBasisPhase_{1.0, 0.0};
  // `version_` counts state changes; `tapeVersion_` is its value when the tape ended.
  std::uint64_t version_ = 0, tapeVersion_ = 0;
};

} // namespace kvant::rt
