//===- ParameterThreading.cpp - QNode bodies with a gate-parameter counter ------------===//
//
// See ParameterThreading.h. scf.for, scf.while, scf.if and scf.index_switch around gates are
// rebuilt with the threaded values appended to what they carry or yield; quantum values are
// dropped from them when the clone has no quantum ops.
//
//===----------------------------------------------------------------------------------===//

#include "ParameterThreading.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;

bool kvant::gradient::isQuantumOp(Operation *op) {
  return isa<quantum::QuantumDialect>(op->getDialect());
}

bool kvant::gradient::containsQuantumOps(Operation *op) {
  return op
      ->walk([](Operation *inner) {
        return isQuantumOp(inner) ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

namespace {
bool isQuantumType(Type type) { return isa<quantum::QuantumDialect>(type.getDialect()); }

/// A fresh terminator-less block for `region` (an op's builder may have added one).
Block &emptyBlock(Region &region, TypeRange argTypes, Location loc) {
  if (region.empty())
    region.emplaceBlock();
  Block &block = region.front();
  if (!block.empty() && block.back().hasTrait<OpTrait::IsTerminator>())
    block.back().erase();
  for (Type t : argTypes)
    block.addArgument(t, loc);
  return block;
}
} // namespace

bool ThreadedClone::kept(Value v) const { return keepQuantum || !isQuantumType(v.getType()); }

bool ThreadedClone::usesDropped(Operation &op) const {
  if (dropped.empty())
    return false;
  return op
      .walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (dropped.contains(v))
            return WalkResult::interrupt();
        return WalkResult::advance();
      })
      .wasInterrupted();
}

FailureOr<SmallVector<Value>> ThreadedClone::keptClones(Operation *at, ValueRange values,
                                                        IRMapping &mapping) const {
  SmallVector<Value> out;
  for (Value v : values) {
    if (!kept(v))
      continue;
    if (dropped.contains(v))
      return at->emitError("a value carried around gates depends on a measurement, which "
                           "method=\"auto\" cannot differentiate");
    out.push_back(mapping.lookupOrDefault(v));
  }
  return out;
}

void ThreadedClone::mapKept(ValueRange from, ValueRange to, IRMapping &mapping) {
  unsigned k = 0;
  for (Value v : from) {
    if (kept(v))
      mapping.map(v, to[k++]);
    else
      dropped.insert(v);
  }
}

LogicalResult ThreadedClone::cloneOps(Block &block, OpBuilder &b, IRMapping &mapping,
                                      SmallVectorImpl<Value> &state) {
  for (Operation &op : block.without_terminator())
    if (failed(cloneOp(op, b, mapping, state)))
      return failure();
  return success();
}

LogicalResult ThreadedClone::cloneOp(Operation &op, OpBuilder &b, IRMapping &mapping,
                                     SmallVectorImpl<Value> &state) {
  if (op.getNumRegions() != 0 && containsQuantumOps(&op)) {
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return cloneFor(loop, b, mapping, state);
    if (auto loop = dyn_cast<scf::WhileOp>(op))
      return cloneWhile(loop, b, mapping, state);
    if (isa<scf::IfOp, scf::IndexSwitchOp>(op))
      return cloneBranches(&op, b, mapping, state);
    return op.emitError() << "method=\"auto\" cannot differentiate gates inside '" << op.getName()
                          << "'";
  }
  auto gate = dyn_cast<quantum::DifferentiableGate>(op);
  if (!keepQuantum && (isQuantumOp(&op) || usesDropped(op))) {
    if (gate) {
      for (Value param : gate.getDiffParams())
        if (dropped.contains(param))
          return op.emitError("a gate parameter depends on a measurement, which "
                              "method=\"auto\" cannot differentiate");
      onGate(b, gate, nullptr, mapping, state);
    }
    for (Value result : op.getResults())
      dropped.insert(result);
    return success();
  }
  Operation *clone = b.clone(op, mapping);
  if (gate) {
    OpBuilder before(clone);
    onGate(before, gate, clone, mapping, state);
  }
  return success();
}

LogicalResult ThreadedClone::cloneFor(scf::ForOp loop, OpBuilder &b, IRMapping &mapping,
                                      SmallVectorImpl<Value> &state) {
  FailureOr<SmallVector<Value>> inits = keptClones(loop, loop.getInitArgs(), mapping);
  if (failed(inits))
    return failure();
  unsigned numKept = inits->size();
  llvm::append_range(*inits, state);
  auto clone = scf::ForOp::create(b, loop.getLoc(), mapping.lookupOrDefault(loop.getLowerBound()),
                                  mapping.lookupOrDefault(loop.getUpperBound()),
                                  mapping.lookupOrDefault(loop.getStep()), *inits);
  Block *body = clone.getBody();
  if (!body->empty() && body->back().hasTrait<OpTrait::IsTerminator>())
    body->back().erase();
  mapping.map(loop.getInductionVar(), clone.getInductionVar());
  mapKept(loop.getRegionIterArgs(), clone.getRegionIterArgs(), mapping);
  SmallVector<Value> inner(clone.getRegionIterArgs().drop_front(numKept));
  OpBuilder ib = OpBuilder::atBlockEnd(body);
  if (failed(cloneOps(*loop.getBody(), ib, mapping, inner)))
    return failure();
  Operation *yield = loop.getBody()->getTerminator();
  FailureOr<SmallVector<Value>> yielded = keptClones(yield, yield->getOperands(), mapping);
  if (failed(yielded))
    return failure();
  llvm::append_range(*yielded, inner);
  scf::YieldOp::create(ib, yield->getLoc(), *yielded);
  mapKept(loop.getResults(), clone.getResults(), mapping);
  state.assign(clone.getResults().begin() + numKept, clone.getResults().end());
  return success();
}

LogicalResult ThreadedClone::cloneWhile(scf::WhileOp loop, OpBuilder &b, IRMapping &mapping,
                                        SmallVectorImpl<Value> &state) {
  FailureOr<SmallVector<Value>> inits = keptClones(loop, loop.getInits(), mapping);
  if (failed(inits))
    return failure();
  unsigned numKeptInits = inits->size();
  llvm::append_range(*inits, state);
  SmallVector<Type> stateTypes;
  for (Value v : state)
    stateTypes.push_back(v.getType());
  SmallVector<Type> resultTypes;
  for (Value v : loop.getResults())
    if (kept(v))
      resultTypes.push_back(v.getType());
  unsigned numKeptResults = resultTypes.size();
  llvm::append_range(resultTypes, stateTypes);
  auto clone = scf::WhileOp::create(b, loop.getLoc(), resultTypes, *inits);
  Location loc = loop.getLoc();

  SmallVector<Type> beforeTypes;
  for (Value v : *inits)
    beforeTypes.push_back(v.getType());
  Block &before = emptyBlock(clone.getBefore(), beforeTypes, loc);
  mapKept(loop.getBeforeArguments(), before.getArguments(), mapping);
  SmallVector<Value> inner(before.getArguments().drop_front(numKeptInits));
  OpBuilder bb = OpBuilder::atBlockEnd(&before);
  if (failed(cloneOps(loop.getBefore().front(), bb, mapping, inner)))
    return failure();
  scf::ConditionOp condition = loop.getConditionOp();
  FailureOr<SmallVector<Value>> forwarded = keptClones(condition, condition.getArgs(), mapping);
  if (failed(forwarded))
    return failure();
  llvm::append_range(*forwarded, inner);
  scf::ConditionOp::create(bb, condition.getLoc(),
                           mapping.lookupOrDefault(condition.getCondition()), *forwarded);

  Block &after = emptyBlock(clone.getAfter(), resultTypes, loc);
  mapKept(loop.getAfterArguments(), after.getArguments(), mapping);
  inner.assign(after.getArguments().begin() + numKeptResults, after.getArguments().end());
  OpBuilder ab = OpBuilder::atBlockEnd(&after);
  if (failed(cloneOps(loop.getAfter().front(), ab, mapping, inner)))
    return failure();
  Operation *yield = loop.getAfter().front().getTerminator();
  FailureOr<SmallVector<Value>> yielded = keptClones(yield, yield->getOperands(), mapping);
  if (failed(yielded))
    return failure();
  llvm::append_range(*yielded, inner);
  scf::YieldOp::create(ab, yield->getLoc(), *yielded);

  mapKept(loop.getResults(), clone.getResults(), mapping);
  state.assign(clone.getResults().begin() + numKeptResults, clone.getResults().end());
  return success();
}

LogicalResult ThreadedClone::cloneBranches(Operation *op, OpBuilder &b, IRMapping &mapping,
                                           SmallVectorImpl<Value> &state) {
  SmallVector<Type> resultTypes;
  for (Value v : op->getResults())
    if (kept(v))
      resultTypes.push_back(v.getType());
  unsigned numKept = resultTypes.size();
  for (Value v : state)
    resultTypes.push_back(v.getType());
  Operation *clone;
  if (auto branch = dyn_cast<scf::IfOp>(op))
    clone = scf::IfOp::create(b, op->getLoc(), resultTypes,
                              mapping.lookupOrDefault(branch.getCondition()), /*withElse=*/true);
  else {
    auto sw = cast<scf::IndexSwitchOp>(op);
    clone = scf::IndexSwitchOp::create(b, op->getLoc(), resultTypes,
                                       mapping.lookupOrDefault(sw.getArg()), sw.getCases(),
                                       sw.getNumCases());
  }
  for (auto [region, target] : llvm::zip(op->getRegions(), clone->getRegions())) {
    Block &block = emptyBlock(target, {}, op->getLoc());
    OpBuilder rb = OpBuilder::atBlockEnd(&block);
    SmallVector<Value> inner(state.begin(), state.end());
    SmallVector<Value> yielded;
    Location loc = op->getLoc();
    if (!region.empty()) { // an absent else has no results to yield
      if (failed(cloneOps(region.front(), rb, mapping, inner)))
        return failure();
      Operation *yield = region.front().getTerminator();
      FailureOr<SmallVector<Value>> kept = keptClones(yield, yield->getOperands(), mapping);
      if (failed(kept))
        return failure();
      yielded = *kept;
      loc = yield->getLoc();
    }
    llvm::append_range(yielded, inner);
    scf::YieldOp::create(rb, loc, yielded);
  }
  mapKept(op->getResults(), clone->getResults(), mapping);
  state.assign(clone->getResults().begin() + numKept, clone->getResults().end());
  return success();
}
