// Every rejected input produces a message (no crash), errors are sticky until cleared, a
// rejected call leaves the state untouched, and errors/registers are per thread.
#include "check.hpp"
#include "helpers.hpp"

#include <thread>

using namespace testing;

namespace {

void callGate(int64_t g, std::vector<double> p, std::vector<int64_t> w,
              std::vector<int64_t> cw = {}, std::vector<int8_t> cv = {}) {
  kvant_rt_gate(g, p.data(), static_cast<int64_t>(p.size()), w.data(),
                static_cast<int64_t>(w.size()), cw.data(), cv.data(),
                static_cast<int64_t>(cw.size()), 0);
}

} // namespace

TEST(errors, no_active_register) {
  kvant_rt_clear_error();
  const int64_t w[1] = {0};
  const double m[8] = {1, 0, 0, 0, 0, 0, 1, 0};
  double out[8];
  callGate(KVANT_GATE_PauliX, {}, {0});
  CHECK_ERROR("no active register");
  kvant_rt_unitary(m, w, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("no active register");
  CHECK(kvant_rt_obs_named(KVANT_OBS_PauliZ, 0) == 0);
  CHECK_ERROR("no active register");
  CHECK(kvant_rt_obs_tensor(w, 1) == 0);
  CHECK_ERROR("no active register");
  CHECK(kvant_rt_obs_hermitian(m, w, 1) == 0);
  CHECK_ERROR("no active register");
  CHECK(kvant_rt_obs_hamiltonian(nullptr, nullptr, 0) == 0);
  CHECK_ERROR("no active register");
  CHECK(std::isnan(kvant_rt_expval(1)));
  CHECK_ERROR("no active register");
  CHECK(std::isnan(kvant_rt_var(1)));
  CHECK_ERROR("no active register");
  kvant_rt_probs(out, w, 1);
  CHECK_ERROR("no active register");
  kvant_rt_state(out, 2);
  CHECK_ERROR("no active register");
}

TEST(errors, qalloc_and_qdealloc) {
  for (int64_t n : {int64_t{0}, int64_t{-1}, int64_t{31}, int64_t{1} << 40}) {
    check::context() = "qalloc(" + std::to_string(n) + ")";
    CHECK(kvant_rt_qalloc(n) == 0);
    CHECK_ERROR("number of qubits");
  }
  check::context().clear();
  kvant_rt_qdealloc(0);
  CHECK_ERROR("unknown register handle");
  kvant_rt_qdealloc(123456789);
  CHECK_ERROR("unknown register handle");
  const int64_t r = kvant_rt_qalloc(1);
  kvant_rt_qdealloc(r);
  CHECK_NO_ERROR();
  kvant_rt_qdealloc(r); // double free
  CHECK_ERROR("unknown register handle");
}

TEST(errors, gate_arguments) {
  Reg r(3);
  gate(KVANT_GATE_RY, {0.3}, {0});
  gate(KVANT_GATE_CNOT, {}, {0, 1});
  const std::vector<C> before = readState(3);
  CHECK_NO_ERROR();

  callGate(-1, {}, {0});
  CHECK_ERROR("unknown gate id -1");
  callGate(KVANT_GATE_COUNT, {}, {0});
  CHECK_ERROR("unknown gate id");
  callGate(KVANT_GATE_RX, {}, {0});
  CHECK_ERROR("RX takes 1 parameter(s), got 0");
  callGate(KVANT_GATE_RX, {0.1, 0.2}, {0});
  CHECK_ERROR("RX: params: count 2 exceeds 1");
  callGate(KVANT_GATE_PauliX, {0.1}, {0});
  CHECK_ERROR("PauliX: params");
  const int64_t w0[1] = {0};
  kvant_rt_gate(KVANT_GATE_RX, nullptr, 1, w0, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("NULL pointer");
  kvant_rt_gate(KVANT_GATE_RX, nullptr, -1, w0, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("negative count");
  callGate(KVANT_GATE_CNOT, {}, {0});
  CHECK_ERROR("CNOT acts on 2 wire(s), got 1");
  callGate(KVANT_GATE_Hadamard, {}, {0, 1});
  CHECK_ERROR("Hadamard acts on 1 wire(s), got 2");
  callGate(KVANT_GATE_MultiRZ, {0.1}, {});
  CHECK_ERROR("MultiRZ needs at least one wire");
  callGate(KVANT_GATE_PauliX, {}, {3});
  CHECK_ERROR("out of range");
  callGate(KVANT_GATE_PauliX, {}, {-1});
  CHECK_ERROR("negative wire");
  callGate(KVANT_GATE_CNOT, {}, {1, 1});
  CHECK_ERROR("repeated");
  callGate(KVANT_GATE_MultiRZ, {0.1}, {0, 1, 2, 0});
  CHECK_ERROR("exceeds"); // more wires than qubits
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, nullptr, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("NULL pointer");
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, w0, -3, nullptr, nullptr, 0, 0);
  CHECK_ERROR("negative count");
  callGate(KVANT_GATE_PauliX, {}, {0}, {0}, {1});
  CHECK_ERROR("both a target and a control");
  callGate(KVANT_GATE_PauliX, {}, {0}, {1, 1}, {1, 1});
  CHECK_ERROR("repeated");
  callGate(KVANT_GATE_PauliX, {}, {0}, {5}, {1});
  CHECK_ERROR("out of range");
  callGate(KVANT_GATE_PauliX, {}, {0}, {1}, {2});
  CHECK_ERROR("not 0 or 1");
  const int64_t c1[1] = {1};
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, w0, 1, c1, nullptr, 1, 0);
  CHECK_ERROR("control values: NULL pointer");
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, w0, 1, nullptr, nullptr, 1, 0);
  CHECK_ERROR("control wires: NULL pointer");
  kvant_rt_gate(KVANT_GATE_PauliX, nullptr, 0, w0, 1, c1, nullptr, -1, 0);
  CHECK_ERROR("negative count");

  // None of the rejected calls touched the state.
  CHECK_NEAR(maxDiff(readState(3), before), 0.0, 0.0);
  // GlobalPhase is the one gate allowed without wires.
  callGate(KVANT_GATE_GlobalPhase, {0.2}, {});
  CHECK_NO_ERROR();
}

TEST(errors, unitary_arguments) {
  Reg r(2);
  const double u1[8] = {0, 0, 1, 0, 1, 0, 0, 0};
  const int64_t w0[1] = {0}, w00[2] = {0, 0}, w9[1] = {9};
  kvant_rt_unitary(nullptr, w0, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("NULL matrix");
  kvant_rt_unitary(u1, nullptr, 0, nullptr, nullptr, 0, 0);
  CHECK_ERROR("at least one wire");
  kvant_rt_unitary(u1, w00, 2, nullptr, nullptr, 0, 0);
  CHECK_ERROR("repeated");
  kvant_rt_unitary(u1, w9, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("out of range");
  kvant_rt_unitary(u1, nullptr, 1, nullptr, nullptr, 0, 0);
  CHECK_ERROR("NULL pointer");
  kvant_rt_unitary(u1, w0, 1, w0, nullptr, 0, 0);
  CHECK_NO_ERROR(); // zero controls: the pointers are not read
  const int8_t one[1] = {1};
  kvant_rt_unitary(u1, w0, 1, w0, one, 1, 0);
  CHECK_ERROR("both a target and a control");
}

TEST(errors, observable_arguments) {
  Reg r(2);
  CHECK(kvant_rt_obs_named(-1, 0) == 0);
  CHECK_ERROR("unknown observable id -1");
  CHECK(kvant_rt_obs_named(KVANT_OBS_COUNT, 0) == 0);
  CHECK_ERROR("unknown observable id");
  CHECK(kvant_rt_obs_named(KVANT_OBS_PauliZ, 2) == 0);
  CHECK_ERROR("out of range");
  CHECK(kvant_rt_obs_named(KVANT_OBS_PauliZ, -1) == 0);
  CHECK_ERROR("negative wire");

  const int64_t z0 = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  const int64_t x0 = kvant_rt_obs_named(KVANT_OBS_PauliX, 0);
  CHECK_NO_ERROR();
  const int64_t overlap[2] = {z0, x0}, bad[2] = {z0, 999}, self[1] = {z0};
  CHECK(kvant_rt_obs_tensor(overlap, 2) == 0);
  CHECK_ERROR("overlap on wire 0");
  CHECK(kvant_rt_obs_tensor(bad, 2) == 0);
  CHECK_ERROR("invalid observable handle 999");
  CHECK(kvant_rt_obs_tensor(self, 0) == 0);
  CHECK_ERROR("at least one factor");
  CHECK(kvant_rt_obs_tensor(nullptr, 1) == 0);
  CHECK_ERROR("NULL pointer");
  CHECK(kvant_rt_obs_tensor(self, -2) == 0);
  CHECK_ERROR("negative count");

  const double notHermitian[8] = {1, 0, 2, 0, 3, 0, 1, 0};
  const double herm[8] = {1, 0, 0, -1, 0, 1, 2, 0};
  const double nanMatrix[8] = {NAN, 0, 0, 0, 0, 0, 1, 0};
  const int64_t w0[1] = {0}, w00[2] = {0, 0}, w5[1] = {5};
  CHECK(kvant_rt_obs_hermitian(notHermitian, w0, 1) == 0);
  CHECK_ERROR("not Hermitian");
  CHECK(kvant_rt_obs_hermitian(nanMatrix, w0, 1) == 0);
  CHECK_ERROR("not Hermitian");
  CHECK(kvant_rt_obs_hermitian(nullptr, w0, 1) == 0);
  CHECK_ERROR("NULL matrix");
  CHECK(kvant_rt_obs_hermitian(herm, w00, 2) == 0);
  CHECK_ERROR("repeated");
  CHECK(kvant_rt_obs_hermitian(herm, w5, 1) == 0);
  CHECK_ERROR("out of range");
  CHECK(kvant_rt_obs_hermitian(herm, nullptr, 0) == 0);
  CHECK_ERROR("at least one wire");
  CHECK(kvant_rt_obs_hermitian(herm, w0, 1) != 0);
  CHECK_NO_ERROR();

  const double coeffs[2] = {1.0, 2.0};
  const int64_t terms[2] = {z0, -5};
  CHECK(kvant_rt_obs_hamiltonian(coeffs, terms, 2) == 0);
  CHECK_ERROR("invalid observable handle -5");
  CHECK(kvant_rt_obs_hamiltonian(nullptr, terms, 1) == 0);
  CHECK_ERROR("Hamiltonian coefficients: NULL pointer");
  CHECK(kvant_rt_obs_hamiltonian(coeffs, nullptr, 1) == 0);
  CHECK_ERROR("Hamiltonian terms: NULL pointer");
  CHECK(kvant_rt_obs_hamiltonian(coeffs, terms, -1) == 0);
  CHECK_ERROR("negative count");

  for (int64_t h : {int64_t{0}, int64_t{-1}, z0 + 1000, z0 + (int64_t{1} << 32)}) {
    check::context() = "handle " + std::to_string(h);
    CHECK(std::isnan(kvant_rt_expval(h)));
    CHECK_ERROR("invalid observable handle");
    CHECK(std::isnan(kvant_rt_var(h)));
    CHECK_ERROR("invalid observable handle");
  }
  check::context().clear();
}

TEST(errors, stale_observable_handles) {
  int64_t h;
  {
    Reg r(2);
    h = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
    CHECK_NO_ERROR();
  }
  Reg r2(2); // a new register never accepts the old register's handles
  CHECK(std::isnan(kvant_rt_expval(h)));
  CHECK_ERROR("invalid observable handle");
}

TEST(errors, measurement_arguments) {
  Reg r(2);
  double out[8];
  const int64_t w0[1] = {0}, w00[2] = {0, 0}, w2[1] = {2};
  kvant_rt_probs(nullptr, w0, 1);
  CHECK_ERROR("NULL output buffer");
  kvant_rt_probs(out, nullptr, 1);
  CHECK_ERROR("NULL pointer");
  kvant_rt_probs(out, w00, 2);
  CHECK_ERROR("repeated");
  kvant_rt_probs(out, w2, 1);
  CHECK_ERROR("out of range");
  kvant_rt_probs(out, w0, -1);
  CHECK_ERROR("negative count");
  kvant_rt_state(out, 8);
  CHECK_ERROR("buffer holds 8 amplitudes, the register has 4");
  kvant_rt_state(out, 2);
  CHECK_ERROR("buffer holds 2 amplitudes");
  kvant_rt_state(out, -4);
  CHECK_ERROR("negative amplitude count");
  kvant_rt_state(nullptr, 4);
  CHECK_ERROR("NULL output buffer");
  kvant_rt_state(out, 4);
  CHECK_NO_ERROR();
}

TEST(errors, sticky_until_cleared) {
  Reg r(2);
  const int64_t z = kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  CHECK_NO_ERROR();
  callGate(KVANT_GATE_PauliX, {}, {7}); // first error
  const char *first = kvant_rt_error();
  CHECK(first != nullptr);
  const std::string msg = first ? first : "";
  CHECK(msg.find("kvant_rt_gate") != std::string::npos);

  // Later calls are no-ops and do not replace the message.
  callGate(KVANT_GATE_PauliX, {}, {0}); // valid, but must not run
  callGate(-5, {}, {0});                // a second error is not recorded
  CHECK(kvant_rt_qalloc(2) == 0);
  CHECK(kvant_rt_obs_named(KVANT_OBS_PauliX, 0) == 0);
  CHECK(std::isnan(kvant_rt_expval(z)));
  CHECK(std::isnan(kvant_rt_var(z)));
  double sentinel[8] = {-7, -7, -7, -7, -7, -7, -7, -7};
  kvant_rt_state(sentinel, 4);
  CHECK(sentinel[0] == -7.0);
  const int64_t w0[1] = {0};
  kvant_rt_probs(sentinel, w0, 1);
  CHECK(sentinel[0] == -7.0);
  CHECK(kvant_rt_error() != nullptr && msg == kvant_rt_error());

  kvant_rt_clear_error();
  CHECK(kvant_rt_error() == nullptr);
  // The valid X above did not run; the observable from before the error still works.
  CHECK_NEAR(kvant_rt_expval(z), 1.0, kTol);
  CHECK_NO_ERROR();
}

TEST(errors, dealloc_frees_while_error_pending) {
  const int64_t a = kvant_rt_qalloc(1);
  const int64_t b = kvant_rt_qalloc(2);
  callGate(KVANT_GATE_PauliX, {}, {9});
  CHECK(kvant_rt_error() != nullptr);
  kvant_rt_qdealloc(b); // must free and pop despite the pending error
  kvant_rt_clear_error();
  kvant_rt_state(nullptr, 0);
  CHECK_ERROR("NULL output buffer"); // still a register active: a
  double out[4];
  kvant_rt_state(out, 2); // a has 1 qubit: b is gone
  CHECK_NO_ERROR();
  kvant_rt_qdealloc(a);
  kvant_rt_state(out, 2);
  CHECK_ERROR("no active register");
  // An unknown handle during a pending error keeps the first message.
  callGate(KVANT_GATE_PauliX, {}, {0});
  const std::string first = kvant_rt_error() ? kvant_rt_error() : "";
  kvant_rt_qdealloc(42424242);
  CHECK(kvant_rt_error() != nullptr && first == kvant_rt_error());
  kvant_rt_clear_error();
}

TEST(errors, per_thread_state) {
  kvant_rt_clear_error();
  const int64_t mine = kvant_rt_qalloc(2);
  callGate(KVANT_GATE_PauliX, {}, {5}); // error on this thread
  bool otherSawError = true, otherHadRegister = true, otherOwnWorks = false;
  bool otherCouldFreeMine = true;
  std::thread t([&] {
    otherSawError = kvant_rt_error() != nullptr;
    double out[16];
    kvant_rt_state(out, 4);
    otherHadRegister = kvant_rt_error() == nullptr;
    kvant_rt_clear_error();
    kvant_rt_qdealloc(mine);
    otherCouldFreeMine = kvant_rt_error() == nullptr;
    kvant_rt_clear_error();
    const int64_t r = kvant_rt_qalloc(3);
    gate(KVANT_GATE_PauliX, {}, {2});
    kvant_rt_state(out, 8);
    otherOwnWorks = kvant_rt_error() == nullptr && out[2] == 1.0;
    kvant_rt_qdealloc(r);
  });
  t.join();
  CHECK(!otherSawError);
  CHECK(!otherHadRegister);
  CHECK(!otherCouldFreeMine);
  CHECK(otherOwnWorks);
  CHECK_ERROR("out of range"); // our error survived the other thread's clear
  double out[8];
  kvant_rt_state(out, 4); // our register survived the other thread's dealloc attempt
  CHECK_NO_ERROR();
  kvant_rt_qdealloc(mine);
  CHECK_NO_ERROR();
}

TEST(errors, registers_left_on_exiting_thread_are_freed) {
  // Under ASan/LSan this would report a leak if thread-local registers were not destroyed.
  std::thread t([] {
    kvant_rt_qalloc(10);
    kvant_rt_obs_named(KVANT_OBS_PauliZ, 0);
  });
  t.join();
  CHECK_NO_ERROR();
}
