/* The header must be valid C (compiled programs and ctypes see it that way): a Bell pair and
 * an error round trip through the C API, compiled as C; and the register-argument gate entry. */
#include "kvant/runtime.h"

#include <math.h>
#include <stdio.h>

static int failures = 0;
#define EXPECT(cond)                                                                               \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                           \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

int main(void) {
  const int64_t w0[1] = {0}, w01[2] = {0, 1};
  int64_t reg = kvant_rt_qalloc(2);
  EXPECT(reg != 0);
  kvant_rt_gate(KVANT_GATE_Hadamard, NULL, 0, w0, 1, NULL, NULL, 0, 0);
  kvant_rt_gate(KVANT_GATE_CNOT, NULL, 0, w01, 2, NULL, NULL, 0, 0);
  double probs[4];
  kvant_rt_probs(probs, w01, 2);
  EXPECT(fabs(probs[0] - 0.5) < 1e-12 && fabs(probs[3] - 0.5) < 1e-12);
  EXPECT(fabs(probs[1]) < 1e-12 && fabs(probs[2]) < 1e-12);
  int64_t factors[2] = {kvant_rt_obs_named(KVANT_OBS_PauliZ, 0),
                        kvant_rt_obs_named(KVANT_OBS_PauliZ, 1)};
  int64_t zz = kvant_rt_obs_tensor(factors, 2);
  EXPECT(fabs(kvant_rt_expval(zz) - 1.0) < 1e-12);
  EXPECT(kvant_rt_error() == NULL);

  /* kvant_rt_gate_small: back to |00> with the long form, then RY(0.3) on wire 1 and CRX(0.5)
   * controlled by wire 1, both undone again with the adjoint flag. Unused arguments are junk. */
  kvant_rt_gate(KVANT_GATE_CNOT, NULL, 0, w01, 2, NULL, NULL, 0, 0);
  kvant_rt_gate(KVANT_GATE_Hadamard, NULL, 0, w0, 1, NULL, NULL, 0, 1);
  kvant_rt_gate_small(KVANT_GATE_RY, 1, 1, -7, 0.3, 99.0, 99.0, 0);
  EXPECT(fabs(kvant_rt_expval(kvant_rt_obs_named(KVANT_OBS_PauliZ, 1)) - cos(0.3)) < 1e-12);
  kvant_rt_gate_small(KVANT_GATE_CRX, 2, 1, 0, 0.5, 0.0, 0.0, 0);
  /* <Z0> after CRX(0.5) controlled on wire 1 (|1> with probability sin^2(0.15)) */
  const double p1 = sin(0.15) * sin(0.15);
  EXPECT(fabs(kvant_rt_expval(kvant_rt_obs_named(KVANT_OBS_PauliZ, 0)) -
              (1.0 - 2.0 * p1 * sin(0.25) * sin(0.25))) < 1e-12);
  kvant_rt_gate_small(KVANT_GATE_CRX, 2, 1, 0, 0.5, 0.0, 0.0, 1);
  kvant_rt_gate_small(KVANT_GATE_RY, 1, 1, 0, 0.3, 0.0, 0.0, 1);
  EXPECT(fabs(kvant_rt_expval(kvant_rt_obs_named(KVANT_OBS_PauliZ, 1)) - 1.0) < 1e-12);
  EXPECT(kvant_rt_error() == NULL);
  kvant_rt_gate_small(KVANT_GATE_CNOT, 1, 0, 1, 0.0, 0.0, 0.0, 0); /* CNOT needs 2 wires */
  EXPECT(kvant_rt_error() != NULL);
  kvant_rt_clear_error();
  kvant_rt_gate_small(KVANT_GATE_DoubleExcitation, 4, 0, 1, 0.1, 0.0, 0.0, 0);
  EXPECT(kvant_rt_error() != NULL);
  kvant_rt_clear_error();

  kvant_rt_gate(KVANT_GATE_COUNT, NULL, 0, w0, 1, NULL, NULL, 0, 0);
  EXPECT(kvant_rt_error() != NULL);
  if (kvant_rt_error())
    printf("error round trip: %s\n", kvant_rt_error());
  kvant_rt_clear_error();
  EXPECT(kvant_rt_error() == NULL);
  kvant_rt_qdealloc(reg);
  EXPECT(kvant_rt_error() == NULL);
  printf("%s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
