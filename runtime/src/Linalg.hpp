// Dense linear algebra for compiled programs: factorizations and triangular solves by LAPACK
// (the OpenBLAS build that SciPy ships, scipy-openblas32). Arrays are row-major and batched
// over their first dimension, as the C API passes them; LAPACK is column-major, so each matrix
// is transposed into a work buffer and back. The semantics are those of JAX's primitives of the
// same names (lax.linalg), as jax.jit runs them on the CPU:
//  - lu: partial pivoting (getrf); pivots are 0-based row swaps, the permutation p has
//    A[p] = L U; a singular matrix is factored all the same (a zero on U's diagonal);
//  - cholesky: the lower factor of the lower triangle (potrf), the upper part zero;
//  - eigh: eigenvalues ascending, eigenvectors in the columns (syevd / heevd);
//  - svd: singular values descending (gesdd), u and vt full or thin;
//  - qr: Householder (geqrf) and the explicit q (orgqr / ungqr), full or thin;
// and when LAPACK reports a numerical failure (not positive definite, no convergence), every
// result of that matrix is NaN. Argument errors throw kvant::rt::Error.
#pragma once

#include <complex>
#include <cstdint>

namespace kvant::rt::linalg {

/// How a triangular solve applies its matrix: op(A) = A, A^T, A^H or conj(A).
enum class Op : std::int64_t { None = 0, Transpose = 1, Adjoint = 2, Conjugate = 3 };

template <class T> struct Lapack; // per element type: double, std::complex<double>

/// lu (batch x m x n) -> lu (same), pivots (batch x min(m,n)), permutation (batch x m).
template <class T>
void lu(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, T *lu, std::int32_t *pivots,
        std::int32_t *permutation);

/// Solves op(A) X = B (left) or X op(A) = B (right) with A (batch x k x k) triangular, B
/// (batch x rows x cols), into x.
template <class T>
void triangularSolve(std::int64_t batch, std::int64_t k, std::int64_t rows, std::int64_t cols,
                     const T *a, const T *b, T *x, bool left, bool lower, Op op, bool unitDiagonal);

/// The lower Cholesky factor (batch x n x n).
template <class T> void cholesky(std::int64_t batch, std::int64_t n, const T *a, T *factor);

/// Eigenvectors (columns of v) and ascending eigenvalues w of the Hermitian matrices read from
/// their lower (or upper) triangle.
template <class T>
void eigh(std::int64_t batch, std::int64_t n, const T *a, bool lower, T *v, double *w);

/// Singular values s (batch x min(m,n)); with u and vt non-null also the vectors, full
/// (m x m, n x n) or thin (m x k, k x n).
template <class T>
void svd(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, double *s, T *u, T *vt,
         bool full);

/// q (m x m full, m x k thin) and r (m x n full, k x n thin).
template <class T>
void qr(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, T *q, T *r, bool full);

} // namespace kvant::rt::linalg
