//===- GradientOps.cpp - the `gradient` dialect and its verifiers ---------------------===//

#include "kvant/Gradient/IR/GradientOps.h"
#include "kvant/Quantum/IR/QuantumDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kvant::gradient;

#include "kvant/Gradient/IR/GradientDialect.cpp.inc"
#include "kvant/Gradient/IR/GradientEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kvant/Gradient/IR/GradientAttrs.cpp.inc"

void GradientDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kvant/Gradient/IR/GradientAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kvant/Gradient/IR/GradientOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------------------===//
// gradient.circuit on functions
//===----------------------------------------------------------------------------------===//

namespace {

/// A rank-1 tensor of f64 (a vector of gate parameters or of cotangents).
bool isF64Vector(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getRank() == 1 && tensor.getElementType().isF64();
}

/// A rank-2 tensor of f64 with `columns` columns (either size may be dynamic).
bool isF64Matrix(Type type, int64_t columns) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() != 2 || !tensor.getElementType().isF64())
    return false;
  int64_t have = tensor.getDimSize(1);
  return ShapedType::isDynamic(have) || ShapedType::isDynamic(columns) || have == columns;
}

/// The signature a role gives a circuit function of `qnode` (both at the tensor level).
LogicalResult verifyCircuitSignature(func::FuncOp fn, CircuitRole role, func::FuncOp qnode) {
  auto error = [&]() {
    return fn.emitOpError() << "of role '" << stringifyCircuitRole(role) << "': ";
  };
  FunctionType type = fn.getFunctionType(), qnodeType = qnode.getFunctionType();
  ArrayRef<Type> inputs = type.getInputs(), results = type.getResults();
  unsigned extraInputs = role == CircuitRole::VJP ? 2 : 1;
  if (inputs.size() != qnodeType.getNumInputs() + extraInputs || !isF64Vector(inputs[0]) ||
      inputs.slice(1, qnodeType.getNumInputs()) != qnodeType.getInputs())
    return error() << "expected the inputs (tensor<Gxf64>, " << qnodeType.getInputs()
                   << (role == CircuitRole::VJP ? ", tensor<Mxf64>" : "") << ") of QNode @"
                   << qnode.getSymName() << ", got " << inputs;
  int64_t numParams = cast<RankedTensorType>(inputs[0]).getDimSize(0);
  switch (role) {
  case CircuitRole::Jacobian:
    if (results.size() != qnodeType.getNumResults() + 1 ||
        results.drop_back() != qnodeType.getResults() || !isF64Matrix(results.back(), numParams))
      return error() << "expected the results of the QNode and a tensor<MxGxf64>, got " << results;
    return success();
  case CircuitRole::Values:
    if (results != qnodeType.getResults())
      return error() << "expected the results of the QNode, got " << results;
    return success();
  case CircuitRole::VJP:
    if (!isF64Vector(inputs.back()) || results.size() != 1 || results[0] != inputs[0])
      return error() << "expected a cotangent tensor<Mxf64> and the result " << inputs[0]
                     << ", got " << inputs.back() << " and " << results;
    return success();
  case CircuitRole::ShiftableJacobian:
    if (results.empty() || !isF64Matrix(results.back(), numParams) ||
        llvm::any_of(results.drop_back(), [](Type t) {
          auto scalar = dyn_cast<RankedTensorType>(t);
          return !scalar || scalar.getRank() != 0 || !scalar.getElementType().isF64();
        }))
      return error() << "expected a tensor<f64> per variance and a tensor<MxGxf64>, got "
                     << results;
    return success();
  }
  llvm_unreachable("unknown circuit role");
}

/// gradient.inline_when_expanded: the function is inlined into its callers and erased, which
/// only a private function allows, and it exists for results of dynamic shape.
LogicalResult verifyInlineWhenExpanded(Operation *op, Attribute value) {
  StringRef name = GradientDialect::getInlineWhenExpandedAttrName();
  if (!isa<UnitAttr>(value))
    return op->emitError() << "'" << name << "' is a unit attribute, got " << value;
  auto fn = dyn_cast<func::FuncOp>(op);
  if (!fn)
    return op->emitError() << "'" << name << "' marks func.func ops only";
  if (!fn.isPrivate())
    return op->emitError() << "'" << name << "' marks private functions only (they are erased "
                           << "once inlined)";
  // Checked at the tensor level (bufferization rewrites signatures; the functions are gone by
  // then anyway).
  bool tensorLevel = llvm::none_of(fn.getArgumentTypes(), llvm::IsaPred<BaseMemRefType>);
  if (tensorLevel && llvm::none_of(fn.getResultTypes(), [](Type t) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        return tensor && !tensor.hasStaticShape();
      }))
    return op->emitError() << "'" << name << "' marks functions with a result of dynamic shape, "
                           << "got results " << fn.getResultTypes();
  return success();
}

/// Whether values of `type` carry a cotangent: floats and complex numbers, scalars or tensors
/// (the reverse mode's rule, restated here: the dialect does not depend on the engine).
bool carriesCotangent(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  if (auto complex = dyn_cast<ComplexType>(type))
    type = complex.getElementType();
  return isa<FloatType>(type);
}

/// gradient.custom_vjp = @g on @f: @g exists and takes (f's inputs, f's results, the
/// cotangents of f's float/complex results) to the cotangents of f's float/complex inputs.
LogicalResult verifyCustomVjp(Operation *op, Attribute value) {
  StringRef name = GradientDialect::getCustomVjpAttrName();
  auto symbol = dyn_cast<FlatSymbolRefAttr>(value);
  if (!symbol)
    return op->emitError() << "'" << name << "' must be a flat symbol reference, got " << value;
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << name << "' marks functions only";
  if (!isa_and_nonnull<FunctionOpInterface>(SymbolTable::lookupNearestSymbolFrom(op, symbol)))
    return op->emitError() << "'" << name << "' names " << symbol << ", which is not a function";
  auto fn = dyn_cast<func::FuncOp>(op);
  auto vjp = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, symbol);
  if (!fn || !vjp)
    return success(); // checked on func.func (gradient-expand-auto removes the attribute)
  auto tensorLevel = [](func::FuncOp f) {
    return llvm::none_of(f.getArgumentTypes(), llvm::IsaPred<BaseMemRefType>);
  };
  if (!tensorLevel(fn) || !tensorLevel(vjp))
    return success(); // signatures are checked before bufferization
  FunctionType type = fn.getFunctionType();
  SmallVector<Type> inputs(type.getInputs());
  llvm::append_range(inputs, type.getResults());
  llvm::append_range(inputs, llvm::make_filter_range(type.getResults(), carriesCotangent));
  SmallVector<Type> results(llvm::make_filter_range(type.getInputs(), carriesCotangent));
  if (vjp.getFunctionType() != FunctionType::get(op->getContext(), inputs, results))
    return op->emitError() << "'" << name << "' names " << symbol << " of type "
                           << vjp.getFunctionType() << ", expected "
                           << FunctionType::get(op->getContext(), inputs, results);
  return success();
}

} // namespace

LogicalResult GradientDialect::verifyOperationAttribute(Operation *op, NamedAttribute attribute) {
  if (attribute.getName() == getInlineWhenExpandedAttrName())
    return verifyInlineWhenExpanded(op, attribute.getValue());
  if (attribute.getName() == getCustomVjpAttrName())
    return verifyCustomVjp(op, attribute.getValue());
  if (attribute.getName() != getCircuitAttrName())
    return op->emitError() << "unknown attribute '" << attribute.getName().getValue()
                           << "' of the gradient dialect";
  auto circuit = dyn_cast<CircuitAttr>(attribute.getValue());
  if (!circuit)
    return op->emitError() << "'" << getCircuitAttrName() << "' must be a #gradient.circuit, got "
                           << attribute.getValue();
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << getCircuitAttrName() << "' marks functions only";
  Operation *qnode = SymbolTable::lookupNearestSymbolFrom(op, circuit.getQnode());
  if (!qnode || !kvant::quantum::getQNodeAttr(qnode))
    return op->emitError() << "'" << getCircuitAttrName() << "' names " << circuit.getQnode()
                           << ", which is not a QNode";
  // Signatures are checked on tensor-level func.func ops: bufferization and the conversion to
  // the LLVM dialect rewrite them, the role stays as documentation.
  auto fn = dyn_cast<func::FuncOp>(op);
  auto qnodeFn = dyn_cast<func::FuncOp>(qnode);
  auto tensorLevel = [](func::FuncOp f) {
    return llvm::none_of(f.getArgumentTypes(), llvm::IsaPred<BaseMemRefType>);
  };
  if (fn && qnodeFn && tensorLevel(fn) && tensorLevel(qnodeFn))
    return verifyCircuitSignature(fn, circuit.getRole(), qnodeFn);
  return success();
}

#define GET_OP_CLASSES
#include "kvant/Gradient/IR/GradientOps.cpp.inc"

namespace {

/// A ranked tensor with a float element type (rank 0 stands for a scalar).
bool isRankedFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// Checks that do not need the callee. Shared by every differentiation op (grad now;
/// value_and_grad/jvp/vjp later).
LogicalResult verifyDifferentiationAttrs(Operation *op, StringRef method,
                                         ArrayRef<int64_t> diffArgIndices,
                                         std::optional<APFloat> finiteDiffParam) {
  if (method != "auto" && method != "fd")
    return op->emitOpError() << "method must be \"auto\" or \"fd\", got \"" << method << "\"";
  if (diffArgIndices.empty())
    return op->emitOpError() << "needs at least one differentiated argument";
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t index : diffArgIndices) {
    if (index < 0)
      return op->emitOpError() << "differentiated argument index " << index << " is negative";
    if (!seen.insert(index).second)
      return op->emitOpError() << "differentiated argument index " << index
                               << " appears more than once";
  }
  // The step is explicit in the IR: the default is the frontend's (docs/grad-semantics.md).
  if (method == "fd" && !finiteDiffParam)
    return op->emitOpError() << "method \"fd\" needs the step h as finiteDiffParam";
  if (method == "auto" && finiteDiffParam)
    return op->emitOpError() << "finiteDiffParam is the step of method \"fd\"; method \"auto\" "
                                "takes none";
  if (finiteDiffParam && !(finiteDiffParam->convertToDouble() > 0.0))
    return op->emitOpError() << "finiteDiffParam must be > 0, got "
                             << finiteDiffParam->convertToDouble();
  return success();
}

/// Checks against the callee: existence, signature, float types; returns it on success.
FailureOr<func::FuncOp> verifyCallee(Operation *op, SymbolTableCollection &symbolTable,
                                     FlatSymbolRefAttr calleeAttr, ValueRange operands,
                                     ArrayRef<int64_t> diffArgIndices,
                                     std::optional<uint64_t> numDiffResults) {
  Operation *symbol = symbolTable.lookupNearestSymbolFrom(op, calleeAttr);
  if (!symbol)
    return op->emitOpError() << "callee " << calleeAttr << " does not exist";
  auto callee = dyn_cast<func::FuncOp>(symbol);
  if (!callee)
    return op->emitOpError() << "callee " << calleeAttr << " must be a func.func, got '"
                             << symbol->getName() << "'";
  FunctionType fnType = callee.getFunctionType();
  if (fnType.getNumInputs() != operands.size())
    return op->emitOpError() << "has " << operands.size() << " operand(s) but callee " << calleeAttr
                             << " takes " << fnType.getNumInputs();
  for (auto [i, operand, expected] : llvm::enumerate(operands, fnType.getInputs()))
    if (operand.getType() != expected)
      return op->emitOpError() << "operand " << i << " has type " << operand.getType()
                               << " but callee " << calleeAttr << " expects " << expected;
  for (int64_t index : diffArgIndices) {
    if (index >= int64_t(fnType.getNumInputs()))
      return op->emitOpError() << "differentiated argument index " << index
                               << " is out of range: callee " << calleeAttr << " has "
                               << fnType.getNumInputs() << " argument(s)";
    Type argType = fnType.getInput(index);
    if (!isRankedFloatTensor(argType))
      return op->emitOpError() << "differentiated argument " << index
                               << " must be a ranked tensor of floats, got " << argType;
  }
  // Auxiliary results (after the first numDiffResults) are values only: any ranked tensor.
  for (auto [i, resultType] : llvm::enumerate(fnType.getResults())) {
    bool differentiated = !numDiffResults || i < *numDiffResults;
    if (differentiated ? !isRankedFloatTensor(resultType) : !isa<RankedTensorType>(resultType))
      return op->emitOpError() << "callee result " << i << " must be a ranked tensor"
                               << (differentiated ? " of floats" : "") << ", got " << resultType;
  }
  return callee;
}

/// The Jacobian of callee result `result` w.r.t. argument `arg`: shape [result..., arg...],
/// element type of the argument (JAX's convention: a derivative has its argument's dtype).
RankedTensorType jacobianType(Type result, Type arg) {
  auto resultType = cast<RankedTensorType>(result);
  auto argType = cast<RankedTensorType>(arg);
  SmallVector<int64_t> shape(resultType.getShape());
  llvm::append_range(shape, argType.getShape());
  return RankedTensorType::get(shape, argType.getElementType());
}

} // namespace

unsigned GradOp::getNumValues() {
  if (!getWithValues())
    return 0;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(*this, getCalleeAttr());
  return callee ? callee.getFunctionType().getNumResults() : 0;
}

unsigned GradOp::getNumDifferentiated() {
  if (std::optional<uint64_t> n = getNumDiffResults())
    return *n;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(*this, getCalleeAttr());
  return callee ? callee.getFunctionType().getNumResults() : 0;
}

LogicalResult GradOp::verify() {
  if (std::optional<uint64_t> n = getNumDiffResults(); n && *n == 0)
    return emitOpError("differentiates no result (`numDiffResults` = 0)");
  return verifyDifferentiationAttrs(*this, getMethod(), getDiffArgIndices(), getFiniteDiffParam());
}

LogicalResult GradOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<func::FuncOp> callee = verifyCallee(*this, symbolTable, getCalleeAttr(), getOperands(),
                                                getDiffArgIndices(), getNumDiffResults());
  if (failed(callee))
    return failure();
  FunctionType fnType = callee->getFunctionType();
  unsigned numValues = getWithValues() ? fnType.getNumResults() : 0;
  unsigned numDifferentiated = fnType.getNumResults();
  if (std::optional<uint64_t> n = getNumDiffResults()) {
    if (*n > fnType.getNumResults())
      return emitOpError() << "differentiates " << *n << " result(s) of a callee with "
                           << fnType.getNumResults();
    if (!getWithValues() && *n != fnType.getNumResults())
      return emitOpError("has auxiliary results (`numDiffResults`) but no `withValues` to "
                         "return them");
    numDifferentiated = *n;
  }
  size_t expected = numValues + numDifferentiated * getDiffArgIndices().size();
  if (getNumResults() != expected) {
    InFlightDiagnostic error = emitOpError() << "must have " << expected << " result(s) (";
    if (numValues)
      error << numValues << " value(s), then ";
    return error << numDifferentiated << " differentiated result(s) x "
                 << getDiffArgIndices().size() << " differentiated argument(s)), got "
                 << getNumResults();
  }
  for (unsigned r = 0; r < numValues; ++r)
    if (getResult(r).getType() != fnType.getResult(r))
      return emitOpError() << "value result " << r << " must have the callee's result type "
                           << fnType.getResult(r) << ", got " << getResult(r).getType();
  unsigned position = numValues;
  for (auto [r, resultType] : llvm::enumerate(fnType.getResults().take_front(numDifferentiated))) {
    for (int64_t arg : getDiffArgIndices()) {
      RankedTensorType want = jacobianType(resultType, fnType.getInput(arg));
      Type got = getResult(position).getType();
      if (got != want)
        return emitOpError() << "result " << position << " (d result " << r << " / d argument "
                             << arg << ") must have type " << want << ", got " << got;
      ++position;
    }
  }
  return success();
}

unsigned JVPOp::getNumDifferentiated() {
  if (std::optional<uint64_t> n = getNumDiffResults())
    return *n;
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(*this, getCalleeAttr());
  return callee ? callee.getFunctionType().getNumResults() : 0;
}

LogicalResult JVPOp::verify() {
  if (std::optional<uint64_t> n = getNumDiffResults(); n && *n == 0)
    return emitOpError("differentiates no result (`numDiffResults` = 0)");
  if (getTangents().size() != getDiffArgIndices().size())
    return emitOpError() << "has " << getTangents().size() << " tangent(s) for "
                         << getDiffArgIndices().size() << " differentiated argument(s)";
  return verifyDifferentiationAttrs(*this, "auto", getDiffArgIndices(), std::nullopt);
}

LogicalResult JVPOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<func::FuncOp> callee = verifyCallee(*this, symbolTable, getCalleeAttr(), getArgs(),
                                                getDiffArgIndices(), getNumDiffResults());
  if (failed(callee))
    return failure();
  FunctionType fnType = callee->getFunctionType();
  for (auto [k, arg] : llvm::enumerate(getDiffArgIndices()))
    if (getTangents()[k].getType() != fnType.getInput(arg))
      return emitOpError() << "tangent " << k << " must have the type of argument " << arg << ", "
                           << fnType.getInput(arg) << ", got " << getTangents()[k].getType();
  unsigned numDifferentiated = fnType.getNumResults();
  if (std::optional<uint64_t> n = getNumDiffResults()) {
    if (*n > fnType.getNumResults())
      return emitOpError() << "differentiates " << *n << " result(s) of a callee with "
                           << fnType.getNumResults();
    numDifferentiated = *n;
  }
  size_t expected = fnType.getNumResults() + numDifferentiated;
  if (getNumResults() != expected)
    return emitOpError() << "must have " << expected << " result(s) (" << fnType.getNumResults()
                         << " value(s), then " << numDifferentiated << " tangent(s)), got "
                         << getNumResults();
  for (unsigned r = 0; r < expected; ++r) {
    Type want = fnType.getResult(r < fnType.getNumResults() ? r : r - fnType.getNumResults());
    if (getResult(r).getType() != want)
      return emitOpError() << "result " << r << " must have type " << want << ", got "
                           << getResult(r).getType();
  }
  return success();
}
