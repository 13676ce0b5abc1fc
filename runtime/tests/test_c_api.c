/* The header must be valid C (compiled programs and ctypes see it that way): a Bell pair and
 * an error round trip through the C API, compiled as C; the register-argument gate entry; host
 * callbacks through an installed dispatcher; and the dense linear algebra entries, called as
 * compiled programs call them. */
#include "kvant/runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

/* A contiguous [1, rows, cols] memref over data (the descriptor compiled programs pass). */
static kvant_rt_memref3_t matrix(double *data, int64_t rows, int64_t cols) {
  kvant_rt_memref3_t m = {data, data, 0, {1, rows, cols}, {rows * cols, cols, 1}};
  return m;
}

/* The LAPACK entry points on matrices with known factors (closed forms). */
static void test_linalg(void) {
  /* A = [[1, 2], [3, 4]]: pivoting swaps the rows, L = [[1, 0], [1/3, 1]],
   * U = [[3, 4], [0, 2/3]] */
  double a[4] = {1, 2, 3, 4};
  kvant_rt_memref3_t am = matrix(a, 2, 2);
  kvant_rt_lu_result_t lu;
  _mlir_ciface_kvant_rt_lu_f64(&lu, &am);
  const double *f = (const double *)lu.lu.aligned;
  const int32_t *piv = (const int32_t *)lu.pivots.aligned;
  const int32_t *perm = (const int32_t *)lu.permutation.aligned;
  EXPECT(lu.lu.sizes[0] == 1 && lu.lu.sizes[1] == 2 && lu.lu.sizes[2] == 2);
  EXPECT(fabs(f[0] - 3) < 1e-15 && fabs(f[1] - 4) < 1e-15);
  EXPECT(fabs(f[2] - 1.0 / 3) < 1e-15 && fabs(f[3] - 2.0 / 3) < 1e-15);
  EXPECT(piv[0] == 1 && piv[1] == 1 && perm[0] == 1 && perm[1] == 0);
  free(lu.lu.allocated);
  free(lu.pivots.allocated);
  free(lu.permutation.allocated);

  /* Cholesky of [[4, 2], [2, 5]] = L L^T with L = [[2, 0], [1, 2]]; the upper part is 0 */
  double spd[4] = {4, 2, 2, 5};
  kvant_rt_memref3_t sm = matrix(spd, 2, 2);
  kvant_rt_memref3_t l;
  _mlir_ciface_kvant_rt_cholesky_f64(&l, &sm);
  const double *lv = (const double *)l.aligned;
  EXPECT(fabs(lv[0] - 2) < 1e-15 && lv[1] == 0 && fabs(lv[2] - 1) < 1e-15 &&
         fabs(lv[3] - 2) < 1e-15);
  free(l.allocated);
  /* not positive definite: NaN, no error */
  double neg[4] = {-1, 0, 0, -1};
  kvant_rt_memref3_t nm = matrix(neg, 2, 2);
  _mlir_ciface_kvant_rt_cholesky_f64(&l, &nm);
  EXPECT(isnan(((const double *)l.aligned)[0]) && kvant_rt_error() == NULL);
  free(l.allocated);

  /* eigh of [[2, 1], [1, 2]]: eigenvalues 1 and 3 (ascending), vectors (1, -1) and (1, 1)
   * over sqrt 2 up to sign; the upper triangle is not read when lower = 1 */
  double sym[4] = {2, 99, 1, 2};
  kvant_rt_memref3_t ym = matrix(sym, 2, 2);
  kvant_rt_eigh_result_t e;
  _mlir_ciface_kvant_rt_eigh_f64(&e, &ym, 1);
  const double *w = (const double *)e.values.aligned, *v = (const double *)e.vectors.aligned;
  EXPECT(fabs(w[0] - 1) < 1e-14 && fabs(w[1] - 3) < 1e-14);
  EXPECT(fabs(fabs(v[0]) - sqrt(0.5)) < 1e-14 && fabs(v[0] + v[2]) < 1e-14); /* column 0 */
  EXPECT(fabs(v[1] - v[3]) < 1e-14);                                         /* column 1 */
  free(e.values.allocated);
  free(e.vectors.allocated);

  /* op(A) X = B with A = [[2, 0], [1, 4]] lower and B = [2, 9]^T: X = [1, 2]; with op = A^T
   * (upper, [[2, 1], [0, 4]]) X is checked by substitution */
  double t[4] = {2, 0, 1, 4}, rhs[2] = {2, 9};
  kvant_rt_memref3_t tm = matrix(t, 2, 2), bm = matrix(rhs, 2, 1), x;
  _mlir_ciface_kvant_rt_triangular_solve_f64(&x, &tm, &bm, 1, 1, 0, 0);
  const double *xv = (const double *)x.aligned;
  EXPECT(fabs(xv[0] - 1) < 1e-15 && fabs(xv[1] - 2) < 1e-15);
  free(x.allocated);
  _mlir_ciface_kvant_rt_triangular_solve_f64(&x, &tm, &bm, 1, 1, 1, 0);
  xv = (const double *)x.aligned;
  EXPECT(fabs(2 * xv[0] + xv[1] - 2) < 1e-15 && fabs(4 * xv[1] - 9) < 1e-15);
  free(x.allocated);

  /* singular values of diag(3, -2) are 3, 2 (descending) */
  double d[4] = {3, 0, 0, -2};
  kvant_rt_memref3_t dm = matrix(d, 2, 2);
  kvant_rt_memref2_t s;
  _mlir_ciface_kvant_rt_svd_values_f64(&s, &dm);
  EXPECT(fabs(((const double *)s.aligned)[0] - 3) < 1e-15 &&
         fabs(((const double *)s.aligned)[1] - 2) < 1e-15);
  free(s.allocated);

  /* QR of [[3], [4]] (thin): |r| = 5, q = [3, 4] / 5 up to sign */
  double col[2] = {3, 4};
  kvant_rt_memref3_t cm = matrix(col, 2, 1);
  kvant_rt_qr_result_t qr;
  _mlir_ciface_kvant_rt_qr_f64(&qr, &cm, 0);
  const double *q = (const double *)qr.q.aligned, *r = (const double *)qr.r.aligned;
  EXPECT(qr.q.sizes[2] == 1 && qr.r.sizes[1] == 1 && fabs(fabs(r[0]) - 5) < 1e-14);
  EXPECT(fabs(q[0] * r[0] - 3) < 1e-14 && fabs(q[1] * r[0] - 4) < 1e-14);
  free(qr.q.allocated);
  free(qr.r.allocated);
  EXPECT(kvant_rt_error() == NULL);
}

/* Parameter-shift batches without MPI (a program not run in shift mode): every evaluation is
 * this process's, combining changes nothing, the counters count; closing a batch that is not
 * open is an error. */
static void test_shift_batches(void) {
  int64_t before[11] = {0}, after[11] = {0};
  EXPECT(kvant_rt_distributed_stats(before, 11) == 11);
  kvant_rt_shifts_begin();
  int owned = 0;
  for (int i = 0; i < 5; ++i)
    owned += kvant_rt_owns_shift();
  kvant_rt_shifts_begin(); /* nested: an evaluation's own batch */
  owned += kvant_rt_owns_shift();
  double inner[1] = {2.5};
  kvant_rt_combine_shifts(inner, 1);
  double data[3] = {1.0, -2.0, 0.25};
  kvant_rt_combine_shifts(data, 3);
  EXPECT(owned == 6 && data[0] == 1.0 && data[1] == -2.0 && data[2] == 0.25 && inner[0] == 2.5);
  EXPECT(kvant_rt_distributed_stats(after, 11) == 11);
  /* the nested evaluation is part of the outer one, not dealt out */
  EXPECT(after[9] - before[9] == 5 && after[10] - before[10] == 5);
  EXPECT(kvant_rt_error() == NULL);
  kvant_rt_combine_shifts(data, 3);
  EXPECT(kvant_rt_error() != NULL);
  kvant_rt_clear_error();
  kvant_rt_set_distributed(3);
  EXPECT(kvant_rt_error() != NULL);
  kvant_rt_clear_error();
}

int main(void) {
  test_host_callbacks();
  test_shift_batches();
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
  test_linalg();
  printf("%s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
