// Observables: named single-wire operators, tensor products, Hermitian matrices, Hamiltonians.
// All are Hermitian; expval/var assume it.
#pragma once

#include "StateVector.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace kvant::rt {

// A tensor product of single-wire Paulis (and identities), kept symbolic so that its
// expectation needs no copy of the state: P|j> = phase(j) |j ^ flipMask>.
struct PauliWord {
  struct Factor {
    std::size_t wire;
    char pauli; // 'X', 'Y' or 'Z'
  };
  std::vector<Factor> factors; // identities are omitted
};

class Observable {
public:
  explicit Observable(std::vector<std::size_t> wires) : wires_(std::move(wires)) {}
  virtual ~Observable() = default;

  const std::vector<std::size_t> &wires() const { return wires_; }

  // psi <- O psi.
  virtual void apply(StateVector &sv) const = 0;
  // O psi into a new state; overridden where that saves a copy.
  virtual StateVector applied(const StateVector &sv) const;
  virtual double expval(const StateVector &sv) const;
  // <O^2> - <O>^2, with <O^2> = <O psi | O psi>.
  virtual double var(const StateVector &sv) const;
  virtual std::optional<PauliWord> pauliWord() const { return std::nullopt; }

  // Structure, for evaluating an observable piece by piece (Distributed.cpp, whose local
  // vectors may not hold all of its wires at once). A sum's terms with their coefficients
  // (empty for any other observable); a product's factors on disjoint wires (empty for
  // anything that is not a product of several).
  virtual std::vector<std::pair<double, std::shared_ptr<const Observable>>> terms() const {
    return {};
  }
  virtual std::vector<std::shared_ptr<const Observable>> factors() const { return {}; }
  // The same observable on other wires: wire w becomes wireMap[w].
  virtual std::shared_ptr<const Observable>
  remapped(const std::vector<std::size_t> &wireMap) const = 0;

private:
  std::vector<std::size_t> wires_;
};

using ObservablePtr = std::shared_ptr<const Observable>;

// kind: a kvant_observable_t. Wire already validated against the register.
ObservablePtr makeNamed(std::int64_t kind, std::size_t wire);
// Factors must act on pairwise distinct wires.
ObservablePtr makeTensor(std::vector<ObservablePtr> factors);
// matrix: 2^k x 2^k row-major, checked to be Hermitian; wires[0] is its index's MSB.
ObservablePtr makeHermitian(std::vector<Complex> matrix, std::vector<std::size_t> wires,
                            std::size_t numQubits);
ObservablePtr makeHamiltonian(std::vector<double> coeffs, std::vector<ObservablePtr> terms);

} // namespace kvant::rt
