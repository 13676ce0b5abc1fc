//===- QuantumDerivatives.cpp - QNode calls in reverse-mode derivatives ---------------===//
//
// See QuantumDerivatives.h for the split of a QNode into its skeleton and its circuit. For a
// QNode @q the circuit function is
//
//   func.func private @q.with_jacobian.<method>(%p: tensor<Gxf64>, <q's arguments>)
//       -> (<q's results>, tensor<MxGxf64>) attributes {kvant.circuit_with_jacobian, kvant.qnode = @q}
//
// returning, next to q's results, the Jacobian of their M elements (flattened in order) with
// respect to the G gate parameters; its k-th gate parameter is read from %p[k], k counting the
// parameters in the order the gates run (ParameterThreading.h). G is dynamic (`?`) when gates sit
// inside loops or branches:
//  - adjoint: the register records its gates (quantum.alloc {record_tape}) and
//    quantum.adjoint_jacobian asks the runtime for one backward sweep carrying one vector per
//    entry (expval, var, probs);
//  - parameter_shift: @q.of_params(%p, args) evaluated at p shifted by +-pi/2 (two-term rule)
//    and also +-3pi/2 (four-term rule) in each entry, by the rule of the gate the entry feeds
//    (DifferentiableGate::getShiftRule); variances through <O^2> = var + <O>^2.
//
// VJP form (adjoint, one cotangent per call, several entries): the forward calls
// @q.values(%p, args) (results only) and the rule of that call calls
// @q.vjp.adjoint(%p, args, %ybar) -> ȳᵀJ (quantum.adjoint_vjp: two vectors in the sweep).
//
// Second derivatives: entries of J for expectation values and probabilities are, in every
// parameter, of the same trigonometric form as the results, so the shift rules that
// differentiate the results differentiate J too: the rule of a call whose J has a cotangent
// evaluates the call at shifted p. Variance rows are products (d var = d<O^2> - 2<O> d<O>):
// there the rule shifts @q.shiftable_jacobian.<method>, the Jacobian of (<O^2>, <O>), and adds
// the product term. Every function called by these rules has a rule of its own, so derivatives
// of any order nest.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/Transforms/QuantumDerivatives.h"
#include "kvant/Gradient/Transforms/ParameterThreading.h"
#include "kvant/Gradient/Transforms/ReverseMode.h"
#include "kvant/Gradient/Transforms/TensorUtils.h"
#include "kvant/Quantum/IR/QuantumOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

#include <cmath>

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;

namespace {

constexpr StringLiteral kCircuitAttr = "kvant.circuit_with_jacobian";
/// On @q.values (the circuit of p, results only), naming its VJP function @q.vjp.adjoint.
constexpr StringLiteral kValuesAttr = "kvant.circuit_values";
/// On @q.vjp.adjoint(p, args, ȳ) -> ȳᵀ dQ/dp.
constexpr StringLiteral kVJPAttr = "kvant.circuit_vjp";
/// On @q.shiftable_jacobian.<method>(p, args) -> (<O> of each variance, J_F) (secondOrder).
constexpr StringLiteral kShiftableAttr = "kvant.circuit_shiftable";
constexpr StringLiteral kQNodeAttr = "kvant.qnode";
/// On functions with results of dynamic shape, which the bufferization pipeline cannot pass
/// back: inlined into their callers once every derivative is built.
constexpr StringLiteral kInlineAttr = "kvant.inline_when_expanded";

enum class Kind { Expval, Var, Probs };

/// What the derivative needs to know about a QNode's body.
struct Circuit {
  SmallVector<quantum::DifferentiableGate> gates; // every one, in body order
  SmallVector<Operation *> measured;               // the expval, var or probs op of each result
  SmallVector<Kind> kinds;                         // of each result
  SmallVector<int64_t> sizes;                      // elements of each result
  int64_t numParams = 0;                           // ShapedType::kDynamic: gates in control flow
  int64_t numOutputs = 0;                          // sum of sizes
  bool adjoint = false;                            // else parameter-shift
  bool anyFourTerm = false;                        // some parameter has the four-term rule
  bool dynamic() const { return ShapedType::isDynamic(numParams); }
};

/// The QNode's name in the user's program (the frontend names its function qnode_<name>).
StringRef displayName(func::FuncOp qnode) {
  StringRef name = qnode.getSymName();
  name.consume_front("qnode_");
  return name;
}

/// `requireShiftRules`: every parameter needs a shift rule even under the adjoint method (second
/// derivatives shift the adjoint Jacobian).
FailureOr<Circuit> analyse(func::FuncOp qnode, Operation *site, bool requireShiftRules = false) {
  StringRef name = displayName(qnode);
  auto error = [&]() { return site->emitError() << "QNode '" << name << "': "; };
  auto method = qnode->getAttrOfType<StringAttr>("quantum.diff_method");
  StringRef diffMethod = method ? method.getValue() : "best";
  if (diffMethod != "adjoint" && diffMethod != "best" && diffMethod != "parameter-shift")
    return error() << "diff_method=\"" << diffMethod << "\" cannot be used with method=\"auto\"";
  if (!qnode.getBody().hasOneBlock())
    return error() << "a QNode with several blocks";
  Block &body = qnode.getBody().front();
  // With shots the results are estimates computed from samples; the frontend says what each
  // one estimates. Expectation values and probabilities are estimated without bias, so the
  // shift rules applied to the estimates give an unbiased estimate of the derivative.
  bool sampled = qnode->hasAttr("quantum.shots");
  auto measurements = qnode->getAttrOfType<ArrayAttr>("quantum.measurements");
  if (sampled && diffMethod == "adjoint")
    return error() << "the adjoint method has no shot semantics; use "
                   << "diff_method=\"parameter-shift\"";
  Circuit circuit;
  int64_t numParams = 0;
  bool nested = false;
  WalkResult walk = qnode.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op->getNumRegions() != 0 && !isa<scf::ForOp, scf::WhileOp, scf::IfOp, scf::IndexSwitchOp>(op) &&
        containsQuantumOps(op)) {
      error() << "method=\"auto\" cannot differentiate gates inside '" << op->getName() << "'";
      return WalkResult::interrupt();
    }
    if (isa<quantum::MeasureOp>(op)) {
      error() << "a mid-circuit measurement is not differentiable with method=\"auto\"";
      return WalkResult::interrupt();
    }
    if (isa<quantum::SampleOp, quantum::CountsOp>(op) && !sampled) {
      error() << "samples are not differentiable";
      return WalkResult::interrupt();
    }
    if (auto gate = dyn_cast<quantum::DifferentiableGate>(op)) {
      circuit.gates.push_back(gate);
      numParams += gate.getDiffParams().size();
      nested |= op->getBlock() != &body && !gate.getDiffParams().empty();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  circuit.numParams = nested ? ShapedType::kDynamic : numParams;
  bool noProbs = true;
  for (auto [r, result] : llvm::enumerate(body.getTerminator()->getOperands())) {
    if (sampled) {
      StringRef kind = measurements && r < measurements.size()
                           ? cast<StringAttr>(measurements[r]).getValue()
                           : StringRef("unknown");
      if (kind != "expval" && kind != "probs")
        return error() << "with shots, method=\"auto\" differentiates estimates of "
                       << "expectation values and probabilities, not of '" << kind << "'";
      circuit.kinds.push_back(kind == "expval" ? Kind::Expval : Kind::Probs);
      circuit.measured.push_back(nullptr);
      circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
      circuit.numOutputs += circuit.sizes.back();
      continue;
    }
    Operation *measured = nullptr;
    if (auto from = result.getDefiningOp<tensor::FromElementsOp>();
        from && from.getElements().size() == 1) {
      Operation *def = from.getElements()[0].getDefiningOp();
      if (isa_and_nonnull<quantum::ExpvalOp, quantum::VarOp>(def))
        measured = def;
    }
    if (!measured)
      measured = result.getDefiningOp<quantum::ProbsOp>();
    if (!measured)
      return error() << "method=\"auto\" differentiates QNodes that return expectation values, "
                     << "variances and probabilities";
    circuit.kinds.push_back(isa<quantum::ExpvalOp>(measured) ? Kind::Expval
                            : isa<quantum::VarOp>(measured)  ? Kind::Var
                                                              : Kind::Probs);
    noProbs &= circuit.kinds.back() != Kind::Probs;
    circuit.measured.push_back(measured);
    circuit.sizes.push_back(cast<RankedTensorType>(result.getType()).getNumElements());
    circuit.numOutputs += circuit.sizes.back();
  }
  // "best": the adjoint method on kvant's simulator when every measurement allows it.
  // "best": the adjoint sweep unless there are probabilities. Their Jacobian costs the sweep one
  // vector per outcome (2^m for m wires), against two circuit runs per parameter for
  // parameter-shift, whatever m; diff_method="adjoint" still chooses the sweep.
  circuit.adjoint = !sampled && (diffMethod == "adjoint" || (diffMethod == "best" && noProbs));
  for (quantum::DifferentiableGate gate : circuit.gates)
    for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i) {
      std::optional<quantum::ShiftRule> rule = gate.getShiftRule(i);
      if (!rule && (!circuit.adjoint || requireShiftRules))
        return error() << "no parameter-shift rule for gate '"
                       << gate->getAttrOfType<StringAttr>("gate_name").getValue() << "'"
                       << (circuit.adjoint ? " (second derivatives shift the adjoint Jacobian)"
                                           : "");
      circuit.anyFourTerm |= rule == quantum::ShiftRule::FourTerm;
    }
  return circuit;
}

/// A private function next to `qnode` named `<qnode>.<suffix>`, or the existing one.
std::pair<func::FuncOp, bool> getOrCreateFunction(func::FuncOp qnode, StringRef suffix,
                                                  FunctionType type,
                                                  SymbolTableCollection &symbols) {
  auto module = qnode->getParentOfType<ModuleOp>();
  MLIRContext *ctx = qnode.getContext();
  std::string name = (qnode.getSymName() + "." + suffix).str();
  if (auto existing =
          symbols.lookupNearestSymbolFrom<func::FuncOp>(module, StringAttr::get(ctx, name)))
    return {existing, false};
  OpBuilder b(qnode);
  auto fn = func::FuncOp::create(b, qnode.getLoc(), name, type);
  fn.setPrivate();
  fn->setAttr("llvm.linkage", LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  fn.addEntryBlock();
  if (llvm::any_of(type.getResults(), [](Type t) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        return tensor && !tensor.hasStaticShape();
      }))
    fn->setAttr(kInlineAttr, UnitAttr::get(ctx));
  symbols.getSymbolTable(module).insert(fn);
  return {fn, true};
}

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Row r of a 2-D tensor, as tensor<1xN> (keepRank) or tensor<N>, N the matrix's (static or
/// dynamic) column count.
Value matrixRow(OpBuilder &b, Location loc, Value matrix, int64_t r, bool keepRank) {
  auto type = cast<RankedTensorType>(matrix.getType());
  SmallVector<int64_t> shape{type.getDimSize(1)};
  if (keepRank)
    shape.insert(shape.begin(), 1);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(r), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), tensor::getMixedSize(b, loc, matrix, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()),
                                        matrix, offsets, sizes, strides);
}

/// `scale` (a scalar) times every element of `tensor`.
Value scaled(OpBuilder &b, Location loc, Value scale, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, tensor, d));
  Value spread = tensor::SplatOp::create(b, loc, type, scale, dynamicSizes);
  return arith::MulFOp::create(b, loc, spread, tensor);
}

/// `matrix` with row `target` replaced by row target + scale * row source.
Value addScaledRow(OpBuilder &b, Location loc, Value matrix, int64_t target, int64_t source,
                   Value scale) {
  Value sum = arith::AddFOp::create(b, loc, matrixRow(b, loc, matrix, target, true),
                                    scaled(b, loc, scale, matrixRow(b, loc, matrix, source, true)));
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(target), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), tensor::getMixedSize(b, loc, matrix, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, sum, matrix, offsets, sizes, strides);
}

/// One element per gate parameter of a run of `qnode` on `args`, in the order the gates run:
/// element(b, gate, i, mapping) for parameter i of `gate` (mapping: QNode values to clones).
/// Emitted at the builder from the QNode's classical ops; with gates in control flow, a first
/// pass counts the parameters and a second fills a vector of that size.
FailureOr<Value>
emitParameterVector(OpBuilder &b, Location loc, func::FuncOp qnode, ValueRange args,
                    const Circuit &circuit, Type elementType,
                    function_ref<Value(OpBuilder &, quantum::DifferentiableGate, unsigned,
                                       IRMapping &)>
                        element) {
  Block &body = qnode.getBody().front();
  IRMapping mapping;
  mapping.map(qnode.getArguments(), args);
  if (!circuit.dynamic()) {
    SmallVector<Value> elements;
    SmallVector<Value> none;
    ThreadedClone collect(/*keepQuantum=*/false,
                          [&](OpBuilder &at, quantum::DifferentiableGate gate, Operation *,
                              IRMapping &m, SmallVectorImpl<Value> &) {
                            for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i)
                              elements.push_back(element(at, gate, i, m));
                          });
    if (failed(collect.cloneOps(body, b, mapping, none)))
      return failure();
    auto type = RankedTensorType::get({circuit.numParams}, elementType);
    if (elements.empty())
      return tensor::EmptyOp::create(b, loc, type.getShape(), elementType).getResult();
    return tensor::FromElementsOp::create(b, loc, type, elements).getResult();
  }
  IRMapping countMapping;
  countMapping.map(qnode.getArguments(), args);
  SmallVector<Value> count{indexConstant(b, loc, 0)};
  ThreadedClone counter(/*keepQuantum=*/false,
                        [&](OpBuilder &at, quantum::DifferentiableGate gate, Operation *,
                            IRMapping &, SmallVectorImpl<Value> &state) {
                          unsigned n = gate.getDiffParams().size();
                          if (n != 0)
                            state[0] = arith::AddIOp::create(at, loc, state[0],
                                                             indexConstant(at, loc, n));
                        });
  if (failed(counter.cloneOps(body, b, countMapping, count)))
    return failure();
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{ShapedType::kDynamic},
                                        elementType, ValueRange{count[0]});
  SmallVector<Value> state{indexConstant(b, loc, 0), empty};
  ThreadedClone filler(/*keepQuantum=*/false,
                       [&](OpBuilder &at, quantum::DifferentiableGate gate, Operation *,
                           IRMapping &m, SmallVectorImpl<Value> &st) {
                         for (unsigned i = 0, n = gate.getDiffParams().size(); i < n; ++i) {
                           st[1] = tensor::InsertOp::create(at, loc, element(at, gate, i, m),
                                                            st[1], ValueRange{st[0]});
                           st[0] = arith::AddIOp::create(at, loc, st[0], indexConstant(at, loc, 1));
                         }
                       });
  if (failed(filler.cloneOps(body, b, mapping, state)))
    return failure();
  return state[1];
}

/// The shift rule of each parameter (1 = four-term, 0 = two-term) as a tensor<Gxi8>; null when
/// every parameter has the two-term rule. With gates in control flow, a call of
/// `@<qnode>.shift_rules(args)`.
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
    FailureOr<Value> rules = emitParameterVector(fb, loc, qnode, fn.getArguments(), circuit,
                                                 fb.getI8Type(), ruleOf);
    if (failed(rules))
      return failure();
    func::ReturnOp::create(fb, loc, *rules);
  }
  return func::CallOp::create(b, loc, fn, args).getResult(0);
}

/// Clones `qnode`'s body (without its return) into `fn`, whose argument 0 is the parameter
/// vector p and the rest are the QNode's arguments; the k-th gate parameter of the run is read
/// from p[k]. Returns the returned values and the mapping; `count` is set to the number of
/// parameters the run read.
FailureOr<SmallVector<Value>> cloneCircuitOfP(func::FuncOp qnode, func::FuncOp fn, OpBuilder &b,
                                              IRMapping &mapping, Value &count) {
  Block *entry = &fn.getBody().front();
  b.setInsertionPointToStart(entry);
  Value params = entry->getArgument(0);
  Location loc = qnode.getLoc();
  mapping.map(qnode.getArguments(), entry->getArguments().drop_front());
  Block &body = qnode.getBody().front();
  SmallVector<Value> state{indexConstant(b, loc, 0)};
  ThreadedClone circuitOfP(
      /*keepQuantum=*/true, [&](OpBuilder &at, quantum::DifferentiableGate, Operation *clone,
                                IRMapping &, SmallVectorImpl<Value> &st) {
        for (OpOperand &param : cast<quantum::DifferentiableGate>(clone).getDiffParamsMutable()) {
          param.set(tensor::ExtractOp::create(at, loc, params, ValueRange{st[0]}));
          st[0] = at.createOrFold<arith::AddIOp>(loc, st[0], indexConstant(at, loc, 1));
        }
      });
  if (failed(circuitOfP.cloneOps(body, b, mapping, state)))
    return failure();
  count = state[0];
  SmallVector<Value> returned;
  for (Value v : body.getTerminator()->getOperands())
    returned.push_back(mapping.lookup(v));
  return returned;
}

/// The results of a circuit call as one vector of numOutputs elements.
Value flatten(OpBuilder &b, Location loc, ValueRange results) {
  SmallVector<Value> pieces;
  for (Value r : results) {
    auto type = cast<RankedTensorType>(r.getType());
    pieces.push_back(reshapeStatic(
        b, loc, r, RankedTensorType::get({type.getNumElements()}, type.getElementType())));
  }
  if (pieces.size() == 1)
    return pieces[0];
  return tensor::ConcatOp::create(b, loc, /*dim=*/0, pieces);
}

FunctionType circuitType(OpBuilder &b, func::FuncOp qnode, const Circuit &circuit,
                         bool withJacobian) {
  auto f64 = b.getF64Type();
  SmallVector<Type> inputs{RankedTensorType::get({circuit.numParams}, f64)};
  llvm::append_range(inputs, qnode.getFunctionType().getInputs());
  SmallVector<Type> results(qnode.getFunctionType().getResults());
  if (withJacobian)
    results.push_back(RankedTensorType::get({circuit.numOutputs, circuit.numParams}, f64));
  return b.getFunctionType(inputs, results);
}

/// Marks `fn` as a circuit function derived from `qnode` in `role` (kCircuitAttr, ...).
void markCircuit(func::FuncOp fn, func::FuncOp qnode, StringRef role, Attribute value = {}) {
  fn->setAttr(role, value ? value : UnitAttr::get(fn.getContext()));
  fn->setAttr(kQNodeAttr, FlatSymbolRefAttr::get(qnode.getSymNameAttr()));
}

/// The measurements of a circuit as the runtime's adjoint sweep takes them (expval 0, var 1,
/// probs 2), with the operands mapped into a clone of the QNode's body.
struct SweepMeasurements {
  SmallVector<Value> observables, qubits;
  SmallVector<int64_t> kinds, probsWires;
  bool allExpval() const {
    return llvm::all_of(kinds, [](int64_t k) { return k == 0; });
  }
  DenseI64ArrayAttr kindsAttr(OpBuilder &b) const {
    return allExpval() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(kinds);
  }
  DenseI64ArrayAttr probsWiresAttr(OpBuilder &b) const {
    return probsWires.empty() ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(probsWires);
  }
};

SweepMeasurements sweepMeasurements(const Circuit &circuit, IRMapping &mapping) {
  SweepMeasurements out;
  for (auto [measured, kind] : llvm::zip(circuit.measured, circuit.kinds)) {
    if (kind == Kind::Probs) {
      auto probs = cast<quantum::ProbsOp>(measured);
      for (Value q : probs.getQubits())
        out.qubits.push_back(mapping.lookup(q));
      out.probsWires.push_back(probs.getQubits().size());
      out.kinds.push_back(2);
      continue;
    }
    Value obs = kind == Kind::Var ? cast<quantum::VarOp>(measured).getObs()
                                  : cast<quantum::ExpvalOp>(measured).getObs();
    out.observables.push_back(mapping.lookup(obs));
    out.kinds.push_back(kind == Kind::Var ? 1 : 0);
  }
  return out;
}

/// The circuit of p cloned into `fn` with its register recording the gates; `at` is placed
/// where the sweep goes (before the register is released).
struct RecordedCircuit {
  IRMapping mapping;
  Value count;                 // parameters read
  SmallVector<Value> returned; // the QNode's results
  OpBuilder at;
};

FailureOr<RecordedCircuit> cloneRecordedCircuit(func::FuncOp qnode, func::FuncOp fn) {
  OpBuilder b(fn);
  RecordedCircuit out{IRMapping(), Value(), {}, b};
  FailureOr<SmallVector<Value>> returned = cloneCircuitOfP(qnode, fn, b, out.mapping, out.count);
  if (failed(returned))
    return failure();
  out.returned = std::move(*returned);
  fn.walk([](quantum::AllocOp alloc) { alloc.setRecordTape(true); });
  quantum::DeallocOp dealloc;
  fn.walk([&](quantum::DeallocOp op) { dealloc = op; });
  if (dealloc)
    out.at.setInsertionPoint(dealloc);
  else
    out.at.setInsertionPointToEnd(&fn.getBody().front());
  return out;
}

/// `<qnode>.<suffix>` of `type`, marked with `role` (none: unmarked); when it is new, the
/// recorded circuit of p cloned into it and its measurements as the sweep takes them.
struct RecordedFunction {
  func::FuncOp fn;
  std::optional<RecordedCircuit> recorded; // none: the function existed
  SweepMeasurements measurements;
};

FailureOr<RecordedFunction> recordedFunction(func::FuncOp qnode, const Circuit &circuit,
                                             StringRef suffix, FunctionType type,
                                             StringRef role, SymbolTableCollection &symbols) {
  auto [fn, created] = getOrCreateFunction(qnode, suffix, type, symbols);
  RecordedFunction out{fn, std::nullopt, {}};
  if (!created)
    return out;
  if (!role.empty())
    markCircuit(fn, qnode, role);
  FailureOr<RecordedCircuit> recorded = cloneRecordedCircuit(qnode, fn);
  if (failed(recorded)) {
    fn.erase();
    return failure();
  }
  out.measurements = sweepMeasurements(circuit, recorded->mapping);
  out.recorded.emplace(std::move(*recorded));
  return out;
}

/// Adjoint method: the circuit records its gates and asks the runtime for the Jacobian of every
/// measurement entry (one vector per entry in the sweep).
FailureOr<func::FuncOp> adjointCircuit(func::FuncOp qnode, const Circuit &circuit,
                                       SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  FailureOr<RecordedFunction> made =
      recordedFunction(qnode, circuit, "with_jacobian.adjoint",
                       circuitType(b, qnode, circuit, true), kCircuitAttr, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  Type jacobianType = fn.getFunctionType().getResults().back();
  Value jacobian = quantum::AdjointJacobianOp::create(
      at, qnode.getLoc(), jacobianType, measurements.observables, measurements.qubits,
      circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  recorded->returned.push_back(jacobian);
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  func::ReturnOp::create(end, qnode.getLoc(), recorded->returned);
  return fn;
}

/// @q.shiftable_jacobian.adjoint(p, args) -> (<O> of each variance, J_F), as for
/// parameter-shift (shiftCircuit): one sweep gives the rows of the results and of each <O>, and
/// d<O^2> = d var + 2<O> d<O>.
FailureOr<func::FuncOp> adjointShiftableCircuit(func::FuncOp qnode, const Circuit &circuit,
                                                SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  Location loc = qnode.getLoc();
  auto f64 = b.getF64Type();
  auto scalarType = RankedTensorType::get({}, f64);
  SmallVector<int64_t> varRows; // of each variance in the flattened results
  int64_t row = 0;
  for (auto [kind, size] : llvm::zip(circuit.kinds, circuit.sizes)) {
    if (kind == Kind::Var)
      varRows.push_back(row);
    row += size;
  }
  int64_t m = circuit.numOutputs + varRows.size();
  SmallVector<Type> results(varRows.size(), scalarType);
  results.push_back(RankedTensorType::get({m, circuit.numParams}, f64));
  auto type = b.getFunctionType(circuitType(b, qnode, circuit, false).getInputs(), results);
  FailureOr<RecordedFunction> made = recordedFunction(
      qnode, circuit, "shiftable_jacobian.adjoint", type, kShiftableAttr, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  SmallVector<Value> expvals;
  for (auto [measured, kind] : llvm::zip(circuit.measured, circuit.kinds)) {
    if (kind != Kind::Var)
      continue;
    Value obs = recorded->mapping.lookup(cast<quantum::VarOp>(measured).getObs());
    measurements.observables.push_back(obs);
    measurements.kinds.push_back(0);
    expvals.push_back(quantum::ExpvalOp::create(at, loc, f64, obs));
  }
  Value jacobian = quantum::AdjointJacobianOp::create(
      at, loc, results.back(), measurements.observables, measurements.qubits,
      circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  SmallVector<Value> returned;
  for (auto [j, varRow] : llvm::enumerate(varRows)) {
    Value twoE = arith::MulFOp::create(end, loc, expvals[j], constantOf(end, loc, f64, 2.0));
    jacobian = addScaledRow(end, loc, jacobian, varRow, circuit.numOutputs + j, twoE);
    returned.push_back(tensor::FromElementsOp::create(end, loc, scalarType, expvals[j]));
  }
  returned.push_back(jacobian);
  func::ReturnOp::create(end, loc, returned);
  return fn;
}

/// Adjoint method, VJP form: @q.vjp.adjoint(p, args, ȳ) -> ȳᵀ dQ/dp, ȳ the flattened cotangent
/// of the results. The sweep carries two vectors whatever the number of measurement entries,
/// against one per entry for the Jacobian; it needs the circuit run again. Measured (3-layer
/// ansatz, 16 and 20 qubits): a tie with two entries, 1.6x faster with three, 6-8x with n.
FailureOr<func::FuncOp> adjointVJPCircuit(func::FuncOp qnode, const Circuit &circuit,
                                          SymbolTableCollection &symbols) {
  OpBuilder b(qnode);
  auto f64 = b.getF64Type();
  SmallVector<Type> inputs(circuitType(b, qnode, circuit, false).getInputs());
  inputs.push_back(RankedTensorType::get({circuit.numOutputs}, f64));
  auto type = b.getFunctionType(inputs, {RankedTensorType::get({circuit.numParams}, f64)});
  FailureOr<RecordedFunction> made =
      recordedFunction(qnode, circuit, "vjp.adjoint", type, kVJPAttr, symbols);
  if (failed(made) || !made->recorded)
    return failed(made) ? FailureOr<func::FuncOp>(failure()) : made->fn;
  func::FuncOp fn = made->fn;
  std::optional<RecordedCircuit> &recorded = made->recorded;
  OpBuilder &at = recorded->at;
  SweepMeasurements &measurements = made->measurements;
  Value cotangent = fn.getArguments().back();
  Value gradient = quantum::AdjointVJPOp::create(
      at, qnode.getLoc(), type.getResult(0), measurements.observables, measurements.qubits,
      cotangent, circuit.dynamic() ? recorded->count : Value(), measurements.kindsAttr(at),
      measurements.probsWiresAttr(at));
  OpBuilder end = OpBuilder::atBlockEnd(&fn.getBody().front());
  func::ReturnOp::create(end, qnode.getLoc(), gradient);
  // The results are not returned: their measurements go (the sweep reads the state itself).
  SmallVector<Value> worklist(recorded->returned);
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || !def->use_empty() ||
        !isa<tensor::FromElementsOp, quantum::ExpvalOp, quantum::VarOp, quantum::ProbsOp>(def))
      continue;
    llvm::append_range(worklist, def->getOperands());
    def->erase();
  }
  return fn;
}

/// @q.values(p, args): the circuit of p, results only; its rule calls @q.vjp.adjoint.
FailureOr<func::FuncOp> valuesCircuit(func::FuncOp qnode, const Circuit &circuit,
                                      SymbolTableCollection &symbols) {
  FailureOr<func::FuncOp> vjp = adjointVJPCircuit(qnode, circuit, symbols);
  if (failed(vjp))
    return failure();
  OpBuilder b(qnode);
  auto [fn, created] =
      getOrCreateFunction(qnode, "values", circuitType(b, qnode, circuit, false), symbols);
  if (!created)
    return fn;
  markCircuit(fn, qnode, kValuesAttr, FlatSymbolRefAttr::get(vjp->getSymNameAttr()));
  IRMapping mapping;
  Value count;
  FailureOr<SmallVector<Value>> returned = cloneCircuitOfP(qnode, fn, b, mapping, count);
  if (failed(returned)) {
    fn.erase();
    return failure();
  }
  func::ReturnOp::create(b, qnode.getLoc(), *returned);
  return fn;
}

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

/// p with p[k] shifted by `shift`.
Value shiftedParams(OpBuilder &b, Location loc, Value params, Value k, double shift) {
  Value pk = tensor::ExtractOp::create(b, loc, params, ValueRange{k});
  Value shifted =
      arith::AddFOp::create(b, loc, pk, constantOf(b, loc, b.getF64Type(), shift));
  return tensor::InsertOp::create(b, loc, shifted, params, ValueRange{k});
}

/// Parameter-shift: the circuit of p, evaluated at p and at shifted copies of p. A variance
/// is not of the trigonometric form the rules need, but <O^2> = var + <O>^2 and <O> are: the
/// circuit of p also returns <O> for each variance, the rules differentiate both, and
/// d var = d<O^2> - 2<O> d<O>.
///
/// `shiftable`: instead @q.shiftable_jacobian.parameter_shift(p, args) -> (<O> of each
/// variance, J_F), J_F the Jacobian of F = (the results with each variance replaced by <O^2>,
/// then the <O>s), whose entries have the trigonometric form second derivatives shift.
FailureOr<func::FuncOp> shiftCircuit(func::FuncOp qnode, const Circuit &circuit,
                                     SymbolTableCollection &symbols, bool shiftable = false) {
  OpBuilder b(qnode);
  Location loc = qnode.getLoc();
  auto f64 = b.getF64Type();
  auto scalarType = RankedTensorType::get({}, f64);
  SmallVector<unsigned> vars; // positions of the variance results
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
  markCircuit(fn, qnode, shiftable ? kShiftableAttr : kCircuitAttr);
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

  auto columnType = RankedTensorType::get({m}, f64);
  Value g = tensor::DimOp::create(b, loc, params, 0);
  Value transposedInit = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{g, b.getIndexAttr(m)}, f64);
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), g, indexConstant(b, loc, 1), ValueRange{transposedInit},
      [&](OpBuilder &lb, Location l, Value k, ValueRange acc) {
        Value column = shiftedColumn(lb, l, k, *rules, columnType, [&](OpBuilder &ob, double s) {
          return shiftableValues(ob, l,
                                 evaluate(ob, shiftedParams(ob, l, params, k, s)).getResults());
        });
        SmallVector<OpFoldResult> offsets{k, lb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes{lb.getIndexAttr(1), lb.getIndexAttr(m)};
        SmallVector<OpFoldResult> strides{lb.getIndexAttr(1), lb.getIndexAttr(1)};
        scf::YieldOp::create(lb, l, ValueRange{tensor::InsertSliceOp::create(
                                        lb, l, column, acc[0], offsets, sizes, strides)});
      });
  Value jacobian =
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(m), g}, f64);
  jacobian =
      linalg::TransposeOp::create(b, loc, loop.getResult(0), jacobian, ArrayRef<int64_t>{1, 0})
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

/// The QNode a circuit function was derived from (its kvant.qnode attribute), analysed at
/// `call`.
FailureOr<std::pair<func::FuncOp, Circuit>> circuitOrigin(func::CallOp call, func::FuncOp callee,
                                                          bool requireShiftRules) {
  auto qnodeRef = callee->getAttrOfType<FlatSymbolRefAttr>(kQNodeAttr);
  auto qnode = qnodeRef ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, qnodeRef)
                        : func::FuncOp();
  if (!qnode)
    return call.emitError("kvant cannot take higher derivatives of this circuit");
  FailureOr<Circuit> circuit = analyse(qnode, call, requireShiftRules);
  if (failed(circuit))
    return failure();
  return std::make_pair(qnode, std::move(*circuit));
}

/// The vector of Σ J̄ ∘ ∂_k J(p) over k (a contribution to p̄), by the shift rule of parameter k applied to a
/// Jacobian: `shiftedJacobian(b, p')` is a Jacobian at p' whose entries are of the
/// trigonometric form in every parameter.
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

/// p̄ += J̄ : dJ/dp for a call of a circuit with its Jacobian J. Each entry of J is of the
/// trigonometric form, and the shift rules apply to J itself, except for variances: their rows
/// d var = d<O^2> - 2<O> d<O> are products. With F the results with var replaced by <O^2>
/// plus the <O>s (shifted: J_F), and E = <O>:
///   ∂_k d var = ∂_k d<O^2> - 2 E ∂_k d<O> - 2 (∂_k E) d<O>,
/// so J̄ extended by the rows -2 E J̄_var is contracted with the shifted J_F, and the last term
/// is added at p.
LogicalResult secondOrder(ReverseSweep &s, func::CallOp call, func::FuncOp callee, Value jbar) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/true);
  if (failed(origin))
    return failure();
  func::FuncOp qnode = origin->first;
  const Circuit *circuit = &origin->second;
  Value params = call.getOperand(0);
  ValueRange args = call.getOperands().drop_front();
  SymbolTableCollection symbols;
  FailureOr<Value> rules = emitShiftRules(b, loc, qnode, *circuit, args, symbols);
  if (failed(rules))
    return failure();
  auto callAt = [&](OpBuilder &ob, func::FuncOp fn, Value p) {
    SmallVector<Value> operands{p};
    llvm::append_range(operands, args);
    return func::CallOp::create(ob, loc, fn, operands);
  };
  if (!llvm::is_contained(circuit->kinds, Kind::Var)) {
    s.accumulate(params, shiftedContraction(b, loc, params, *rules, jbar,
                                            [&](OpBuilder &ob, Value p) {
                                              return callAt(ob, callee, p).getResults().back();
                                            }));
    return success();
  }
  FailureOr<func::FuncOp> shiftable = circuit->adjoint
                                          ? adjointShiftableCircuit(qnode, *circuit, symbols)
                                          : shiftCircuit(qnode, *circuit, symbols, true);
  if (failed(shiftable))
    return failure();
  auto f64 = b.getF64Type();
  auto base = callAt(b, *shiftable, params);
  Value jacobianF = base.getResults().back();
  SmallVector<Value> extendedRows{jbar};
  Value extra = zerosLike(b, loc, params);
  int64_t row = 0, numVars = 0;
  for (auto [kind, size] : llvm::zip(circuit->kinds, circuit->sizes)) {
    if (kind == Kind::Var) {
      Value e = tensor::ExtractOp::create(b, loc, base.getResult(numVars), ValueRange{});
      Value minusTwoE = arith::MulFOp::create(b, loc, e, constantOf(b, loc, f64, -2.0));
      extendedRows.push_back(scaled(b, loc, minusTwoE, matrixRow(b, loc, jbar, row, true)));
      // - 2 (J̄_var · d<O>) d<O>
      Value dE = matrixRow(b, loc, jacobianF, circuit->numOutputs + numVars, false);
      Value weight = sumAll(
          b, loc, arith::MulFOp::create(b, loc, matrixRow(b, loc, jbar, row, false), dE));
      Value minusTwoW = arith::MulFOp::create(b, loc, weight, constantOf(b, loc, f64, -2.0));
      Value term = tensor::CastOp::create(b, loc, params.getType(), scaled(b, loc, minusTwoW, dE));
      extra = arith::AddFOp::create(b, loc, extra, term);
      ++numVars;
    }
    row += size;
  }
  Value extendedJbar = tensor::ConcatOp::create(b, loc, /*dim=*/0, extendedRows);
  Value shifted = shiftedContraction(b, loc, params, *rules, extendedJbar,
                                     [&](OpBuilder &ob, Value p) {
                                       return callAt(ob, *shiftable, p).getResults().back();
                                     });
  s.accumulate(params, arith::AddFOp::create(b, loc, shifted, extra));
  return success();
}

/// The rule of a call of a circuit with its Jacobian: p̄ = Σ_m ȳ_m J[m, :], ȳ the results'
/// cotangents flattened in order; plus, when J itself has a cotangent, the second-order term.
LogicalResult jacobianCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee,
                               ArrayRef<Value> cts) {
  Operation *op = call;
  unsigned numResults = op->getNumResults() - 1;
  Value jacobian = op->getResult(numResults);
  auto jacobianType = cast<RankedTensorType>(jacobian.getType());
  if (jacobianType.getDimSize(1) == 0)
    return success();
  if (cts[numResults] && failed(secondOrder(s, call, callee, cts[numResults])))
    return failure();
  if (llvm::none_of(cts.take_front(numResults), [](Value ct) { return bool(ct); }))
    return success();
  OpBuilder &b = s.builder();
  Location loc = op->getLoc();
  SmallVector<Value> weights;
  for (unsigned r = 0; r < numResults; ++r)
    weights.push_back(s.cotangentOrZeros(op->getResult(r), loc));
  Value ybar = flatten(b, loc, weights);
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  Value params = call.getOperand(0);
  auto product = linalg::GenericOp::create(
      b, loc, TypeRange{params.getType()}, ValueRange{ybar, jacobian},
      ValueRange{zerosLike(b, loc, params)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx), AffineMap::get(2, 0, {r, p}, ctx),
                          AffineMap::get(2, 0, {p}, ctx)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction, utils::IteratorType::parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  s.accumulate(params, product.getResult(0));
  return success();
}

/// The rule of a call of @q.values: p̄ += @q.vjp.adjoint(p, args, ȳ).
LogicalResult valuesCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee) {
  Value params = call.getOperand(0);
  if (cast<RankedTensorType>(params.getType()).getDimSize(0) == 0)
    return success();
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto vjp = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, callee->getAttrOfType<FlatSymbolRefAttr>(kValuesAttr));
  if (!vjp)
    return call.emitError("kvant lost the VJP function of this circuit");
  SmallVector<Value> weights;
  for (Value result : call.getResults())
    weights.push_back(s.cotangentOrZeros(result, loc));
  SmallVector<Value> operands(call.getOperands());
  operands.push_back(flatten(b, loc, weights));
  s.accumulate(params, func::CallOp::create(b, loc, vjp, operands).getResult(0));
  return success();
}

/// The rule of a call of @q.vjp.adjoint (a derivative being differentiated again): its result
/// ȳᵀJ(p) is linear in ȳ and has the cotangent c, so ȳ gets J c, and p gets the second-order
/// term of J with J̄ = ȳ cᵀ, from a call of the Jacobian circuit at the same p.
LogicalResult vjpCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee, Value c) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/false);
  if (failed(origin))
    return failure();
  SymbolTableCollection symbols;
  FailureOr<func::FuncOp> jacobianFn = adjointCircuit(origin->first, origin->second, symbols);
  if (failed(jacobianFn))
    return failure();
  Value ybar = call.getOperands().back();
  auto jacobianCall =
      func::CallOp::create(b, loc, *jacobianFn, call.getOperands().drop_back());
  Value jacobian = jacobianCall.getResults().back();
  MLIRContext *ctx = b.getContext();
  AffineExpr r = getAffineDimExpr(0, ctx), p = getAffineDimExpr(1, ctx);
  auto parallel = utils::IteratorType::parallel, reduction = utils::IteratorType::reduction;
  // ȳ̄ = J c
  auto jc = linalg::GenericOp::create(
      b, loc, TypeRange{ybar.getType()}, ValueRange{jacobian, c}, ValueRange{zerosLike(b, loc, ybar)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r, p}, ctx), AffineMap::get(2, 0, {p}, ctx),
                          AffineMap::get(2, 0, {r}, ctx)},
      ArrayRef<utils::IteratorType>{parallel, reduction},
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value term = arith::MulFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, ValueRange{arith::AddFOp::create(nb, l, args[2], term)});
      });
  s.accumulate(ybar, jc.getResult(0));
  // J̄ = ȳ cᵀ
  auto outer = linalg::GenericOp::create(
      b, loc, TypeRange{jacobian.getType()}, ValueRange{ybar, c},
      ValueRange{zerosLike(b, loc, jacobian)},
      ArrayRef<AffineMap>{AffineMap::get(2, 0, {r}, ctx), AffineMap::get(2, 0, {p}, ctx),
                          AffineMap::get(2, 0, {r, p}, ctx)},
      ArrayRef<utils::IteratorType>{parallel, parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l,
                                ValueRange{arith::MulFOp::create(nb, l, args[0], args[1])});
      });
  return secondOrder(s, jacobianCall, *jacobianFn, outer.getResult(0));
}

/// The rule of a call of @q.shiftable_jacobian (a second derivative through variances being
/// differentiated again): each <O> gets the row d<O> of J_F at the same p, and J_F, whose
/// entries are all of the trigonometric form, is shifted as the Jacobians of secondOrder are.
LogicalResult shiftableCallRule(ReverseSweep &s, func::CallOp call, func::FuncOp callee,
                                ArrayRef<Value> cts) {
  OpBuilder &b = s.builder();
  Location loc = call.getLoc();
  auto origin = circuitOrigin(call, callee, /*requireShiftRules=*/true);
  if (failed(origin))
    return failure();
  func::FuncOp qnode = origin->first;
  const Circuit *circuit = &origin->second;
  Value params = call.getOperand(0);
  ValueRange args = call.getOperands().drop_front();
  unsigned numVars = call.getNumResults() - 1;
  Value jacobianF = call.getResults().back();
  for (unsigned j = 0; j < numVars; ++j) {
    if (!cts[j])
      continue;
    Value dE = matrixRow(b, loc, jacobianF, circuit->numOutputs + j, false);
    Value ebar = tensor::ExtractOp::create(b, loc, cts[j], ValueRange{});
    s.accumulate(params, tensor::CastOp::create(b, loc, params.getType(), scaled(b, loc, ebar, dE)));
  }
  if (Value jbar = cts.back()) {
    SymbolTableCollection symbols;
    FailureOr<Value> rules = emitShiftRules(b, loc, qnode, *circuit, args, symbols);
    if (failed(rules))
      return failure();
    auto shiftedJacobian = [&](OpBuilder &ob, Value p) {
      SmallVector<Value> operands{p};
      llvm::append_range(operands, args);
      return func::CallOp::create(ob, loc, callee, operands).getResults().back();
    };
    s.accumulate(params, shiftedContraction(b, loc, params, *rules, jbar, shiftedJacobian));
  }
  return success();
}

/// Calls of the circuit functions this file creates; other calls were inlined before the sweep.
LogicalResult circuitCallRule(ReverseSweep &s, Operation *op, ArrayRef<Value> cts) {
  auto call = cast<func::CallOp>(op);
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
  if (callee && callee->hasAttr(kCircuitAttr))
    return jacobianCallRule(s, call, callee, cts);
  if (callee && callee->hasAttr(kValuesAttr))
    return valuesCallRule(s, call, callee);
  if (callee && callee->hasAttr(kVJPAttr))
    return vjpCallRule(s, call, callee, cts[0]);
  if (callee && callee->hasAttr(kShiftableAttr))
    return shiftableCallRule(s, call, callee, cts);
  return op->emitError() << "kvant cannot differentiate this call of '" << call.getCallee()
                         << "'";
}

} // namespace

bool kvant::gradient::isCircuitFunction(func::FuncOp fn) {
  return fn->hasAttr(kCircuitAttr) || fn->hasAttr(kValuesAttr) || fn->hasAttr(kVJPAttr) ||
         fn->hasAttr(kShiftableAttr);
}

FailureOr<SmallVector<Value>>
kvant::gradient::inlineQNodeCall(OpBuilder &b, Operation *site, func::FuncOp qnode,
                                 ValueRange args, SymbolTableCollection &symbols,
                                 SmallVectorImpl<Operation *> &forward, bool oneCotangent) {
  FailureOr<Circuit> circuit = analyse(qnode, site);
  if (failed(circuit))
    return failure();
  Location loc = site->getLoc();
  // The skeleton: the QNode's classical ops, filling p. Its top-level ops, whatever they are,
  // are the forward ops the sweep reverses.
  Block *block = b.getInsertionBlock();
  Block::iterator end = b.getInsertionPoint();
  Operation *last = end == block->begin() ? nullptr : &*std::prev(end);
  FailureOr<Value> p = emitParameterVector(
      b, loc, qnode, args, *circuit, b.getF64Type(),
      [](OpBuilder &, quantum::DifferentiableGate gate, unsigned i, IRMapping &mapping) {
        return mapping.lookup(gate.getDiffParams()[i]);
      });
  if (failed(p))
    return failure();
  // One cotangent and several measurement entries: the adjoint sweep's VJP form (two vectors)
  // against its Jacobian (one vector per entry), for one more run of the circuit; even at two
  // entries, ahead from three (adjointVJPCircuit).
  bool vjpForm = circuit->adjoint && oneCotangent && circuit->numOutputs > 1;
  FailureOr<func::FuncOp> fn = vjpForm             ? valuesCircuit(qnode, *circuit, symbols)
                               : circuit->adjoint ? adjointCircuit(qnode, *circuit, symbols)
                                                  : shiftCircuit(qnode, *circuit, symbols);
  if (failed(fn))
    return failure();
  SmallVector<Value> operands{*p};
  llvm::append_range(operands, args);
  auto circuitCall = func::CallOp::create(b, loc, *fn, operands);
  for (auto it = last ? std::next(last->getIterator()) : block->begin(); it != end; ++it)
    forward.push_back(&*it);
  ValueRange results = circuitCall.getResults();
  return SmallVector<Value>(vjpForm ? results : results.drop_back());
}

/// What a quantum op takes in its operand `index`, for messages.
static std::string describeQuantumOperand(Operation *op, unsigned index) {
  if (isa<quantum::UnitaryOp>(op))
    return "the matrix of a QubitUnitary";
  if (isa<quantum::StatePrepOp>(op))
    return "the amplitudes of a StatePrep";
  if (isa<quantum::HermitianOp>(op))
    return "the matrix of a Hermitian observable";
  if (isa<quantum::HamiltonianOp>(op))
    return "the coefficients of a Hamiltonian";
  return ("operand " + Twine(index) + " of '" + op->getName().getStringRef() + "'").str();
}

LogicalResult kvant::gradient::checkOnlyGateParametersVary(func::CallOp call,
                                                           function_ref<bool(Value)> isVaried) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, call.getCalleeAttr());
  if (!callee || !isCircuitFunction(callee))
    return success();
  auto qnodeRef = callee->getAttrOfType<FlatSymbolRefAttr>(kQNodeAttr);
  auto qnode = qnodeRef ? SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(call, qnodeRef)
                        : func::FuncOp();
  if (!qnode || qnode.isExternal())
    return success();
  // Operand 0 is the gate-parameter vector; the QNode's arguments follow.
  SmallVector<Value> seeds;
  for (auto [i, arg] : llvm::enumerate(qnode.getArguments()))
    if (1 + i < call.getNumOperands() && isVaried(call.getOperand(1 + i)))
      seeds.push_back(arg);
  OpOperand *lost = nullptr;
  dependentValues(seeds, [&](OpOperand &use) {
    Operation *user = use.getOwner();
    if (!isQuantumOp(user))
      return true;
    auto gate = dyn_cast<quantum::DifferentiableGate>(user);
    bool isParameter = gate && llvm::any_of(gate.getDiffParamsMutable(), [&](OpOperand &param) {
                         return &param == &use;
                       });
    if (!isParameter && !lost && isDifferentiableType(use.get().getType()))
      lost = &use;
    return false; // the circuit's derivative takes over from gate parameters
  });
  if (!lost)
    return success();
  InFlightDiagnostic diag =
      call.emitError() << "QNode '" << displayName(qnode) << "': a value computed from a "
                       << "differentiated argument is used as "
                       << describeQuantumOperand(lost->getOwner(), lost->getOperandNumber())
                       << "; method=\"auto\" "
                       << "differentiates circuits through their gate parameters only (use gates "
                       << "with parameters, or method=\"fd\")";
  diag.attachNote(lost->getOwner()->getLoc()) << "the quantum operation is here";
  return failure();
}

void kvant::gradient::inlineDynamicallyShapedCircuits(ModuleOp module) {
  SmallVector<func::FuncOp> inlined;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr(kInlineAttr))
      inlined.push_back(fn);
  if (inlined.empty())
    return;
  // An inlined body may call another such function (second derivatives): until none is left.
  while (true) {
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
      if (callee && callee->hasAttr(kInlineAttr) && call->getParentOfType<func::FuncOp>() != callee)
        calls.push_back(call);
    });
    if (calls.empty())
      break;
    for (func::CallOp call : calls) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
      Block &body = callee.getBody().front();
      IRMapping mapping;
      mapping.map(body.getArguments(), call.getOperands());
      OpBuilder b(call);
      for (Operation &op : body.without_terminator())
        b.clone(op, mapping);
      for (auto [result, returned] :
           llvm::zip(call.getResults(), body.getTerminator()->getOperands()))
        result.replaceAllUsesWith(mapping.lookupOrDefault(returned));
      call.erase();
    }
  }
  for (func::FuncOp fn : inlined)
    fn.erase();
}

void kvant::gradient::addQuantumRules(llvm::StringMap<OpRule> &rules) {
  rules["func.call"] = circuitCallRule;
}
