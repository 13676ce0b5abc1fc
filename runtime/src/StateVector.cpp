#include "StateVector.hpp"

#include "Parallel.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>

#include <sys/mman.h>

namespace kvant::rt {

namespace {

// Large states: 2 MiB aligned and marked for transparent huge pages (the usual kernel setting is
// "madvise"), so a 16 MiB state faults in 8 pages instead of 4096 and strided kernel passes
// miss the TLB less.
constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Recently freed large buffers of this thread, handed to the next allocation of the same size.
// A gradient allocates and frees scratch states on every call, and a fresh block pays its page
// faults and the kernel's zeroing again on first touch. At most kCacheBytes stay cached. Plain
// arrays (trivially destructible), so frees during thread exit, after `cacheOwner` is gone,
// still find them; the owner only frees what is cached when the thread ends.
//
// The budget holds a 24-qubit gradient's buffers (register, lambda, two checkpoints of
// AdjointSegments.hpp: 4 x 256 MiB) with room to spare: measured on the 2-core Xeon VM, first
// touches of fresh memory (kernel page zeroing, clear_page_erms) were a third of the CPU time
// of adjoint:24:2 and more than the whole forward run with the 64 MiB budget of before.
constexpr std::size_t kCacheBytes = std::size_t{1536} << 20;
constexpr int kCacheSlots = 8;
thread_local void *cachedPtr[kCacheSlots];
thread_local std::size_t cachedSize[kCacheSlots];
thread_local bool cacheClosed = false;
struct CacheOwner {
  ~CacheOwner() {
    cacheClosed = true;
    for (int i = 0; i < kCacheSlots; ++i) {
      std::free(cachedPtr[i]);
      cachedPtr[i] = nullptr;
    }
  }
};
thread_local CacheOwner cacheOwner;

std::size_t cachedBytes() {
  std::size_t b = 0;
  for (int i = 0; i < kCacheSlots; ++i)
    b += cachedPtr[i] ? cachedSize[i] : 0;
  return b;
}

Complex *allocateAmplitudes(std::size_t n) {
  const std::size_t bytes = std::max<std::size_t>(n * sizeof(Complex), 64);
  if (bytes >= kHugePage) {
    for (int i = 0; i < kCacheSlots; ++i)
      if (cachedPtr[i] && cachedSize[i] == bytes) {
        void *p = cachedPtr[i];
        cachedPtr[i] = nullptr;
        return static_cast<Complex *>(p);
      }
    void *p = std::aligned_alloc(kHugePage, bytes);
    if (!p)
      throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); // advice only: failure changes nothing
#endif
    return static_cast<Complex *>(p);
  }
  void *p = std::aligned_alloc(64, bytes);
  if (!p)
    throw std::bad_alloc();
  return static_cast<Complex *>(p);
}

void freeAmplitudes(Complex *p, std::size_t n) {
  const std::size_t bytes = std::max<std::size_t>(n * sizeof(Complex), 64);
  if (!p || bytes < kHugePage || bytes > kCacheBytes || cacheClosed) {
    std::free(p);
    return;
  }
  (void)&cacheOwner; // constructed on this thread before anything is cached
  int slot = -1;
  for (int i = 0; i < kCacheSlots && slot < 0; ++i)
    if (!cachedPtr[i])
      slot = i;
  if (slot < 0 || cachedBytes() + bytes > kCacheBytes) {
    std::free(p);
    return;
  }
  cachedPtr[slot] = p;
  cachedSize[slot] = bytes;
}

} // namespace

StateVector::StateVector(std::size_t numQubits) : numQubits_(numQubits), size_(0), amps_(nullptr) {
  if (numQubits < 1 || numQubits > kMaxQubits)
    throw Error("number of qubits must be between 1 and " + std::to_string(kMaxQubits) + ", got " +
                std::to_string(numQubits));
  size_ = std::size_t{1} << numQubits;
  amps_ = allocateAmplitudes(size_);
  zero();
  amps_[0] = 1.0;
}

StateVector::StateVector(std::size_t numQubits, NoInit)
    : numQubits_(numQubits), size_(0), amps_(nullptr) {
  if (numQubits < 1 || numQubits > kMaxQubits)
    throw Error("number of qubits must be between 1 and " + std::to_string(kMaxQubits) + ", got " +
                std::to_string(numQubits));
  size_ = std::size_t{1} << numQubits;
  amps_ = allocateAmplitudes(size_);
}

StateVector StateVector::uninitialized(std::size_t numQubits) {
  return StateVector(numQubits, NoInit{});
}

StateVector StateVector::view(Complex *amps, std::size_t numQubits) {
  if (numQubits < 1 || numQubits > kMaxQubits)
    throw Error("internal: view of " + std::to_string(numQubits) + " qubits");
  return StateVector(numQubits, amps);
}

StateVector::StateVector(std::size_t numQubits, Complex *amps)
    : numQubits_(numQubits), size_(std::size_t{1} << numQubits), amps_(amps), owned_(false) {}

StateVector::StateVector(const StateVector &other)
    : numQubits_(other.numQubits_), size_(other.size_), amps_(allocateAmplitudes(other.size_)) {
  copyFrom(other);
}

StateVector &StateVector::operator=(const StateVector &other) {
  if (this == &other)
    return *this;
  if (size_ != other.size_) {
    if (!owned_)
      throw Error("internal: resizing a state vector view");
    Complex *fresh = allocateAmplitudes(other.size_);
    freeAmplitudes(amps_, size_);
    amps_ = fresh;
    size_ = other.size_;
    numQubits_ = other.numQubits_;
  }
  copyFrom(other);
  return *this;
}

StateVector::StateVector(StateVector &&other) noexcept
    : numQubits_(other.numQubits_), size_(other.size_), amps_(other.amps_), owned_(other.owned_) {
  other.amps_ = nullptr;
  other.size_ = 0;
  other.owned_ = true;
}

StateVector &StateVector::operator=(StateVector &&other) noexcept {
  std::swap(numQubits_, other.numQubits_);
  std::swap(size_, other.size_);
  std::swap(amps_, other.amps_);
  std::swap(owned_, other.owned_);
  return *this;
}

StateVector::~StateVector() {
  if (owned_)
    freeAmplitudes(amps_, size_);
}

void StateVector::zero() {
  Complex *d = amps_;
  par::forRange(size_, [d](std::uint64_t i) { d[i] = Complex{0.0, 0.0}; });
}

void StateVector::copyFrom(const StateVector &other) {
  if (other.size_ != size_)
    throw Error("internal: copying between states of different sizes");
  Complex *d = amps_;
  const Complex *s = other.amps_;
  par::forRange(size_, [d, s](std::uint64_t i) { d[i] = s[i]; });
}

double StateVector::normSquared() const {
  const par::GroupSpace all(static_cast<unsigned>(numQubits_), {}, 0);
  const Complex *d = amps_;
  return par::reduceGroups<1>(all, [d](std::uint64_t i, double *acc) {
    acc[0] += d[i].real() * d[i].real() + d[i].imag() * d[i].imag();
  })[0];
}

std::string formatWires(const std::vector<std::size_t> &wires) {
  std::string s = "[";
  for (std::size_t i = 0; i < wires.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(wires[i]);
  }
  return s + "]";
}

void checkWires(const std::vector<std::size_t> &wires, std::size_t numQubits, const char *what) {
  for (std::size_t w : wires)
    if (w >= numQubits)
      throw Error(std::string(what) + " " + formatWires(wires) + ": wire " + std::to_string(w) +
                  " out of range for a register of " + std::to_string(numQubits) + " qubits");
  // Pairwise for the usual one to three wires: sorting a copy allocated on every gate call.
  if (wires.size() <= 8) {
    for (std::size_t i = 0; i < wires.size(); ++i)
      for (std::size_t j = i + 1; j < wires.size(); ++j)
        if (wires[i] == wires[j])
          throw Error(std::string(what) + " " + formatWires(wires) + ": wire " +
                      std::to_string(wires[i]) + " repeated");
    return;
  }
  std::vector<std::size_t> sorted = wires;
  std::sort(sorted.begin(), sorted.end());
  auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end())
    throw Error(std::string(what) + " " + formatWires(wires) + ": wire " + std::to_string(*dup) +
                " repeated");
}

void checkDisjoint(const std::vector<std::size_t> &a, const std::vector<std::size_t> &b,
                   const char *what) {
  for (std::size_t w : a)
    if (std::find(b.begin(), b.end(), w) != b.end())
      throw Error(std::string(what) + ": wire " + std::to_string(w) +
                  " is both a target and a control");
}

} // namespace kvant::rt
