//===- KvantMlirExtension.cpp - the `_kvant_mlir` Python module -----------------------===//
//
// Bridges kvant's MLIR library into the upstream `mlir` Python bindings. `mlir.ir` objects
// arrive as MLIR C API handles through NanobindAdaptors' capsule casters, so this module shares
// no C++ types with the bindings; everything MLIR-side goes through kvant-c/Kvant.h.
//
//===----------------------------------------------------------------------------------===//

#include "kvant-c/Kvant.h"
#include "kvant/Gradient/QuantumDerivatives/AutoMethod.h"
#include "kvant/Quantum/IR/GateTable.h"

#include "mlir/Bindings/Python/NanobindAdaptors.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace nb = nanobind;

namespace {

void appendTo(MlirStringRef text, void *userData) {
  static_cast<std::string *>(userData)->append(text.data, text.length);
}

} // namespace

NB_MODULE(_kvant_mlir, m) {
  m.doc() = "kvant's MLIR dialects (quantum, gradient), passes and LLVM emission";

  m.def(
      "register_dialects", [](MlirContext context) { kvantRegisterDialects(context); },
      nb::arg("context"),
      "Register and load the quantum and gradient dialects into an mlir.ir.Context, and "
      "register kvant's passes (once per process) so PassManager.parse finds them.");

  m.def(
      "register_passes", []() { kvantRegisterPasses(); },
      "Register kvant's passes in the global pass registry (idempotent).");

  m.def(
      "quantum_node_attr",
      [](MlirContext context, const std::string &device, const std::string &diffMethod,
         const std::vector<std::string> &measurements, int64_t shots) {
        std::vector<MlirStringRef> kinds;
        for (const std::string &kind : measurements)
          kinds.push_back(mlirStringRefCreate(kind.data(), kind.size()));
        std::string error;
        MlirAttribute node = kvantQuantumNodeAttrGet(
            context, mlirStringRefCreate(device.data(), device.size()),
            mlirStringRefCreate(diffMethod.data(), diffMethod.size()),
            static_cast<intptr_t>(kinds.size()), kinds.data(), shots, appendTo, &error);
        if (mlirAttributeIsNull(node))
          throw nb::value_error(("#quantum.node: " + error).c_str());
        return node;
      },
      nb::arg("context"), nb::arg("device"), nb::arg("diff_method"), nb::arg("measurements"),
      nb::arg("shots") = 0,
      "The #quantum.node attribute of a QNode's function (QuantumAttrs.td), verified by the "
      "quantum dialect: ValueError with the verifier's message when it rejects the fields.");

  m.def(
      "translate_to_llvm_ir",
      [](MlirModule module) {
        std::string text;
        if (mlirLogicalResultIsFailure(kvantTranslateToLLVMIR(module, appendTo, &text)))
          throw std::runtime_error("kvant: translation to LLVM IR failed: " + text);
        return text;
      },
      nb::arg("module"), "Translate an LLVM-dialect mlir.ir.Module to LLVM IR text.");

  m.def(
      "emit_object",
      [](MlirModule module, const std::string &path, int optLevel, const std::string &cpu) {
        std::string error;
        // The GIL stays held: translation mutates the module's context (registries,
        // diagnostic handlers), which other Python threads may be using.
        MlirLogicalResult result =
            kvantEmitObject(module, mlirStringRefCreate(path.data(), path.size()), optLevel,
                            mlirStringRefCreate(cpu.data(), cpu.size()), appendTo, &error);
        if (mlirLogicalResultIsFailure(result))
          throw std::runtime_error("kvant: object emission failed: " + error);
      },
      nb::arg("module"), nb::arg("path"), nb::arg("opt_level") = 2, nb::arg("cpu") = "native",
      "Translate an LLVM-dialect module, optimise it at opt_level (0-3, LLVM new pass "
      "manager) and write a position-independent object file for `cpu` ('native': this "
      "machine's CPU; else an LLVM CPU name of the host's architecture) to `path`.");

  m.def(
      "gate_table",
      []() {
        std::vector<std::tuple<std::string, int64_t, int64_t>> table;
        for (const kvant::quantum::GateInfo &gate : kvant::quantum::getGateTable())
          table.emplace_back(gate.name.str(), gate.numParams, gate.numWires);
        return table;
      },
      "[(name, num_params, num_wires)] from gates.def, in kvant_gate_t order; num_wires -1 "
      "means any number >= 1 (GlobalPhase: >= 0).");

  m.def(
      "auto_method",
      [](const std::string &diffMethod, const std::vector<std::string> &measurements, int64_t shots,
         const std::vector<std::string> &recipeGates) {
        std::vector<llvm::StringRef> kinds(measurements.begin(), measurements.end());
        std::vector<llvm::StringRef> recipes(recipeGates.begin(), recipeGates.end());
        kvant::gradient::QNodeDeclaration declaration;
        declaration.diffMethod = diffMethod;
        declaration.measurements = kinds;
        declaration.shots = shots;
        declaration.recipeGates = recipes;
        kvant::gradient::AutoDecision decision = kvant::gradient::decideAutoMethod(declaration);
        std::optional<std::string> method, refusal;
        if (decision.admitted())
          method = kvant::gradient::stringifyQuantumMethod(*decision.method).str();
        else
          refusal = kvant::gradient::stringifyAutoRefusal(decision.refusal).str();
        return std::make_tuple(method, refusal, decision.reason);
      },
      nb::arg("diff_method"), nb::arg("measurements"), nb::arg("shots"), nb::arg("recipe_gates"),
      "method=\"auto\"'s admissibility table (AutoMethod.h), the one gradient-expand-auto "
      "asks: (method, None, '') with method 'adjoint' or 'parameter-shift' for an admitted "
      "QNode, else (None, refusal kind, reason); diff_method None is spelt 'None', shots 0 "
      "means exact results.");

  m.def(
      "observable_names",
      []() {
        std::vector<std::string> names;
        for (const kvant::quantum::ObservableInfo &obs : kvant::quantum::getObservableTable())
          names.push_back(obs.name.str());
        return names;
      },
      "Named observables from observables.def, in kvant_observable_t order.");
}
