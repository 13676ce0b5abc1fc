//===- HostOps.td - ops of the `host` dialect ---------------------------*- tablegen -*-===//
//
// Attribute/operand names are the contract with the Python frontend
// (frontend/kvant/lowering/rules/callbacks.py builds the op).
//
//===----------------------------------------------------------------------------------===//

#ifndef KVANT_HOST_OPS_TD
#define KVANT_HOST_OPS_TD

include "kvant/Host/IR/HostDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"

def Host_CallbackOp : Host_Op<"callback", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "Calls a function of the host process";
  let description = [{
    Calls host function number `callback` of the program (the caller of the compiled program
    supplies the function table) with the operands and returns its results; statically shaped
    tensors in and out. `name` is the function's name, for messages.

    A `pure` callback (`kvant.pure_callback`, `jax.pure_callback`) is a function of its
    operands: it has no effects, so an unused one is removed and equal ones may be merged, as
    JAX does with pure callbacks. Otherwise (`jax.debug.print`, `jax.debug.callback`) it has
    effects: it runs where the program has it, in order, used or not.

    With `fwd` and `bwd` the call is differentiable (reverse mode, the pair of
    `jax.custom_vjp`):
      - `fwd : (operands...) -> (results..., residuals...)` computes the results and what the
        backward function needs;
      - `bwd : (residuals..., result cotangents...) -> (operand cotangents...)`, one cotangent
        per result and per operand, of its type (those of integer values are ignored).
    Without them, differentiating a value that flows through the call is refused.

    ```mlir
    %y = host.callback 0 "f" (%x) {pure, fwd = @f_fwd, bwd = @f_bwd}
           : (tensor<3xf64>) -> tensor<f64>
    host.callback 1 "jax.debug.print('{}')" (%y) : (tensor<f64>) -> ()
    ```
  }];
  let arguments = (ins I64Attr:$callback,
                       StrAttr:$name,
                       UnitAttr:$pure,
                       OptionalAttr<FlatSymbolRefAttr>:$fwd,
                       OptionalAttr<FlatSymbolRefAttr>:$bwd,
                       Variadic<AnyStaticShapeTensor>:$operands);
  let results = (outs Variadic<AnyStaticShapeTensor>:$outputs);
  let assemblyFormat = [{
    $callback $name `(` $operands `)` attr-dict `:` functional-type($operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KVANT_HOST_OPS_TD
