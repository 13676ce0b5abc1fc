//===- ExpandAutoDiff.cpp - gradient.grad "auto" -> reverse-mode derivative code ------===//
//
// For  %J... = gradient.grad "auto" @f(%args) {diffArgIndices = [a...]}  the pass builds once
// per (callee, differentiated arguments) a private function
//
//   func.func private @f.jacobian.a...(%args) -> (J...) {
//     forward: f's body, with the classical functions it calls inlined
//     for each result r of f, for each of its n_r elements k (no loop when n_r = 1):
//       reverse sweep seeded with the one-hot cotangent e_k of r
//       row k of J(r, a) = cotangent of argument a
//   }
//
// and replaces the op by a call to it. The forward part runs once per evaluation, whatever the
// number of outputs: a Jacobian costs one reverse sweep per output element, sharing the
// forward values. A QNode call becomes its classical skeleton plus a circuit call that also
// returns the quantum Jacobian, or, when there is one sweep, a circuit call whose rule asks
// for the vector-Jacobian product (QuantumDerivatives.h).
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ForwardMode.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"
#include "kvant/Gradient/AutoDiff/TensorUtils.h"
#include "kvant/Gradient/HostDerivatives/HostDerivatives.h"
#include "kvant/Gradient/IR/GradientOps.h"
#include "kvant/Gradient/QuantumDerivatives/QuantumDerivatives.h"
#include "kvant/Gradient/Transforms/Passes.h"
#include "kvant/Quantum/IR/QuantumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace kvant::gradient {
#define GEN_PASS_DEF_EXPANDAUTODIFFPASS
#include "kvant/Gradient/Transforms/Passes.h.inc"
} // namespace kvant::gradient

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;

namespace {

/// Builds the forward part of a derivative function: classical callees inlined, QNode calls
/// split into skeleton and circuit call (QuantumDerivatives.h).
struct ForwardInliner {
  SymbolTableCollection &symbols;
  bool oneCotangent; // the derivative runs a single reverse sweep
  /// Top-level ops of the differentiated function whose results reach no differentiated result
  /// (they compute auxiliary results only): cloned as they are, their calls not expanded, so
  /// that e.g. a QNode returning its state can feed auxiliary data.
  llvm::DenseSet<Operation *> inactive;

  /// Fills `inactive` for `callee`, whose first `numDifferentiated` results are differentiated.
  void findInactive(func::FuncOp callee, unsigned numDifferentiated) {
    Block &body = callee.getBody().front();
    llvm::DenseSet<Value> needed;
    for (Value v : body.getTerminator()->getOperands().take_front(numDifferentiated))
      needed.insert(v);
    for (Operation &op : llvm::reverse(body.without_terminator())) {
      if (llvm::none_of(op.getResults(), [&](Value r) { return needed.contains(r); })) {
        inactive.insert(&op);
        continue;
      }
      needed.insert(op.operand_begin(), op.operand_end());
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op.getRegions(), captured);
      needed.insert(captured.begin(), captured.end());
    }
  }

  /// Clones `callee`'s body at the builder, with `args` for its arguments, inlining the calls
  /// of classical functions (recursively) so that one reverse sweep sees the whole computation.
  /// Appends the top-level forward ops to `forward` and returns the returned values.
  FailureOr<SmallVector<Value>> cloneInlined(OpBuilder &b, func::FuncOp callee, ValueRange args,
                                             SmallVectorImpl<Operation *> &forward, int depth = 0);

  /// Calls inside the regions of `op` (a loop or a branch of the forward code, e.g. a QNode
  /// under vmap) are expanded where they are, as at the top level. The rules that reverse the
  /// region then see only ops with rules.
  LogicalResult inlineCallsInRegions(Operation *op, int depth);

  /// A call's replacement values: the QNode split, or the classical callee inlined.
  FailureOr<SmallVector<Value>> expandCall(OpBuilder &b, Operation *site, func::FuncOp target,
                                           ValueRange args, SmallVectorImpl<Operation *> &forward,
                                           int depth) {
    if (quantum::getQNodeAttr(target))
      return inlineQNode(b, site, target, args, forward, depth);
    return cloneInlined(b, target, args, forward, depth + 1);
  }

  /// A QNode's skeleton and circuit call (QuantumDerivatives.h). The skeleton is the QNode's
  /// classical code as written: the calls of classical functions in it (a jax.jit function
  /// computing a gate angle, jnp.angle) are expanded as everywhere else, so that the sweep
  /// sees only ops with rules.
  FailureOr<SmallVector<Value>> inlineQNode(OpBuilder &b, Operation *site, func::FuncOp qnode,
                                            ValueRange args, SmallVectorImpl<Operation *> &forward,
                                            int depth) {
    SmallVector<Operation *> emitted;
    FailureOr<SmallVector<Value>> results =
        inlineQNodeCall(b, site, qnode, args, symbols, emitted, oneCotangent);
    if (failed(results))
      return failure();
    for (Operation *op : emitted) {
      auto call = dyn_cast<func::CallOp>(op);
      func::FuncOp target = call ? expandedTarget(call) : func::FuncOp();
      if (!target) {
        forward.push_back(op);
        if (op->getNumRegions() != 0 && failed(inlineCallsInRegions(op, depth)))
          return failure();
        continue;
      }
      OpBuilder at(call);
      FailureOr<SmallVector<Value>> replaced =
          expandCall(at, call, target, call.getOperands(), forward, depth);
      if (failed(replaced))
        return failure();
      call.replaceAllUsesWith(*replaced);
      call.erase();
    }
    return results;
  }

  /// The callee of `call` when it is to be expanded (a function with a body, neither a circuit
  /// nor one with a derivative of its own).
  func::FuncOp expandedTarget(func::CallOp call) {
    auto target = symbols.lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
    return target && !target.isExternal() && !isCircuitFunction(target) &&
                   !target->hasAttr(GradientDialect::getCustomVjpAttrName())
               ? target
               : func::FuncOp();
  }
};

LogicalResult ForwardInliner::inlineCallsInRegions(Operation *op, int depth) {
  for (int round = 0; round < 64; ++round) {
    SmallVector<std::pair<func::CallOp, func::FuncOp>> calls;
    op->walk([&](func::CallOp call) {
      if (func::FuncOp target = expandedTarget(call))
        calls.push_back({call, target});
    });
    if (calls.empty())
      return success();
    for (auto [call, target] : calls) {
      OpBuilder b(call);
      SmallVector<Operation *> inner; // the region's own rule reverses these
      FailureOr<SmallVector<Value>> results =
          expandCall(b, call, target, call.getOperands(), inner, depth);
      if (failed(results))
        return failure();
      call.replaceAllUsesWith(*results);
      call.erase();
    }
  }
  return op->emitError("kvant cannot differentiate recursive functions");
}

FailureOr<SmallVector<Value>> ForwardInliner::cloneInlined(OpBuilder &b, func::FuncOp callee,
                                                           ValueRange args,
                                                           SmallVectorImpl<Operation *> &forward,
                                                           int depth) {
  if (depth > 64)
    return callee.emitError("kvant cannot differentiate recursive functions");
  if (!callee.getBody().hasOneBlock())
    return callee.emitError("kvant cannot differentiate a function with several blocks");
  IRMapping mapping;
  mapping.map(callee.getArguments(), args);
  Block &body = callee.getBody().front();
  for (Operation &op : body.without_terminator()) {
    if (depth == 0 && inactive.contains(&op)) {
      forward.push_back(b.clone(op, mapping)); // no cotangent reaches it
      continue;
    }
    if (auto call = dyn_cast<func::CallOp>(op)) {
      // Circuits stay calls: their rule is the quantum derivative.
      if (func::FuncOp target = expandedTarget(call)) {
        SmallVector<Value> callArgs;
        for (Value operand : call.getOperands())
          callArgs.push_back(mapping.lookupOrDefault(operand));
        FailureOr<SmallVector<Value>> results =
            expandCall(b, call, target, callArgs, forward, depth);
        if (failed(results))
          return failure();
        mapping.map(call.getResults(), *results);
        continue;
      }
    }
    Operation *clone = b.clone(op, mapping);
    forward.push_back(clone);
    if (clone->getNumRegions() != 0 && failed(inlineCallsInRegions(clone, depth)))
      return failure();
  }
  SmallVector<Value> results;
  for (Value v : body.getTerminator()->getOperands())
    results.push_back(mapping.lookupOrDefault(v));
  return results;
}

/// Name of the derivative function of `callee` for `diffArgs` and its first
/// `numDifferentiated` results (a suffix when some results are auxiliary).
std::string derivativeName(func::FuncOp callee, ArrayRef<int64_t> diffArgs,
                           unsigned numDifferentiated, StringRef kind = "jacobian") {
  std::string name = (callee.getSymName() + "." + kind).str();
  for (int64_t a : diffArgs)
    name += "." + std::to_string(a);
  if (numDifferentiated != callee.getFunctionType().getNumResults())
    name += ".results" + std::to_string(numDifferentiated);
  return name;
}

/// Runs one reverse sweep seeded with `seed` on result `resultIndex` and returns, per
/// differentiated argument, its cotangent flattened to 1-D.
FailureOr<SmallVector<Value>> sweepOnce(OpBuilder &b, Location loc, const RuleTable &rules,
                                        ArrayRef<Operation *> forward, Value result, Value seed,
                                        ValueRange args, ArrayRef<int64_t> diffArgs) {
  ReverseSweep sweep(b, rules);
  sweep.accumulate(result, seed);
  if (failed(sweep.run(forward)))
    return failure();
  SmallVector<Value> flat;
  for (int64_t a : diffArgs) {
    auto type = cast<RankedTensorType>(args[a].getType());
    Value ct = sweep.cotangentOrZeros(args[a], loc);
    flat.push_back(reshapeStatic(
        b, loc, ct, RankedTensorType::get({type.getNumElements()}, type.getElementType())));
  }
  return flat;
}

/// The circuits' rules differentiate gate parameters only: a QNode argument that varies and
/// feeds anything else (a matrix, a state) is refused by name, not silently left out.
LogicalResult checkQuantumOperands(ValueRange args, ArrayRef<int64_t> diffArgs,
                                   ArrayRef<Operation *> forward) {
  SmallVector<Value> seeds;
  for (int64_t a : diffArgs)
    seeds.push_back(args[a]);
  llvm::DenseSet<Value> varied = dependentValues(seeds);
  for (Operation *forwardOp : forward) {
    WalkResult walk = forwardOp->walk([&](func::CallOp call) {
      return failed(checkOnlyGateParametersVary(call, [&](Value v) { return varied.contains(v); }))
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
  }
  return success();
}

/// A private function named `name` of type `type` inserted before `callee`, with an entry block
/// at which `b` is set.
func::FuncOp createDerivativeFunction(OpBuilder &b, Location loc, func::FuncOp callee,
                                      StringRef name, FunctionType type) {
  b.setInsertionPoint(callee);
  auto fn = func::FuncOp::create(b, loc, name, type);
  fn.setPrivate();
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(b.getContext(), LLVM::Linkage::Internal));
  b.setInsertionPointToStart(fn.addEntryBlock());
  return fn;
}

/// Whether a Jacobian is cheaper in forward mode: fewer differentiated input elements than
/// differentiated output elements (JAX's jacfwd choice), all of one float type (a tangent has
/// its value's type, a Jacobian its argument's).
bool preferForward(FunctionType calleeType, ArrayRef<int64_t> diffArgs,
                   unsigned numDifferentiated) {
  int64_t numIn = 0, numOut = 0;
  Type element;
  auto sameElement = [&](Type type) {
    Type e = cast<RankedTensorType>(type).getElementType();
    if (!element)
      element = e;
    return e == element;
  };
  for (int64_t a : diffArgs) {
    numIn += cast<RankedTensorType>(calleeType.getInput(a)).getNumElements();
    if (!sameElement(calleeType.getInput(a)))
      return false;
  }
  for (Type type : calleeType.getResults().take_front(numDifferentiated)) {
    numOut += cast<RankedTensorType>(type).getNumElements();
    if (!sameElement(type))
      return false;
  }
  return numIn < numOut;
}

/// The forward-mode Jacobian function @f.jacfwd.a...: the forward code once, then per
/// differentiated argument a loop over its elements j that pushes the one-hot tangent e_j
/// forward and writes column j of every Jacobian. Fails without a message (the caller then
/// builds the reverse-mode one) when an op has no tangent rule.
FailureOr<func::FuncOp> buildForwardJacobian(GradOp op, func::FuncOp callee,
                                             SymbolTableCollection &symbols,
                                             const TangentRuleTable &rules) {
  auto module = op->getParentOfType<ModuleOp>();
  ArrayRef<int64_t> diffArgs = op.getDiffArgIndices();
  unsigned numDifferentiated = op.getNumDifferentiated();
  std::string name = derivativeName(callee, diffArgs, numDifferentiated, "jacfwd");
  if (auto existing = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          module, StringAttr::get(op.getContext(), name)))
    return existing;
  FunctionType calleeType = callee.getFunctionType();
  SmallVector<Type> jacobianTypes(TypeRange(op.getJacobianResults()));
  SmallVector<Type> fnResults(calleeType.getResults());
  llvm::append_range(fnResults, jacobianTypes);
  Location loc = op.getLoc();
  OpBuilder b(module.getBodyRegion());
  func::FuncOp fn = createDerivativeFunction(b, loc, callee, name,
                                             b.getFunctionType(calleeType.getInputs(), fnResults));
  ValueRange args = fn.getArguments();
  ForwardInliner inliner{symbols, /*oneCotangent=*/false, {}};
  if (!quantum::getQNodeAttr(callee))
    inliner.findInactive(callee, numDifferentiated);
  SmallVector<Operation *> forward;
  FailureOr<SmallVector<Value>> results = quantum::getQNodeAttr(callee)
                                              ? inliner.inlineQNode(b, op, callee, args, forward, 0)
                                              : inliner.cloneInlined(b, callee, args, forward);
  if (failed(results) || failed(checkQuantumOperands(args, diffArgs, forward))) {
    fn.erase();
    return failure();
  }
  size_t numDiff = diffArgs.size();
  SmallVector<Value> jacobians(jacobianTypes.size());
  for (auto [k, a] : llvm::enumerate(diffArgs)) {
    auto argType = cast<RankedTensorType>(args[a].getType());
    int64_t numIn = argType.getNumElements();
    auto flatArg = RankedTensorType::get({numIn}, argType.getElementType());
    SmallVector<Value> inits;
    SmallVector<int64_t> numOuts;
    for (Value result : ArrayRef(*results).take_front(numDifferentiated)) {
      numOuts.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
      inits.push_back(tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{numOuts.back(), numIn},
                                              argType.getElementType()));
    }
    Value zeroFlat = zerosOf(b, loc, flatArg);
    Value one = constantOf(b, loc, argType.getElementType(), 1.0);
    auto loop = scf::ForOp::create(b, loc, arith::ConstantIndexOp::create(b, loc, 0),
                                   arith::ConstantIndexOp::create(b, loc, numIn),
                                   arith::ConstantIndexOp::create(b, loc, 1), inits);
    OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
    Value j = loop.getInductionVar();
    Value seed =
        reshapeStatic(lb, loc, tensor::InsertOp::create(lb, loc, one, zeroFlat, j), argType);
    ForwardSweep sweep(lb, rules);
    sweep.setTangent(args[a], seed);
    if (failed(sweep.run(forward))) {
      fn.erase();
      return failure();
    }
    SmallVector<Value> next;
    for (auto [r, matrix] : llvm::enumerate(loop.getRegionIterArgs())) {
      Value result = (*results)[r];
      auto columnType = RankedTensorType::get({numOuts[r], 1}, argType.getElementType());
      Value column = isDifferentiableType(result.getType())
                         ? reshapeStatic(lb, loc, sweep.tangentOrZeros(result, loc), columnType)
                         : zerosOf(lb, loc, columnType);
      SmallVector<OpFoldResult> offsets{lb.getIndexAttr(0), j};
      SmallVector<OpFoldResult> sizes{lb.getIndexAttr(numOuts[r]), lb.getIndexAttr(1)};
      SmallVector<OpFoldResult> strides{lb.getIndexAttr(1), lb.getIndexAttr(1)};
      next.push_back(
          tensor::InsertSliceOp::create(lb, loc, column, matrix, offsets, sizes, strides));
    }
    scf::YieldOp::create(lb, loc, next);
    for (unsigned r = 0; r < numDifferentiated; ++r) {
      unsigned position = r * numDiff + k;
      jacobians[position] =
          reshapeStatic(b, loc, loop.getResult(r), cast<RankedTensorType>(jacobianTypes[position]));
    }
  }
  SmallVector<Value> returned(*results);
  llvm::append_range(returned, jacobians);
  func::ReturnOp::create(b, loc, returned);
  symbols.getSymbolTable(module).insert(fn);
  return fn;
}

/// The forward-mode function @f.jvp.a...(args, tangents) -> (f's results, their tangents) of a
/// gradient.jvp: f's body, classical callees inlined and QNode calls split as for the reverse
/// mode, swept in place (each op's tangent code right after it; loops and branches replaced by
/// copies that carry tangents), so every value is computed once.
FailureOr<func::FuncOp> buildJvp(JVPOp op, func::FuncOp callee, SymbolTableCollection &symbols,
                                 const TangentRuleTable &rules) {
  auto module = op->getParentOfType<ModuleOp>();
  ArrayRef<int64_t> diffArgs = op.getDiffArgIndices();
  unsigned numDifferentiated = op.getNumDifferentiated();
  std::string name = derivativeName(callee, diffArgs, numDifferentiated, "jvp");
  if (auto existing = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          module, StringAttr::get(op.getContext(), name)))
    return existing;
  FunctionType calleeType = callee.getFunctionType();
  SmallVector<Type> inputs(calleeType.getInputs());
  for (int64_t a : diffArgs)
    inputs.push_back(calleeType.getInput(a));
  SmallVector<Type> fnResults(calleeType.getResults());
  llvm::append_range(fnResults, calleeType.getResults().take_front(numDifferentiated));
  Location loc = op.getLoc();
  OpBuilder b(module.getBodyRegion());
  func::FuncOp fn =
      createDerivativeFunction(b, loc, callee, name, b.getFunctionType(inputs, fnResults));
  ValueRange args = fn.getArguments().take_front(calleeType.getNumInputs());
  ValueRange tangents = fn.getArguments().drop_front(calleeType.getNumInputs());
  ForwardInliner inliner{symbols, /*oneCotangent=*/false, {}};
  if (!quantum::getQNodeAttr(callee))
    inliner.findInactive(callee, numDifferentiated);
  SmallVector<Operation *> forward;
  FailureOr<SmallVector<Value>> results = quantum::getQNodeAttr(callee)
                                              ? inliner.inlineQNode(b, op, callee, args, forward, 0)
                                              : inliner.cloneInlined(b, callee, args, forward);
  if (failed(results) || failed(checkQuantumOperands(args, diffArgs, forward))) {
    fn.erase();
    return failure();
  }
  auto ret = func::ReturnOp::create(b, loc, *results);
  ForwardSweep sweep(b, rules);
  for (auto [a, t] : llvm::zip(diffArgs, tangents))
    sweep.setTangent(args[a], t);
  if (failed(sweep.runInPlace(fn.getBody().front()))) {
    fn.erase();
    return failure();
  }
  b.setInsertionPoint(ret);
  SmallVector<Value> returned(ret.getOperands());
  for (Value result : ret.getOperands().take_front(numDifferentiated))
    returned.push_back(isDifferentiableType(result.getType()) ? sweep.tangentOrZeros(result, loc)
                                                              : result);
  ret->setOperands(returned);
  symbols.getSymbolTable(module).insert(fn);
  return fn;
}

FailureOr<func::FuncOp> buildDerivative(GradOp op, func::FuncOp callee,
                                        SymbolTableCollection &symbols, const RuleTable &rules,
                                        const TangentRuleTable &tangentRules) {
  auto module = op->getParentOfType<ModuleOp>();
  ArrayRef<int64_t> diffArgs = op.getDiffArgIndices();
  unsigned numDifferentiated = op.getNumDifferentiated();
  std::string name = derivativeName(callee, diffArgs, numDifferentiated);
  if (auto existing = symbols.lookupNearestSymbolFrom<func::FuncOp>(
          module, StringAttr::get(op.getContext(), name)))
    return existing;

  FunctionType calleeType = callee.getFunctionType();
  for (int64_t a : diffArgs)
    if (!cast<RankedTensorType>(calleeType.getInput(a)).hasStaticShape())
      return op.emitOpError() << "differentiated argument " << a << " has a dynamic shape";
  for (Type type : calleeType.getResults())
    if (!cast<RankedTensorType>(type).hasStaticShape())
      return op.emitOpError() << "a result of the callee has a dynamic shape";

  if (preferForward(calleeType, diffArgs, numDifferentiated)) {
    // Quietly: what forward mode lacks (a tangent rule), the reverse sweeps may have, and any
    // error that remains is reported by them.
    ScopedDiagnosticHandler quiet(op.getContext(), [](Diagnostic &) { return success(); });
    FailureOr<func::FuncOp> forwardJacobian =
        buildForwardJacobian(op, callee, symbols, tangentRules);
    if (succeeded(forwardJacobian))
      return forwardJacobian;
  }

  OpBuilder b(module.getBodyRegion());
  b.setInsertionPoint(callee);
  Location loc = op.getLoc();
  // The derivative returns the callee's values, then the Jacobians: the values are computed
  // anyway, and a call that does not use them leaves them to dead-code elimination.
  SmallVector<Type> jacobianTypes(TypeRange(op.getJacobianResults()));
  SmallVector<Type> fnResults(calleeType.getResults());
  llvm::append_range(fnResults, jacobianTypes);
  auto fn =
      func::FuncOp::create(b, loc, name, b.getFunctionType(calleeType.getInputs(), fnResults));
  fn.setPrivate();
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(b.getContext(), LLVM::Linkage::Internal));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ValueRange args = entry->getArguments();

  // A single differentiable output element: one reverse sweep, one cotangent per QNode call.
  int64_t numSweeps = 0;
  for (Type type : calleeType.getResults().take_front(numDifferentiated))
    if (isDifferentiableType(type))
      numSweeps += cast<RankedTensorType>(type).getNumElements();
  ForwardInliner inliner{symbols, /*oneCotangent=*/numSweeps == 1, {}};
  if (!quantum::getQNodeAttr(callee))
    inliner.findInactive(callee, numDifferentiated);
  SmallVector<Operation *> forward;
  FailureOr<SmallVector<Value>> results =
      quantum::getQNodeAttr(callee) ? inliner.inlineQNode(b, op, callee, args, forward, /*depth=*/0)
                                    : inliner.cloneInlined(b, callee, args, forward);
  if (failed(results)) {
    fn.erase();
    return failure();
  }
  if (failed(checkQuantumOperands(args, diffArgs, forward))) {
    fn.erase();
    return failure();
  }

  size_t numDiff = diffArgs.size();
  SmallVector<Value> jacobians(jacobianTypes.size());
  for (auto [r, result] : llvm::enumerate(ArrayRef(*results).take_front(numDifferentiated))) {
    auto resultType = cast<RankedTensorType>(result.getType());
    int64_t numOut = resultType.getNumElements();
    SmallVector<Value> flatJacobians; // [numOut, A_a] per differentiated argument
    if (!isDifferentiableType(resultType)) {
      // No cotangent flows from an integer result: its Jacobians are zero.
      for (int64_t a : diffArgs) {
        auto argType = cast<RankedTensorType>(args[a].getType());
        flatJacobians.push_back(zerosOf(
            b, loc,
            RankedTensorType::get({numOut, argType.getNumElements()}, argType.getElementType())));
      }
    } else if (numOut == 1) {
      Value seed = constantOf(b, loc, resultType, 1.0);
      FailureOr<SmallVector<Value>> rows =
          sweepOnce(b, loc, rules, forward, result, seed, args, diffArgs);
      if (failed(rows)) {
        fn.erase();
        return failure();
      }
      for (Value row : *rows) {
        auto rowType = cast<RankedTensorType>(row.getType());
        flatJacobians.push_back(reshapeStatic(
            b, loc, row,
            RankedTensorType::get({1, rowType.getDimSize(0)}, rowType.getElementType())));
      }
    } else {
      // One sweep per output element, inside a loop that fills row k of every Jacobian.
      SmallVector<Value> inits;
      for (int64_t a : diffArgs) {
        auto argType = cast<RankedTensorType>(args[a].getType());
        inits.push_back(tensor::EmptyOp::create(
            b, loc, ArrayRef<int64_t>{numOut, argType.getNumElements()}, argType.getElementType()));
      }
      auto flatType = RankedTensorType::get({numOut}, resultType.getElementType());
      Value zeroFlat = zerosOf(b, loc, flatType);
      Value one = constantOf(b, loc, resultType.getElementType(), 1.0);
      Value lower = arith::ConstantIndexOp::create(b, loc, 0);
      Value upper = arith::ConstantIndexOp::create(b, loc, numOut);
      Value step = arith::ConstantIndexOp::create(b, loc, 1);
      // The body is built after the loop exists (not in a body-builder callback): rules run
      // inside it may inspect enclosing regions, and an op under construction has no block.
      auto loop = scf::ForOp::create(b, loc, lower, upper, step, inits);
      {
        OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
        Location l = loc;
        Value k = loop.getInductionVar();
        ValueRange acc = loop.getRegionIterArgs();
        Value seedFlat = tensor::InsertOp::create(lb, l, one, zeroFlat, ValueRange{k});
        Value seed = reshapeStatic(lb, l, seedFlat, resultType);
        FailureOr<SmallVector<Value>> rows =
            sweepOnce(lb, l, rules, forward, result, seed, args, diffArgs);
        if (failed(rows)) {
          fn.erase();
          return failure();
        }
        SmallVector<Value> next;
        for (auto [row, matrix] : llvm::zip(*rows, acc)) {
          auto rowType = cast<RankedTensorType>(row.getType());
          int64_t width = rowType.getDimSize(0);
          SmallVector<OpFoldResult> offsets{k, lb.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes{lb.getIndexAttr(1), lb.getIndexAttr(width)};
          SmallVector<OpFoldResult> strides{lb.getIndexAttr(1), lb.getIndexAttr(1)};
          next.push_back(
              tensor::InsertSliceOp::create(lb, l, row, matrix, offsets, sizes, strides));
        }
        scf::YieldOp::create(lb, l, next);
      }
      llvm::append_range(flatJacobians, loop.getResults());
    }
    for (auto [k, flat] : llvm::enumerate(flatJacobians)) {
      unsigned position = r * numDiff + k;
      jacobians[position] =
          reshapeStatic(b, loc, flat, cast<RankedTensorType>(jacobianTypes[position]));
    }
  }
  SmallVector<Value> returned(*results);
  llvm::append_range(returned, jacobians);
  func::ReturnOp::create(b, loc, returned);
  symbols.getSymbolTable(module).insert(fn);
  return fn;
}

bool containsGradientOps(func::FuncOp fn) {
  return fn
      .walk([](Operation *op) {
        return isa<GradOp, JVPOp>(op) ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

/// The reverse of a call of a function marked gradient.custom_vjp = @g: a call of @g with the
/// call's operands, its results and the cotangents of its float/complex results (zeros where
/// none reached them), whose results are the cotangents of the float/complex operands
/// (GradientDialect.td).
LogicalResult customVjpCallRule(ReverseSweep &sweep, Operation *op, ArrayRef<Value> resultCts) {
  auto call = cast<func::CallOp>(op);
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  auto vjpName = callee->getAttrOfType<FlatSymbolRefAttr>(GradientDialect::getCustomVjpAttrName());
  auto vjp =
      vjpName ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, vjpName) : func::FuncOp();
  if (!vjp)
    return op->emitError() << "the derivative function of '" << call.getCallee()
                           << "' does not exist";
  OpBuilder &b = sweep.builder();
  Location loc = op->getLoc();
  SmallVector<Value> args(call.getOperands());
  llvm::append_range(args, call.getResults());
  for (auto [result, ct] : llvm::zip(call.getResults(), resultCts))
    if (isDifferentiableType(result.getType()))
      args.push_back(ct ? ct : zerosOf(b, loc, result.getType()));
  auto reverse = func::CallOp::create(b, loc, vjp, args);
  unsigned k = 0;
  for (Value operand : call.getOperands())
    if (isDifferentiableType(operand.getType()))
      sweep.accumulate(operand, reverse.getResult(k++));
  return success();
}

/// The rules of the dialects this pass differentiates: the classical ones, the calls of
/// functions with a derivative of their own, the calls of the circuit functions its QNode
/// splits make, and host callbacks with a derivative of their own.
RuleTable derivativeRules() {
  RuleTable rules;
  addScalarRules(rules);
  addTensorRules(rules);
  addControlFlowRules(rules);
  rules.callees[GradientDialect::getCustomVjpAttrName()] = customVjpCallRule;
  addQuantumRules(rules);
  addHostRules(rules);
  return rules;
}

/// A host callback in forward mode: its fwd/bwd pair is a reverse-mode derivative only.
LogicalResult refuseHostCallback(ForwardSweep &, Operation *op) {
  return op->emitError("kvant's forward mode (jvp) has no tangent rule for a host callback "
                       "(pure_callback) yet");
}

/// The tangent rules of what this pass differentiates in forward mode: the classical ones and
/// the calls of circuit functions. Functions with a derivative of their own (gradient.custom_vjp:
/// the LAPACK calls, stop_gradient, linear solves) have reverse rules only, and host callbacks
/// too: refused by name.
TangentRuleTable tangentRules(const RuleTable &reverse) {
  TangentRuleTable rules;
  addClassicalTangentRules(rules, reverse);
  addQuantumTangentRules(rules);
  rules.refusedCallees[GradientDialect::getCustomVjpAttrName()] =
      "the function with a custom derivative (a linear-algebra primitive, stop_gradient or a "
      "linear solve)";
  rules.ops["host.callback"] = refuseHostCallback;
  return rules;
}

struct ExpandAutoDiffPass
    : public kvant::gradient::impl::ExpandAutoDiffPassBase<ExpandAutoDiffPass> {
  void runOnOperation() override {
    const RuleTable rules = derivativeRules();
    const TangentRuleTable forwardRules = tangentRules(rules);
    // Innermost first: a callee that itself contains gradient ops (grad of grad) waits until
    // those are expanded, so that its derivative is built from ordinary code.
    while (true) {
      SmallVector<Operation *> pending;
      getOperation().walk([&](Operation *op) {
        if (auto grad = dyn_cast<GradOp>(op); grad && grad.getMethod() == "auto")
          pending.push_back(op);
        else if (isa<JVPOp>(op))
          pending.push_back(op);
      });
      if (pending.empty()) {
        inlineDynamicallyShapedCircuits(getOperation());
        // Every derivative is built: the functions the marks name are needed no more where
        // nothing calls them (symbol-dce then removes them). A circuit function's role names
        // its QNode, which the derivatives no longer call: without the mark, the QNode's body
        // (every gate of the circuit) would be lowered and compiled once more for nothing.
        getOperation().walk([](func::FuncOp fn) {
          fn->removeAttr(GradientDialect::getCustomVjpAttrName());
          fn->removeAttr(GradientDialect::getCircuitAttrName());
        });
        return;
      }
      bool progress = false;
      for (Operation *pendingOp : pending) {
        // Fresh per derivative: the reverse rules add circuit functions to the module through
        // tables of their own, which a cached table would not see.
        SymbolTableCollection symbols;
        auto calleeAttr = pendingOp->getAttrOfType<FlatSymbolRefAttr>("callee");
        auto callee = symbols.lookupNearestSymbolFrom<func::FuncOp>(pendingOp, calleeAttr);
        if (!callee)
          return signalPassFailure();
        if (containsGradientOps(callee))
          continue;
        OpBuilder b(pendingOp);
        if (auto op = dyn_cast<JVPOp>(pendingOp)) {
          FailureOr<func::FuncOp> derivative = buildJvp(op, callee, symbols, forwardRules);
          if (failed(derivative))
            return signalPassFailure();
          SmallVector<Value> operands(op.getArgs());
          llvm::append_range(operands, op.getTangents());
          auto call = func::CallOp::create(b, op.getLoc(), *derivative, operands);
          op.replaceAllUsesWith(call.getResults());
          op.erase();
          progress = true;
          continue;
        }
        auto op = cast<GradOp>(pendingOp);
        FailureOr<func::FuncOp> derivative =
            buildDerivative(op, callee, symbols, rules, forwardRules);
        if (failed(derivative))
          return signalPassFailure();
        auto call = func::CallOp::create(b, op.getLoc(), *derivative, op.getOperands());
        unsigned numCalleeResults = callee.getFunctionType().getNumResults();
        op.replaceAllUsesWith(call.getResults().drop_front(numCalleeResults - op.getNumValues()));
        op.erase();
        progress = true;
      }
      if (!progress) {
        pending.front()->emitOpError("differentiates a function that differentiates itself");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
