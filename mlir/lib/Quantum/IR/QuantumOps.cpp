//===- QuantumOps.cpp - verifiers and custom syntax of the `quantum` ops --------------===//

#include "kvant/Quantum/IR/QuantumOps.h"
#include "kvant/Quantum/IR/GateTable.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace kvant::quantum;

//===----------------------------------------------------------------------------------===//
// Custom directive: a qubit index that is either an SSA value or an integer literal.
//   quantum.extract %r[%i]     quantum.extract %r[3]
//===----------------------------------------------------------------------------------===//

static ParseResult parseQubitIndex(OpAsmParser &parser,
                                   std::optional<OpAsmParser::UnresolvedOperand> &idx,
                                   IntegerAttr &idxAttr) {
  OpAsmParser::UnresolvedOperand operand;
  OptionalParseResult hasOperand = parser.parseOptionalOperand(operand);
  if (hasOperand.has_value()) {
    if (failed(*hasOperand))
      return failure();
    idx = operand;
    return success();
  }
  int64_t value;
  if (parser.parseInteger(value))
    return failure();
  idxAttr = parser.getBuilder().getI64IntegerAttr(value);
  return success();
}

static void printQubitIndex(OpAsmPrinter &printer, Operation *, Value idx, IntegerAttr idxAttr) {
  if (idx)
    printer << idx;
  else if (idxAttr)
    printer << idxAttr.getInt();
}

//===----------------------------------------------------------------------------------===//
// Custom directive: the target qubits of a gate, `%a, %b`, or `()` when there are none
// (GlobalPhase). A bare empty list would be ambiguous: the parser would take the result name
// of the next op for a target qubit.
//===----------------------------------------------------------------------------------===//

static ParseResult parseGateQubits(OpAsmParser &parser,
                                   SmallVectorImpl<OpAsmParser::UnresolvedOperand> &qubits) {
  if (succeeded(parser.parseOptionalLParen()))
    return parser.parseRParen();
  return parser.parseOperandList(qubits, /*requiredOperandCount=*/-1);
}

static void printGateQubits(OpAsmPrinter &printer, Operation *, OperandRange qubits) {
  if (qubits.empty())
    printer << "()";
  else
    printer << qubits;
}

#include "kvant/Quantum/IR/QuantumInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "kvant/Quantum/IR/QuantumOps.cpp.inc"

//===----------------------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------------------===//

namespace {
/// 2^k for the qubit counts we can represent (k <= 62), or nullopt.
std::optional<int64_t> dimForQubits(size_t numQubits) {
  if (numQubits > 62)
    return std::nullopt;
  return int64_t(1) << numQubits;
}

/// Checks a dense matrix acting on `numQubits` qubits: static 2^k x 2^k.
LogicalResult verifyMatrix(Operation *op, Type matrixType, size_t numQubits) {
  auto type = cast<RankedTensorType>(matrixType);
  std::optional<int64_t> dim = dimForQubits(numQubits);
  if (!dim)
    return op->emitOpError() << "acts on too many qubits (" << numQubits << ")";
  if (type.getRank() != 2 || !type.hasStaticShape() || type.getDimSize(0) != *dim ||
      type.getDimSize(1) != *dim)
    return op->emitOpError() << "matrix must be " << *dim << "x" << *dim << " for " << numQubits
                             << " qubit(s), got " << matrixType;
  return success();
}

/// Common structure of gates: outputs mirror inputs, control values pair with control qubits.
LogicalResult verifyGateShape(Operation *op, size_t numIn, size_t numOut, size_t numCtrlIn,
                              size_t numCtrlOut, size_t numCtrlValues) {
  if (numIn != numOut)
    return op->emitOpError() << "has " << numIn << " input qubit(s) but " << numOut
                             << " output qubit(s)";
  if (numCtrlIn != numCtrlOut)
    return op->emitOpError() << "has " << numCtrlIn << " input control qubit(s) but " << numCtrlOut
                             << " output control qubit(s)";
  if (numCtrlIn != numCtrlValues)
    return op->emitOpError() << "has " << numCtrlIn << " control qubit(s) but " << numCtrlValues
                             << " control value(s)";
  return success();
}

/// A static index must be non-negative and, when the register comes straight from an
/// alloc, in range.
LogicalResult verifyIndex(Operation *op, Value reg, Value idx, std::optional<int64_t> idxAttr) {
  if (bool(idx) == idxAttr.has_value())
    return op->emitOpError()
           << "needs exactly one of a dynamic index operand or the 'idx_attr' attribute";
  if (!idxAttr)
    return success();
  if (*idxAttr < 0)
    return op->emitOpError() << "qubit index must be non-negative, got " << *idxAttr;
  if (auto alloc = reg.getDefiningOp<AllocOp>())
    if (*idxAttr >= alloc.getNqubits())
      return op->emitOpError() << "qubit index " << *idxAttr
                               << " is out of range for a register of " << alloc.getNqubits()
                               << " qubit(s)";
  return success();
}
} // namespace

//===----------------------------------------------------------------------------------===//
// Registers
//===----------------------------------------------------------------------------------===//

LogicalResult AllocOp::verify() {
  if (getNqubits() < 1)
    return emitOpError() << "needs at least 1 qubit, got " << getNqubits();
  return success();
}

LogicalResult ExtractOp::verify() { return verifyIndex(*this, getReg(), getIdx(), getIdxAttr()); }

LogicalResult InsertOp::verify() { return verifyIndex(*this, getInReg(), getIdx(), getIdxAttr()); }

//===----------------------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------------------===//

std::optional<ShiftRule> CustomOp::getShiftRule(unsigned index) {
  (void)index; // all parameters of one gate follow its rule (Rot: three one-axis angles)
  return lookupShiftRule(getGateName(), !getInCtrlQubits().empty());
}

LogicalResult CustomOp::verify() {
  std::optional<GateInfo> gate = lookupGate(getGateName());
  if (!gate) {
    SmallVector<StringRef> names;
    for (const GateInfo &g : getGateTable())
      names.push_back(g.name);
    return emitOpError() << "unknown gate \"" << getGateName()
                         << "\" (gates.def has: " << llvm::join(names, ", ") << ")";
  }
  if (int64_t(getParams().size()) != gate->numParams)
    return emitOpError() << "gate \"" << gate->name << "\" takes " << gate->numParams
                         << " parameter(s), got " << getParams().size();
  int64_t numWires = getInQubits().size();
  if (gate->numWires >= 0 && numWires != gate->numWires)
    return emitOpError() << "gate \"" << gate->name << "\" acts on " << gate->numWires
                         << " qubit(s), got " << numWires;
  // Variable-width gates need a wire, except the global phase, which may act on none.
  if (gate->numWires < 0 && numWires == 0 && gate->name != "GlobalPhase")
    return emitOpError() << "gate \"" << gate->name << "\" needs at least 1 qubit";
  return verifyGateShape(*this, getInQubits().size(), getOutQubits().size(),
                         getInCtrlQubits().size(), getOutCtrlQubits().size(),
                         getInCtrlValues().size());
}

LogicalResult UnitaryOp::verify() {
  if (getInQubits().empty())
    return emitOpError() << "needs at least 1 target qubit";
  if (failed(verifyGateShape(*this, getInQubits().size(), getOutQubits().size(),
                             getInCtrlQubits().size(), getOutCtrlQubits().size(),
                             getInCtrlValues().size())))
    return failure();
  return verifyMatrix(*this, getMatrix().getType(), getInQubits().size());
}

//===----------------------------------------------------------------------------------===//
// Observables
//===----------------------------------------------------------------------------------===//

LogicalResult NamedObsOp::verify() {
  if (lookupObservable(getType()))
    return success();
  SmallVector<StringRef> names;
  for (const ObservableInfo &o : getObservableTable())
    names.push_back(o.name);
  return emitOpError() << "unknown observable \"" << getType()
                       << "\" (observables.def has: " << llvm::join(names, ", ") << ")";
}

LogicalResult TensorObsOp::verify() {
  if (getTerms().empty())
    return emitOpError() << "needs at least 1 factor";
  return success();
}

LogicalResult HermitianOp::verify() {
  if (getQubits().empty())
    return emitOpError() << "needs at least 1 qubit";
  return verifyMatrix(*this, getMatrix().getType(), getQubits().size());
}

LogicalResult HamiltonianOp::verify() {
  if (getTerms().empty())
    return emitOpError() << "needs at least 1 term";
  auto coeffs = cast<RankedTensorType>(getCoeffs().getType());
  if (!coeffs.isDynamicDim(0) && coeffs.getDimSize(0) != int64_t(getTerms().size()))
    return emitOpError() << "has " << coeffs.getDimSize(0) << " coefficient(s) but "
                         << getTerms().size() << " term(s)";
  return success();
}

//===----------------------------------------------------------------------------------===//
// Measurements
//===----------------------------------------------------------------------------------===//

namespace {
LogicalResult verifyBasisVector(Operation *op, Type resultType, size_t numQubits, StringRef what) {
  if (numQubits == 0)
    return op->emitOpError() << "needs at least 1 qubit";
  std::optional<int64_t> dim = dimForQubits(numQubits);
  auto type = cast<RankedTensorType>(resultType);
  if (!dim)
    return op->emitOpError() << "acts on too many qubits (" << numQubits << ")";
  if (type.isDynamicDim(0) || type.getDimSize(0) != *dim)
    return op->emitOpError() << "result must hold " << *dim << " " << what << " for " << numQubits
                             << " qubit(s), got " << resultType;
  return success();
}
} // namespace

LogicalResult ProbsOp::verify() {
  return verifyBasisVector(*this, getProbabilities().getType(), getQubits().size(),
                           "probabilities");
}

LogicalResult StateOp::verify() {
  return verifyBasisVector(*this, getState().getType(), getQubits().size(), "amplitudes");
}

namespace {
/// The number of measurement entries (Jacobian rows, cotangent entries) an adjoint
/// differentiation op describes with its observables, probs qubits, `kinds` and `probs_wires`.
FailureOr<int64_t> countMeasurementEntries(Operation *op, size_t numObs, size_t numQubits,
                                           std::optional<ArrayRef<int64_t>> kinds,
                                           std::optional<ArrayRef<int64_t>> probsWiresAttr) {
  if (!kinds) {
    if (numQubits != 0)
      return op->emitOpError("takes probs qubits only with `kinds`");
    return int64_t(numObs);
  }
  ArrayRef<int64_t> probsWires = probsWiresAttr.value_or(ArrayRef<int64_t>{});
  int64_t observables = 0, probs = 0, wires = 0, rows = 0;
  for (int64_t kind : *kinds) {
    if (kind == 0 || kind == 1) {
      ++observables;
      ++rows;
    } else if (kind == 2) {
      if (probs >= int64_t(probsWires.size()))
        return op->emitOpError() << "has more probs measurements than `probs_wires` entries";
      wires += probsWires[probs];
      rows += int64_t(1) << probsWires[probs++];
    } else {
      return op->emitOpError() << "measurement kind " << kind << " is not 0 (expval), 1 (var) "
                               << "or 2 (probs)";
    }
  }
  if (observables != int64_t(numObs))
    return op->emitOpError() << "has " << numObs << " observables for " << observables
                             << " expval/var measurements";
  if (probs != int64_t(probsWires.size()) || wires != int64_t(numQubits))
    return op->emitOpError() << "has " << numQubits << " probs qubits; `probs_wires` "
                             << "asks for " << wires;
  return rows;
}
} // namespace

LogicalResult AdjointJacobianOp::verify() {
  auto type = cast<RankedTensorType>(getJacobian().getType());
  if (type.isDynamicDim(0))
    return emitOpError("needs a static number of rows (one per measurement entry)");
  FailureOr<int64_t> rows = countMeasurementEntries(*this, getObs().size(), getQubits().size(),
                                                    getKinds(), getProbsWires());
  if (failed(rows))
    return failure();
  if (type.getDimSize(0) != *rows)
    return emitOpError() << "has " << *rows << " measurement entries but " << type.getDimSize(0)
                         << " rows";
  if (type.isDynamicDim(1) != bool(getNumParams()))
    return emitOpError("takes `num_params` exactly when the number of columns is dynamic");
  return success();
}

LogicalResult AdjointVJPOp::verify() {
  auto cotangentType = cast<RankedTensorType>(getCotangent().getType());
  if (cotangentType.isDynamicDim(0))
    return emitOpError("needs a cotangent of static size (one entry per measurement entry)");
  FailureOr<int64_t> entries = countMeasurementEntries(*this, getObs().size(), getQubits().size(),
                                                       getKinds(), getProbsWires());
  if (failed(entries))
    return failure();
  if (cotangentType.getDimSize(0) != *entries)
    return emitOpError() << "has " << *entries << " measurement entries but a cotangent of "
                         << cotangentType.getDimSize(0);
  if (cast<RankedTensorType>(getGradient().getType()).isDynamicDim(0) != bool(getNumParams()))
    return emitOpError("takes `num_params` exactly when the gradient's size is dynamic");
  return success();
}

//===----------------------------------------------------------------------------------===//
// State preparation, sampling and mid-circuit measurement
//===----------------------------------------------------------------------------------===//

namespace {
LogicalResult verifySameQubitCount(Operation *op, size_t in, size_t out) {
  if (in == 0)
    return op->emitOpError() << "needs at least 1 qubit";
  if (in != out)
    return op->emitOpError() << "has " << in << " input qubit(s) but " << out << " result(s)";
  return success();
}

LogicalResult verifyShots(Operation *op, int64_t shots) {
  if (shots < 1)
    return op->emitOpError() << "needs shots >= 1, got " << shots;
  return success();
}
} // namespace

LogicalResult BasisStateOp::verify() {
  if (failed(verifySameQubitCount(*this, getInQubits().size(), getOutQubits().size())))
    return failure();
  auto type = getBits().getType();
  if (!type.isDynamicDim(0) && type.getDimSize(0) != static_cast<int64_t>(getInQubits().size()))
    return emitOpError() << "needs one bit per qubit: " << getInQubits().size() << " qubit(s), "
                         << type.getDimSize(0) << " bit(s)";
  return success();
}

LogicalResult StatePrepOp::verify() {
  if (failed(verifySameQubitCount(*this, getInQubits().size(), getOutQubits().size())))
    return failure();
  return verifyBasisVector(*this, getAmplitudes().getType(), getInQubits().size(), "amplitudes");
}

LogicalResult MeasureOp::verify() {
  if (auto postselect = getPostselect(); postselect && *postselect != 0 && *postselect != 1)
    return emitOpError() << "postselect must be 0 or 1, got " << *postselect;
  return success();
}

LogicalResult SampleOp::verify() {
  if (failed(verifyShots(*this, getShots())))
    return failure();
  if (getQubits().empty())
    return emitOpError() << "needs at least 1 qubit";
  auto type = getSamples().getType();
  int64_t k = getQubits().size();
  if (type.getDimSize(0) != getShots() || type.getDimSize(1) != k)
    return emitOpError() << "result must be tensor<" << getShots() << "x" << k
                         << "xi64> (shots x qubits), got " << type;
  return success();
}

LogicalResult CountsOp::verify() {
  if (failed(verifyShots(*this, getShots())))
    return failure();
  return verifyBasisVector(*this, getCounts().getType(), getQubits().size(), "counts");
}

LogicalResult CombineShiftsOp::verify() {
  if (getPartial().getType() != getCombined().getType())
    return emitOpError("result type ")
           << getCombined().getType() << " must equal the partial result's type "
           << getPartial().getType();
  return success();
}
