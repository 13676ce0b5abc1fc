//===- ReverseMode.h - reverse-mode differentiation of tensor-level code ----*- C++ -*-===//
//
// kvant's classical automatic differentiation (docs/gradients.md). The forward code is
// emitted first (a clone of the function being differentiated); `ReverseSweep` then walks its
// ops backwards and emits, after them, the ops that turn result cotangents into operand
// cotangents, one derivative rule per op.
//
// The sweep knows no op: it applies the rules of a RuleTable, which the pass that differentiates
// (ExpandAutoDiff) assembles from the rule sets of the dialects it handles. Rules come in three
// kinds, each kept in one map of the table:
//  - scalar rules (ScalarRules.cpp) for elementwise arith/math/complex ops, written on scalars.
//    The sweep applies them to scalars directly, to rank-0 tensors through their element, and
//    to other tensors inside a linalg.generic, so one rule serves every shape (and the scalar
//    bodies of linalg ops);
//  - op rules for everything else, by op name: tensor and linalg ops (TensorRules.cpp), scf
//    loops and branches (ControlFlowRules.cpp);
//  - callee rules for the calls left in the forward code (calls of other functions are inlined
//    before the sweep), by an attribute their callee carries: the calls of the circuit functions
//    of QNodes (QuantumRules.cpp, keyed on gradient.circuit).
// Rules emit ordinary ops that have rules themselves, so derivatives can be differentiated again.
//
// Integer, index and boolean values carry no cotangent. A null cotangent stands for zero and is
// never materialised unless an op needs it.
//
// Complex values carry complex cotangents. The cotangent of z = x + iy (L real, the quantity
// being differentiated) is the complex number  z̄ = ∂L/∂x + i ∂L/∂y:  a complex value is a pair
// of reals and its cotangent the pair of theirs. Then for a holomorphic w = f(z),
// z̄ += w̄ · conj(f'(z)); for w = z1 z2, z̄1 += w̄ · conj(z2) (so C = A B gives Ā += C̄ B^H);
// re(z): z̄ += complex(x̄, 0); im(z): z̄ += complex(0, ȳ); complex(x, y): x̄ += re(w̄),
// ȳ += im(w̄). Real values keep real cotangents: only re, im, abs (and the like) lead from a
// complex value to a real one, and their rules give real cotangents to real operands, so a
// differentiated (real) argument receives a real cotangent. JAX's internal convention is the
// conjugate (its cotangent of z is ∂L/∂x - i ∂L/∂y); derivatives of real functions of real
// arguments, all that kvant differentiates, are the same under both.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_AUTODIFF_REVERSEMODE_H
#define KVANT_GRADIENT_AUTODIFF_REVERSEMODE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LLVM.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

namespace kvant::gradient {

/// Whether values of `type` carry a cotangent: floats, complex numbers of floats, and tensors
/// of either.
bool isDifferentiableType(mlir::Type type);

/// Whether `type` is a complex number or a tensor of them.
bool hasComplexElements(mlir::Type type);

/// Zeros of `type` (a float or complex scalar, or such a tensor with static shape).
mlir::Value zerosOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type);

/// x + y for two values of one differentiable type (float or complex, scalar or tensor of any
/// shape): how cotangents are summed.
mlir::Value addValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);

/// x - y, as addValues.
mlir::Value subValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);

/// Zeros of the type of `like`, whose tensor shape may be dynamic (sizes read from `like`).
mlir::Value zerosLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value like);

/// The values that depend on `seeds` along values that carry cotangents (floats and complex
/// numbers; an integer or a comparison cuts the path): through ops, into the regions of the ops
/// that take them, and out through region terminators. `follow(use)` may stop the propagation
/// at a use (the use is still seen). The seeds are included.
llvm::DenseSet<mlir::Value>
dependentValues(mlir::ArrayRef<mlir::Value> seeds,
                llvm::function_ref<bool(mlir::OpOperand &)> follow = nullptr);

/// Differentiable values the regions of `op` use but do not define.
llvm::SmallVector<mlir::Value> capturedDifferentiable(mlir::Operation *op);

/// `value` (a real number) as a constant of `type`: a scalar or a splat tensor, of floats or of
/// complex numbers (imaginary part 0).
mlir::Value constantOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type, double value);

class ReverseSweep;

/// Scalar rule: given the op's scalar operands and result and the result's cotangent `ct`
/// (never null), set operandCts[i] to the cotangent of operand i (leave null for none).
using ScalarRule = void (*)(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange operands,
                            mlir::Value result, mlir::Value ct,
                            llvm::MutableArrayRef<mlir::Value> operandCts);

/// Op rule: emit the cotangents of `op`'s operands through sweep.accumulate, given the
/// cotangents of its results (null = zero; at least one is not null).
using OpRule = mlir::LogicalResult (*)(ReverseSweep &sweep, mlir::Operation *op,
                                       llvm::ArrayRef<mlir::Value> resultCts);

/// The rules one reverse sweep applies (see the top of this file).
struct RuleTable {
  /// Elementwise ops, written on scalars, by op name.
  llvm::StringMap<ScalarRule> scalar;
  /// Other ops, by op name.
  llvm::StringMap<OpRule> ops;
  /// Calls (of a symbol), by the name of a discardable attribute of the callee.
  llvm::StringMap<OpRule> callees;
  /// Dialects whose ops act on state that no value carries (a simulator), by namespace, with
  /// what their ops are (for messages): a loop around them cannot be run again to be recorded.
  llvm::StringMap<std::string> stateful;
};

/// The rule sets of the classical dialects: arith, math and complex (ScalarRules.cpp); tensor
/// and linalg (TensorRules.cpp); scf (ControlFlowRules.cpp).
void addScalarRules(RuleTable &rules);
void addTensorRules(RuleTable &rules);
void addControlFlowRules(RuleTable &rules);

class ReverseSweep {
public:
  ReverseSweep(mlir::OpBuilder &builder, const RuleTable &rules) : b(builder), table(rules) {}

  mlir::OpBuilder &builder() { return b; }
  /// The rules this sweep applies; a rule that reverses a region runs a sweep with them too.
  const RuleTable &rules() const { return table; }

  /// Adds `ct` to the cotangent of `value` (ignored for non-differentiable values).
  void accumulate(mlir::Value value, mlir::Value ct);
  /// Adds `ct` to the slice of `value`'s cotangent at offsets/sizes/strides (`ct` has the
  /// slice's type). Touches only the slice: the reverse of G reads of single elements of one
  /// tensor is O(G), not G adds of the whole tensor.
  void accumulateSlice(mlir::Value value, mlir::Value ct,
                       llvm::ArrayRef<mlir::OpFoldResult> offsets,
                       llvm::ArrayRef<mlir::OpFoldResult> sizes,
                       llvm::ArrayRef<mlir::OpFoldResult> strides);
  /// Adds the scalar `ct` to the element of `value`'s cotangent at `indices`. The element
  /// waits until the cotangent is read: with constant indices into a small static tensor, all
  /// are then built in one tensor.from_elements; other indices, when there are many, are added
  /// by one loop over a table of them. Either way the reverse of G reads x[i] (a QNode's gate
  /// parameters) is not a chain of G inserts, whose bufferization takes O(G^2) or worse.
  void accumulateElement(mlir::Value value, mlir::Value ct, mlir::ValueRange indices);
  /// The cotangent accumulated for `value`; null when none (zero).
  mlir::Value cotangent(mlir::Value value);
  /// The cotangent of `value`, materialised as zeros when none was accumulated.
  mlir::Value cotangentOrZeros(mlir::Value value, mlir::Location loc);

  /// Emits the reverse of `ops` (forward ops, in program order) at the builder's insertion
  /// point. Fails, with an error on the op, when an op whose results carry a cotangent has no
  /// rule.
  mlir::LogicalResult run(llvm::ArrayRef<mlir::Operation *> ops);

  /// Applies the scalar rule of elementwise `op` to its operands, whatever their shape.
  mlir::LogicalResult reverseElementwise(mlir::Operation *op, ScalarRule rule, mlir::Value ct);

private:
  /// Adds the elements waiting for `value` into its cotangent.
  void flushElements(mlir::Value value);
  void flushConstantElements(mlir::Value value);
  void flushIndexedElements(mlir::Value value);

  mlir::OpBuilder &b;
  const RuleTable &table;
  llvm::DenseMap<mlir::Value, mlir::Value> cotangents;
  /// Per tensor: (linear index, scalar cotangent) contributions not yet in `cotangents`.
  llvm::DenseMap<mlir::Value, llvm::SmallVector<std::pair<int64_t, mlir::Value>>> elements;
  /// Per tensor: (indices, scalar cotangent) contributions at other indices, in order.
  llvm::DenseMap<mlir::Value,
                 llvm::SmallVector<std::pair<llvm::SmallVector<mlir::Value>, mlir::Value>>>
      indexedElements;
};

/// Cotangents out of a reversed block (null = zero).
struct ReversedBlock {
  llvm::SmallVector<mlir::Value> argCts, capturedCts;
};

/// Clones `block` (without its terminator) at the builder with `args` for its arguments and
/// reverses the clones with `rules`, seeded with `yieldCts` on the terminator's operands (null
/// = zero). Returns the cotangents of `args` and of `captured` (values the block uses from
/// outside). Serves linalg bodies (one iteration point) and scf regions alike.
mlir::FailureOr<ReversedBlock> reverseBlock(mlir::OpBuilder &b, const RuleTable &rules,
                                            mlir::Block &block, mlir::ValueRange args,
                                            llvm::ArrayRef<mlir::Value> yieldCts,
                                            llvm::ArrayRef<mlir::Value> captured);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_AUTODIFF_REVERSEMODE_H
