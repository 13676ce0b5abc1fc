#include "Register.hpp"
#include "AdjointSegments.hpp"
#include "Measurements.hpp"

#include <algorithm>
#include <iterator>
#include <new>
#include <string>
#include <utility>

namespace kvant::rt {
namespace {

// Bounds the queue's memory; a flush this long is as efficient as any.
constexpr std::size_t kMaxPendingGates = 4096;

// Observable handle = (register tag << 32) | (index + 1): non-zero, positive, and tied to the
// register that owns it.
constexpr std::int64_t kRegTagMask = 0x7fffffff;
constexpr std::int64_t kObsIndexMask = 0xffffffff;

} // namespace

Register::Register(std::int64_t id, std::size_t numQubits)
    : id_(id), sv_(numQubits), queueGates_(forwardBlockQubits(numQubits) > 0) {}

Register::Register(std::int64_t id, std::size_t numQubits, std::shared_ptr<Communicator> comm)
    : id_(id), sv_(StateVector::view(nullptr, numQubits)),
      dist_(std::make_unique<DistributedState>(std::move(comm), numQubits)), queueGates_(false),
      basisKnown_(false) {}

void Register::sync() {
  if (recording_)
    closeSegment(); // the queue is applied below: the segment's start state is gone after it
  if (dist_)
    dist_->flush();
  flushPending();
}

void Register::flushPending() {
  if (pending_.empty() && snapshots_.empty())
    return;
  std::vector<Snapshot> snaps;
  snaps.reserve(snapshots_.size());
  for (const auto &[position, checkpoint] : snapshots_)
    snaps.push_back(Snapshot{position, &tape_.checkpoints[checkpoint].state});
  snapshots_.clear();
  try {
    applyPending(sv_, pending_, snaps);
  } catch (...) {
    // The state and the checkpoints waiting for it are now unknown: a later Jacobian of this
    // tape (after the error is cleared) must refuse rather than read them.
    if (hasTape_ && tape_.invalidReason.empty())
      tape_.invalidReason = "gates whose application failed";
    throw;
  }
}

void Register::changed(const char *irreversible) {
  ++version_;
  if (recording_ && irreversible && tape_.invalidReason.empty())
    tape_.invalidReason = irreversible;
}

void Register::applyGate(std::int64_t gate, const std::vector<double> &params,
                         const std::vector<std::size_t> &wires, ControlWires ctrls, bool adjoint) {
  // Validation reads only the register's size, so queued gates can stay queued.
  validateGate(sv_, gate, params, wires, ctrls);
  Op op = gateOp(gate, params, wires, adjoint);
  if (recording_)
    tape_.reserveOne(); // before the state changes: what can fail, fails first
  // Worked out before the op is moved into the queue or the tape, kept once the gate is in.
  std::uint64_t index = basisIndex_;
  Complex phase = basisPhase_;
  const bool known = basisKnown_ && applyToBasisState(op, ctrls, numQubits(), index, phase);
  if (dist_) {
    dist_->apply(op, ctrls);
  } else if (queueGates_) {
    if (pending_.size() >= kMaxPendingGates) {
      if (recording_)
        closeSegment();
      flushPending();
    }
    if (recording_)
      noteSegmentGate(op, ctrls, params.size());
    if (recording_)
      pending_.push_back(PendingGate{op, ctrls}); // the tape keeps its own copy below
    else
      pending_.push_back(PendingGate{std::move(op), std::move(ctrls)});
  } else {
    execute(sv_, op, ctrls);
  }
  if (recording_) {
    TapeEntry e;
    e.gate = gate;
    e.adjoint = adjoint;
    e.numParams = static_cast<std::uint8_t>(params.size());
    std::copy(params.begin(), params.end(), e.params);
    e.op = std::move(op);
    e.ctrls = std::move(ctrls);
    tape_.entries.push_back(std::move(e)); // no allocation: room was reserved
    tape_.numParams += params.size();
  }
  basisKnown_ = known;
  basisIndex_ = index;
  basisPhase_ = phase;
  changed();
}

void Register::applyUnitary(const std::vector<Complex> &matrix,
                            const std::vector<std::size_t> &wires, ControlWires ctrls,
                            bool adjoint) {
  sync();
  basisKnown_ = false;
  if (dist_) {
    // What rt::applyUnitary checks before it touches a state.
    if (wires.empty())
      throw Error("QubitUnitary needs at least one wire");
    checkWires(wires, numQubits(), "QubitUnitary: wires");
    checkWires(ctrls.wires, numQubits(), "QubitUnitary: control wires");
    checkDisjoint(wires, ctrls.wires, "QubitUnitary");
    const std::size_t dim = std::size_t{1} << wires.size();
    if (matrix.size() != dim * dim)
      throw Error("QubitUnitary on " + std::to_string(wires.size()) + " wire(s) needs a " +
                  std::to_string(dim) + "x" + std::to_string(dim) + " matrix");
    Op op = unitaryOp(matrix, wires, adjoint);
    if (recording_)
      tape_.reserveOne();
    dist_->apply(op, ctrls);
    if (recording_) {
      TapeEntry e;
      e.op = std::move(op);
      e.ctrls = std::move(ctrls);
      tape_.entries.push_back(std::move(e));
    }
    changed();
    return;
  }
  if (recording_) {
    TapeEntry e;
    e.op = unitaryOp(matrix, wires, adjoint);
    e.ctrls = ctrls;
    tape_.reserveOne();
    rt::applyUnitary(sv_, matrix, wires, ctrls, adjoint);
    tape_.entries.push_back(std::move(e));
  } else {
    rt::applyUnitary(sv_, matrix, wires, ctrls, adjoint);
  }
  changed();
}

void Register::prepareState(const std::vector<Complex> &amps, const std::vector<std::size_t> &wires,
                            const char *what) {
  sync();
  basisKnown_ = false;
  if (dist_)
    dist_->prepare(amps, wires, what);
  else
    rt::prepareState(sv_, amps, wires, what);
  changed(tape_.entries.empty() ? nullptr : "a state preparation after recorded gates");
}

int Register::measure(std::size_t wire, bool reset, int postselect) {
  sync();
  basisKnown_ = false;
  const int outcome =
      dist_ ? dist_->measure(wire, reset, postselect) : rt::measure(sv_, wire, reset, postselect);
  changed("a mid-circuit measurement");
  return outcome;
}

std::int64_t Register::addObservable(ObservablePtr obs) {
  if (observables_.size() >= static_cast<std::size_t>(kObsIndexMask - 1))
    throw Error("too many observables in one register");
  observables_.push_back(std::move(obs));
  return ((id_ & kRegTagMask) << 32) | static_cast<std::int64_t>(observables_.size());
}

const ObservablePtr &Register::observable(std::int64_t handle) const {
  const std::int64_t index = handle & kObsIndexMask;
  if (handle <= 0 || (handle >> 32) != (id_ & kRegTagMask) || index == 0 ||
      static_cast<std::size_t>(index) > observables_.size())
    throw Error("invalid observable handle " + std::to_string(handle) +
                " (not created in the active register)");
  return observables_[static_cast<std::size_t>(index - 1)];
}

void Register::beginTape() {
  flushPending(); // the queue may still owe the old tape's checkpoints their states
  tape_.clear();
  segOpen_ = false;
  recording_ = true;
  hasTape_ = true;
}

void Register::endTape() {
  if (!recording_)
    throw Error("tape_end without tape_begin");
  closeSegment();
  recording_ = false;
  tapeVersion_ = version_;
}

void Register::noteSegmentGate(const Op &op, const ControlWires &ctrls, std::size_t numParams) {
  if (!segmentGate(op, ctrls)) {
    closeSegment();
    return;
  }
  if (!segOpen_) {
    segOpen_ = true;
    segBegin_ = tape_.entries.size(); // the entry this gate is about to get
    segPending_ = pending_.size();
    segParams_ = 0;
    segBasisKnown_ = basisKnown_; // applyGate updates it after this gate is queued
    segBasisIndex_ = basisIndex_;
    segBasisPhase_ = basisPhase_;
  }
  segParams_ += numParams;
}

void Register::closeSegment() {
  if (!segOpen_)
    return;
  segOpen_ = false;
  if (segParams_ < segmentMinParams() || segPending_ > pending_.size() ||
      checkpointBudgetBytes() == 0)
    return;
  if (segBasisKnown_) { // nothing to copy, and the queue need not be applied
    Checkpoint c{segBegin_, tape_.entries.size(), StateVector::view(nullptr, numQubits())};
    c.basis = true;
    c.index = segBasisIndex_;
    c.phase = segBasisPhase_;
    tape_.checkpoints.push_back(std::move(c));
    return;
  }
  const std::size_t bytes = sv_.size() * sizeof(Complex);
  if (tape_.checkpointBytes + bytes > checkpointBudgetBytes())
    return;
  // The state before the segment, i.e. after the queued gates ahead of its first one: written
  // when the queue is applied (a snapshot, Forward.hpp), usually from inside the run that
  // applies those gates, so the run need not end there and no copy pass is needed.
  try {
    tape_.checkpoints.push_back(
        Checkpoint{segBegin_, tape_.entries.size(), StateVector::uninitialized(numQubits())});
    tape_.checkpointBytes += bytes;
    snapshots_.emplace_back(segPending_, tape_.checkpoints.size() - 1);
  } catch (const std::bad_alloc &) {
    // Short of memory: this segment takes the plain sweep, which needs no checkpoint.
  }
}

std::size_t Register::tapeNumParams() const {
  if (!hasTape_)
    throw Error("no tape recorded on the active register (call kvant_rt_tape_begin)");
  return tape_.numParams;
}

const Tape &Register::tapeToDifferentiate(const char *what, std::int64_t numParams) {
  if (!hasTape_)
    throw Error(std::string(what) + ": no tape recorded on the active register");
  if (!tape_.invalidReason.empty())
    throw Error(std::string(what) + ": the tape contains " + tape_.invalidReason +
                ", which adjoint differentiation does not support");
  if (!recording_ && version_ != tapeVersion_)
    throw Error(std::string(what) +
                ": the state changed after kvant_rt_tape_end; differentiate before applying "
                "further operations");
  if (numParams != static_cast<std::int64_t>(tape_.numParams))
    throw Error(std::string(what) + ": the tape has " + std::to_string(tape_.numParams) +
                " parameter(s), num_params is " + std::to_string(numParams));
  flushPending(); // the checkpoints get their states from the queue
  return tape_;
}

} // namespace kvant::rt
