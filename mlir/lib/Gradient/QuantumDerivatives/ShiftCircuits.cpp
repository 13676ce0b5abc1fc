//===- ShiftCircuits.cpp - parameter-shift circuit functions and contractions --------===//
//
// See ShiftCircuits.h.
//
//===----------------------------------------------------------------------------------===//

#include "ShiftCircuits.h"
#include "CircuitFunctions.h"
#include "kvant/Gradient/AutoDiff/ReverseMode.h"
#include "kvant/Gradient/AutoDiff/TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;
using namespace kvant::gradient::circuits;

namespace {

/// The column of J for parameter k, given f at shifts +-pi/2 (and +-3pi/2 for the four-term
/// rule): `at(b, shift)` evaluates the flattened function at p + shift e_k. `rules` (null = all
/// two-term) holds each parameter's rule.
Value shiftedColumn(OpBuilder &b, Location loc, Value k, Value rules, Type columnType,
                    function_ref<Value(OpBuilder &, double)> at) {
  // f(t + pi/2) - f(t - pi/2): both rules start from it.
  Value near = arith::SubFOp::create(b, loc, at(b, M_PI_2), at(b, -M_PI_2));
  if (!rules)
    return arith::MulFOp::create(b, loc, near, constantOf(b, loc, columnType, 0.5));
  Value rule = tensor::ExtractOp::create(b, loc, rules, ValueRange{k});
  Value isFour = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, rule,
                                       arith::ConstantIntOp::create(b, loc, 0, 8));
  auto branch = scf::IfOp::create(
      b, loc, isFour,
      [&](OpBuilder &tb, Location tl) {
        double cPlus = (std::sqrt(2.0) + 1) / (4 * std::sqrt(2.0));
        double cMinus = (std::sqrt(2.0) - 1) / (4 * std::sqrt(2.0));
        Value far = arith::SubFOp::create(tb, tl, at(tb, 3 * M_PI_2), at(tb, -3 * M_PI_2));
        Value column = arith::SubFOp::create(
            tb, tl, arith::MulFOp::create(tb, tl, near, constantOf(tb, tl, columnType, cPlus)),
            arith::MulFOp::create(tb, tl, far, constantOf(tb, tl, columnType, cMinus)));
        scf::YieldOp::create(tb, tl, column);
      },
      [&](OpBuilder &eb, Location el) {
        scf::YieldOp::create(
            eb, el,
            ValueRange{arith::MulFOp::create(eb, el, near, constantOf(eb, el, columnType, 0.5))});
      });
  return branch.getResult(0);
}

/// `evaluate(b)` when this process owns the next shifted evaluation of the open batch
/// (quantum.owns_shift), else zeros of the same type: the batch's linear combination then holds
/// this process's share, and quantum.combine_shifts adds the shares up.
Value ownedOrZero(OpBuilder &b, Location loc, function_ref<Value(OpBuilder &)> evaluate) {
  Value owns = quantum::OwnsShiftOp::create(b, loc, b.getI1Type());
  Type type;
  auto branch = scf::IfOp::create(
      b, loc, owns,
      [&](OpBuilder &tb, Location tl) {
        Value value = evaluate(tb);
        type = value.getType();
        scf::YieldOp::create(tb, tl, value);
      },
      [&](OpBuilder &eb, Location el) {
        scf::YieldOp::create(eb, el, ValueRange{constantOf(eb, el, type, 0.0)});
      });
  return branch.getResult(0);
}

/// p with p[k] shifted by `shift`.
Value shiftedParams(OpBuilder &b, Location loc, Value params, Value k, double shift) {
  Value pk = tensor::ExtractOp::create(b, loc, params, ValueRange{k});
  Value shifted = arith::AddFOp::create(b, loc, pk, constantOf(b, loc, b.getF64Type(), shift));
  return tensor::InsertOp::create(b, loc, shifted, params, ValueRange{k});
}

} // namespace

namespace kvant::gradient::circuits {

FailureOr<Value> emitShiftRules(OpBuilder &b, Location loc, func::FuncOp qnode,
                                const Circuit &circuit, ValueRange args,
                                SymbolTableCollection &symbols) {
  if (!circuit.anyFourTerm)
    return Value();
  auto ruleOf = [](OpBuilder &at, quantum::DifferentiableGate gate, unsigned i, IRMapping &) {
    bool four = gate.getShiftRule(i) == quantum::ShiftRule::FourTerm;
    return arith::ConstantIntOp::create(at, gate.getLoc(), four ? 1 : 0, 8).getResult();
  };
  if (!circuit.dynamic())
    return emitParameterVector(b, loc, qnode, args, circuit, b.getI8Type(), ruleOf);
  auto type = b.getFunctionType(qnode.getFunctionType().getInputs(),
                                {RankedTensorType::get({ShapedType::kDynamic}, b.getI8Type())});
  auto [fn, created] = getOrCreateFunction(qnode, "shift_rules", type, symbols);
  if (created) {
    OpBuilder fb = OpBuilder::atBlockBegin(&fn.getBody().front());
    FailureOr<Value> rules =
        emitParameterVector(fb, loc, qnode, fn.getArguments(), circuit, fb.getI8Type(), ruleOf);
    if (failed(rules))
      return failure();
    func::ReturnOp::create(fb, loc, *rules);
  }
  return func::CallOp::create(b, loc, fn, args).getResult(0);
}

/// Parameter-shift: the circuit of p, evaluated at p and at shifted copies of p. A variance
/// is not of the trigonometric form the rules need, but <O^2> = var + <O>^2 and <O> are: the
/// circuit of p also returns <O> for each variance, the rules differentiate both, and
/// d var = d<O^2> - 2<O> d<O>.
FailureOr<func::FuncOp> shiftCircuit(func::FuncOp qnode, const Circuit &circuit,
                                     SymbolTableCollection &symbols, bool shiftable) {
  OpBuilder b(qnode);
  Location loc = qnode.getLoc();
  auto f64 = b.getF64Type();
  auto scalarType = RankedTensorType::get({}, f64);
  SmallVector<unsigned> vars;   // positions of the variance results
  SmallVector<int64_t> offsets; // of each result in the flattened results
  int64_t offset = 0;
  for (auto [r, kind] : llvm::enumerate(circuit.kinds)) {
    if (kind == Kind::Var)
      vars.push_back(r);
    offsets.push_back(offset);
    offset += circuit.sizes[r];
  }
  unsigned numResults = circuit.kinds.size();
  FunctionType ofPType = circuitType(b, qnode, circuit, false);
  SmallVector<Type> ofPResults(ofPType.getResults());
  ofPResults.append(vars.size(), scalarType);
  ofPType = b.getFunctionType(ofPType.getInputs(), ofPResults);
  auto [ofP, createdOfP] = getOrCreateFunction(qnode, "of_params", ofPType, symbols);
  if (createdOfP) {
    IRMapping mapping;
    Value count;
    FailureOr<SmallVector<Value>> returned = cloneCircuitOfP(qnode, ofP, b, mapping, count);
    if (failed(returned)) {
      ofP.erase();
      return failure();
    }
    for (unsigned r : vars) {
      Operation *var = mapping.lookup(circuit.measured[r]->getResult(0)).getDefiningOp();
      OpBuilder at(var->getBlock(), std::next(var->getIterator()));
      Value e = quantum::ExpvalOp::create(at, loc, f64, cast<quantum::VarOp>(var).getObs());
      returned->push_back(tensor::FromElementsOp::create(at, loc, scalarType, e));
    }
    func::ReturnOp::create(b, loc, *returned);
  }
  int64_t m = circuit.numOutputs + vars.size(); // each <O> of a variance too
  FunctionType fnType = circuitType(b, qnode, circuit, true);
  if (shiftable) {
    SmallVector<Type> results(vars.size(), scalarType);
    results.push_back(RankedTensorType::get({m, circuit.numParams}, f64));
    fnType = b.getFunctionType(fnType.getInputs(), results);
  }
  auto [fn, created] = getOrCreateFunction(
      qnode, shiftable ? "shiftable_jacobian.parameter_shift" : "with_jacobian.parameter_shift",
      fnType, symbols);
  if (!created)
    return fn;
  markCircuit(fn, qnode, shiftable ? CircuitRole::ShiftableJacobian : CircuitRole::Jacobian);
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);
  ValueRange args = entry->getArguments().drop_front();

  auto evaluate = [&](OpBuilder &at, Value p) {
    SmallVector<Value> operands{p};
    llvm::append_range(operands, args);
    return func::CallOp::create(at, loc, ofP, operands);
  };
  // The functions the rules apply to: the results with var replaced by <O^2>, then the <O>s.
  auto shiftableValues = [&](OpBuilder &ob, Location l, ValueRange values) {
    SmallVector<Value> pieces(values.take_front(numResults));
    for (auto [j, r] : llvm::enumerate(vars)) {
      Value e = values[numResults + j];
      pieces[r] = arith::AddFOp::create(ob, l, pieces[r], arith::MulFOp::create(ob, l, e, e));
    }
    llvm::append_range(pieces, values.drop_front(numResults));
    return flatten(ob, l, pieces);
  };
  auto values = evaluate(b, params);
  SmallVector<Value> returned(values.getResults().take_front(numResults));
  FailureOr<Value> rules = emitShiftRules(b, loc, qnode, circuit, args, symbols);
  if (failed(rules)) {
    fn.erase();
    return failure();
  }

  // The shifted evaluations form one batch: under MPI in shift mode each rank runs its share
  // of them (the others are zero in its Jacobian) and combine_shifts sums the Jacobian over the
  // ranks; otherwise the batch ops change nothing. The evaluation at p is every rank's.
  quantum::ShiftsBeginOp::create(b, loc);
  auto columnType = RankedTensorType::get({m}, f64);
  Value g = tensor::DimOp::create(b, loc, params, 0);
  Value transposedInit =
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{g, b.getIndexAttr(m)}, f64);
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), g, indexConstant(b, loc, 1), ValueRange{transposedInit},
      [&](OpBuilder &lb, Location l, Value k, ValueRange acc) {
        Value column = shiftedColumn(lb, l, k, *rules, columnType, [&](OpBuilder &ob, double s) {
          return ownedOrZero(ob, l, [&](OpBuilder &tb) {
            return shiftableValues(tb, l,
                                   evaluate(tb, shiftedParams(tb, l, params, k, s)).getResults());
          });
        });
        SmallVector<OpFoldResult> offsets{k, lb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes{lb.getIndexAttr(1), lb.getIndexAttr(m)};
        SmallVector<OpFoldResult> strides{lb.getIndexAttr(1), lb.getIndexAttr(1)};
        scf::YieldOp::create(lb, l,
                             ValueRange{tensor::InsertSliceOp::create(lb, l, column, acc[0],
                                                                      offsets, sizes, strides)});
      });
  Value transposed =
      quantum::CombineShiftsOp::create(b, loc, loop.getResult(0).getType(), loop.getResult(0));
  Value jacobian =
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(m), g}, f64);
  jacobian = linalg::TransposeOp::create(b, loc, transposed, jacobian, ArrayRef<int64_t>{1, 0})
                 .getResult()[0];
  if (shiftable) {
    SmallVector<Value> shiftableResults(values.getResults().drop_front(numResults));
    shiftableResults.push_back(
        tensor::CastOp::create(b, loc, fn.getFunctionType().getResults().back(), jacobian));
    func::ReturnOp::create(b, loc, shiftableResults);
    return fn;
  }
  if (!vars.empty()) {
    for (auto [j, r] : llvm::enumerate(vars)) { // d var = d<O^2> - 2<O> d<O>
      Value e = tensor::ExtractOp::create(b, loc, values.getResult(numResults + j), ValueRange{});
      Value minusTwoE = arith::MulFOp::create(b, loc, e, constantOf(b, loc, f64, -2.0));
      jacobian = addScaledRow(b, loc, jacobian, offsets[r], circuit.numOutputs + j, minusTwoE);
    }
    SmallVector<OpFoldResult> unit{b.getIndexAttr(1), b.getIndexAttr(1)};
    SmallVector<OpFoldResult> zero{b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> kept{b.getIndexAttr(circuit.numOutputs), g};
    jacobian = tensor::ExtractSliceOp::create(
                   b, loc, RankedTensorType::get({circuit.numOutputs, ShapedType::kDynamic}, f64),
                   jacobian, zero, kept, unit)
                   .getResult();
  }
  returned.push_back(
      tensor::CastOp::create(b, loc, fn.getFunctionType().getResults().back(), jacobian));
  func::ReturnOp::create(b, loc, returned);
  return fn;
}

Value shiftedContraction(OpBuilder &b, Location loc, Value params, Value rules, Value jbar,
                         function_ref<Value(OpBuilder &, Value)> shiftedJacobian) {
  Value g = tensor::DimOp::create(b, loc, params, 0);
  auto loop = scf::ForOp::create(b, loc, indexConstant(b, loc, 0), g, indexConstant(b, loc, 1),
                                 ValueRange{zerosLike(b, loc, params)});
  OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
  Value k = loop.getInductionVar();
  Value acc = loop.getRegionIterArgs()[0];
  // The rule applied to the scalar <J̄, J(p + s e_k)>: one contraction per shifted call.
  Value derivative =
      shiftedColumn(lb, loc, k, rules, b.getF64Type(), [&](OpBuilder &ob, double sh) {
        Value product = arith::MulFOp::create(
            ob, loc, jbar, shiftedJacobian(ob, shiftedParams(ob, loc, params, k, sh)));
        return sumAll(ob, loc, product);
      });
  Value old = tensor::ExtractOp::create(lb, loc, acc, ValueRange{k});
  Value sum = arith::AddFOp::create(lb, loc, old, derivative);
  scf::YieldOp::create(lb, loc,
                       ValueRange{tensor::InsertOp::create(lb, loc, sum, acc, ValueRange{k})});
  return loop.getResult(0);
}

} // namespace kvant::gradient::circuits
