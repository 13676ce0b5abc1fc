#include "Linalg.hpp"

#include "StateVector.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

// LAPACK's Fortran interface as scipy-openblas32 exports it: symbols prefixed `scipy_`, 32-bit
// integers, every argument by pointer, complex numbers as (re, im) pairs, and the lengths of
// character arguments appended (gfortran's convention; one character each here).
using lint = std::int32_t;
using zdouble = std::complex<double>;
extern "C" {
void scipy_dgetrf_(const lint *m, const lint *n, double *a, const lint *lda, lint *ipiv,
                   lint *info);
void scipy_zgetrf_(const lint *m, const lint *n, zdouble *a, const lint *lda, lint *ipiv,
                   lint *info);
void scipy_dtrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
                  const lint *m, const lint *n, const double *alpha, const double *a,
                  const lint *lda, double *b, const lint *ldb, std::size_t, std::size_t,
                  std::size_t, std::size_t);
void scipy_ztrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
                  const lint *m, const lint *n, const zdouble *alpha, const zdouble *a,
                  const lint *lda, zdouble *b, const lint *ldb, std::size_t, std::size_t,
                  std::size_t, std::size_t);
void scipy_dpotrf_(const char *uplo, const lint *n, double *a, const lint *lda, lint *info,
                   std::size_t);
void scipy_zpotrf_(const char *uplo, const lint *n, zdouble *a, const lint *lda, lint *info,
                   std::size_t);
void scipy_dsyevd_(const char *jobz, const char *uplo, const lint *n, double *a, const lint *lda,
                   double *w, double *work, const lint *lwork, lint *iwork, const lint *liwork,
                   lint *info, std::size_t, std::size_t);
void scipy_zheevd_(const char *jobz, const char *uplo, const lint *n, zdouble *a, const lint *lda,
                   double *w, zdouble *work, const lint *lwork, double *rwork, const lint *lrwork,
                   lint *iwork, const lint *liwork, lint *info, std::size_t, std::size_t);
void scipy_dgesdd_(const char *jobz, const lint *m, const lint *n, double *a, const lint *lda,
                   double *s, double *u, const lint *ldu, double *vt, const lint *ldvt,
                   double *work, const lint *lwork, lint *iwork, lint *info, std::size_t);
void scipy_zgesdd_(const char *jobz, const lint *m, const lint *n, zdouble *a, const lint *lda,
                   double *s, zdouble *u, const lint *ldu, zdouble *vt, const lint *ldvt,
                   zdouble *work, const lint *lwork, double *rwork, lint *iwork, lint *info,
                   std::size_t);
void scipy_dgeqrf_(const lint *m, const lint *n, double *a, const lint *lda, double *tau,
                   double *work, const lint *lwork, lint *info);
void scipy_zgeqrf_(const lint *m, const lint *n, zdouble *a, const lint *lda, zdouble *tau,
                   zdouble *work, const lint *lwork, lint *info);
void scipy_dorgqr_(const lint *m, const lint *n, const lint *k, double *a, const lint *lda,
                   const double *tau, double *work, const lint *lwork, lint *info);
void scipy_zungqr_(const lint *m, const lint *n, const lint *k, zdouble *a, const lint *lda,
                   const zdouble *tau, zdouble *work, const lint *lwork, lint *info);
}

namespace kvant::rt::linalg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

lint checkedDim(std::int64_t value, const char *what) {
  if (value < 0 || value > std::numeric_limits<lint>::max())
    throw Error(std::string(what) + ": matrix dimension " + std::to_string(value) +
                " out of LAPACK's 32-bit range");
  return static_cast<lint>(value);
}

void argumentError(const char *routine, lint info) {
  throw Error(std::string("LAPACK ") + routine + " rejected argument " + std::to_string(-info));
}

/// Row-major rows x cols at src -> column-major (leading dimension rows) at dst.
template <class T> void toColumnMajor(const T *src, std::int64_t rows, std::int64_t cols, T *dst) {
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      dst[j * rows + i] = src[i * cols + j];
}

/// Column-major rows x cols (leading dimension ld) at src -> row-major at dst.
template <class T>
void fromColumnMajor(const T *src, std::int64_t ld, std::int64_t rows, std::int64_t cols, T *dst) {
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j)
      dst[i * cols + j] = src[j * ld + i];
}

template <class T> void fillNaN(T *dst, std::int64_t count) {
  std::fill(dst, dst + count, T(kNaN));
}

template <class T> T conjugate(T x) {
  if constexpr (std::is_same_v<T, double>)
    return x;
  else
    return std::conj(x);
}

std::size_t workspaceSize(double query) { return std::max<std::size_t>(1, std::size_t(query)); }
std::size_t workspaceSize(zdouble query) { return workspaceSize(query.real()); }

} // namespace

template <> struct Lapack<double> {
  static void getrf(lint m, lint n, double *a, lint *ipiv, lint *info) {
    scipy_dgetrf_(&m, &n, a, &m, ipiv, info);
  }
  static void trsm(char side, char uplo, char trans, char diag, lint m, lint n, const double *a,
                   lint lda, double *b) {
    const double one = 1.0;
    scipy_dtrsm_(&side, &uplo, &trans, &diag, &m, &n, &one, a, &lda, b, &m, 1, 1, 1, 1);
  }
  static void potrf(lint n, double *a, lint *info) { scipy_dpotrf_("L", &n, a, &n, info, 1); }
  static void eigh(char uplo, lint n, double *a, double *w, lint *info) {
    lint query = -1, liwork = 0, iworkQuery = 0;
    double workQuery = 0;
    scipy_dsyevd_("V", &uplo, &n, a, &n, w, &workQuery, &query, &iworkQuery, &query, info, 1, 1);
    if (*info != 0)
      return;
    std::vector<double> work(workspaceSize(workQuery));
    std::vector<lint> iwork(std::max<lint>(1, iworkQuery));
    lint lwork = lint(work.size());
    liwork = lint(iwork.size());
    scipy_dsyevd_("V", &uplo, &n, a, &n, w, work.data(), &lwork, iwork.data(), &liwork, info, 1, 1);
  }
  static void gesdd(char jobz, lint m, lint n, double *a, double *s, double *u, lint ldu,
                    double *vt, lint ldvt, lint *info) {
    lint query = -1;
    double workQuery = 0;
    std::vector<lint> iwork(8 * std::size_t(std::max<lint>(1, std::min(m, n))));
    scipy_dgesdd_(&jobz, &m, &n, a, &m, s, u, &ldu, vt, &ldvt, &workQuery, &query, iwork.data(),
                  info, 1);
    if (*info != 0)
      return;
    std::vector<double> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_dgesdd_(&jobz, &m, &n, a, &m, s, u, &ldu, vt, &ldvt, work.data(), &lwork, iwork.data(),
                  info, 1);
  }
  static void geqrf(lint m, lint n, double *a, double *tau, lint *info) {
    lint query = -1;
    double workQuery = 0;
    scipy_dgeqrf_(&m, &n, a, &m, tau, &workQuery, &query, info);
    if (*info != 0)
      return;
    std::vector<double> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_dgeqrf_(&m, &n, a, &m, tau, work.data(), &lwork, info);
  }
  static void ungqr(lint m, lint n, lint k, double *a, const double *tau, lint *info) {
    lint query = -1;
    double workQuery = 0;
    scipy_dorgqr_(&m, &n, &k, a, &m, tau, &workQuery, &query, info);
    if (*info != 0)
      return;
    std::vector<double> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_dorgqr_(&m, &n, &k, a, &m, tau, work.data(), &lwork, info);
  }
};

template <> struct Lapack<zdouble> {
  static void getrf(lint m, lint n, zdouble *a, lint *ipiv, lint *info) {
    scipy_zgetrf_(&m, &n, a, &m, ipiv, info);
  }
  static void trsm(char side, char uplo, char trans, char diag, lint m, lint n, const zdouble *a,
                   lint lda, zdouble *b) {
    const zdouble one = 1.0;
    scipy_ztrsm_(&side, &uplo, &trans, &diag, &m, &n, &one, a, &lda, b, &m, 1, 1, 1, 1);
  }
  static void potrf(lint n, zdouble *a, lint *info) { scipy_zpotrf_("L", &n, a, &n, info, 1); }
  static void eigh(char uplo, lint n, zdouble *a, double *w, lint *info) {
    lint query = -1, iworkQuery = 0;
    zdouble workQuery = 0;
    double rworkQuery = 0;
    scipy_zheevd_("V", &uplo, &n, a, &n, w, &workQuery, &query, &rworkQuery, &query, &iworkQuery,
                  &query, info, 1, 1);
    if (*info != 0)
      return;
    std::vector<zdouble> work(workspaceSize(workQuery));
    std::vector<double> rwork(workspaceSize(rworkQuery));
    std::vector<lint> iwork(std::max<lint>(1, iworkQuery));
    lint lwork = lint(work.size()), lrwork = lint(rwork.size()), liwork = lint(iwork.size());
    scipy_zheevd_("V", &uplo, &n, a, &n, w, work.data(), &lwork, rwork.data(), &lrwork,
                  iwork.data(), &liwork, info, 1, 1);
  }
  static void gesdd(char jobz, lint m, lint n, zdouble *a, double *s, zdouble *u, lint ldu,
                    zdouble *vt, lint ldvt, lint *info) {
    lint query = -1;
    zdouble workQuery = 0;
    std::size_t mn = std::size_t(std::max<lint>(1, std::min(m, n)));
    std::size_t mx = std::size_t(std::max<lint>(1, std::max(m, n)));
    // zgesdd's documented minimum for rwork
    std::size_t lrwork =
        jobz == 'N' ? 7 * mn : std::max(5 * mn * mn + 5 * mn, 2 * mx * mn + 2 * mn * mn + mn);
    std::vector<double> rwork(lrwork);
    std::vector<lint> iwork(8 * mn);
    scipy_zgesdd_(&jobz, &m, &n, a, &m, s, u, &ldu, vt, &ldvt, &workQuery, &query, rwork.data(),
                  iwork.data(), info, 1);
    if (*info != 0)
      return;
    std::vector<zdouble> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_zgesdd_(&jobz, &m, &n, a, &m, s, u, &ldu, vt, &ldvt, work.data(), &lwork, rwork.data(),
                  iwork.data(), info, 1);
  }
  static void geqrf(lint m, lint n, zdouble *a, zdouble *tau, lint *info) {
    lint query = -1;
    zdouble workQuery = 0;
    scipy_zgeqrf_(&m, &n, a, &m, tau, &workQuery, &query, info);
    if (*info != 0)
      return;
    std::vector<zdouble> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_zgeqrf_(&m, &n, a, &m, tau, work.data(), &lwork, info);
  }
  static void ungqr(lint m, lint n, lint k, zdouble *a, const zdouble *tau, lint *info) {
    lint query = -1;
    zdouble workQuery = 0;
    scipy_zungqr_(&m, &n, &k, a, &m, tau, &workQuery, &query, info);
    if (*info != 0)
      return;
    std::vector<zdouble> work(workspaceSize(workQuery));
    lint lwork = lint(work.size());
    scipy_zungqr_(&m, &n, &k, a, &m, tau, work.data(), &lwork, info);
  }
};

template <class T>
void lu(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, T *out,
        std::int32_t *pivots, std::int32_t *permutation) {
  lint lm = checkedDim(m, "lu"), ln = checkedDim(n, "lu");
  std::int64_t k = std::min(m, n);
  std::vector<T> work(std::size_t(m * n));
  std::vector<lint> ipiv(std::size_t(std::max<std::int64_t>(1, k)));
  for (std::int64_t i = 0; i < batch; ++i) {
    toColumnMajor(a + i * m * n, m, n, work.data());
    lint info = 0;
    if (k > 0)
      Lapack<T>::getrf(lm, ln, work.data(), ipiv.data(), &info);
    if (info < 0)
      argumentError("getrf", info);
    // info > 0: U has an exact zero on its diagonal; the factors are returned as they are
    fromColumnMajor(work.data(), m, m, n, out + i * m * n);
    std::int32_t *piv = pivots + i * k, *perm = permutation + i * m;
    for (std::int64_t r = 0; r < m; ++r)
      perm[r] = std::int32_t(r);
    for (std::int64_t r = 0; r < k; ++r) {
      piv[r] = ipiv[r] - 1;
      std::swap(perm[r], perm[piv[r]]);
    }
  }
}

template <class T>
void triangularSolve(std::int64_t batch, std::int64_t k, std::int64_t rows, std::int64_t cols,
                     const T *a, const T *b, T *x, bool left, bool lower, Op op,
                     bool unitDiagonal) {
  lint lk = checkedDim(k, "triangular_solve"), lrows = checkedDim(rows, "triangular_solve"),
       lcols = checkedDim(cols, "triangular_solve");
  std::vector<T> acol(std::size_t(k * k)), bcol(std::size_t(rows * cols));
  char trans = op == Op::Transpose ? 'T' : op == Op::Adjoint ? 'C' : 'N';
  for (std::int64_t i = 0; i < batch; ++i) {
    toColumnMajor(a + i * k * k, k, k, acol.data());
    if (op == Op::Conjugate)
      for (T &v : acol)
        v = conjugate(v);
    toColumnMajor(b + i * rows * cols, rows, cols, bcol.data());
    if (rows > 0 && cols > 0)
      Lapack<T>::trsm(left ? 'L' : 'R', lower ? 'L' : 'U', trans, unitDiagonal ? 'U' : 'N', lrows,
                      lcols, acol.data(), std::max<lint>(1, lk), bcol.data());
    fromColumnMajor(bcol.data(), rows, rows, cols, x + i * rows * cols);
  }
}

template <class T> void cholesky(std::int64_t batch, std::int64_t n, const T *a, T *factor) {
  lint ln = checkedDim(n, "cholesky");
  std::vector<T> work(std::size_t(n * n));
  for (std::int64_t i = 0; i < batch; ++i) {
    T *out = factor + i * n * n;
    toColumnMajor(a + i * n * n, n, n, work.data());
    lint info = 0;
    if (n > 0)
      Lapack<T>::potrf(ln, work.data(), &info);
    if (info < 0)
      argumentError("potrf", info);
    if (info > 0) { // not positive definite
      fillNaN(out, n * n);
      continue;
    }
    fromColumnMajor(work.data(), n, n, n, out);
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t c = r + 1; c < n; ++c)
        out[r * n + c] = T(0);
  }
}

template <class T>
void eigh(std::int64_t batch, std::int64_t n, const T *a, bool lower, T *v, double *w) {
  lint ln = checkedDim(n, "eigh");
  std::vector<T> work(std::size_t(n * n));
  for (std::int64_t i = 0; i < batch; ++i) {
    toColumnMajor(a + i * n * n, n, n, work.data());
    lint info = 0;
    if (n > 0)
      Lapack<T>::eigh(lower ? 'L' : 'U', ln, work.data(), w + i * n, &info);
    if (info < 0)
      argumentError("syevd/heevd", info);
    if (info > 0) { // no convergence
      fillNaN(v + i * n * n, n * n);
      fillNaN(w + i * n, n);
      continue;
    }
    fromColumnMajor(work.data(), n, n, n, v + i * n * n);
  }
}

template <class T>
void svd(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, double *s, T *u, T *vt,
         bool full) {
  lint lm = checkedDim(m, "svd"), ln = checkedDim(n, "svd");
  std::int64_t k = std::min(m, n);
  bool vectors = u != nullptr;
  std::int64_t uCols = full ? m : k, vtRows = full ? n : k;
  char jobz = !vectors ? 'N' : full ? 'A' : 'S';
  std::vector<T> work(std::size_t(m * n));
  std::vector<T> ucol(vectors ? std::size_t(m * uCols) : 1),
      vtcol(vectors ? std::size_t(vtRows * n) : 1);
  for (std::int64_t i = 0; i < batch; ++i) {
    toColumnMajor(a + i * m * n, m, n, work.data());
    lint info = 0;
    if (k > 0)
      Lapack<T>::gesdd(jobz, lm, ln, work.data(), s + i * k, ucol.data(), std::max<lint>(1, lm),
                       vtcol.data(), std::max<lint>(1, lint(vtRows)), &info);
    else if (vectors) {
      // no singular values: u and vt are identities (the vectors of an empty factorization)
      std::fill(ucol.begin(), ucol.end(), T(0));
      std::fill(vtcol.begin(), vtcol.end(), T(0));
      for (std::int64_t d = 0; d < uCols && d < m; ++d)
        ucol[std::size_t(d * m + d)] = T(1);
      for (std::int64_t d = 0; d < vtRows && d < n; ++d)
        vtcol[std::size_t(d * vtRows + d)] = T(1);
    }
    if (info < 0)
      argumentError("gesdd", info);
    if (info > 0) { // no convergence
      fillNaN(s + i * k, k);
      if (vectors) {
        fillNaN(u + i * m * uCols, m * uCols);
        fillNaN(vt + i * vtRows * n, vtRows * n);
      }
      continue;
    }
    if (vectors) {
      fromColumnMajor(ucol.data(), m, m, uCols, u + i * m * uCols);
      fromColumnMajor(vtcol.data(), vtRows, vtRows, n, vt + i * vtRows * n);
    }
  }
}

template <class T>
void qr(std::int64_t batch, std::int64_t m, std::int64_t n, const T *a, T *q, T *r, bool full) {
  lint lm = checkedDim(m, "qr"), ln = checkedDim(n, "qr");
  std::int64_t k = std::min(m, n);
  std::int64_t qCols = full ? m : k, rRows = full ? m : k;
  std::vector<T> work(std::size_t(m * n)), tau(std::size_t(std::max<std::int64_t>(1, k)));
  std::vector<T> qcol(std::size_t(std::max<std::int64_t>(1, m * qCols)));
  for (std::int64_t i = 0; i < batch; ++i) {
    toColumnMajor(a + i * m * n, m, n, work.data());
    lint info = 0;
    if (k > 0)
      Lapack<T>::geqrf(lm, ln, work.data(), tau.data(), &info);
    if (info < 0)
      argumentError("geqrf", info);
    T *rOut = r + i * rRows * n;
    for (std::int64_t row = 0; row < rRows; ++row)
      for (std::int64_t col = 0; col < n; ++col)
        rOut[row * n + col] = col >= row ? work[std::size_t(col * m + row)] : T(0);
    // q from the reflectors: the first min(qCols, n) columns of geqrf's result
    std::fill(qcol.begin(), qcol.end(), T(0));
    for (std::int64_t col = 0; col < std::min(qCols, n); ++col)
      for (std::int64_t row = 0; row < m; ++row)
        qcol[std::size_t(col * m + row)] = work[std::size_t(col * m + row)];
    if (m > 0 && qCols > 0)
      Lapack<T>::ungqr(lm, lint(qCols), lint(k), qcol.data(), tau.data(), &info);
    if (info < 0)
      argumentError("orgqr/ungqr", info);
    fromColumnMajor(qcol.data(), m, m, qCols, q + i * m * qCols);
  }
}

#define KVANT_LINALG_INSTANTIATE(T)                                                                \
  template void lu<T>(std::int64_t, std::int64_t, std::int64_t, const T *, T *, std::int32_t *,    \
                      std::int32_t *);                                                             \
  template void triangularSolve<T>(std::int64_t, std::int64_t, std::int64_t, std::int64_t,         \
                                   const T *, const T *, T *, bool, bool, Op, bool);               \
  template void cholesky<T>(std::int64_t, std::int64_t, const T *, T *);                           \
  template void eigh<T>(std::int64_t, std::int64_t, const T *, bool, T *, double *);               \
  template void svd<T>(std::int64_t, std::int64_t, std::int64_t, const T *, double *, T *, T *,    \
                       bool);                                                                      \
  template void qr<T>(std::int64_t, std::int64_t, std::int64_t, const T *, T *, T *, bool);
KVANT_LINALG_INSTANTIATE(double)
KVANT_LINALG_INSTANTIATE(zdouble)
#undef KVANT_LINALG_INSTANTIATE

} // namespace kvant::rt::linalg
