//===- ForwardMode.h - forward-mode differentiation of tensor-level code ----*- C++ -*-===//
//
// kvant's forward mode (docs/gradients.md), the counterpart of ReverseMode.h. The forward code
// is emitted first (a clone of the function being differentiated, as for the reverse sweep); a
// `ForwardSweep` then walks its ops in program order and emits, at its builder, the ops that
// turn the tangents of each op's operands into the tangents of its results: one tangent rule
// per op. A Jacobian-vector product J·v therefore costs the forward code plus its tangent code
// (a small multiple of one evaluation), whatever the number of arguments.
//
// Ops with regions (scf loops and branches) cannot have their tangents computed after them:
// the values inside are gone. Their rule builds, at the builder, a copy of the op that carries
// the tangents beside the primal values (extra iteration arguments, results and yields) and
// whose body is swept in place. The primal op stays where it was; inside a copied region the
// copy replaces the original.
//
// Rules come, as for the reverse sweep, from a table the pass assembles:
//  - elementwise arith/math ops: their scalar rules are the reverse ones (ScalarRules.cpp). For
//    a real y = f(x_1, ..., x_n) the reverse rule applied to the cotangent 1 gives the partial
//    derivatives ∂f/∂x_i (the same formula, with the value JAX takes where it is undefined), so
//    ẏ = Σ_i ∂f/∂x_i ẋ_i: one formula per op serves both modes. Ops whose rule is not a
//    partial derivative of one type (extf, truncf, select) have their own tangent rules. Complex
//    values are refused by name: a holomorphic rule gives conj(f'), and re/im/abs are not
//    holomorphic at all, so they need rules of their own first;
//  - op rules by op name: tensor ops (linear in their tensor operands: the same op on the
//    tangents), linalg structured ops (the generic form with tangent operands, its body swept),
//    scf loops and branches;
//  - callee rules for the calls left in the forward code, by an attribute of the callee (the
//    circuit functions of QNodes: ẏ = J_Q ṗ). A call without a rule is refused by name.
//
// Integer, index and boolean values carry no tangent. A null tangent stands for zero.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_AUTODIFF_FORWARDMODE_H
#define KVANT_GRADIENT_AUTODIFF_FORWARDMODE_H

#include "kvant/Gradient/AutoDiff/ReverseMode.h"

namespace kvant::gradient {

class ForwardSweep;

/// Tangent rule: emit, at sweep.builder(), the tangents of `op`'s results (sweep.setTangent)
/// from the tangents of its operands (sweep.tangent; null = zero, at least one is not null).
using TangentRule = mlir::LogicalResult (*)(ForwardSweep &sweep, mlir::Operation *op);

/// The rules one forward sweep applies (see the top of this file).
struct TangentRuleTable {
  /// Elementwise ops by name: their reverse scalar rules, read as partial derivatives.
  llvm::StringMap<ScalarRule> scalar;
  /// Other ops, by op name.
  llvm::StringMap<TangentRule> ops;
  /// Calls (of a symbol), by the name of a discardable attribute of the callee.
  llvm::StringMap<TangentRule> callees;
  /// Calls refused by name, by the name of a discardable attribute of the callee, with what
  /// the callee is (for the message).
  llvm::StringMap<std::string> refusedCallees;
};

/// The tangent rules of the classical dialects: elementwise arith and math (from the reverse
/// scalar rules in `reverse`), tensor, linalg and scf.
void addClassicalTangentRules(TangentRuleTable &rules, const RuleTable &reverse);

class ForwardSweep {
public:
  ForwardSweep(mlir::OpBuilder &builder, const TangentRuleTable &rules)
      : b(builder), table(rules) {}

  mlir::OpBuilder &builder() { return b; }
  const TangentRuleTable &rules() const { return table; }

  /// The tangent of `value`; null when none (zero).
  mlir::Value tangent(mlir::Value value) const { return tangents.lookup(value); }
  /// The tangent of `value`, materialised as zeros when none.
  mlir::Value tangentOrZeros(mlir::Value value, mlir::Location loc);
  /// Records `t` as the tangent of `value` (ignored for non-differentiable values or null t).
  void setTangent(mlir::Value value, mlir::Value t);

  /// Emits the tangents of `ops` (forward ops, in program order) at the builder's insertion
  /// point. Fails, with an error on the op, when an op that gets a tangent has no rule.
  mlir::LogicalResult run(llvm::ArrayRef<mlir::Operation *> ops);

  /// Sweeps the ops of `block` (not its terminator) in place: each op's tangent code right
  /// after it, an op with regions replaced by its copy that carries tangents.
  mlir::LogicalResult runInPlace(mlir::Block &block);

  /// Whether `op` takes a tangent: an operand, or a value its regions capture, has one.
  bool hasTangentInput(mlir::Operation *op);

  /// For the rules of ops with regions, once they have built `op`'s copy that carries
  /// tangents: `primal` are the copy's results standing for op's, `tangentsOut` their tangents.
  /// In place, the copy replaces `op` (erased); otherwise `op` stays and gets the tangents.
  void finishCopy(mlir::Operation *op, mlir::ValueRange primal,
                  llvm::ArrayRef<mlir::Value> tangentsOut);

  /// Erases `op`, which the sweep has seen, and forgets the tangents of the values it defines
  /// (a later value may reuse their storage).
  void erase(mlir::Operation *op);

private:
  mlir::LogicalResult apply(mlir::Operation *op, bool inPlace);

  mlir::OpBuilder &b;
  const TangentRuleTable &table;
  llvm::DenseMap<mlir::Value, mlir::Value> tangents;
  /// Whether the op being handled is swept in place (see runInPlace).
  bool inPlace = false;
};

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_AUTODIFF_FORWARDMODE_H
