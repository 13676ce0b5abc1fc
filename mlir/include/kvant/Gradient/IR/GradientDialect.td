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

    Two attributes on functions, both verified by the dialect: `gradient.circuit` (a
    `#gradient.circuit`, the role of a circuit function) and `gradient.inline_when_expanded`
    (a unit attribute on a private function with a result of dynamic shape, which
    `gradient-expand-auto` builds from a QNode and, once every derivative is built, inlines into
    its callers and erases: bufferization passes back only results of static shape).
  }];
  let cppNamespace = "::kvant::gradient";
  let useDefaultAttributePrinterParser = 1;
  // `gradient.circuit` (GradientAttrs.td) and `gradient.inline_when_expanded` on functions
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute giving a circuit function's role (a #gradient.circuit).
    static ::llvm::StringRef getCircuitAttrName() { return "gradient.circuit"; }
    /// The unit attribute marking a function the derivative passes inline and erase once
    /// every derivative is built (results of dynamic shape).
    static ::llvm::StringRef getInlineWhenExpandedAttrName() {
      return "gradient.inline_when_expanded";
    }
  }];
}

class Gradient_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gradient_Dialect, mnemonic, traits>;

#endif // KVANT_GRADIENT_DIALECT_TD
