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

    Three attributes on functions, all verified by the dialect: `gradient.circuit` (a
    `#gradient.circuit`, the role of a circuit function), `gradient.inline_when_expanded`
    (a unit attribute on a private function with a result of dynamic shape, which
    `gradient-expand-auto` builds from a QNode and, once every derivative is built, inlines into
    its callers and erases: bufferization passes back only results of static shape) and
    `gradient.custom_vjp` (a symbol: the function that gives the derivative of calls of the
    function it marks, which `gradient-expand-auto` then does not differentiate through).

    `gradient.custom_vjp = @g` on `@f : (x_1..x_n) -> (y_1..y_m)`: `@g` takes
    `(x_1..x_n, y_1..y_m, ȳ_j...)`, the cotangents ȳ_j of the results of float or complex type
    in order, and returns the cotangents x̄_i of the arguments of float or complex type in order
    (each of its argument's type). Cotangents follow the convention of the reverse mode (that of
    a complex z = x + iy is ∂L/∂x + i ∂L/∂y). A call of `@f` is then reversed by a call of `@g`;
    `@g` is ordinary code, differentiated again for higher orders. The frontend marks with it
    the functions whose body a derivative must not see: the calls of LAPACK in the runtime,
    `stop_gradient`, linear solves differentiated implicitly.
  }];
  let cppNamespace = "::kvant::gradient";
  let useDefaultAttributePrinterParser = 1;
  // `gradient.circuit` (GradientAttrs.td), `gradient.inline_when_expanded` and
  // `gradient.custom_vjp` on functions
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute giving a circuit function's role (a #gradient.circuit).
    static ::llvm::StringRef getCircuitAttrName() { return "gradient.circuit"; }
    /// The unit attribute marking a function the derivative passes inline and erase once
    /// every derivative is built (results of dynamic shape).
    static ::llvm::StringRef getInlineWhenExpandedAttrName() {
      return "gradient.inline_when_expanded";
    }
    /// The symbol of the function that gives the reverse derivative of the function it marks.
    static ::llvm::StringRef getCustomVjpAttrName() { return "gradient.custom_vjp"; }
  }];
}

class Gradient_Op<string mnemonic, list<Trait> traits = []>
    : Op<Gradient_Dialect, mnemonic, traits>;

#endif // KVANT_GRADIENT_DIALECT_TD
