// The vectors that move together through a distributed layout's wire swaps (Distributed.hpp):
// the state alone for gates and measurements; phi and the lambdas in the adjoint sweep; and,
// while an observable is applied piece by piece, its scratch vectors (Follow).
#pragma once

#include "Distributed.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace kvant::rt {

class DistributedState::Group {
public:
  Group(Layout &l, std::vector<StateVector *> v) : layout(l), vecs(std::move(v)) {}

  Layout &layout;
  std::vector<StateVector *> vecs; // vecs[0]: the state the operation reads

  // Makes `v` follow the group's swaps while it lives.
  class Follow {
  public:
    Follow(Group &g, StateVector &v) : g_(g), v_(&v) { g_.vecs.push_back(v_); }
    ~Follow() { g_.vecs.erase(std::find(g_.vecs.begin(), g_.vecs.end(), v_)); }
    Follow(const Follow &) = delete;
    Follow &operator=(const Follow &) = delete;

  private:
    Group &g_;
    StateVector *v_;
  };
};

} // namespace kvant::rt
