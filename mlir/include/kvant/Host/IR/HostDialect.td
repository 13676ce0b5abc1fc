//===- HostDialect.td - the `host` dialect ------------------------------*- tablegen -*-===//

#ifndef KVANT_HOST_DIALECT_TD
#define KVANT_HOST_DIALECT_TD

include "mlir/IR/OpBase.td"

def Host_Dialect : Dialect {
  let name = "host";
  let summary = "Calls from compiled code back into the host (the Python process)";
  let description = [{
    A compiled program can call functions of the process that runs it: Python functions given
    to `kvant.pure_callback`, `jax.pure_callback`, `jax.debug.print` / `jax.debug.callback`.
    The program names each by a number local to it; the process that calls the program
    supplies, for that call, the table of functions the numbers index
    (`kvant_rt_host_callback` in runtime/include/kvant/runtime.h). So a compiled library holds
    no process-specific identity and is shared through the disk cache by programs of equal
    structure.
  }];
  let cppNamespace = "::kvant::host";
}

class Host_Op<string mnemonic, list<Trait> traits = []>
    : Op<Host_Dialect, mnemonic, traits>;

#endif // KVANT_HOST_DIALECT_TD
