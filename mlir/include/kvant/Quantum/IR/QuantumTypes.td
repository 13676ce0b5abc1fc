//===- QuantumTypes.td - types of the `quantum` dialect -----------------*- tablegen -*-===//

#ifndef KVANT_QUANTUM_TYPES_TD
#define KVANT_QUANTUM_TYPES_TD

include "kvant/Quantum/IR/QuantumDialect.td"

class Quantum_Type<string name, string typeMnemonic, string doc>
    : TypeDef<Quantum_Dialect, name> {
  let mnemonic = typeMnemonic;
  let summary = doc;
}

def Quantum_RegType : Quantum_Type<"Register", "reg", "a register of qubits (one simulator)">;
def Quantum_BitType : Quantum_Type<"Bit", "bit", "one qubit (value semantics)">;
def Quantum_ObsType : Quantum_Type<"Observable", "obs", "an observable to measure">;

#endif // KVANT_QUANTUM_TYPES_TD
