//===- TensorRules.cpp - derivative rules of tensor and linalg ops --------------------===//
//
// The ops the frontend's lowering emits besides elementwise arithmetic: element and slice
// access, reshapes, and linalg's fill / broadcast / transpose / reduce / generic. Each rule
// scatters a cotangent back to where the values came from.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/AutoDiff/ReverseMode.h"
#include "kvant/Gradient/AutoDiff/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Complex/IR/Complex.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace kvant::gradient;

namespace {

#define KVANT_OP_RULE(NAME) LogicalResult NAME(ReverseSweep &s, Operation *op, ArrayRef<Value> cts)

Value emptyLike(OpBuilder &b, Location loc, Type type) {
  auto t = cast<RankedTensorType>(type);
  return tensor::EmptyOp::create(b, loc, t.getShape(), t.getElementType());
}

// ---- tensor ----------------------------------------------------------------------------------

KVANT_OP_RULE(extractRule) {
  auto extract = cast<tensor::ExtractOp>(op);
  s.accumulateElement(extract.getTensor(), cts[0], extract.getIndices());
  return success();
}

KVANT_OP_RULE(fromElementsRule) {
  auto from = cast<tensor::FromElementsOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  auto type = from.getType();
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  for (auto [i, element] : llvm::enumerate(from.getElements())) {
    SmallVector<Value> index;
    for (int64_t position : delinearize(int64_t(i), strides))
      index.push_back(arith::ConstantIndexOp::create(b, loc, position));
    s.accumulate(element, tensor::ExtractOp::create(b, loc, cts[0], index));
  }
  return success();
}

KVANT_OP_RULE(insertRule) {
  auto insert = cast<tensor::InsertOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  s.accumulate(insert.getScalar(), tensor::ExtractOp::create(b, loc, cts[0], insert.getIndices()));
  Value zero = zerosOf(b, loc, insert.getScalar().getType());
  s.accumulate(insert.getDest(),
               tensor::InsertOp::create(b, loc, zero, cts[0], insert.getIndices()));
  return success();
}

KVANT_OP_RULE(splatRule) {
  auto splat = cast<tensor::SplatOp>(op);
  s.accumulate(splat.getInput(), sumAll(s.builder(), op->getLoc(), cts[0]));
  return success();
}

KVANT_OP_RULE(extractSliceRule) {
  auto slice = cast<tensor::ExtractSliceOp>(op);
  // One element (x[i, j, k] in JAX): an element insert, which bufferizes more cheaply.
  auto ctType = cast<RankedTensorType>(cts[0].getType());
  if (ctType.getNumElements() == 1 && ctType.hasStaticShape()) {
    OpBuilder &b = s.builder();
    Location loc = op->getLoc();
    SmallVector<Value> zeros(ctType.getRank(), arith::ConstantIndexOp::create(b, loc, 0));
    SmallVector<Value> at;
    for (OpFoldResult offset : slice.getMixedOffsets())
      at.push_back(getValueOrCreateConstantIndexOp(b, loc, offset));
    s.accumulateElement(slice.getSource(), tensor::ExtractOp::create(b, loc, cts[0], zeros), at);
    return success();
  }
  // (a rank-reducing slice's cotangent goes back through the same rank-reducing insert)
  s.accumulateSlice(slice.getSource(), cts[0], slice.getMixedOffsets(), slice.getMixedSizes(),
                    slice.getMixedStrides());
  return success();
}

KVANT_OP_RULE(insertSliceRule) {
  auto insert = cast<tensor::InsertSliceOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  auto sourceType = cast<RankedTensorType>(insert.getSource().getType());
  s.accumulate(insert.getSource(),
               tensor::ExtractSliceOp::create(b, loc, sourceType, cts[0], insert.getMixedOffsets(),
                                              insert.getMixedSizes(), insert.getMixedStrides()));
  Value zeros = zerosLike(b, loc, insert.getSource());
  s.accumulate(insert.getDest(),
               tensor::InsertSliceOp::create(b, loc, zeros, cts[0], insert.getMixedOffsets(),
                                             insert.getMixedSizes(), insert.getMixedStrides()));
  return success();
}

KVANT_OP_RULE(collapseRule) {
  auto collapse = cast<tensor::CollapseShapeOp>(op);
  s.accumulate(collapse.getSrc(),
               tensor::ExpandShapeOp::create(s.builder(), op->getLoc(), collapse.getSrcType(),
                                             cts[0], collapse.getReassociationIndices()));
  return success();
}

KVANT_OP_RULE(expandRule) {
  auto expand = cast<tensor::ExpandShapeOp>(op);
  s.accumulate(expand.getSrc(),
               tensor::CollapseShapeOp::create(s.builder(), op->getLoc(), expand.getSrcType(),
                                               cts[0], expand.getReassociationIndices()));
  return success();
}

KVANT_OP_RULE(castRule) {
  auto cast_ = cast<tensor::CastOp>(op);
  s.accumulate(cast_.getSource(), tensor::CastOp::create(s.builder(), op->getLoc(),
                                                         cast_.getSource().getType(), cts[0]));
  return success();
}

KVANT_OP_RULE(concatRule) {
  auto concat = cast<tensor::ConcatOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  int64_t dim = concat.getDim();
  int64_t offset = 0;
  for (Value input : concat.getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    offsets[dim] = b.getIndexAttr(offset);
    SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t size : type.getShape())
      sizes.push_back(b.getIndexAttr(size));
    s.accumulate(input,
                 tensor::ExtractSliceOp::create(b, loc, type, cts[0], offsets, sizes, strides));
    offset += type.getDimSize(dim);
  }
  return success();
}

KVANT_OP_RULE(padRule) {
  auto pad = cast<tensor::PadOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  auto sourceType = pad.getSourceType();
  SmallVector<OpFoldResult> sizes, strides(sourceType.getRank(), b.getIndexAttr(1));
  for (int64_t size : sourceType.getShape())
    sizes.push_back(b.getIndexAttr(size));
  Value inner = tensor::ExtractSliceOp::create(b, loc, sourceType, cts[0], pad.getMixedLowPad(),
                                               sizes, strides);
  s.accumulate(pad.getSource(), inner);
  // The padding value fills everything else. One computed inside the region would need that
  // region reversed; the frontend never builds one (it pads with tensor.generate).
  Value padding = pad.getConstantPaddingValue();
  if (!padding && isDifferentiableType(pad.getResultType()))
    return op->emitError("kvant cannot differentiate tensor.pad with a padding value computed "
                         "inside its region");
  if (padding && isDifferentiableType(padding.getType()))
    s.accumulate(padding, subValues(b, loc, sumAll(b, loc, cts[0]), sumAll(b, loc, inner)));
  return success();
}

// ---- linalg ----------------------------------------------------------------------------------

KVANT_OP_RULE(fillRule) {
  auto fill = cast<linalg::FillOp>(op);
  s.accumulate(fill.getInputs()[0], sumAll(s.builder(), op->getLoc(), cts[0]));
  return success();
}

/// Sum of `ct` over `dims` into a tensor of `type`.
Value sumOver(OpBuilder &b, Location loc, Value ct, ArrayRef<int64_t> dims, Type type) {
  Value init = zerosOf(b, loc, type);
  auto reduce = linalg::ReduceOp::create(
      b, loc, ValueRange{ct}, ValueRange{init}, dims,
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, ValueRange{addValues(nb, l, args[0], args[1])});
      });
  return reduce.getResult(0);
}

KVANT_OP_RULE(broadcastRule) {
  auto broadcast = cast<linalg::BroadcastOp>(op);
  Value input = broadcast.getInput();
  s.accumulate(input, sumOver(s.builder(), op->getLoc(), cts[0], broadcast.getDimensions(),
                              input.getType()));
  return success();
}

KVANT_OP_RULE(transposeRule) {
  auto transpose = cast<linalg::TransposeOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  ArrayRef<int64_t> perm = transpose.getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = int64_t(i);
  Value input = transpose.getInput();
  Value init = emptyLike(b, loc, input.getType());
  s.accumulate(input, linalg::TransposeOp::create(b, loc, cts[0], init, inverse).getResult()[0]);
  return success();
}

/// The value of `v` when it is a real constant: a float or complex scalar, a splat tensor, or a
/// linalg.fill of a constant scalar.
std::optional<double> constantValue(Value v) {
  if (auto fill = v.getDefiningOp<linalg::FillOp>())
    return constantValue(fill.getInputs()[0]);
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  // A complex constant with imaginary part 0 (complex.constant's [re, im], or a dense splat).
  if (auto dense = dyn_cast<DenseElementsAttr>(attr);
      dense && dense.isSplat() && isa<ComplexType>(dense.getElementType())) {
    auto c = dense.getSplatValue<std::complex<APFloat>>();
    return c.imag().isZero() ? std::optional(c.real().convertToDouble()) : std::nullopt;
  }
  if (auto parts = dyn_cast<ArrayAttr>(attr); parts && parts.size() == 2) {
    auto re = dyn_cast<FloatAttr>(parts[0]), im = dyn_cast<FloatAttr>(parts[1]);
    return re && im && im.getValue().isZero() ? std::optional(re.getValueAsDouble()) : std::nullopt;
  }
  if (auto splat = dyn_cast<SplatElementsAttr>(attr))
    attr = splat.getSplatValue<Attribute>();
  if (auto scalar = dyn_cast<FloatAttr>(attr))
    return scalar.getValueAsDouble();
  return std::nullopt;
}

/// The map from a reduction's iteration space to its result: every dim but `reduced`.
AffineMap droppingDims(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> reduced) {
  SmallVector<AffineExpr> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(reduced, d))
      kept.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, kept, ctx);
}

KVANT_OP_RULE(reduceRule) {
  auto reduce = cast<linalg::ReduceOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  if (reduce.getInputs().size() != 1)
    return op->emitError("kvant cannot differentiate a multi-operand reduction");
  Value input = reduce.getInputs()[0], init = reduce.getInits()[0], result = reduce.getResult(0);
  auto inputType = cast<RankedTensorType>(input.getType());
  Block &body = reduce.getRegion().front();
  Operation *combiner = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combiner || combiner->getNumOperands() != 2 ||
      !llvm::all_of(combiner->getOperands(),
                    [&](Value v) { return isa<BlockArgument>(v) && v.getParentBlock() == &body; }))
    return op->emitError("kvant cannot differentiate this reduction");
  StringRef kind = combiner->getName().getStringRef();
  int64_t rank = inputType.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap projected = droppingDims(ctx, rank, reduce.getDimensions());

  if (kind == "arith.addf" || kind == "complex.add") { // each element: its sum's cotangent
    Value spread = emptyLike(b, loc, inputType);
    s.accumulate(
        input,
        linalg::BroadcastOp::create(b, loc, cts[0], spread, reduce.getDimensions()).getResult()[0]);
    s.accumulate(init, cts[0]);
    return success();
  }
  Type elt = inputType.getElementType();
  SmallVector<utils::IteratorType> foldIterators(rank, utils::IteratorType::parallel);
  for (int64_t d : reduce.getDimensions())
    foldIterators[d] = utils::IteratorType::reduction;
  SmallVector<utils::IteratorType> pointwise(rank, utils::IteratorType::parallel);
  // The rules below take the init to be the identity, which gets no cotangent: a product's
  // init must be 1; a max or min's init a constant (a winning constant passes no cotangent on).
  std::optional<double> initValue = constantValue(init);
  bool product = kind == "arith.mulf" || kind == "complex.mul";
  bool maxOrMin = kind == "arith.maximumf" || kind == "arith.maxnumf" || kind == "arith.minimumf" ||
                  kind == "arith.minnumf";
  if (product ? initValue != 1.0 : maxOrMin && !initValue)
    return op->emitError() << "kvant differentiates a reduction by '" << kind
                           << "' only from a constant initial value" << (product ? " of 1" : "");
  if (product) {
    // d prod / d x_i = product of the other elements, exact with zeros (as JAX): with no zero
    // it is prod / x_i; with one zero, the product of the nonzero elements for the zero element
    // and 0 for the rest; with more, 0. So: the nonzero product and the zero count (counted in
    // the element type, complex numbers too). A complex element's cotangent is the result's
    // times the conjugate of that product (ReverseMode.h).
    bool isComplex = kind == "complex.mul";
    Value zero = constantOf(b, loc, elt, 0.0), one = constantOf(b, loc, elt, 1.0);
    auto equal = [&](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      if (isComplex)
        return complex::EqualOp::create(nb, l, x, y);
      return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, x, y);
    };
    auto mul = [&](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      if (isComplex)
        return complex::MulOp::create(nb, l, x, y);
      return arith::MulFOp::create(nb, l, x, y);
    };
    auto stats = linalg::GenericOp::create(
        b, loc, TypeRange{result.getType(), result.getType()}, ValueRange{input},
        ValueRange{constantOf(b, loc, result.getType(), 1.0), zerosOf(b, loc, result.getType())},
        ArrayRef<AffineMap>{identity, projected, projected}, foldIterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value isZero = equal(nb, l, args[0], zero);
          Value factor = arith::SelectOp::create(nb, l, isZero, one, args[0]);
          Value count = arith::SelectOp::create(nb, l, isZero, one, zero);
          linalg::YieldOp::create(
              nb, l, ValueRange{mul(nb, l, args[1], factor), addValues(nb, l, args[2], count)});
        });
    auto spread = linalg::GenericOp::create(
        b, loc, TypeRange{inputType},
        ValueRange{input, cts[0], stats.getResult(0), stats.getResult(1)},
        ValueRange{emptyLike(b, loc, inputType)},
        ArrayRef<AffineMap>{identity, projected, projected, projected, identity}, pointwise,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value x = args[0], ct = args[1], nonzero = args[2], zeros = args[3];
          Value isZero = equal(nb, l, x, zero);
          Value noZero = equal(nb, l, zeros, zero);
          Value oneZero = equal(nb, l, zeros, one);
          Value atZero = arith::SelectOp::create(
              nb, l, arith::AndIOp::create(nb, l, oneZero, isZero), nonzero, zero);
          Value quotient = isComplex ? complex::DivOp::create(nb, l, nonzero, x).getResult()
                                     : arith::DivFOp::create(nb, l, nonzero, x).getResult();
          Value others = arith::SelectOp::create(nb, l, noZero, quotient, atZero);
          if (isComplex)
            others = complex::ConjOp::create(nb, l, others);
          linalg::YieldOp::create(nb, l, ValueRange{mul(nb, l, ct, others)});
        });
    s.accumulate(input, spread.getResult(0));
    return success(); // the init is taken to be 1 (the identity) and gets nothing
  }
  bool isMax = kind == "arith.maximumf" || kind == "arith.maxnumf";
  bool isMin = kind == "arith.minimumf" || kind == "arith.minnumf";
  if (!isMax && !isMin)
    return op->emitError() << "kvant cannot differentiate a reduction by '" << kind << "'";
  // max/min: the cotangent goes to the elements equal to the result, shared equally among
  // ties (JAX's rule). The init is taken to be the identity (-inf / +inf) and gets nothing.
  auto counts = linalg::GenericOp::create(
      b, loc, TypeRange{result.getType()}, ValueRange{input, result},
      ValueRange{zerosOf(b, loc, result.getType())},
      ArrayRef<AffineMap>{identity, projected, projected}, foldIterators,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value hit = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, args[0], args[1]);
        Value one = arith::SelectOp::create(nb, l, hit, constantOf(nb, l, elt, 1.0),
                                            constantOf(nb, l, elt, 0.0));
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], one)});
      });
  auto spread = linalg::GenericOp::create(
      b, loc, TypeRange{inputType}, ValueRange{input, result, cts[0], counts.getResult(0)},
      ValueRange{emptyLike(b, loc, inputType)},
      ArrayRef<AffineMap>{identity, projected, projected, projected, identity}, pointwise,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value hit = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, args[0], args[1]);
        Value share = arith::DivFOp::create(nb, l, args[2], args[3]);
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, hit, share, constantOf(nb, l, elt, 0.0))});
      });
  s.accumulate(input, spread.getResult(0));
  return success();
}

/// linalg.generic whose body, for each output, either ignores the output (a map) or adds to it
/// (a sum reduction, e.g. dot_general; arith.addf, or complex.add for complex numbers, whose
/// products' rules conjugate the other factor: C = A B gives Ā = C̄ B^H). For each float input, a
/// generic over the same iteration space recomputes the body at every point, reverses it, and sums
/// the input's cotangent over the dims its indexing map does not use.
KVANT_OP_RULE(genericRule) {
  auto generic = cast<linalg::GenericOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  Block &body = generic.getRegion().front();
  unsigned numInputs = generic.getNumDpsInputs();
  unsigned numOutputs = generic.getNumDpsInits();
  Operation *yield = body.getTerminator();
  for (unsigned k = 0; k < numOutputs; ++k) {
    BlockArgument outArg = body.getArgument(numInputs + k);
    // (an integer output, e.g. top_k's indices, carries no cotangent: any update is fine)
    if (outArg.use_empty() || !isDifferentiableType(outArg.getType()))
      continue;
    Operation *add = yield->getOperand(k).getDefiningOp();
    if (!isa_and_nonnull<arith::AddFOp, complex::AddOp>(add) || !outArg.hasOneUse() ||
        (add->getOperand(0) != outArg && add->getOperand(1) != outArg))
      return op->emitError("kvant can differentiate linalg.generic reductions that are sums only");
    s.accumulate(generic.getDpsInits()[k], cts[k]); // result = init + sum of the terms
  }
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  unsigned numLoops = generic.getNumLoops();
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> bodyCaptured = capturedDifferentiable(op);
  // The cotangents that are not zero, as extra inputs of the backward generics.
  SmallVector<unsigned> seeded;
  for (unsigned k = 0; k < numOutputs; ++k)
    if (cts[k])
      seeded.push_back(k);

  for (unsigned j = 0; j < numInputs; ++j) {
    Value input = generic.getDpsInputs()[j];
    if (!isDifferentiableType(input.getType()))
      continue;
    auto inputType = dyn_cast<RankedTensorType>(input.getType());
    AffineMap accMap = inputType ? maps[j] : AffineMap::get(numLoops, 0, ctx);
    RankedTensorType accType = inputType ? inputType : RankedTensorType::get({}, input.getType());
    // Dims the input's map does not use are summed over. With a map that is not a projected
    // permutation (lax.rev reads x[n - 1 - i]) several points may update one element, so every
    // dim is a reduction: the accumulation then runs in order, whatever the map.
    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::reduction);
    if (accMap.isProjectedPermutation())
      for (AffineExpr e : accMap.getResults())
        iterators[cast<AffineDimExpr>(e).getPosition()] = utils::IteratorType::parallel;
    SmallVector<Value> ins(generic.getDpsInputs());
    SmallVector<AffineMap> newMaps(maps.begin(), maps.begin() + numInputs);
    for (unsigned k : seeded) {
      ins.push_back(cts[k]);
      newMaps.push_back(maps[numInputs + k]);
    }
    newMaps.push_back(accMap);
    bool failedBody = false, capturedNeeded = false;
    auto backward = linalg::GenericOp::create(
        b, loc, TypeRange{accType}, ins,
        ValueRange{inputType ? zerosLike(b, loc, input) : zerosOf(b, loc, accType)}, newMaps,
        iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
          SmallVector<Value> bodyArgs(args.take_front(numInputs));
          SmallVector<Value> yieldCts(numOutputs);
          for (unsigned k = 0; k < numOutputs; ++k) { // the outputs' values are not needed
            Type type = body.getArgument(numInputs + k).getType();
            bodyArgs.push_back(
                isDifferentiableType(type)
                    ? zerosOf(nb, l, type)
                    : arith::ConstantOp::create(nb, l, cast<TypedAttr>(nb.getZeroAttr(type))));
          }
          for (auto [n, k] : llvm::enumerate(seeded))
            yieldCts[k] = args[numInputs + n];
          FailureOr<ReversedBlock> reversed =
              reverseBlock(nb, s.rules(), body, bodyArgs, yieldCts, bodyCaptured);
          Value acc = args.back();
          Value contribution = succeeded(reversed) ? reversed->argCts[j] : Value();
          failedBody |= failed(reversed);
          if (succeeded(reversed))
            capturedNeeded |= llvm::any_of(reversed->capturedCts, [](Value v) { return bool(v); });
          linalg::YieldOp::create(
              nb, l, ValueRange{contribution ? addValues(nb, l, acc, contribution) : acc});
        });
    if (failedBody)
      return failure();
    if (capturedNeeded)
      return op->emitError("kvant cannot differentiate with respect to a value this op's body "
                           "captures from outside");
    Value ct = backward.getResult(0);
    if (!inputType)
      ct = tensor::ExtractOp::create(b, loc, ct, ValueRange{});
    s.accumulate(input, ct);
  }
  return success();
}

/// tensor.generate (gathers, pads): its body reads captured tensors at computed positions. A
/// loop nest over the result's positions recomputes the body, reverses it, and adds each
/// read's cotangent into the element it read; other captured values (a pad value) accumulate
/// their cotangents through the loops.
KVANT_OP_RULE(generateRule) {
  auto generate = cast<tensor::GenerateOp>(op);
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  auto type = generate.getType();
  if (!type.hasStaticShape())
    return op->emitError("kvant cannot differentiate tensor.generate of a dynamic shape");
  Block &body = generate.getBody().front();
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(generate.getBody(), captured);
  SmallVector<Value> targets;
  for (Value v : captured)
    if (isDifferentiableType(v.getType()))
      targets.push_back(v);
  SmallVector<Value> inits;
  for (Value v : targets)
    inits.push_back(zerosLike(b, loc, v));
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t size : type.getShape()) {
    lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, size));
    steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
  }
  bool failedBody = false;
  auto nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, inits,
      [&](OpBuilder &nb, Location l, ValueRange ivs, ValueRange acc) -> scf::ValueVector {
        IRMapping mapping;
        mapping.map(body.getArguments(), ivs);
        SmallVector<Operation *> forward;
        SmallVector<tensor::ExtractOp> reads; // of captured tensors: handled below, sparsely
        for (Operation &bodyOp : body.without_terminator()) {
          Operation *clone = nb.clone(bodyOp, mapping);
          auto read = dyn_cast<tensor::ExtractOp>(clone);
          if (read && llvm::is_contained(targets, read.getTensor()))
            reads.push_back(read);
          else
            forward.push_back(clone);
        }
        ReverseSweep sweep(nb, s.rules());
        Value yielded = mapping.lookupOrDefault(body.getTerminator()->getOperand(0));
        sweep.accumulate(yielded, tensor::ExtractOp::create(nb, l, cts[0], ivs));
        if (failed(sweep.run(forward))) {
          failedBody = true;
          return scf::ValueVector(acc.begin(), acc.end());
        }
        scf::ValueVector next(acc.begin(), acc.end());
        for (tensor::ExtractOp read : reads) {
          Value ct = sweep.cotangent(read.getResult());
          if (!ct)
            continue;
          unsigned t = llvm::find(targets, read.getTensor()) - targets.begin();
          Value old = tensor::ExtractOp::create(nb, l, next[t], read.getIndices());
          Value sum = addValues(nb, l, old, ct);
          next[t] = tensor::InsertOp::create(nb, l, sum, next[t], read.getIndices());
        }
        for (auto [t, v] : llvm::enumerate(targets))
          if (Value ct = sweep.cotangent(v))
            next[t] = addValues(nb, l, next[t], ct);
        return next;
      });
  if (failedBody)
    return failure();
  for (auto [t, v] : llvm::enumerate(targets))
    s.accumulate(v, nest.results[t]);
  return success();
}

} // namespace

void kvant::gradient::addTensorRules(RuleTable &rules) {
  const std::pair<const char *, OpRule> table[] = {
      {"tensor.extract", extractRule},
      {"tensor.from_elements", fromElementsRule},
      {"tensor.insert", insertRule},
      {"tensor.splat", splatRule},
      {"tensor.extract_slice", extractSliceRule},
      {"tensor.insert_slice", insertSliceRule},
      {"tensor.collapse_shape", collapseRule},
      {"tensor.expand_shape", expandRule},
      {"tensor.cast", castRule},
      {"tensor.concat", concatRule},
      {"tensor.pad", padRule},
      {"linalg.fill", fillRule},
      {"linalg.broadcast", broadcastRule},
      {"linalg.transpose", transposeRule},
      {"linalg.reduce", reduceRule},
      {"linalg.generic", genericRule},
      {"tensor.generate", generateRule},
  };
  for (auto [name, rule] : table)
    rules.ops[name] = rule;
}
