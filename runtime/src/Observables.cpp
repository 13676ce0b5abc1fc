#include "Observables.hpp"

#include "GateKernels.hpp"
#include "Parallel.hpp"
#include "kvant/runtime.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace kvant::rt {
namespace {

double innerRe(const StateVector &a, const StateVector &b) { // Re <a|b>
  const Complex *x = a.data(), *y = b.data();
  const par::GroupSpace all(static_cast<unsigned>(a.numQubits()), {}, 0);
  return par::reduceGroups<1>(all, [=](std::uint64_t i, double *acc) {
    acc[0] += x[i].real() * y[i].real() + x[i].imag() * y[i].imag();
  })[0];
}

// A Pauli word as index arithmetic: P|k> = i^numY (-1)^{|k & sign|} |k ^ flip>.
struct PauliMasks {
  std::uint64_t flip = 0, sign = 0;
  unsigned numY = 0;
};
PauliMasks masksOf(const StateVector &sv, const PauliWord &pw) {
  PauliMasks m;
  for (const auto &f : pw.factors) {
    const std::uint64_t bit = std::uint64_t{1} << sv.bitOf(f.wire);
    if (f.pauli != 'Z')
      m.flip |= bit;
    if (f.pauli != 'X')
      m.sign |= bit;
    m.numY += f.pauli == 'Y';
  }
  return m;
}
const Complex kIPow[4] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};

double pauliExpval(const StateVector &sv, const PauliWord &pw) {
  const PauliMasks pm = masksOf(sv, pw);
  const std::uint64_t flip = pm.flip, sign = pm.sign;
  // <psi|P|psi> = i^numY * sum_j (-1)^{|j & sign|} conj(psi[j ^ flip]) psi[j]
  const Complex *d = sv.data();
  const par::GroupSpace all(static_cast<unsigned>(sv.numQubits()), {}, 0);
  const auto acc = par::reduceGroups<2>(all, [=](std::uint64_t j, double *a) {
    const Complex t = cmulConj(d[j ^ flip], d[j]);
    const double sgn = 1.0 - 2.0 * static_cast<double>(__builtin_popcountll(j & sign) & 1);
    a[0] += sgn * t.real();
    a[1] += sgn * t.imag();
  });
  return cmul(kIPow[pm.numY % 4], Complex{acc[0], acc[1]}).real();
}

// sum_t c_t P_t as groups of terms sharing a flip mask:
// (H psi)_j = sum_groups psi[j ^ flip] * sum_{t in group} c_t i^numY_t (-1)^{|(j ^ flip) &
// sign_t|}.
struct PauliSum {
  struct Term {
    Complex coeff; // c_t i^numY_t
    std::uint64_t sign;
  };
  struct Group {
    std::uint64_t flip;
    std::vector<Term> terms;
  };
  std::vector<Group> groups;

  PauliSum(const StateVector &sv, const std::vector<double> &coeffs,
           const std::vector<PauliWord> &words) {
    for (std::size_t t = 0; t < words.size(); ++t) {
      const PauliMasks pm = masksOf(sv, words[t]);
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const Group &x) { return x.flip == pm.flip; });
      if (g == groups.end()) {
        groups.push_back({pm.flip, {}});
        g = groups.end() - 1;
      }
      g->terms.push_back({coeffs[t] * kIPow[pm.numY % 4], pm.sign});
    }
    prepareDiagonal(static_cast<unsigned>(sv.numQubits()));
  }

  // A diagonal real sum (only Z-type words, e.g. a sum of PauliZ): (H psi)_j = w(j) psi_j with
  // w(j) = sum_t c_t (-1)^{|j & sign_t|}. Single-qubit terms are looked up per byte of j
  // (n/8 table reads instead of one popcount per term per amplitude).
  bool diagonal = false;
  std::vector<std::array<double, 256>> byteTables;
  std::vector<Term> multi; // words on several qubits: popcount per amplitude

  void prepareDiagonal(unsigned numQubits) {
    diagonal = groups.size() == 1 && groups[0].flip == 0;
    for (const Term &t : groups.empty() ? std::vector<Term>{} : groups[0].terms)
      diagonal = diagonal && t.coeff.imag() == 0.0;
    if (!diagonal)
      return;
    // Filling the tables costs 256 adds per term: only worth it on larger states.
    const bool tables = numQubits >= 10;
    if (tables)
      byteTables.assign((numQubits + 7) / 8, std::array<double, 256>{});
    for (const Term &t : groups[0].terms) {
      if (!tables || __builtin_popcountll(t.sign) != 1) {
        multi.push_back(t);
        continue;
      }
      const unsigned bit = static_cast<unsigned>(__builtin_ctzll(t.sign));
      std::array<double, 256> &tab = byteTables[bit / 8];
      for (unsigned v = 0; v < 256; ++v)
        tab[v] += ((v >> (bit % 8)) & 1) ? -t.coeff.real() : t.coeff.real();
    }
  }
  double weight(std::uint64_t j) const {
    double w = 0.0;
    for (std::size_t b = 0; b < byteTables.size(); ++b)
      w += byteTables[b][(j >> (8 * b)) & 0xff];
    for (const Term &t : multi)
      w += (1.0 - 2.0 * static_cast<double>(__builtin_popcountll(j & t.sign) & 1)) * t.coeff.real();
    return w;
  }

  Complex row(const Complex *d, std::uint64_t j) const {
    Complex out{0.0, 0.0};
    for (const Group &g : groups) {
      const std::uint64_t k = j ^ g.flip;
      Complex w{0.0, 0.0};
      for (const Term &t : g.terms) {
        const double sgn = 1.0 - 2.0 * static_cast<double>(__builtin_popcountll(k & t.sign) & 1);
        w += sgn * t.coeff;
      }
      out += cmul(w, d[k]);
    }
    return out;
  }

  void applyInto(const StateVector &in, StateVector &out) const {
    const Complex *d = in.data();
    Complex *o = out.data();
    if (diagonal)
      par::forRange(in.size(), [&](std::uint64_t j) { o[j] = weight(j) * d[j]; });
    else
      par::forRange(in.size(), [&](std::uint64_t j) { o[j] = row(d, j); });
  }
  double expval(const StateVector &sv) const {
    const Complex *d = sv.data();
    const par::GroupSpace all(static_cast<unsigned>(sv.numQubits()), {}, 0);
    if (diagonal)
      return par::reduceGroups<1>(all, [&](std::uint64_t j, double *a) {
        a[0] += weight(j) * (d[j].real() * d[j].real() + d[j].imag() * d[j].imag());
      })[0];
    return par::reduceGroups<1>(
        all, [&](std::uint64_t j, double *a) { a[0] += cmulConj(d[j], row(d, j)).real(); })[0];
  }
};

void applyPauliWord(StateVector &sv, const PauliWord &pw) {
  static const Complex y[4] = {{0, 0}, {0, -1}, {0, 1}, {0, 0}};
  for (const auto &f : pw.factors) {
    const unsigned bit = sv.bitOf(f.wire);
    if (f.pauli == 'X')
      kernels::applyPauliX(sv, bit, {});
    else if (f.pauli == 'Y')
      kernels::applyMatrix1(sv, bit, y, {});
    else
      kernels::applyDiagonal1(sv, bit, 1.0, -1.0, {});
  }
}

std::vector<unsigned> bitsOf(const StateVector &sv, const std::vector<std::size_t> &wires) {
  std::vector<unsigned> bits;
  for (std::size_t w : wires)
    bits.push_back(sv.bitOf(w));
  return bits;
}

std::vector<std::size_t> mapWires(const std::vector<std::size_t> &wires,
                                  const std::vector<std::size_t> &wireMap) {
  std::vector<std::size_t> out;
  for (std::size_t w : wires)
    out.push_back(wireMap.at(w));
  return out;
}

class PauliObs final : public Observable {
public:
  PauliObs(std::vector<std::size_t> wires, PauliWord pw)
      : Observable(std::move(wires)), pw_(std::move(pw)) {}
  void apply(StateVector &sv) const override { applyPauliWord(sv, pw_); }
  double expval(const StateVector &sv) const override {
    return pw_.factors.empty() ? sv.normSquared() : pauliExpval(sv, pw_);
  }
  // P^2 = I.
  double var(const StateVector &sv) const override {
    const double e = expval(sv);
    return sv.normSquared() - e * e;
  }
  std::optional<PauliWord> pauliWord() const override { return pw_; }
  std::vector<ObservablePtr> factors() const override {
    std::vector<ObservablePtr> out;
    if (pw_.factors.size() < 2)
      return out;
    for (const auto &f : pw_.factors) {
      PauliWord one;
      one.factors.push_back(f);
      out.push_back(std::make_shared<PauliObs>(std::vector<std::size_t>{f.wire}, one));
    }
    return out;
  }
  ObservablePtr remapped(const std::vector<std::size_t> &wireMap) const override {
    PauliWord pw = pw_;
    for (auto &f : pw.factors)
      f.wire = wireMap.at(f.wire);
    return std::make_shared<PauliObs>(mapWires(wires(), wireMap), std::move(pw));
  }

private:
  PauliWord pw_;
};

// A dense Hermitian matrix on a few wires. <O^2> is evaluated as <psi|M^2|psi> with M^2
// precomputed, which equals <O psi|O psi> but never copies the state.
class MatrixObs final : public Observable {
public:
  MatrixObs(std::vector<std::size_t> wires, std::vector<Complex> m)
      : Observable(std::move(wires)), m_(std::move(m)) {
    const std::size_t dim = std::size_t{1} << this->wires().size();
    m2_.assign(dim * dim, 0.0);
    for (std::size_t r = 0; r < dim; ++r)
      for (std::size_t k = 0; k < dim; ++k)
        for (std::size_t c = 0; c < dim; ++c)
          m2_[r * dim + c] += m_[r * dim + k] * m_[k * dim + c];
  }
  void apply(StateVector &sv) const override {
    kernels::applyMatrixN(sv, bitsOf(sv, wires()), m_.data(), {});
  }
  double expval(const StateVector &sv) const override {
    return kernels::expvalMatrixN(sv, bitsOf(sv, wires()), m_.data()).real();
  }
  double var(const StateVector &sv) const override {
    const double e = expval(sv);
    return kernels::expvalMatrixN(sv, bitsOf(sv, wires()), m2_.data()).real() - e * e;
  }
  ObservablePtr remapped(const std::vector<std::size_t> &wireMap) const override {
    return std::make_shared<MatrixObs>(mapWires(wires(), wireMap), m_);
  }

private:
  std::vector<Complex> m_, m2_;
};

class TensorObs final : public Observable {
public:
  TensorObs(std::vector<std::size_t> wires, std::vector<ObservablePtr> factors)
      : Observable(std::move(wires)), factors_(std::move(factors)) {}
  // Factors act on disjoint wires, so they commute and can be applied in any order.
  void apply(StateVector &sv) const override {
    for (const auto &f : factors_)
      f->apply(sv);
  }
  std::vector<ObservablePtr> factors() const override { return factors_; }
  ObservablePtr remapped(const std::vector<std::size_t> &wireMap) const override {
    std::vector<ObservablePtr> fs;
    for (const auto &f : factors_)
      fs.push_back(f->remapped(wireMap));
    return std::make_shared<TensorObs>(mapWires(wires(), wireMap), std::move(fs));
  }

private:
  std::vector<ObservablePtr> factors_;
};

class HamiltonianObs final : public Observable {
public:
  HamiltonianObs(std::vector<std::size_t> wires, std::vector<double> coeffs,
                 std::vector<ObservablePtr> terms)
      : Observable(std::move(wires)), coeffs_(std::move(coeffs)), terms_(std::move(terms)) {
    allPauli_ = true;
    for (const auto &t : terms_) {
      std::optional<PauliWord> pw = t->pauliWord();
      if (!pw) {
        allPauli_ = false;
        break;
      }
      words_.push_back(std::move(*pw));
    }
  }

  void apply(StateVector &sv) const override { sv = applied(sv); }
  StateVector applied(const StateVector &sv) const override {
    if (allPauli_) {
      // One pass for the whole sum instead of a copy, an apply and an axpy per term.
      StateVector out = StateVector::uninitialized(sv.numQubits()); // applyInto sets all
      PauliSum(sv, coeffs_, words_).applyInto(sv, out);
      return out;
    }
    StateVector acc = sv;
    acc.zero();
    StateVector tmp = sv;
    for (std::size_t t = 0; t < terms_.size(); ++t) {
      if (t)
        tmp.copyFrom(sv);
      terms_[t]->apply(tmp);
      const double c = coeffs_[t];
      Complex *a = acc.data();
      const Complex *x = tmp.data();
      par::forRange(acc.size(), [=](std::uint64_t i) { a[i] += c * x[i]; });
    }
    return acc;
  }
  double expval(const StateVector &sv) const override {
    if (allPauli_ && terms_.size() > 1)
      return PauliSum(sv, coeffs_, words_).expval(sv);
    // Linear in the terms, which keeps each term on its copy-free path.
    double s = 0.0;
    for (std::size_t t = 0; t < terms_.size(); ++t)
      s += coeffs_[t] * terms_[t]->expval(sv);
    return s;
  }
  std::vector<std::pair<double, ObservablePtr>> terms() const override {
    std::vector<std::pair<double, ObservablePtr>> out;
    for (std::size_t t = 0; t < terms_.size(); ++t)
      out.emplace_back(coeffs_[t], terms_[t]);
    return out;
  }
  ObservablePtr remapped(const std::vector<std::size_t> &wireMap) const override {
    std::vector<ObservablePtr> ts;
    for (const auto &t : terms_)
      ts.push_back(t->remapped(wireMap));
    return std::make_shared<HamiltonianObs>(mapWires(wires(), wireMap), coeffs_, std::move(ts));
  }

private:
  std::vector<double> coeffs_;
  std::vector<ObservablePtr> terms_;
  bool allPauli_ = false;
  std::vector<PauliWord> words_;
};

} // namespace

StateVector Observable::applied(const StateVector &sv) const {
  StateVector o = sv;
  apply(o);
  return o;
}

double Observable::expval(const StateVector &sv) const { return innerRe(sv, applied(sv)); }

double Observable::var(const StateVector &sv) const {
  const StateVector o = applied(sv);
  const double e = innerRe(sv, o);
  return o.normSquared() - e * e;
}

ObservablePtr makeNamed(std::int64_t kind, std::size_t wire) {
  PauliWord pw;
  switch (kind) {
  case KVANT_OBS_Identity:
    return std::make_shared<PauliObs>(std::vector<std::size_t>{wire}, pw);
  case KVANT_OBS_PauliX:
  case KVANT_OBS_PauliY:
  case KVANT_OBS_PauliZ:
    pw.factors.push_back({wire, "XYZ"[kind - KVANT_OBS_PauliX]});
    return std::make_shared<PauliObs>(std::vector<std::size_t>{wire}, pw);
  case KVANT_OBS_Hadamard: {
    const double h = 1.0 / std::sqrt(2.0);
    return std::make_shared<MatrixObs>(std::vector<std::size_t>{wire},
                                       std::vector<Complex>{h, h, h, -h});
  }
  default:
    throw Error("unknown observable id " + std::to_string(kind));
  }
}

ObservablePtr makeTensor(std::vector<ObservablePtr> factors) {
  if (factors.empty())
    throw Error("tensor product needs at least one factor");
  std::vector<std::size_t> wires;
  for (const auto &f : factors)
    for (std::size_t w : f->wires()) {
      if (std::find(wires.begin(), wires.end(), w) != wires.end())
        throw Error("tensor product factors overlap on wire " + std::to_string(w));
      wires.push_back(w);
    }
  if (factors.size() == 1)
    return factors[0];

  PauliWord merged;
  bool allPauli = true;
  for (const auto &f : factors) {
    std::optional<PauliWord> pw = f->pauliWord();
    if (!pw) {
      allPauli = false;
      break;
    }
    merged.factors.insert(merged.factors.end(), pw->factors.begin(), pw->factors.end());
  }
  if (allPauli)
    return std::make_shared<PauliObs>(std::move(wires), std::move(merged));
  return std::make_shared<TensorObs>(std::move(wires), std::move(factors));
}

ObservablePtr makeHermitian(std::vector<Complex> matrix, std::vector<std::size_t> wires,
                            std::size_t numQubits) {
  if (wires.empty())
    throw Error("Hermitian observable needs at least one wire");
  checkWires(wires, numQubits, "Hermitian observable: wires");
  const std::size_t dim = std::size_t{1} << wires.size();
  if (matrix.size() != dim * dim)
    throw Error("Hermitian observable on " + std::to_string(wires.size()) + " wire(s) needs a " +
                std::to_string(dim) + "x" + std::to_string(dim) + " matrix, got " +
                std::to_string(matrix.size()) + " entries");
  double scale = 1.0;
  for (const Complex &x : matrix)
    scale = std::max(scale, std::abs(x));
  for (std::size_t r = 0; r < dim; ++r)
    for (std::size_t c = r; c < dim; ++c) {
      const double diff = std::abs(matrix[r * dim + c] - std::conj(matrix[c * dim + r]));
      if (!(diff <= 1e-8 * scale)) // also rejects NaN
        throw Error("Hermitian observable: matrix is not Hermitian (entry (" + std::to_string(r) +
                    ", " + std::to_string(c) + "))");
    }
  return std::make_shared<MatrixObs>(std::move(wires), std::move(matrix));
}

ObservablePtr makeHamiltonian(std::vector<double> coeffs, std::vector<ObservablePtr> terms) {
  std::vector<std::size_t> wires;
  for (const auto &t : terms)
    for (std::size_t w : t->wires())
      if (std::find(wires.begin(), wires.end(), w) == wires.end())
        wires.push_back(w);
  return std::make_shared<HamiltonianObs>(std::move(wires), std::move(coeffs), std::move(terms));
}

} // namespace kvant::rt
