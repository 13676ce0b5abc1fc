// Cache blocks of a state vector, shared by the forward pass (runs of queued gates) and the
// adjoint sweep (runs of backward steps): B of the n index bits (the bits the run touches,
// filled up with the lowest other bits) enumerate the amplitudes of one block, the remaining
// bits number the blocks. A block is copied into a per-thread buffer, worked on as a B-qubit
// state, and copied back.
#pragma once

#include "StateVector.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kvant::rt::blocks {

// The bits of x placed at positions pos[0..n) (a software pdep).
inline std::uint64_t deposit(std::uint64_t x, const unsigned *pos, std::size_t n) {
  std::uint64_t r = 0;
  for (std::size_t t = 0; t < n; ++t)
    r |= ((x >> t) & 1) << pos[t];
  return r;
}

// Per-thread block buffer, kept between calls (a fresh 512 KiB malloc is an mmap and page
// faults on every use).
struct Buffer {
  Complex *p = nullptr;
  std::size_t cap = 0;
  ~Buffer() { std::free(p); }
  Complex *get(std::size_t n) {
    if (n > cap) {
      std::free(p);
      p = static_cast<Complex *>(std::aligned_alloc(64, n * sizeof(Complex)));
      cap = p ? n : 0;
      if (!p)
        throw std::bad_alloc();
    }
    return p;
  }
};

struct Layout {
  unsigned B = 0, lowRun = 0;           // block qubits; log2 of the contiguous run length
  unsigned local[64] = {};              // global bit -> its bit in the block (block bits only)
  std::vector<std::uint64_t> runOffset; // offset of each contiguous run inside a block
  std::vector<unsigned> outside;        // global bits not in the block (ascending)

  // The block of `mask`'s bits (at most B of them) in an n-bit index, filled up with the
  // lowest other bits so that blocks are copied in contiguous runs, renumbered in order.
  Layout(std::uint64_t mask, unsigned n, unsigned blockQubits) : B(blockQubits) {
    for (unsigned b = 0; b < n && static_cast<unsigned>(__builtin_popcountll(mask)) < B; ++b)
      mask |= std::uint64_t{1} << b;
    std::vector<unsigned> inside;
    for (unsigned b = 0; b < n; ++b) {
      if (mask >> b & 1) {
        local[b] = static_cast<unsigned>(inside.size());
        inside.push_back(b);
      } else {
        outside.push_back(b);
      }
    }
    while (lowRun < B && inside[lowRun] == lowRun)
      ++lowRun;
    const std::vector<unsigned> high(inside.begin() + lowRun, inside.end());
    runOffset.resize(std::size_t{1} << (B - lowRun));
    for (std::size_t r = 0; r < runOffset.size(); ++r)
      runOffset[r] = deposit(r, high.data(), high.size());
  }

  std::size_t blockSize() const { return std::size_t{1} << B; }
  // The index of block b's first amplitude.
  std::uint64_t base(std::size_t b) const { return deposit(b, outside.data(), outside.size()); }

  void gather(Complex *block, const Complex *state, std::uint64_t base) const {
    const std::size_t runLen = std::size_t{1} << lowRun;
    for (std::size_t r = 0; r < runOffset.size(); ++r)
      std::memcpy(static_cast<void *>(block + (r << lowRun)), state + base + runOffset[r],
                  runLen * sizeof(Complex));
  }

  // stream: with streaming stores, for a state larger than the caches (it goes back to memory
  // anyway, and a plain store would first read every line it writes).
  void scatter(Complex *state, const Complex *block, std::uint64_t base, bool stream) const {
    const std::size_t runLen = std::size_t{1} << lowRun;
#if defined(__SSE2__)
    if (stream) {
      for (std::size_t r = 0; r < runOffset.size(); ++r) {
        double *d = reinterpret_cast<double *>(state + base + runOffset[r]);
        const double *s = reinterpret_cast<const double *>(block + (r << lowRun));
        for (std::size_t i = 0; i < 2 * runLen; i += 2)
          _mm_stream_pd(d + i, _mm_load_pd(s + i));
      }
      _mm_sfence(); // the streaming stores are visible before the block counts as done
      return;
    }
#endif
    (void)stream;
    for (std::size_t r = 0; r < runOffset.size(); ++r)
      std::memcpy(static_cast<void *>(state + base + runOffset[r]), block + (r << lowRun),
                  runLen * sizeof(Complex));
  }
};

} // namespace kvant::rt::blocks
