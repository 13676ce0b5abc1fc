/* kvant runtime — the C API that compiled programs call.
 *
 * Conventions
 * - One simulator ("register") is active per thread at a time. kvant_rt_qalloc creates a new
 *   register in |0...0>, makes it active (the previously active one, if any, is restored by
 *   kvant_rt_qdealloc), and returns an opaque non-zero handle. Every gate, observable and
 *   measurement call acts on the active register; a qubit is named by its wire index in it.
 * - Basis-state order follows PennyLane: wire 0 is the most significant bit of the index.
 *   Probabilities over wires (w_0, ..., w_{k-1}) are indexed the same way (w_0 most significant).
 * - Complex numbers cross the ABI as interleaved (re, im) doubles, row-major for matrices.
 * - Errors never abort. A failing call records a message in a thread-local slot and makes every
 *   later call a no-op (returning 0 / NaN) until kvant_rt_clear_error(); deallocation always
 *   frees. The caller (the Python frontend) checks kvant_rt_error() after each program run.
 */
#ifndef KVANT_RUNTIME_H
#define KVANT_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
#define KVANT_GATE(id, name, nparams, nwires) KVANT_GATE_##id,
#include "kvant/gates.def"
#undef KVANT_GATE
  KVANT_GATE_COUNT
} kvant_gate_t;

typedef enum {
#define KVANT_OBSERVABLE(id, name) KVANT_OBS_##id,
#include "kvant/observables.def"
#undef KVANT_OBSERVABLE
  KVANT_OBS_COUNT
} kvant_observable_t;

/* ---- registers ---- */
int64_t kvant_rt_qalloc(int64_t num_qubits);
void kvant_rt_qdealloc(int64_t reg);

/* Applies the gates still queued on the active register. Registers of 22+ qubits queue their
 * gates and apply them in cache-sized blocks when the state is next used; every call that reads
 * or changes the state does this first, so programs never need this call. For timing gates
 * alone (benchmarks). */
void kvant_rt_sync(void);

/* ---- gates ----
 * Apply gate `gate` (a kvant_gate_t) with `num_params` parameters to `wires` (target wires in
 * PennyLane's order for that gate, e.g. CNOT = [control, target]), controlled additionally on
 * `ctrl_wires` having the values `ctrl_values` (0 or 1 each). `adjoint` != 0 applies U^dagger. */
void kvant_rt_gate(int64_t gate, const double *params, int64_t num_params, const int64_t *wires,
                   int64_t num_wires, const int64_t *ctrl_wires, const int8_t *ctrl_values,
                   int64_t num_ctrls, int8_t adjoint);

/* The same for the common case, with every argument in a register: no controls, at most 2
 * wires (`num_wires` of wire0, wire1) and at most 3 parameters (the gate's count of param0,
 * param1, param2); unused arguments are ignored. Compiled code calls this for most gates: a
 * call site is one instruction plus constants, where kvant_rt_gate needs stack arrays. */
void kvant_rt_gate_small(int64_t gate, int64_t num_wires, int64_t wire0, int64_t wire1,
                         double param0, double param1, double param2, int8_t adjoint);

/* Apply a dense 2^k x 2^k unitary (interleaved complex, row-major) to k = num_wires wires;
 * wires[0] is the most significant bit of the matrix index. */
void kvant_rt_unitary(const double *matrix, const int64_t *wires, int64_t num_wires,
                      const int64_t *ctrl_wires, const int8_t *ctrl_values, int64_t num_ctrls,
                      int8_t adjoint);

/* ---- observables (handles owned by the active register, freed with it) ---- */
int64_t kvant_rt_obs_named(int64_t kind, int64_t wire);
int64_t kvant_rt_obs_tensor(const int64_t *factors, int64_t num_factors);
int64_t kvant_rt_obs_hermitian(const double *matrix, const int64_t *wires, int64_t num_wires);
int64_t kvant_rt_obs_hamiltonian(const double *coeffs, const int64_t *terms, int64_t num_terms);

/* ---- measurements ---- */
double kvant_rt_expval(int64_t obs);
double kvant_rt_var(int64_t obs);
/* out: 2^num_wires doubles. */
void kvant_rt_probs(double *out, const int64_t *wires, int64_t num_wires);
/* out: 2^n complex amplitudes (2 * 2^n doubles) of the whole active register. */
void kvant_rt_state(double *out, int64_t num_amplitudes);

/* ======================================================================================
 * Additions (issue #3). Same error model as above: a failing call records the sticky error,
 * writes nothing to its outputs, and returns 0 where it returns a value.
 *
 * Threads: loops over registers of at least 2^18 amplitudes run on the runtime's own threads
 * (OMP_NUM_THREADS sets how many, default: the CPUs the process may use; idle threads sleep
 * after a short spin, OMP_WAIT_POLICY=passive makes them sleep at once); smaller registers stay
 * on the calling thread. The environment variable KVANT_RT_MIN_PARALLEL_QUBITS (read once)
 * moves that threshold. Results do not depend on the thread count: sums are split and added in
 * an order fixed by the register size.
 * ====================================================================================== */

/* ---- state preparation ----
 * Both discard the previous state of the active register (PennyLane applies them at the start
 * of a circuit): afterwards the listed wires hold the given state and every other wire is |0>.
 * kvant_rt_basis_state: bits[i] (0 or 1) is the value of wires[i].
 * kvant_rt_state_prep: 2^num_wires interleaved complex amplitudes (num_amplitudes of them),
 * wires[0] the most significant bit of their index; the vector must have norm 1 (within
 * 1e-8 relative), else an error. */
void kvant_rt_basis_state(const int8_t *bits, const int64_t *wires, int64_t num_wires);
void kvant_rt_state_prep(const double *amplitudes, int64_t num_amplitudes, const int64_t *wires,
                         int64_t num_wires);

/* ---- sampling and mid-circuit measurement ----
 * Randomness comes from a per-thread generator (mt19937_64). kvant_rt_set_seed makes every
 * later sample / counts / measure on this thread reproducible; without it the generator is
 * seeded from std::random_device on first use. */
void kvant_rt_set_seed(uint64_t seed);
/* shots >= 1 samples of the computational-basis values of `wires` (num_wires >= 1), without
 * changing the state: out[s * num_wires + j] is the bit of wires[j] in sample s. */
void kvant_rt_sample(int64_t *out, int64_t shots, const int64_t *wires, int64_t num_wires);
void kvant_rt_sample_f64(double *out, int64_t shots, const int64_t *wires, int64_t num_wires);
/* counts_out: 2^num_wires entries, the number of the `shots` samples that gave each outcome
 * (wires[0] the most significant bit of the outcome index). */
void kvant_rt_counts(int64_t *counts_out, int64_t shots, const int64_t *wires, int64_t num_wires);
/* Measures `wire` in the computational basis and returns the outcome (0 or 1); the state
 * collapses and is renormalised. reset != 0: the wire is then flipped back to |0> if the
 * outcome was 1. postselect = 0 or 1 forces that outcome (error if its probability is below
 * 1e-14 -- the frontend raises it); postselect = -1: no postselection. */
int8_t kvant_rt_measure(int64_t wire, int8_t reset, int8_t postselect);

/* ---- adjoint differentiation ----
 * kvant_rt_tape_begin starts recording on the active register: every gate and unitary applied
 * afterwards (until kvant_rt_tape_end) is recorded, with its parameters, adjoint flag and
 * controls. A new begin discards the previous tape. The recorded parameters are numbered in
 * the order the gates were applied, each gate's in its own order (Rot(phi, theta, omega)
 * contributes 3); QubitUnitary and parameterless gates contribute none.
 *
 * The differentiation calls below work on the register's current state, which must be the
 * state right after the recorded gates: applying a gate, a state preparation or a measurement
 * after kvant_rt_tape_end is an error for them (expval/var/probs/state/sample in between are
 * fine). Mid-circuit measurements and state preparations after the first recorded gate cannot
 * be differentiated: they make these calls fail. The state is not changed. Cost: one backward
 * pass over the tape, touching 1 + num_obs state vectors (Jones & Gacon, arXiv:2009.02823).
 * num_params must equal kvant_rt_tape_num_params(). */
void kvant_rt_tape_begin(void);
void kvant_rt_tape_end(void);
int64_t kvant_rt_tape_num_params(void);
/* jac_out[k * num_params + p] = d <obs[k]> / d theta_p. */
void kvant_rt_adjoint_jacobian(const int64_t *obs, int64_t num_obs, double *jac_out,
                               int64_t num_params);

/* Measurement kinds for kvant_rt_adjoint_vjp_mixed (values are part of the ABI). */
enum { KVANT_MEAS_EXPVAL = 0, KVANT_MEAS_VAR = 1, KVANT_MEAS_PROBS = 2 };

/* The VJP of a circuit's measurements (expval, var and probs, any number of each, in any
 * order), in one backward sweep with the cotangent-weighted observable:
 *   grad_out[p] = sum_m sum_i ct_m[i] d result_m[i] / d theta_p.
 * Measurement m (0 <= m < num_meas) is kinds[m]:
 *   KVANT_MEAS_EXPVAL  <obs[m]>, one cotangent entry;
 *   KVANT_MEAS_VAR     var(obs[m]), one cotangent entry;
 *   KVANT_MEAS_PROBS   probs over num_wires[m] wires, 2^num_wires[m] cotangent entries in
 *                      kvant_rt_probs order; obs[m] is ignored. Its wires are the next
 *                      num_wires[m] entries of `wires`, which holds the wires of every probs
 *                      measurement, concatenated in measurement order (num_wires_total of them).
 * num_wires[m] must be 0 for expval and var. `cotangent` holds the measurements' entries
 * concatenated in measurement order, num_cotangent in all (checked against the kinds).
 * obs and num_wires have num_meas entries each. Same tape rules and errors as the calls above. */
void kvant_rt_adjoint_vjp_mixed(const int64_t *kinds, const int64_t *obs, const int64_t *num_wires,
                                int64_t num_meas, const int64_t *wires, int64_t num_wires_total,
                                const double *cotangent, int64_t num_cotangent, double *grad_out,
                                int64_t num_params);

/* The Jacobian of the same kind of mixed measurement list: row k, column p is
 *   jac_out[k * num_params + p] = d entry_k / d theta_p,
 * entries in the order of kvant_rt_adjoint_vjp_mixed's cotangent (num_rows of them). One
 * backward sweep carries one vector per row (up to ~1 GiB of them; more rows take more sweeps),
 * so probs over m wires cost 2^m vectors. Same tape rules and errors as the calls above. */
void kvant_rt_adjoint_jacobian_mixed(const int64_t *kinds, const int64_t *obs,
                                     const int64_t *num_wires, int64_t num_meas,
                                     const int64_t *wires, int64_t num_wires_total, double *jac_out,
                                     int64_t num_rows, int64_t num_params);

/* ---- host callbacks ----
 * Compiled programs call functions of the process that runs them (Python functions) through
 * kvant_rt_host_callback, by a number local to the program. The caller of a program installs,
 * on its thread and for the duration of the call, a dispatcher and its context (the program's
 * table of functions), so that a compiled library carries no process-specific identity. */

/* Runs host function number `callback` of the installed context on `num_args` argument
 * buffers and `num_results` result buffers (addresses of contiguous row-major data; the
 * dispatcher knows their shapes and dtypes); returns 0 on success, anything else when the
 * function failed (the dispatcher keeps the reason). */
typedef int32_t (*kvant_host_dispatch_t)(void *context, int64_t callback, int64_t num_args,
                                         void *const *args, int64_t num_results,
                                         void *const *results);

/* Installs `dispatch` (NULL: none) with `context` for this thread's host callbacks; the
 * previous pair is returned through `previous_dispatch` / `previous_context` when they are not
 * NULL, for the caller to restore (a callback may call another compiled program). */
void kvant_rt_set_host_dispatch(kvant_host_dispatch_t dispatch, void *context,
                                kvant_host_dispatch_t *previous_dispatch, void **previous_context);

/* Called by compiled code: calls the installed dispatcher. `result_bytes[i]` is the size of
 * result buffer i; the buffers are zeroed when the function is not run (an error is pending,
 * no dispatcher is installed) or fails, which records the error
 * "kvant_rt_host_callback: host callback <n> failed" (or says that none is installed). */
void kvant_rt_host_callback(int64_t callback, int64_t num_args, void *const *args,
                            int64_t num_results, void *const *results, const int64_t *result_bytes);
/* ---- dense linear algebra (LAPACK) ----
 * Compiled programs call these through MLIR's C interface for external functions
 * (llvm.emit_c_interface): each array is passed as a pointer to its memref descriptor, and the
 * results are written to the descriptors *out points to, in buffers this library allocates with
 * malloc and the caller frees (free(allocated)). Arrays are row-major and contiguous, batched
 * over their first dimension: matrices are [batch, rows, cols], vectors [batch, n]. The element
 * type is double (_f64) or interleaved complex double (_c128); eigenvalues and singular values
 * are double for both. Semantics are those of JAX's primitives of the same names on the CPU:
 *   lu               A[perm] = L U (partial pivoting); pivots: 0-based row swaps (int32)
 *   triangular_solve op(A) X = B (left_side) or X op(A) = B, A's lower or upper triangle,
 *                    op: 0 = A, 1 = A^T, 2 = A^H, 3 = conj(A)
 *   cholesky         the lower factor L of A = L L^H (from A's lower triangle), upper part 0
 *   eigh             ascending eigenvalues w, eigenvectors in the columns of v
 *   svd              descending singular values s; u, vt full (job 2) or thin (job 1)
 *   svd_values       s only
 *   qr               q (m x m full, m x k thin) and r (m x n full, k x n thin), k = min(m, n)
 * A numerical failure of one matrix (not positive definite, no convergence) makes its results
 * NaN, as under jax.jit; errors (a dimension beyond LAPACK's 32-bit integers) are recorded as
 * for the other calls, and the results are still allocated (NaN). */
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} kvant_rt_memref2_t;
typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[3];
  int64_t strides[3];
} kvant_rt_memref3_t;
typedef struct {
  kvant_rt_memref3_t lu;
  kvant_rt_memref2_t pivots;
  kvant_rt_memref2_t permutation;
} kvant_rt_lu_result_t;
typedef struct {
  kvant_rt_memref3_t vectors;
  kvant_rt_memref2_t values;
} kvant_rt_eigh_result_t;
typedef struct {
  kvant_rt_memref2_t s;
  kvant_rt_memref3_t u;
  kvant_rt_memref3_t vt;
} kvant_rt_svd_result_t;
typedef struct {
  kvant_rt_memref3_t q;
  kvant_rt_memref3_t r;
} kvant_rt_qr_result_t;

/* float64 */
void _mlir_ciface_kvant_rt_lu_f64(kvant_rt_lu_result_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_triangular_solve_f64(kvant_rt_memref3_t *out,
                                                const kvant_rt_memref3_t *a,
                                                const kvant_rt_memref3_t *b, int64_t left_side,
                                                int64_t lower, int64_t op, int64_t unit_diagonal);
void _mlir_ciface_kvant_rt_cholesky_f64(kvant_rt_memref3_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_eigh_f64(kvant_rt_eigh_result_t *out, const kvant_rt_memref3_t *a,
                                    int64_t lower);
void _mlir_ciface_kvant_rt_svd_f64(kvant_rt_svd_result_t *out, const kvant_rt_memref3_t *a,
                                   int64_t job);
void _mlir_ciface_kvant_rt_svd_values_f64(kvant_rt_memref2_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_qr_f64(kvant_rt_qr_result_t *out, const kvant_rt_memref3_t *a,
                                  int64_t full_matrices);
/* complex128 */
void _mlir_ciface_kvant_rt_lu_c128(kvant_rt_lu_result_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_triangular_solve_c128(kvant_rt_memref3_t *out,
                                                 const kvant_rt_memref3_t *a,
                                                 const kvant_rt_memref3_t *b, int64_t left_side,
                                                 int64_t lower, int64_t op, int64_t unit_diagonal);
void _mlir_ciface_kvant_rt_cholesky_c128(kvant_rt_memref3_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_eigh_c128(kvant_rt_eigh_result_t *out, const kvant_rt_memref3_t *a,
                                     int64_t lower);
void _mlir_ciface_kvant_rt_svd_c128(kvant_rt_svd_result_t *out, const kvant_rt_memref3_t *a,
                                    int64_t job);
void _mlir_ciface_kvant_rt_svd_values_c128(kvant_rt_memref2_t *out, const kvant_rt_memref3_t *a);
void _mlir_ciface_kvant_rt_qr_c128(kvant_rt_qr_result_t *out, const kvant_rt_memref3_t *a,
                                   int64_t full_matrices);
/* ---- distributed registers (docs/distributed.md) ----
 * kvant_rt_set_distributed(1): registers allocated on this thread from now on hold their state
 * distributed over the ranks of the MPI job (MPI_COMM_WORLD, a power of 2 of them): with
 * P = 2^k ranks each rank holds 2^(n-k) amplitudes (registers of fewer than k + 5 qubits are
 * held whole by every rank). The first call loads kvant's MPI plugin (libkvant_rt_mpi.so,
 * beside this library, or $KVANT_RT_MPI_LIBRARY) and starts MPI unless the process already
 * has; a library built without MPI, or an MPI that cannot start, makes it an error. Programs
 * that never call it never load MPI. Every rank must make the same calls in the same order
 * (SPMD); every call then returns the same result on every rank: reductions add the ranks'
 * parts, random draws are made on rank 0 and broadcast. kvant_rt_set_distributed(0): later
 * registers are ordinary again. */
void kvant_rt_set_distributed(int8_t enable);
/* kvant_rt_set_distributed(2), "shift mode": registers stay whole on every rank; instead the
 * shifted-circuit evaluations of each parameter-shift batch are dealt out over the ranks (any
 * number of them). It also makes every rank's random generator rank 0's.
 * A batch (ShiftCircuits.cpp) is: kvant_rt_shifts_begin(); for each shifted evaluation
 * `if (kvant_rt_owns_shift()) evaluate, else zeros`; then kvant_rt_combine_shifts(data, n) on
 * the linear combination of the evaluations. In shift mode the i-th evaluation of the outermost
 * open batch is this rank's when i mod P == rank, and its random draws come from a generator
 * seeded from (a seed drawn at the batch's start, i), so they do not depend on P;
 * combine_shifts sums `data` over the ranks (one allreduce), making every rank's result the
 * same, and moves the generator on identically on every rank. Batches opened inside an
 * evaluation are evaluated whole by its rank. Outside shift mode (every program that does not
 * ask for it) kvant_rt_owns_shift is always 1, combine_shifts only closes the batch, and the
 * generator is not touched: the same compiled code serves both. A rank that failed still joins
 * the allreduce and passes its failure on, so the other ranks report an error instead of
 * waiting. */
void kvant_rt_shifts_begin(void);
int8_t kvant_rt_owns_shift(void);
void kvant_rt_combine_shifts(double *data, int64_t n);
/* Facts about the active register's distribution, for benchmarks: up to num_out of
 * {ranks, global qubits k, wire swaps (per vector swapped), bytes this rank sent in them,
 * point-to-point messages, collective calls, exchange buffer bytes, this rank, nanoseconds
 * spent in the swaps' exchanges, shifted circuits this thread evaluated in the batches of
 * kvant_rt_owns_shift (cumulative), shifted evaluations dealt out (cumulative, all ranks')};
 * returns how
 * many were written. An ordinary register reports 1 rank and zeros; with no active register,
 * the last distributed register freed on this thread is reported. */
int64_t kvant_rt_distributed_stats(int64_t *out, int64_t num_out);

/* ---- errors ---- */
/* The message of the first error since the last clear, or NULL. */
const char *kvant_rt_error(void);
void kvant_rt_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif /* KVANT_RUNTIME_H */
