// Complex arithmetic on interleaved (re, im) doubles in GCC/Clang vector extensions, for the
// kernels' inner loops. gcc does not vectorise interleaved-complex loops by itself, so the hot
// kernels say it. v2d holds one complex number (SSE2 on any x86-64); v4d holds two (one AVX
// register in the x86-64-v3 clones, two SSE2 registers in the baseline ones).
#pragma once

#include "StateVector.hpp"

#include <cstring>

namespace kvant::rt::simd {

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

#define KVANT_SIMD_INLINE __attribute__((always_inline)) inline

KVANT_SIMD_INLINE v2d ld(const Complex *p) {
  v2d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KVANT_SIMD_INLINE void st(Complex *p, v2d v) { std::memcpy(static_cast<void *>(p), &v, sizeof v); }
KVANT_SIMD_INLINE v4d ld2(const Complex *p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
KVANT_SIMD_INLINE void st2(Complex *p, v4d v) { std::memcpy(static_cast<void *>(p), &v, sizeof v); }

KVANT_SIMD_INLINE v2d swapReIm(v2d a) { return __builtin_shuffle(a, v2i{1, 0}); }
KVANT_SIMD_INLINE v4d swapReIm(v4d a) { return __builtin_shuffle(a, v4i{1, 0, 3, 2}); }
// (a, b) -> (b, a) for the two complex numbers of a v4d.
KVANT_SIMD_INLINE v4d swapHalves(v4d a) { return __builtin_shuffle(a, v4i{2, 3, 0, 1}); }
KVANT_SIMD_INLINE v2d splat(double x) { return v2d{x, x}; }
// Lane sums for reductions.
KVANT_SIMD_INLINE double sum(v2d a) { return a[0] + a[1]; }
KVANT_SIMD_INLINE double sum(v4d a) { return (a[0] + a[1]) + (a[2] + a[3]); }

// m * a = re(m) a + im(m) (i a), with i a = (-a.im, a.re) = {-1, 1} * swap(a).
struct CMul {
  v2d r, i;
  CMul() = default;
  explicit CMul(Complex m) : r(splat(m.real())), i(v2d{-m.imag(), m.imag()}) {}
  KVANT_SIMD_INLINE v2d operator()(v2d a) const { return r * a + i * swapReIm(a); }
};
// The same for two complex numbers, each multiplied by its own constant (lo, hi).
struct CMul4 {
  v4d r, i;
  CMul4() = default;
  explicit CMul4(Complex m) : CMul4(m, m) {}
  CMul4(Complex lo, Complex hi)
      : r(v4d{lo.real(), lo.real(), hi.real(), hi.real()}),
        i(v4d{-lo.imag(), lo.imag(), -hi.imag(), hi.imag()}) {}
  KVANT_SIMD_INLINE v4d operator()(v4d a) const { return r * a + i * swapReIm(a); }
};

} // namespace kvant::rt::simd
