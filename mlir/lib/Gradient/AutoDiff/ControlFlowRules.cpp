//===- ControlFlowRules.cpp - derivative rules of scf loops and branches --------------===//
//
// Loops are reversed by recording: the loop runs again and records the values it carries into
// each iteration (one tensor row per iteration; the loop is classical, so running it again costs
// only time), then a loop over the iterations in reverse recomputes each body from its recorded
// inputs and reverses it, carrying the cotangents of the loop state and of the values the body
// captures. scf.while first counts its iterations, then records like scf.for. Branches reverse
// the branch that ran.
//
// A carried tensor that the loop only ever overwrites (inserts into and passes on) is not
// recorded: no rule reads its forward values. This is the gate-parameter vector a QNode's
// skeleton fills in the loops around its gates (QNodeSplit.cpp); recording it would cost
// iterations x parameters.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ReverseMode.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace kvant::gradient;

namespace {

#define KVANT_OP_RULE(NAME) LogicalResult NAME(ReverseSweep &s, Operation *op, ArrayRef<Value> cts)

/// Fails, naming them, when `loop` contains ops of a dialect the rules call stateful: the loop
/// rules run the loop again to record it, which would repeat their effects.
LogicalResult checkRepeatable(Operation *loop, const RuleTable &rules) {
  std::string what;
  loop->walk([&](Operation *inner) {
    auto it = rules.stateful.find(inner->getName().getDialectNamespace());
    if (it == rules.stateful.end())
      return WalkResult::advance();
    what = it->getValue();
    return WalkResult::interrupt();
  });
  if (what.empty())
    return success();
  return loop->emitError() << "kvant cannot differentiate a loop around " << what;
}

/// Whether `value` (a loop's block argument) is only overwritten on its way to `terminator`'s
/// operand `position`: each use inserts into it (tensor.insert / insert_slice destination),
/// reads only its shape, or passes it on unchanged through nested control flow, and whatever
/// comes out is only overwritten too.
bool onlyOverwritten(Value value, Operation *terminator, unsigned position) {
  SmallVector<Value> worklist{value};
  llvm::DenseSet<Value> seen;
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      unsigned k = use.getOperandNumber();
      if (user == terminator) {
        if (k != position)
          return false;
      } else if (auto insert = dyn_cast<tensor::InsertOp>(user)) {
        if (&use != &insert.getDestMutable())
          return false;
        worklist.push_back(insert.getResult());
      } else if (auto insert = dyn_cast<tensor::InsertSliceOp>(user)) {
        if (&use != &insert.getDestMutable())
          return false;
        worklist.push_back(insert.getResult());
      } else if (isa<tensor::DimOp>(user)) {
        continue;
      } else if (isa<scf::YieldOp>(user)) {
        Operation *parent = user->getParentOp();
        if (auto loop = dyn_cast<scf::WhileOp>(parent)) {
          worklist.push_back(loop.getBeforeArguments()[k]);
        } else if (auto loop = dyn_cast<scf::ForOp>(parent)) {
          worklist.push_back(loop.getRegionIterArgs()[k]);
          worklist.push_back(loop.getResult(k));
        } else if (isa<scf::IfOp, scf::IndexSwitchOp>(parent)) {
          worklist.push_back(parent->getResult(k));
        } else {
          return false;
        }
      } else if (auto condition = dyn_cast<scf::ConditionOp>(user)) {
        if (k == 0)
          return false;
        auto loop = cast<scf::WhileOp>(condition->getParentOp());
        worklist.push_back(loop.getAfterArguments()[k - 1]);
        worklist.push_back(loop.getResult(k - 1));
      } else if (auto loop = dyn_cast<scf::ForOp>(user)) {
        if (k < loop.getNumControlOperands())
          return false;
        worklist.push_back(loop.getRegionIterArgs()[k - loop.getNumControlOperands()]);
      } else if (auto loop = dyn_cast<scf::WhileOp>(user)) {
        worklist.push_back(loop.getBeforeArguments()[k]);
      } else {
        return false;
      }
    }
  }
  return true;
}

/// The record of a loop's carried values: row i of tape j holds carried value j as it entered
/// iteration i. Values the loop only overwrites are not recorded; reading gives their initial
/// value instead, which has the right shape, and nothing reads more of them. A tensor of
/// dynamic shape is recorded with the sizes of its initial value: the loops kvant builds (the
/// gate parameters of a QNode and their cotangents) keep their sizes, and JAX's never vary.
class LoopTape {
public:
  LoopTape(ValueRange inits, ArrayRef<bool> overwritten)
      : inits(inits.begin(), inits.end()), overwritten(overwritten.begin(), overwritten.end()) {}

  /// Empty tapes of `rows` rows, one per recorded value (emitted before the loops).
  SmallVector<Value> create(OpBuilder &b, Location loc, Value rows) {
    SmallVector<Value> tapes;
    sizes.assign(inits.size(), {});
    for (auto [j, init] : llvm::enumerate(inits)) {
      if (overwritten[j])
        continue;
      SmallVector<OpFoldResult> shape{rows};
      if (auto type = dyn_cast<RankedTensorType>(init.getType())) {
        sizes[j] = tensor::getMixedSizes(b, loc, init);
        llvm::append_range(shape, sizes[j]);
      }
      tapes.push_back(tensor::EmptyOp::create(b, loc, shape, elementType(init.getType())));
    }
    return tapes;
  }

  /// `tapes` with row `i` set to `state`.
  SmallVector<Value> write(OpBuilder &b, Location loc, Value i, ValueRange state,
                           ValueRange tapes) const {
    SmallVector<Value> out;
    unsigned t = 0;
    for (auto [j, v] : llvm::enumerate(state)) {
      if (overwritten[j])
        continue;
      Value tape = tapes[t++];
      if (isa<RankedTensorType>(v.getType())) {
        auto [offsets, rowSizes, strides] = rowSlice(b, i, j);
        out.push_back(tensor::InsertSliceOp::create(b, loc, v, tape, offsets, rowSizes, strides));
      } else {
        out.push_back(tensor::InsertOp::create(b, loc, v, tape, ValueRange{i}));
      }
    }
    return out;
  }

  /// The state recorded in row `i`.
  SmallVector<Value> read(OpBuilder &b, Location loc, Value i, ValueRange tapes) const {
    SmallVector<Value> state;
    unsigned t = 0;
    for (auto [j, init] : llvm::enumerate(inits)) {
      if (overwritten[j]) {
        state.push_back(init);
        continue;
      }
      Value tape = tapes[t++];
      if (auto type = dyn_cast<RankedTensorType>(init.getType())) {
        auto [offsets, rowSizes, strides] = rowSlice(b, i, j);
        state.push_back(
            tensor::ExtractSliceOp::create(b, loc, type, tape, offsets, rowSizes, strides));
      } else {
        state.push_back(tensor::ExtractOp::create(b, loc, tape, ValueRange{i}));
      }
    }
    return state;
  }

private:
  static Type elementType(Type t) {
    if (auto tensorType = dyn_cast<RankedTensorType>(t))
      return tensorType.getElementType();
    return t;
  }

  /// Row i of tape j, rank-reduced to the carried value's shape.
  std::tuple<SmallVector<OpFoldResult>, SmallVector<OpFoldResult>, SmallVector<OpFoldResult>>
  rowSlice(OpBuilder &b, Value i, unsigned j) const {
    SmallVector<OpFoldResult> offsets{i}, rowSizes{b.getIndexAttr(1)}, strides{b.getIndexAttr(1)};
    for (OpFoldResult size : sizes[j]) {
      offsets.push_back(b.getIndexAttr(0));
      rowSizes.push_back(size);
      strides.push_back(b.getIndexAttr(1));
    }
    return {offsets, rowSizes, strides};
  }

  SmallVector<Value> inits;
  SmallVector<bool> overwritten;
  SmallVector<SmallVector<OpFoldResult>> sizes; // of each recorded tensor, from its init
};

/// Which carried values a loop only overwrites.
SmallVector<bool> classifyCarried(ValueRange inits, function_ref<bool(unsigned)> overwrites) {
  SmallVector<bool> overwritten;
  for (auto [j, init] : llvm::enumerate(inits))
    overwritten.push_back(isa<RankedTensorType>(init.getType()) && overwrites(j));
  return overwritten;
}

/// scf.for: recorded, then reversed iteration by iteration (see the file comment).
KVANT_OP_RULE(forRule) {
  auto loop = cast<scf::ForOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  if (failed(checkRepeatable(op, s.rules())))
    return failure();
  ValueRange inits = loop.getInitArgs();
  unsigned n = inits.size();
  Block &body = *loop.getBody();
  auto yield = body.getTerminator();
  SmallVector<bool> overwritten = classifyCarried(
      inits, [&](unsigned j) { return onlyOverwritten(loop.getRegionIterArgs()[j], yield, j); });
  Type index = b.getIndexType();
  Value lb = loop.getLowerBound(), ub = loop.getUpperBound(), step = loop.getStep();
  if (lb.getType() != index)
    return op->emitError("kvant differentiates loops over index ranges only");
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value span = arith::MaxSIOp::create(b, loc, arith::SubIOp::create(b, loc, ub, lb), zero);
  Value trips = arith::CeilDivSIOp::create(b, loc, span, step);

  LoopTape tape(inits, overwritten);
  SmallVector<Value> recordInits(inits);
  llvm::append_range(recordInits, tape.create(b, loc, trips));
  auto record = scf::ForOp::create(
      b, loc, zero, trips, one, recordInits,
      [&](OpBuilder &rb, Location l, Value i, ValueRange state) {
        SmallVector<Value> tapes = tape.write(rb, l, i, state.take_front(n), state.drop_front(n));
        Value iv = arith::AddIOp::create(rb, l, lb, arith::MulIOp::create(rb, l, i, step));
        IRMapping mapping;
        mapping.map(body.getArgument(0), iv);
        mapping.map(body.getArguments().drop_front(), state.take_front(n));
        for (Operation &bodyOp : body.without_terminator())
          rb.clone(bodyOp, mapping);
        SmallVector<Value> next;
        for (Value v : yield->getOperands())
          next.push_back(mapping.lookupOrDefault(v));
        llvm::append_range(next, tapes);
        scf::YieldOp::create(rb, l, next);
      });
  ValueRange tapes = record.getResults().drop_front(n);

  // Backward: iterations n-1 .. 0.
  SmallVector<Value> captured = capturedDifferentiable(op);
  SmallVector<unsigned> carriedDiff; // differentiable loop-state positions
  for (unsigned j = 0; j < n; ++j)
    if (isDifferentiableType(inits[j].getType()))
      carriedDiff.push_back(j);
  SmallVector<Value> backInits;
  for (unsigned j : carriedDiff)
    backInits.push_back(cts[j] ? cts[j] : zerosLike(b, loc, inits[j]));
  for (Value c : captured)
    backInits.push_back(zerosLike(b, loc, c));
  // Built after creation, not in a body-builder callback: rules running inside may inspect
  // the enclosing regions, and an op under construction is not in its block yet.
  auto backward = scf::ForOp::create(b, loc, zero, trips, one, backInits);
  {
    OpBuilder bb = OpBuilder::atBlockBegin(backward.getBody());
    Location l = loc;
    Value k = backward.getInductionVar();
    ValueRange acc = backward.getRegionIterArgs();
    Value i = arith::SubIOp::create(bb, l, arith::SubIOp::create(bb, l, trips, one), k);
    Value iv = arith::AddIOp::create(bb, l, lb, arith::MulIOp::create(bb, l, i, step));
    SmallVector<Value> args{iv};
    llvm::append_range(args, tape.read(bb, l, i, tapes));
    SmallVector<Value> yieldCts(n);
    for (auto [m, j] : llvm::enumerate(carriedDiff))
      yieldCts[j] = acc[m];
    FailureOr<ReversedBlock> reversed = reverseBlock(bb, s.rules(), body, args, yieldCts, captured);
    if (failed(reversed))
      return failure();
    SmallVector<Value> next;
    for (unsigned j : carriedDiff) {
      Value ct = reversed->argCts[1 + j];
      next.push_back(ct ? ct : zerosLike(bb, l, args[1 + j]));
    }
    for (auto [c, ct] : llvm::enumerate(reversed->capturedCts)) {
      Value old = acc[carriedDiff.size() + c];
      next.push_back(ct ? addValues(bb, l, old, ct) : old);
    }
    scf::YieldOp::create(bb, l, next);
  }
  for (auto [m, j] : llvm::enumerate(carriedDiff))
    s.accumulate(inits[j], backward.getResult(m));
  for (auto [c, v] : llvm::enumerate(captured))
    s.accumulate(v, backward.getResult(carriedDiff.size() + c));
  return success();
}

/// Clones `block` (without its terminator) with `args` for its arguments; returns the clones of
/// the terminator's operands.
SmallVector<Value> inlineBlock(OpBuilder &b, Block &block, ValueRange args) {
  IRMapping mapping;
  mapping.map(block.getArguments(), args);
  for (Operation &op : block.without_terminator())
    b.clone(op, mapping);
  SmallVector<Value> out;
  for (Value v : block.getTerminator()->getOperands())
    out.push_back(mapping.lookupOrDefault(v));
  return out;
}

/// scf.while: the loop runs again to count its iterations N, a for loop over N records the
/// state entering each (condition region, then body), and the reverse goes through the final
/// condition evaluation (which produced the results) and then through iterations N-1 .. 0.
KVANT_OP_RULE(whileRule) {
  auto loop = cast<scf::WhileOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  if (failed(checkRepeatable(op, s.rules())))
    return failure();
  Block &before = loop.getBefore().front(), &after = loop.getAfter().front();
  Operation *condition = loop.getConditionOp();
  Operation *yield = after.getTerminator();
  ValueRange inits = loop.getInits();
  unsigned n = inits.size();
  SmallVector<bool> overwritten = classifyCarried(inits, [&](unsigned j) {
    return j < after.getNumArguments() && after.getArgument(j).getType() == inits[j].getType() &&
           onlyOverwritten(before.getArgument(j), condition, 1 + j) &&
           onlyOverwritten(after.getArgument(j), yield, j);
  });
  // A value the condition forwards twice would have its cotangent counted twice.
  llvm::SmallPtrSet<void *, 8> forwardedOnce;
  for (Value v : loop.getConditionOp().getArgs())
    if (!forwardedOnce.insert(v.getAsOpaquePointer()).second)
      return op->emitError("kvant cannot differentiate a while loop whose condition region "
                           "forwards one value twice");

  Type index = b.getIndexType();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);

  // N: the loop again, with a counter.
  SmallVector<Value> countInits(inits);
  countInits.push_back(zero);
  SmallVector<Type> countTypes(TypeRange(loop.getResultTypes()));
  countTypes.push_back(index);
  auto count = scf::WhileOp::create(
      b, loc, countTypes, countInits,
      [&](OpBuilder &cb, Location l, ValueRange args) {
        SmallVector<Value> out = inlineBlock(cb, before, args.drop_back());
        SmallVector<Value> forwarded(ArrayRef<Value>(out).drop_front());
        forwarded.push_back(args.back());
        scf::ConditionOp::create(cb, l, out[0], forwarded);
      },
      [&](OpBuilder &ab, Location l, ValueRange args) {
        SmallVector<Value> next = inlineBlock(ab, after, args.drop_back());
        next.push_back(arith::AddIOp::create(ab, l, args.back(), one));
        scf::YieldOp::create(ab, l, next);
      });
  Value trips = count.getResults().back();

  // The record: the state entering iterations 0 .. N-1, and the state entering the final
  // condition evaluation (the record loop's results).
  LoopTape tape(inits, overwritten);
  SmallVector<Value> recordInits(inits);
  llvm::append_range(recordInits, tape.create(b, loc, trips));
  auto record = scf::ForOp::create(
      b, loc, zero, trips, one, recordInits,
      [&](OpBuilder &rb, Location l, Value i, ValueRange state) {
        SmallVector<Value> tapes = tape.write(rb, l, i, state.take_front(n), state.drop_front(n));
        SmallVector<Value> out = inlineBlock(rb, before, state.take_front(n));
        SmallVector<Value> next = inlineBlock(rb, after, ArrayRef<Value>(out).drop_front());
        llvm::append_range(next, tapes);
        scf::YieldOp::create(rb, l, next);
      });
  ValueRange tapes = record.getResults().drop_front(n);
  SmallVector<Value> finalState(record.getResults().take_front(n));

  // The final condition evaluation: results -> the state entering it.
  SmallVector<Value> captured = capturedDifferentiable(op);
  SmallVector<Value> exitCts{Value()};
  llvm::append_range(exitCts, cts);
  FailureOr<ReversedBlock> exit = reverseBlock(b, s.rules(), before, finalState, exitCts, captured);
  if (failed(exit))
    return failure();
  SmallVector<unsigned> carriedDiff;
  for (unsigned j = 0; j < n; ++j)
    if (isDifferentiableType(inits[j].getType()))
      carriedDiff.push_back(j);
  SmallVector<Value> backInits;
  for (unsigned j : carriedDiff) {
    Value ct = exit->argCts[j];
    backInits.push_back(ct ? ct : zerosLike(b, loc, finalState[j]));
  }
  for (auto [c, ct] : llvm::zip(captured, exit->capturedCts))
    backInits.push_back(ct ? ct : zerosLike(b, loc, c));

  auto backward = scf::ForOp::create(b, loc, zero, trips, one, backInits);
  {
    OpBuilder bb = OpBuilder::atBlockBegin(backward.getBody());
    Location l = loc;
    ValueRange acc = backward.getRegionIterArgs();
    Value i = arith::SubIOp::create(bb, l, arith::SubIOp::create(bb, l, trips, one),
                                    backward.getInductionVar());
    SmallVector<Value> state = tape.read(bb, l, i, tapes);
    SmallVector<Value> out = inlineBlock(bb, before, state);
    SmallVector<Value> bodyCts(after.getTerminator()->getNumOperands());
    for (auto [m, j] : llvm::enumerate(carriedDiff))
      bodyCts[j] = acc[m];
    FailureOr<ReversedBlock> body =
        reverseBlock(bb, s.rules(), after, ArrayRef<Value>(out).drop_front(), bodyCts, captured);
    if (failed(body))
      return failure();
    SmallVector<Value> conditionCts{Value()};
    llvm::append_range(conditionCts, body->argCts);
    FailureOr<ReversedBlock> head =
        reverseBlock(bb, s.rules(), before, state, conditionCts, captured);
    if (failed(head))
      return failure();
    SmallVector<Value> next;
    for (unsigned j : carriedDiff) {
      Value ct = head->argCts[j];
      next.push_back(ct ? ct : zerosLike(bb, l, state[j]));
    }
    for (unsigned c = 0; c < captured.size(); ++c) {
      Value sum = acc[carriedDiff.size() + c];
      for (Value ct : {body->capturedCts[c], head->capturedCts[c]})
        if (ct)
          sum = addValues(bb, l, sum, ct);
      next.push_back(sum);
    }
    scf::YieldOp::create(bb, l, next);
  }
  for (auto [m, j] : llvm::enumerate(carriedDiff))
    s.accumulate(inits[j], backward.getResult(m));
  for (auto [c, v] : llvm::enumerate(captured))
    s.accumulate(v, backward.getResult(carriedDiff.size() + c));
  return success();
}

/// Fills the regions of `backward` (a branch op built with one empty block per region) with
/// the reverses of the corresponding regions of `forward`: each yields the cotangents of the
/// values the branches capture (a branch's results come only from them).
LogicalResult reverseBranches(const RuleTable &rules, ArrayRef<Region *> forward,
                              ArrayRef<Region *> backward, ArrayRef<Value> cts,
                              ArrayRef<Value> captured, Location loc) {
  for (auto [region, target] : llvm::zip(forward, backward)) {
    if (target->empty())
      target->emplaceBlock();
    Block &block = target->front();
    // Replace the terminator the op's builder may have put in the branch.
    Operation *old =
        !block.empty() && block.back().hasTrait<OpTrait::IsTerminator>() ? &block.back() : nullptr;
    OpBuilder bb = OpBuilder::atBlockBegin(&block);
    SmallVector<Value> yielded;
    if (region->empty()) { // an absent else: the op has no results
      for (Value c : captured)
        yielded.push_back(zerosLike(bb, loc, c));
    } else {
      FailureOr<ReversedBlock> reversed =
          reverseBlock(bb, rules, region->front(), ValueRange{}, cts, captured);
      if (failed(reversed))
        return failure();
      for (auto [c, ct] : llvm::zip(captured, reversed->capturedCts))
        yielded.push_back(ct ? ct : zerosLike(bb, loc, c));
    }
    scf::YieldOp::create(bb, loc, yielded);
    if (old)
      old->erase();
  }
  return success();
}

/// scf.if: the same condition chooses which branch is reversed.
KVANT_OP_RULE(ifRule) {
  auto branch = cast<scf::IfOp>(op);
  SmallVector<Value> captured = capturedDifferentiable(op);
  if (captured.empty())
    return success();
  SmallVector<Type> types;
  for (Value c : captured)
    types.push_back(c.getType());
  auto backward = scf::IfOp::create(s.builder(), op->getLoc(), types, branch.getCondition(),
                                    /*withElse=*/true);
  if (failed(reverseBranches(s.rules(), {&branch.getThenRegion(), &branch.getElseRegion()},
                             {&backward.getThenRegion(), &backward.getElseRegion()}, cts, captured,
                             op->getLoc())))
    return failure();
  for (auto [c, v] : llvm::enumerate(captured))
    s.accumulate(v, backward.getResult(c));
  return success();
}

/// scf.index_switch (lax.switch): the same index chooses which case is reversed.
KVANT_OP_RULE(indexSwitchRule) {
  auto sw = cast<scf::IndexSwitchOp>(op);
  SmallVector<Value> captured = capturedDifferentiable(op);
  if (captured.empty())
    return success();
  SmallVector<Type> types;
  for (Value c : captured)
    types.push_back(c.getType());
  auto backward = scf::IndexSwitchOp::create(s.builder(), op->getLoc(), types, sw.getArg(),
                                             sw.getCases(), sw.getNumCases());
  SmallVector<Region *> forward{&sw.getDefaultRegion()}, targets{&backward.getDefaultRegion()};
  for (unsigned k = 0; k < sw.getNumCases(); ++k) {
    forward.push_back(&sw.getCaseRegions()[k]);
    targets.push_back(&backward.getCaseRegions()[k]);
  }
  if (failed(reverseBranches(s.rules(), forward, targets, cts, captured, op->getLoc())))
    return failure();
  for (auto [c, v] : llvm::enumerate(captured))
    s.accumulate(v, backward.getResult(c));
  return success();
}

} // namespace

void kvant::gradient::addControlFlowRules(RuleTable &rules) {
  rules.ops["scf.for"] = forRule;
  rules.ops["scf.while"] = whileRule;
  rules.ops["scf.if"] = ifRule;
  rules.ops["scf.index_switch"] = indexSwitchRule;
}
