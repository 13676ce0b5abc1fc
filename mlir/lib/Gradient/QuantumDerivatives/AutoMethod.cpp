//===- AutoMethod.cpp - which QNodes method="auto" differentiates, and how ------------===//
//
// See AutoMethod.h. The reasons are written for the user of the frontend (Python spellings:
// diff_method='adjoint', method='fd'), who reads them after "QNode 'name' ".
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Gradient/QuantumDerivatives/AutoMethod.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace kvant::gradient;

namespace {

AutoDecision refuse(AutoRefusal refusal, std::string reason) {
  AutoDecision decision;
  decision.refusal = refusal;
  decision.reason = std::move(reason);
  return decision;
}

} // namespace

AutoDecision kvant::gradient::decideAutoMethod(const QNodeDeclaration &declaration) {
  llvm::StringRef diffMethod = declaration.diffMethod;
  bool sampled = declaration.shots != 0;
  std::string shots = "shots=" + std::to_string(declaration.shots);

  // The diff_method: kvant differentiates with the adjoint sweep or shifted circuits.
  if (diffMethod == "None")
    return refuse(AutoRefusal::NonDifferentiable,
                  "is marked non-differentiable (diff_method=None)");
  if (diffMethod != "best" && diffMethod != "adjoint" && diffMethod != "parameter-shift")
    return refuse(AutoRefusal::MethodNotForAuto,
                  "has diff_method='" + diffMethod.str() +
                      "', which kvant does not use with method='auto'; use "
                      "diff_method='adjoint' or 'parameter-shift', or differentiate the whole "
                      "program with method='fd'");

  // What the results are: the state is a complex vector, not a measurement.
  if (llvm::is_contained(declaration.measurements, "state"))
    return refuse(AutoRefusal::StateResult,
                  "returns qml.state(), which is not differentiable with method='auto' "
                  "(parameter-shift and adjoint differentiate measurements: expval, var, "
                  "probs); use method='fd' for a real function of the state");

  // PennyLane's parameter-shift applies a gate's own grad_recipe (any rule, exact or not);
  // its adjoint and backprop methods ignore it. kvant shifts by the exact rules only.
  bool pennylaneShifts = diffMethod == "parameter-shift" || (diffMethod == "best" && sampled);
  if (pennylaneShifts && !declaration.recipeGates.empty()) {
    llvm::SmallVector<llvm::StringRef> names(declaration.recipeGates);
    llvm::sort(names);
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return refuse(AutoRefusal::GradRecipe,
                  "has gates with a grad_recipe of their own (" + llvm::join(names, ", ") +
                      "), which PennyLane's parameter-shift method uses; kvant shifts gates by "
                      "their exact rules and does not apply such recipes: use "
                      "diff_method='adjoint' (exact), or method='fd'");
  }

  if (sampled && diffMethod == "adjoint")
    return refuse(AutoRefusal::ShotsWithAdjoint,
                  "has " + shots +
                      "; the adjoint method computes exact derivatives of the state and has no "
                      "shot semantics (use diff_method='parameter-shift' for estimates from "
                      "samples)");

  // With shots the results are estimates computed from samples. Expectation values and
  // probabilities are estimated without bias, so the shift rules applied to the estimates give
  // an unbiased estimate of the derivative; a variance's estimate is not linear in them.
  // Without shots, what the body measures decides (QNodeAnalysis: expval, var and probs ops).
  if (sampled)
    for (llvm::StringRef kind : declaration.measurements)
      if (kind != "expval" && kind != "probs")
        return refuse(AutoRefusal::SampledStatistic,
                      "has " + shots +
                          ": with shots, method='auto' differentiates estimates of expectation "
                          "values and probabilities, not of '" +
                          kind.str() + "'");

  // "best": the adjoint sweep unless there are shots or probabilities. A Jacobian of
  // probabilities costs the sweep one vector per outcome (2^m for m wires), against two
  // circuit runs per parameter for parameter-shift, whatever m; diff_method='adjoint' still
  // chooses the sweep.
  bool probs = llvm::is_contained(declaration.measurements, "probs");
  AutoDecision decision;
  decision.method = diffMethod == "adjoint" || (diffMethod == "best" && !sampled && !probs)
                        ? QuantumMethod::Adjoint
                        : QuantumMethod::ParameterShift;
  return decision;
}

llvm::StringRef kvant::gradient::stringifyAutoRefusal(AutoRefusal refusal) {
  switch (refusal) {
  case AutoRefusal::NonDifferentiable:
    return "non_differentiable";
  case AutoRefusal::MethodNotForAuto:
    return "method_not_for_auto";
  case AutoRefusal::StateResult:
    return "state_result";
  case AutoRefusal::GradRecipe:
    return "grad_recipe";
  case AutoRefusal::ShotsWithAdjoint:
    return "shots_with_adjoint";
  case AutoRefusal::SampledStatistic:
    return "sampled_statistic";
  }
  return "unknown";
}

llvm::StringRef kvant::gradient::stringifyQuantumMethod(QuantumMethod method) {
  return method == QuantumMethod::Adjoint ? "adjoint" : "parameter-shift";
}
