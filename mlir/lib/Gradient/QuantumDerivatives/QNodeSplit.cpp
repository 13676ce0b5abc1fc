//===- QNodeSplit.cpp - a QNode call as its skeleton and a circuit call --------------===//
//
// See QuantumDerivatives.h for the split. For a QNode @q the circuit function is
//
//   func.func private @q.with_jacobian.<method>(%p: tensor<Gxf64>, <q's arguments>)
//       -> (<q's results>, tensor<MxGxf64>)
//       attributes {gradient.circuit = #gradient.circuit<jacobian of @q>}
//
// returning, next to q's results, the Jacobian of their M elements (flattened in order) with
// respect to the G gate parameters; its k-th gate parameter is read from %p[k], k counting the
// parameters in the order the gates run (ParameterThreading.h). G is dynamic (`?`) when gates sit
// inside loops or branches (AdjointCircuits.h, ShiftCircuits.h for the two methods).
//
// After every derivative is built, circuit functions with results of dynamic shape are inlined
// into their callers (inlineDynamicallyShapedCircuits).
//
//===----------------------------------------------------------------------------------===//

#include "AdjointCircuits.h"
#include "CircuitFunctions.h"
#include "ShiftCircuits.h"
#include "kvant/Gradient/QuantumDerivatives/QuantumDerivatives.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace kvant::gradient;
namespace quantum = kvant::quantum;
using namespace kvant::gradient::circuits;

FailureOr<SmallVector<Value>>
kvant::gradient::inlineQNodeCall(OpBuilder &b, Operation *site, func::FuncOp qnode, ValueRange args,
                                 SymbolTableCollection &symbols,
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
  FailureOr<func::FuncOp> fn = vjpForm            ? valuesCircuit(qnode, *circuit, symbols)
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

void kvant::gradient::inlineDynamicallyShapedCircuits(ModuleOp module) {
  StringRef inlineAttr = GradientDialect::getInlineWhenExpandedAttrName();
  SmallVector<func::FuncOp> inlined;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr(inlineAttr))
      inlined.push_back(fn);
  if (inlined.empty())
    return;
  // An inlined body may call another such function (second derivatives): until none is left.
  while (true) {
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
      if (callee && callee->hasAttr(inlineAttr) && call->getParentOfType<func::FuncOp>() != callee)
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
