/* The header must be valid C (compiled programs and ctypes see it that way): a Bell pair and
 * an error round trip through the C API, compiled as C. */
#include "kvant/runtime.h"

#include <math.h>
#include <stdio.h>

static int failures = 0;
#define EXPECT(cond)                                                                              \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond);                          \
      ++failures;                                                                                 \
    }                                                                                             \
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
