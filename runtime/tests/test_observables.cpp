// expval / var of every observable kind against closed forms.
#include "check.hpp"
#include "helpers.hpp"

using namespace testing;

namespace {

int64_t named(kvant_observable_t kind, int64_t wire) { return kvant_rt_obs_named(kind, wire); }
int64_t tensor(std::vector<int64_t> fs) {
  return kvant_rt_obs_tensor(fs.data(), static_cast<int64_t>(fs.size()));
}
int64_t hermitian(const Mat &m, std::vector<int64_t> wires) {
  const std::vector<double> raw = interleave(m);
  return kvant_rt_obs_hermitian(raw.data(), wires.data(), static_cast<int64_t>(wires.size()));
}
int64_t hamiltonian(std::vector<double> coeffs, std::vector<int64_t> terms) {
  return kvant_rt_obs_hamiltonian(coeffs.data(), terms.data(), static_cast<int64_t>(terms.size()));
}

// Bloch vector (sin t cos p, sin t sin p, cos t) on `wire`.
void blochState(int64_t wire, double t, double p) {
  gate(KVANT_GATE_RY, {t}, {wire});
  gate(KVANT_GATE_RZ, {p}, {wire});
}

} // namespace

TEST(observables, named_single_wire) {
  const double t = 1.1, p = -0.6, h = 1 / std::sqrt(2.0);
  const double x = std::sin(t) * std::cos(p), y = std::sin(t) * std::sin(p), z = std::cos(t);
  Reg r(2);
  blochState(1, t, p);
  const int64_t X = named(KVANT_OBS_PauliX, 1), Y = named(KVANT_OBS_PauliY, 1),
                Z = named(KVANT_OBS_PauliZ, 1), H = named(KVANT_OBS_Hadamard, 1),
                Id = named(KVANT_OBS_Identity, 1), Z0 = named(KVANT_OBS_PauliZ, 0);
  CHECK_NO_ERROR();
  CHECK_NEAR(kvant_rt_expval(X), x, kTol);
  CHECK_NEAR(kvant_rt_expval(Y), y, kTol);
  CHECK_NEAR(kvant_rt_expval(Z), z, kTol);
  CHECK_NEAR(kvant_rt_expval(H), (x + z) * h, kTol);
  CHECK_NEAR(kvant_rt_expval(Id), 1.0, kTol);
  CHECK_NEAR(kvant_rt_expval(Z0), 1.0, kTol);
  CHECK_NEAR(kvant_rt_var(X), 1 - x * x, kTol);
  CHECK_NEAR(kvant_rt_var(Y), 1 - y * y, kTol);
  CHECK_NEAR(kvant_rt_var(Z), 1 - z * z, kTol);
  CHECK_NEAR(kvant_rt_var(H), 1 - (x + z) * (x + z) / 2, kTol);
  CHECK_NEAR(kvant_rt_var(Id), 0.0, kTol);
  CHECK_NEAR(kvant_rt_var(Z0), 0.0, kTol);
  CHECK_NO_ERROR();
}

TEST(observables, tensor_products) {
  // cos(t/2)|000> + sin(t/2)|101>
  const double t = 0.83, h = 1 / std::sqrt(2.0);
  Reg r(3);
  gate(KVANT_GATE_RY, {t}, {0});
  gate(KVANT_GATE_CNOT, {}, {0, 2});
  const int64_t X0 = named(KVANT_OBS_PauliX, 0), X2 = named(KVANT_OBS_PauliX, 2),
                Y0 = named(KVANT_OBS_PauliY, 0), Y2 = named(KVANT_OBS_PauliY, 2),
                Z0 = named(KVANT_OBS_PauliZ, 0), Z2 = named(KVANT_OBS_PauliZ, 2),
                Z1 = named(KVANT_OBS_PauliZ, 1), H0 = named(KVANT_OBS_Hadamard, 0),
                I1 = named(KVANT_OBS_Identity, 1);
  const int64_t ZZ = tensor({Z0, Z2}), XX = tensor({X0, X2}), YY = tensor({Y0, Y2}),
                XZ = tensor({X0, Z2}), HZ = tensor({H0, Z2}), IZ = tensor({I1, Z0}),
                XXZ = tensor({XX, Z1}), single = tensor({X0});
  Mat zm = pauliZ();
  const int64_t hermZ0 = hermitian(zm, {0});
  const int64_t HermZ = tensor({hermZ0, Z2});
  CHECK_NO_ERROR();
  CHECK_NEAR(kvant_rt_expval(ZZ), 1.0, kTol);
  CHECK_NEAR(kvant_rt_expval(XX), std::sin(t), kTol);
  CHECK_NEAR(kvant_rt_expval(YY), -std::sin(t), kTol);
  CHECK_NEAR(kvant_rt_expval(XZ), 0.0, kTol);
  CHECK_NEAR(kvant_rt_expval(HZ), h, kTol); // (X0 Z2 + Z0 Z2) / sqrt 2
  CHECK_NEAR(kvant_rt_expval(IZ), std::cos(t), kTol);
  CHECK_NEAR(kvant_rt_expval(XXZ), std::sin(t), kTol);
  CHECK_NEAR(kvant_rt_expval(single), 0.0, kTol);
  CHECK_NEAR(kvant_rt_expval(HermZ), 1.0, kTol);
  CHECK_NEAR(kvant_rt_var(ZZ), 0.0, kTol);
  CHECK_NEAR(kvant_rt_var(XX), std::cos(t) * std::cos(t), kTol);
  CHECK_NEAR(kvant_rt_var(YY), std::cos(t) * std::cos(t), kTol);
  CHECK_NEAR(kvant_rt_var(XZ), 1.0, kTol);
  CHECK_NEAR(kvant_rt_var(HZ), 0.5, kTol);
  CHECK_NEAR(kvant_rt_var(IZ), 1 - std::cos(t) * std::cos(t), kTol);
  CHECK_NEAR(kvant_rt_var(HermZ), 0.0, kTol);
  CHECK_NO_ERROR();
}

TEST(observables, hermitian_single_wire) {
  // M = alpha I + r . sigma  =>  <M> = alpha + r.b,  var = |r|^2 - (r.b)^2
  const double a = 1.5, b = -0.4, c = 0.9, d = -0.7;
  const Mat m(2, {a, C(b, -c), C(b, c), d});
  const double alpha = (a + d) / 2, rx = b, ry = c, rz = (a - d) / 2;
  const double t = 2.1, p = 0.35;
  const double bx = std::sin(t) * std::cos(p), by = std::sin(t) * std::sin(p), bz = std::cos(t);
  const double rb = rx * bx + ry * by + rz * bz, r2 = rx * rx + ry * ry + rz * rz;
  Reg r(3);
  blochState(2, t, p);
  const int64_t M = hermitian(m, {2});
  CHECK_NO_ERROR();
  CHECK_NEAR(kvant_rt_expval(M), alpha + rb, kTol);
  CHECK_NEAR(kvant_rt_var(M), r2 - rb * rb, 1e-11);
}

TEST(observables, hermitian_wire_order) {
  const double t0 = 0.61, t1 = -1.37;
  Reg r(2);
  gate(KVANT_GATE_RY, {t0}, {0});
  gate(KVANT_GATE_RY, {t1}, {1});
  const Mat zx = kron(pauliZ(), pauliX());
  const int64_t zxOn10 = hermitian(zx, {1, 0}); // Z on wire 1, X on wire 0
  const int64_t zxOn01 = hermitian(zx, {0, 1});
  const int64_t named10 = tensor({named(KVANT_OBS_PauliZ, 1), named(KVANT_OBS_PauliX, 0)});
  CHECK_NO_ERROR();
  const double e10 = std::cos(t1) * std::sin(t0), e01 = std::cos(t0) * std::sin(t1);
  CHECK_NEAR(kvant_rt_expval(zxOn10), e10, kTol);
  CHECK_NEAR(kvant_rt_expval(zxOn01), e01, kTol);
  CHECK_NEAR(kvant_rt_expval(named10), e10, kTol);
  CHECK_NEAR(kvant_rt_var(zxOn10), 1 - e10 * e10, kTol);
  CHECK_NEAR(kvant_rt_var(zxOn01), 1 - e01 * e01, kTol);
  // A 3-wire Hermitian (diagonal, so the closed form is a probability sum) in scrambled order.
  Reg r3(3);
  gate(KVANT_GATE_PauliX, {}, {0}); // |100>
  Mat diag(8);
  for (std::size_t i = 0; i < 8; ++i)
    diag(i, i) = static_cast<double>(i);
  const int64_t D = hermitian(diag, {2, 0, 1}); // wire 0 is the middle bit of the index
  CHECK_NEAR(kvant_rt_expval(D), 2.0, kTol);
  CHECK_NEAR(kvant_rt_var(D), 0.0, kTol);
  CHECK_NO_ERROR();
}

TEST(observables, hamiltonians) {
  const double a = 0.9, b = -2.3;
  Reg r(2);
  gate(KVANT_GATE_RY, {a}, {0});
  gate(KVANT_GATE_RY, {b}, {1});
  const int64_t Z0 = named(KVANT_OBS_PauliZ, 0), X1 = named(KVANT_OBS_PauliX, 1),
                Z1 = named(KVANT_OBS_PauliZ, 1);
  const int64_t ZZ = tensor({Z0, Z1});
  // H = 0.5 Z0 + 2 X1 - 1.5 Z0 Z1,  H^2 = 6.5 + 2 Z0 X1 - 1.5 Z1
  const int64_t H = hamiltonian({0.5, 2.0, -1.5}, {Z0, X1, ZZ});
  CHECK_NO_ERROR();
  const double ca = std::cos(a), cb = std::cos(b), sb = std::sin(b);
  const double eH = 0.5 * ca + 2 * sb - 1.5 * ca * cb;
  CHECK_NEAR(kvant_rt_expval(H), eH, kTol);
  CHECK_NEAR(kvant_rt_var(H), 6.5 + 2 * ca * sb - 1.5 * cb - eH * eH, 1e-11);
  // Nested: H' = 2 H + Z0,  H'^2 = 29 + 16 Z0 X1 - 12 Z1
  const int64_t H2 = hamiltonian({2.0, 1.0}, {H, Z0});
  const double eH2 = 2 * eH + ca;
  CHECK_NEAR(kvant_rt_expval(H2), eH2, 1e-11);
  CHECK_NEAR(kvant_rt_var(H2), 29 + 16 * ca * sb - 12 * cb - eH2 * eH2, 1e-10);
  // Terms on different wires of a product state are uncorrelated: variances add.
  const Mat m(2, {0.3, C(1.0, 0.5), C(1.0, -0.5), -1.2});
  const int64_t M1 = hermitian(m, {1});
  const int64_t H0 = named(KVANT_OBS_Hadamard, 0);
  const int64_t Hmix = hamiltonian({0.7, -0.2}, {H0, M1});
  const double eH0 = (std::sin(a) + ca) / std::sqrt(2.0);
  // m = -0.45 I + 1.0 X - 0.5 Y + 0.75 Z; Bloch of wire 1 = (sin b, 0, cos b)
  const double eM = -0.45 + 1.0 * sb + 0.75 * cb;
  const double vM = (1.0 + 0.25 + 0.5625) - (1.0 * sb + 0.75 * cb) * (1.0 * sb + 0.75 * cb);
  CHECK_NEAR(kvant_rt_expval(Hmix), 0.7 * eH0 - 0.2 * eM, kTol);
  CHECK_NEAR(kvant_rt_var(Hmix), 0.49 * (1 - eH0 * eH0) + 0.04 * vM, 1e-11);
  // The empty sum is the zero operator.
  const int64_t zero = kvant_rt_obs_hamiltonian(nullptr, nullptr, 0);
  CHECK_NEAR(kvant_rt_expval(zero), 0.0, kTol);
  CHECK_NEAR(kvant_rt_var(zero), 0.0, kTol);
  CHECK_NO_ERROR();
}

TEST(observables, owned_by_register) {
  Reg a(2);
  const int64_t za = named(KVANT_OBS_PauliZ, 1);
  CHECK(za != 0);
  {
    Reg b(2);
    gate(KVANT_GATE_PauliX, {}, {1});
    const int64_t zb = named(KVANT_OBS_PauliZ, 1);
    CHECK(zb != 0 && zb != za);
    CHECK_NEAR(kvant_rt_expval(zb), -1.0, kTol);
    CHECK_NO_ERROR();
    CHECK(std::isnan(kvant_rt_expval(za))); // a's handle is not valid while b is active
    CHECK_ERROR("invalid observable handle");
  }
  CHECK_NEAR(kvant_rt_expval(za), 1.0, kTol); // a is active again, its handle works
  CHECK_NO_ERROR();
}

TEST(observables, diagonal_pauli_sum_on_a_larger_register) {
  // A sum of single-qubit Z's and one ZZ on 11 qubits (the per-byte table path), against the
  // definition evaluated from the amplitudes: <H> = sum_j |psi_j|^2 w(j),
  // w(j) = sum_t c_t (-1)^{bits of j on term t}; var(H) = sum_j |psi_j|^2 w(j)^2 - <H>^2 (which
  // goes through H psi, the diagonal apply).
  const int64_t n = 11;
  Reg r(n);
  prepareRandomState(n, 42);
  const std::vector<C> psi = readState(n);
  std::vector<int64_t> terms;
  std::vector<double> coeffs;
  for (int64_t w = 0; w < n; ++w) {
    terms.push_back(kvant_rt_obs_named(KVANT_OBS_PauliZ, w));
    coeffs.push_back(0.25 * static_cast<double>(w) - 1.0);
  }
  const int64_t zz[2] = {kvant_rt_obs_named(KVANT_OBS_PauliZ, 2),
                         kvant_rt_obs_named(KVANT_OBS_PauliZ, 9)};
  terms.push_back(kvant_rt_obs_tensor(zz, 2));
  coeffs.push_back(0.8);
  const int64_t h = kvant_rt_obs_hamiltonian(coeffs.data(), terms.data(), n + 1);
  double want = 0.0, want2 = 0.0;
  for (std::size_t j = 0; j < psi.size(); ++j) {
    auto bit = [&](int64_t wire) { return static_cast<int>((j >> (n - 1 - wire)) & 1); };
    double w = 0.0;
    for (int64_t t = 0; t < n; ++t)
      w += coeffs[t] * (bit(t) ? -1.0 : 1.0);
    w += 0.8 * ((bit(2) ^ bit(9)) ? -1.0 : 1.0);
    want += std::norm(psi[j]) * w;
    want2 += std::norm(psi[j]) * w * w;
  }
  CHECK_NEAR(kvant_rt_expval(h), want, 1e-12);
  CHECK_NEAR(kvant_rt_var(h), want2 - want * want, 1e-11);
  CHECK_NO_ERROR();
}
