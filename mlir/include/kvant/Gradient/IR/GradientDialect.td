//===- GradientDialect.td - the `gradient` dialect ----------------------*- tablegen -*-===//

#ifndef KVANT_GRADIENT_DIALECT_TD
#define KVANT_GRADIENT_DIALECT_TD

include "mlir/IR/OpBase.td"

def Gradient_Dialect : Dialect {
  let name = "gradient";
  let summary = "Differentiation of functions (classical, quantum and hybrid)";
  let description = [{
    High-level differentiation requests that name a `func.func` callee. Passes expand them into
    ordinary code: `gradient-expand-fd` for method "fd" (forward differences),
    `gradient-expand-auto` for method "auto" (reverse mode, QNodes by their diff_method).
  }];
  let cppNamespace = "::kvant::gradient";
  let useDefaultAttributePrinterParser = 1;
  // `gradient.circuit` on functions (GradientAttrs.td)
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute giving a circuit function's role (a #gradient.circuit).
    static ::llvm::StringRef getCircuitAttrName() { return "gradient.circuit"; }
  }];
}

class Gradient_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gradient_Dialect, mnemonic, traits>;

#endif // KVANT_GRADIENT_DIALECT_TD
