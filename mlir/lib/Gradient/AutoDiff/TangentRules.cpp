//===- TangentRules.cpp - tangent rules of tensor, linalg and scf ops -----------------===//
//
// Forward-mode rules (ForwardMode.h):
//  - tensor ops that move, gather or reshape elements are linear in their float operands: the
//    tangent is the same op applied to the operands' tangents (zeros where none), the index
//    operands unchanged;
//  - tensor.pad and tensor.generate: the op again on the tangents, its body (the value padded
//    with, or the element generated) swept for its tangent;
//  - linalg structured ops: a linalg.generic with the op's indexing maps and iterators that
//    takes the tangents of the inputs and of the inits beside them and whose body is the op's
//    body, swept: per point it yields the primal values and their tangents;
//  - scf.for / scf.while: the loop again, carrying the tangent of each float value it carries
//    beside it, its body swept; scf.if / scf.index_switch: the branch op again, each branch
//    swept and yielding its tangents too.
// The elementwise arith and math ops take their reverse scalar rules (ForwardMode.cpp), except
// those whose rule is not a partial derivative of the result's type: extf and truncf convert
// the tangent, select selects it.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ForwardMode.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace kvant::gradient;

namespace {

#define KVANT_TANGENT_RULE(NAME) LogicalResult NAME(ForwardSweep &s, Operation *op)

/// The op again, each float operand replaced by its tangent (zeros where none): the rule of
/// ops linear in their float operands.
KVANT_TANGENT_RULE(linearRule) {
  OpBuilder &b = s.builder();
  IRMapping mapping;
  for (Value operand : op->getOperands())
    if (isDifferentiableType(operand.getType()))
      mapping.map(operand, s.tangentOrZeros(operand, op->getLoc()));
  Operation *copy = b.clone(*op, mapping);
  for (auto [result, t] : llvm::zip(op->getResults(), copy->getResults()))
    s.setTangent(result, t);
  return success();
}

/// extf / truncf: the tangent converted like the value.
KVANT_TANGENT_RULE(convertRule) {
  OpBuilder &b = s.builder();
  IRMapping mapping;
  mapping.map(op->getOperand(0), s.tangent(op->getOperand(0)));
  s.setTangent(op->getResult(0), b.clone(*op, mapping)->getResult(0));
  return success();
}

/// select(c, x, y): select(c, ẋ, ẏ) (no products with partials, so no 0 · inf).
KVANT_TANGENT_RULE(selectRule) {
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  auto select = cast<arith::SelectOp>(op);
  Value t = arith::SelectOp::create(b, loc, select.getCondition(),
                                    s.tangentOrZeros(select.getTrueValue(), loc),
                                    s.tangentOrZeros(select.getFalseValue(), loc));
  s.setTangent(op->getResult(0), t);
  return success();
}

/// Replaces the operands of `yield` (a terminator inside the copy) by the tangents of its
/// float operands (zeros where none).
void yieldTangentsOnly(ForwardSweep &s, Operation *yield) {
  OpBuilder::InsertionGuard guard(s.builder());
  s.builder().setInsertionPoint(yield);
  for (OpOperand &operand : yield->getOpOperands())
    if (isDifferentiableType(operand.get().getType()))
      operand.set(s.tangentOrZeros(operand.get(), yield->getLoc()));
}

/// tensor.pad / tensor.generate: the op on the tangents, its body swept and yielding the
/// tangent of the value it yielded.
KVANT_TANGENT_RULE(bodyYieldRule) {
  OpBuilder &b = s.builder();
  IRMapping mapping;
  for (Value operand : op->getOperands())
    if (isDifferentiableType(operand.getType()))
      mapping.map(operand, s.tangentOrZeros(operand, op->getLoc()));
  Operation *copy = b.clone(*op, mapping);
  for (Region &region : copy->getRegions())
    for (Block &block : region) {
      if (failed(s.runInPlace(block)))
        return failure();
      yieldTangentsOnly(s, block.getTerminator());
    }
  for (auto [result, t] : llvm::zip(op->getResults(), copy->getResults()))
    s.setTangent(result, t);
  return success();
}

/// Extends the terminator of a swept block by the tangents of those of its operands that are
/// floats (zeros where none), after its own operands, skipping the first `skip` (a
/// condition).
void extendTerminator(ForwardSweep &s, Operation *terminator, unsigned skip = 0) {
  OpBuilder::InsertionGuard guard(s.builder());
  s.builder().setInsertionPoint(terminator);
  SmallVector<Value> extra;
  for (Value v : terminator->getOperands().drop_front(skip))
    if (isDifferentiableType(v.getType()))
      extra.push_back(s.tangentOrZeros(v, terminator->getLoc()));
  SmallVector<Value> operands(terminator->getOperands());
  llvm::append_range(operands, extra);
  terminator->setOperands(operands);
}

/// Types of the float values among `types`: the tangents a region op carries in addition.
SmallVector<Type> tangentTypes(TypeRange types) {
  SmallVector<Type> out;
  for (Type t : types)
    if (isDifferentiableType(t))
      out.push_back(t);
  return out;
}

/// Splits the results of a copy into the primal ones (first `numPrimal`) and the tangents of
/// the float ones among them (after them, in order).
void finishCarried(ForwardSweep &s, Operation *op, Operation *copy, unsigned numPrimal) {
  ValueRange primal = copy->getResults().take_front(numPrimal);
  SmallVector<Value> out;
  unsigned next = numPrimal;
  for (Value v : primal)
    out.push_back(isDifferentiableType(v.getType()) ? copy->getResult(next++) : Value());
  s.finishCopy(op, primal, out);
}

/// `generic` (inputs, then inits: `numPrimalInits` primal ones and as many tangent ones after
/// them) without its primal results, when its tangents do not read the primal inits (the
/// running value of a sum does not enter the tangent of a sum; that of a max does): the body
/// keeps the ops the tangents need only. A reduction that writes two accumulators per point
/// keeps neither in a register (the compiler cannot tell the buffers apart), so the primal op
/// and a tangent-only one run faster than the pair (the 1,000-parameter benchmark: 10x).
/// Returns null when the tangents need the primal inits.
linalg::GenericOp tangentsOnly(OpBuilder &b, linalg::GenericOp generic, unsigned numInputs,
                               unsigned numPrimalInits) {
  Block &block = generic.getRegion().front();
  Operation *yield = block.getTerminator();
  auto isPrimalInit = [&](Value v) {
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && arg.getOwner() == &block && arg.getArgNumber() >= numInputs &&
           arg.getArgNumber() < numInputs + numPrimalInits;
  };
  llvm::SetVector<Operation *> slice;
  BackwardSliceOptions options;
  options.inclusive = true;
  options.filter = [&](Operation *op) { return op->getBlock() == &block; };
  for (Value v : yield->getOperands().drop_front(numPrimalInits)) {
    if (isPrimalInit(v))
      return {};
    if (Operation *def = v.getDefiningOp(); def && def->getBlock() == &block)
      if (failed(getBackwardSlice(def, &slice, options)))
        return {};
  }
  for (Operation *op : slice)
    if (llvm::any_of(op->getOperands(), isPrimalInit))
      return {};
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  maps.erase(maps.begin() + numInputs, maps.begin() + numInputs + numPrimalInits);
  ValueRange inits = generic.getDpsInits();
  SmallVector<Value> tangentInits(inits.drop_front(numPrimalInits));
  SmallVector<Type> types;
  for (Value init : tangentInits)
    types.push_back(init.getType());
  auto tangentOnly =
      linalg::GenericOp::create(b, generic.getLoc(), types, generic.getDpsInputs(), tangentInits,
                                maps, generic.getIteratorTypesArray(), nullptr);
  Block *body = new Block();
  tangentOnly.getRegion().push_back(body);
  IRMapping mapping;
  for (BlockArgument arg : block.getArguments()) {
    unsigned k = arg.getArgNumber();
    if (k >= numInputs && k < numInputs + numPrimalInits)
      continue;
    mapping.map(arg, body->addArgument(arg.getType(), arg.getLoc()));
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(body);
  for (Operation &op : block.without_terminator())
    if (slice.contains(&op))
      b.clone(op, mapping);
  SmallVector<Value> yielded;
  for (Value v : yield->getOperands().drop_front(numPrimalInits))
    yielded.push_back(mapping.lookupOrDefault(v));
  linalg::YieldOp::create(b, yield->getLoc(), yielded);
  return tangentOnly;
}

/// Linalg structured ops (generic and named): a generic with tangent inputs and inits beside
/// the op's, whose body is the op's, swept.
KVANT_TANGENT_RULE(linalgRule) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  SmallVector<AffineMap> opMaps = linalgOp.getIndexingMapsArray();
  SmallVector<Value> inputs(linalgOp.getDpsInputs()), inits(linalgOp.getDpsInits());
  unsigned numInputs = inputs.size(), numInits = inits.size();
  SmallVector<AffineMap> inputMaps(opMaps.begin(), opMaps.begin() + numInputs);
  SmallVector<AffineMap> initMaps(opMaps.begin() + numInputs, opMaps.end());
  SmallVector<Value> tangentInputs, tangentInits;
  SmallVector<AffineMap> maps = inputMaps;
  SmallVector<unsigned> inputsWithTangent, initsWithTangent;
  for (auto [i, input] : llvm::enumerate(inputs))
    if (Value t = s.tangent(input)) {
      inputsWithTangent.push_back(i);
      tangentInputs.push_back(t);
      maps.push_back(inputMaps[i]);
    }
  maps.append(initMaps);
  SmallVector<Type> resultTypes(op->getResultTypes());
  for (auto [j, init] : llvm::enumerate(inits))
    if (isDifferentiableType(init.getType())) {
      initsWithTangent.push_back(j);
      tangentInits.push_back(s.tangentOrZeros(init, loc));
      maps.push_back(initMaps[j]);
      resultTypes.push_back(init.getType());
    }
  SmallVector<Value> allInputs = inputs, allInits = inits;
  llvm::append_range(allInputs, tangentInputs);
  llvm::append_range(allInits, tangentInits);
  auto generic = linalg::GenericOp::create(b, loc, resultTypes, allInputs, allInits, maps,
                                           linalgOp.getIteratorTypesArray(), nullptr);
  Block &body = op->getRegion(0).front();
  SmallVector<Type> argTypes;
  SmallVector<Location> argLocs;
  for (Value v : llvm::concat<Value>(allInputs, allInits)) {
    argTypes.push_back(getElementTypeOrSelf(v.getType()));
    argLocs.push_back(loc);
  }
  Block *block = new Block();
  generic.getRegion().push_back(block);
  block->addArguments(argTypes, argLocs);
  // Block arguments: inputs, tangent inputs, inits, tangent inits.
  IRMapping mapping;
  unsigned numTangentInputs = tangentInputs.size();
  for (unsigned i = 0; i < numInputs; ++i)
    mapping.map(body.getArgument(i), block->getArgument(i));
  for (unsigned j = 0; j < numInits; ++j)
    mapping.map(body.getArgument(numInputs + j),
                block->getArgument(numInputs + numTangentInputs + j));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(block);
    for (Operation &inner : body)
      b.clone(inner, mapping);
  }
  for (auto [k, i] : llvm::enumerate(inputsWithTangent))
    s.setTangent(block->getArgument(i), block->getArgument(numInputs + k));
  for (auto [k, j] : llvm::enumerate(initsWithTangent))
    s.setTangent(block->getArgument(numInputs + numTangentInputs + j),
                 block->getArgument(numInputs + numTangentInputs + numInits + k));
  if (failed(s.runInPlace(*block)))
    return failure();
  // The yield gets the tangents of the float inits' values, in the order of initsWithTangent.
  Operation *yield = block->getTerminator();
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(yield);
    SmallVector<Value> operands(yield->getOperands());
    for (unsigned j : initsWithTangent)
      operands.push_back(s.tangentOrZeros(yield->getOperand(j), loc));
    yield->setOperands(operands);
  }
  SmallVector<Value> out(op->getNumResults());
  if (auto tangentOnly = tangentsOnly(b, generic, numInputs + numTangentInputs, numInits)) {
    // The op stays for the primal values; the tangents come from a generic of their own.
    s.erase(generic);
    for (auto [k, j] : llvm::enumerate(initsWithTangent))
      out[j] = tangentOnly.getResult(k);
    for (auto [result, t] : llvm::zip(op->getResults(), out))
      s.setTangent(result, t);
    return success();
  }
  for (auto [k, j] : llvm::enumerate(initsWithTangent))
    out[j] = generic.getResult(numInits + k);
  s.finishCopy(op, generic.getResults().take_front(numInits), out);
  return success();
}

/// Clones the blocks of `from` into `to` (empty), mapping their arguments.
void cloneRegion(Region &from, Region &to, IRMapping &mapping) { from.cloneInto(&to, mapping); }

/// scf.for: the loop with the tangents of its float carried values carried after them.
KVANT_TANGENT_RULE(forRule) {
  auto loop = cast<scf::ForOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  SmallVector<Value> inits(loop.getInitArgs());
  for (Value init : loop.getInitArgs())
    if (isDifferentiableType(init.getType()))
      inits.push_back(s.tangentOrZeros(init, loc));
  auto copy = scf::ForOp::create(b, loc, loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                                 inits, nullptr, loop.getUnsignedCmp());
  Block *block = copy.getBody();
  IRMapping mapping;
  mapping.map(loop.getInductionVar(), copy.getInductionVar());
  unsigned n = loop.getNumRegionIterArgs();
  for (unsigned i = 0; i < n; ++i)
    mapping.map(loop.getRegionIterArgs()[i], copy.getRegionIterArgs()[i]);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(block);
    for (Operation &inner : *loop.getBody())
      b.clone(inner, mapping);
  }
  unsigned next = n;
  for (unsigned i = 0; i < n; ++i)
    if (isDifferentiableType(loop.getRegionIterArgs()[i].getType()))
      s.setTangent(copy.getRegionIterArgs()[i], copy.getRegionIterArgs()[next++]);
  if (failed(s.runInPlace(*block)))
    return failure();
  extendTerminator(s, block->getTerminator());
  finishCarried(s, op, copy, n);
  return success();
}

/// scf.while: the tangents of the float values carried before and after the condition.
KVANT_TANGENT_RULE(whileRule) {
  auto loop = cast<scf::WhileOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  SmallVector<Value> inits(loop.getInits());
  for (Value init : loop.getInits())
    if (isDifferentiableType(init.getType()))
      inits.push_back(s.tangentOrZeros(init, loc));
  SmallVector<Type> resultTypes(op->getResultTypes());
  llvm::append_range(resultTypes, tangentTypes(op->getResultTypes()));
  auto copy = scf::WhileOp::create(b, loc, resultTypes, inits);
  IRMapping mapping;
  cloneRegion(loop.getBefore(), copy.getBefore(), mapping);
  cloneRegion(loop.getAfter(), copy.getAfter(), mapping);
  for (Region *region : {&copy.getBefore(), &copy.getAfter()}) {
    Block &block = region->front();
    unsigned n = block.getNumArguments();
    for (unsigned i = 0; i < n; ++i) {
      BlockArgument arg = block.getArgument(i);
      if (isDifferentiableType(arg.getType()))
        s.setTangent(arg, block.addArgument(arg.getType(), arg.getLoc()));
    }
    if (failed(s.runInPlace(block)))
      return failure();
    extendTerminator(s, block.getTerminator(), isa<scf::ConditionOp>(block.getTerminator()));
  }
  finishCarried(s, op, copy, op->getNumResults());
  return success();
}

/// scf.if / scf.index_switch: each branch yields the tangents of its float results too.
KVANT_TANGENT_RULE(branchRule) {
  OpBuilder &b = s.builder();
  SmallVector<Type> resultTypes(op->getResultTypes());
  llvm::append_range(resultTypes, tangentTypes(op->getResultTypes()));
  Operation *copy;
  if (auto branch = dyn_cast<scf::IfOp>(op))
    copy = scf::IfOp::create(b, op->getLoc(), resultTypes, branch.getCondition(),
                             /*addThenBlock=*/false, /*addElseBlock=*/false);
  else {
    auto switchOp = cast<scf::IndexSwitchOp>(op);
    copy = scf::IndexSwitchOp::create(b, op->getLoc(), resultTypes, switchOp.getArg(),
                                      switchOp.getCases(), switchOp.getNumCases());
  }
  for (auto [from, to] : llvm::zip(op->getRegions(), copy->getRegions())) {
    IRMapping mapping;
    cloneRegion(from, to, mapping);
    for (Block &block : to) {
      if (failed(s.runInPlace(block)))
        return failure();
      extendTerminator(s, block.getTerminator());
    }
  }
  finishCarried(s, op, copy, op->getNumResults());
  return success();
}

} // namespace

void kvant::gradient::addClassicalTangentRules(TangentRuleTable &rules, const RuleTable &reverse) {
  // Elementwise ops: the reverse scalar rules, read as partial derivatives. Complex ops are
  // refused by the sweep before any rule is looked up.
  for (const auto &entry : reverse.scalar)
    rules.scalar[entry.getKey()] = entry.getValue();
  const std::pair<const char *, TangentRule> table[] = {
      {"arith.extf", convertRule},
      {"arith.truncf", convertRule},
      {"arith.select", selectRule},
      {"tensor.extract", linearRule},
      {"tensor.from_elements", linearRule},
      {"tensor.insert", linearRule},
      {"tensor.splat", linearRule},
      {"tensor.extract_slice", linearRule},
      {"tensor.insert_slice", linearRule},
      {"tensor.collapse_shape", linearRule},
      {"tensor.expand_shape", linearRule},
      {"tensor.cast", linearRule},
      {"tensor.concat", linearRule},
      {"tensor.pad", bodyYieldRule},
      {"tensor.generate", bodyYieldRule},
      {"linalg.generic", linalgRule},
      {"linalg.fill", linalgRule},
      {"linalg.broadcast", linalgRule},
      {"linalg.transpose", linalgRule},
      {"linalg.reduce", linalgRule},
      {"linalg.matmul", linalgRule},
      {"scf.for", forRule},
      {"scf.while", whileRule},
      {"scf.if", branchRule},
      {"scf.index_switch", branchRule},
  };
  for (auto [name, rule] : table)
    rules.ops[name] = rule;
}
