//===- AutoMethod.h - which QNodes method="auto" differentiates, and how ----*- C++ -*-===//
//
// The one admissibility table of method="auto" (docs/gradients.md, "Choosing the quantum
// method" and "What is refused"; docs/grad-semantics.md for the exceptions): from what a QNode
// declares — its diff_method, what each result measures, its shots, its gates with a
// grad_recipe of their own — either the quantum method that differentiates it or the refusal,
// with its kind and its reason.
//
// Both paths ask it. The frontend asks while it traces a derivative, through the Python
// extension (`_kvant_mlir.auto_method`), and raises the Python exception the kind names
// (frontend/kvant/api/differentiation.py); gradient-expand-auto asks from #quantum.node
// (QNodeAnalysis.cpp) and reports the reason as an error. What depends on the QNode's body —
// gates in regions kvant cannot differentiate, sampled mid-circuit measurements, missing shift
// rules — is found by QNodeAnalysis alone, in the IR.
//
// Plain C++ over LLVM's ADT: the extension calls it without any MLIR context.
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_GRADIENT_QUANTUMDERIVATIVES_AUTOMETHOD_H
#define KVANT_GRADIENT_QUANTUMDERIVATIVES_AUTOMETHOD_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kvant::gradient {

/// How method="auto" differentiates an admitted QNode.
enum class QuantumMethod { Adjoint, ParameterShift };

/// Why method="auto" refuses a QNode. Each kind is one Python exception type in the frontend.
enum class AutoRefusal {
  NonDifferentiable, // diff_method=None
  MethodNotForAuto,  // finite-diff, device, spsa, hadamard: another device's or tool's method
  StateResult,       // qml.state()
  GradRecipe,        // gates with a grad_recipe of their own, where PennyLane would shift
  ShotsWithAdjoint,  // the adjoint method has no shot semantics
  SampledStatistic,  // with shots, an estimate of something else than expval or probs
};

/// What a QNode declares (the fields of #quantum.node, and what the frontend knows besides).
struct QNodeDeclaration {
  /// The QNode's diff_method; "None" for diff_method=None.
  llvm::StringRef diffMethod = "best";
  /// What each result measures (#quantum.node's kinds: "expval", "var", "probs", "sample",
  /// "counts", "state", "other"); empty when not declared.
  llvm::ArrayRef<llvm::StringRef> measurements;
  /// The number of shots; 0 for exact results.
  int64_t shots = 0;
  /// Gates whose class defines its own grad_recipe. Only the frontend sees them (they are
  /// PennyLane classes, lowered to kvant's gates); the IR declares none.
  llvm::ArrayRef<llvm::StringRef> recipeGates;
};

/// The table's answer: a method, or a refusal and its reason.
struct AutoDecision {
  std::optional<QuantumMethod> method;                  // set when the QNode is admitted
  AutoRefusal refusal = AutoRefusal::NonDifferentiable; // else, and:
  std::string reason; // "QNode 'name' " followed by the reason reads as a sentence

  bool admitted() const { return method.has_value(); }
};

/// The method that differentiates a QNode declaring `declaration`, or why none does.
AutoDecision decideAutoMethod(const QNodeDeclaration &declaration);

/// The name of a refusal kind (what the Python extension returns): "non_differentiable", ...
llvm::StringRef stringifyAutoRefusal(AutoRefusal refusal);

/// "adjoint" or "parameter-shift", as diff_method spells them.
llvm::StringRef stringifyQuantumMethod(QuantumMethod method);

} // namespace kvant::gradient

#endif // KVANT_GRADIENT_QUANTUMDERIVATIVES_AUTOMETHOD_H
