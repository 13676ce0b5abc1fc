/* The header must be valid C (compiled programs and ctypes see it that way): a Bell pair and
 * an error round trip through the C API, compiled as C; the register-argument gate entry; and
 * host callbacks through an installed dispatcher. */
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

/* A dispatcher whose context counts its calls: callback 7 writes 2 * args[0][0] into
 * results[0][0] (doubles), callback 8 fails. */
static int32_t test_dispatch(void *context, int64_t callback, int64_t num_args, void *const *args,
                             int64_t num_results, void *const *results) {
  ++*(int *)context;
  if (callback != 7 || num_args != 1 || num_results != 1)
    return 1;
  ((double *)results[0])[0] = 2.0 * ((const double *)args[0])[0];
  return 0;
}

static void test_host_callbacks(void) {
  int calls = 0, other = 0;
  double x = 1.5, y[2] = {-1.0, -1.0};
  void *args[1] = {&x}, *results[1] = {y};
  const int64_t bytes[1] = {sizeof y};

  /* none installed: an error naming the callback, the result zeroed */
  kvant_rt_host_callback(7, 1, args, 1, results, bytes);
  EXPECT(kvant_rt_error() != NULL && y[0] == 0.0 && y[1] == 0.0);
  kvant_rt_clear_error();

  kvant_host_dispatch_t previous = test_dispatch;
  void *previous_context = &other;
  kvant_rt_set_host_dispatch(test_dispatch, &calls, &previous, &previous_context);
  EXPECT(previous == NULL && previous_context == NULL);
  kvant_rt_host_callback(7, 1, args, 1, results, bytes);
  EXPECT(kvant_rt_error() == NULL && calls == 1 && y[0] == 3.0);

  /* a failing function: the error, the result zeroed; later calls are not made */
  y[0] = y[1] = -1.0;
  kvant_rt_host_callback(8, 1, args, 1, results, bytes);
  EXPECT(kvant_rt_error() != NULL && calls == 2 && y[0] == 0.0 && y[1] == 0.0);
  if (kvant_rt_error())
    printf("host callback error: %s\n", kvant_rt_error());
  y[0] = -1.0;
  kvant_rt_host_callback(7, 1, args, 1, results, bytes);
  EXPECT(calls == 2 && y[0] == 0.0);
  kvant_rt_clear_error();

  /* nested install and restore */
  kvant_rt_set_host_dispatch(test_dispatch, &other, &previous, &previous_context);
  EXPECT(previous == test_dispatch && previous_context == &calls);
  kvant_rt_host_callback(7, 1, args, 1, results, bytes);
  EXPECT(other == 1 && calls == 2);
  kvant_rt_set_host_dispatch(previous, previous_context, NULL, NULL);
  kvant_rt_host_callback(7, 1, args, 1, results, bytes);
  EXPECT(other == 1 && calls == 3 && kvant_rt_error() == NULL);
  kvant_rt_set_host_dispatch(NULL, NULL, NULL, NULL);
}

int main(void) {
  test_host_callbacks();
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
