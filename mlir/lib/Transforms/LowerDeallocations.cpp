//===- LowerDeallocations.cpp - bufferization.dealloc -> scalar checks + memref.dealloc ===//
//
// Upstream's bufferization-lower-deallocations handles the general form of
//     %own... = bufferization.dealloc (%m... : memrefs) if (%c...) retain (%r... : memrefs)
// with a helper function that keeps its alias checks in memref<?xi1> buffers, and MLIR 22.1.8
// aborts when it lowers a store to an i1 memref (docs/toolchain.md). That general form appears as
// soon as a loop yields a new buffer each iteration. Here the same semantics are spelled with
// scalar i1 values only (the operand lists are short: the checks are unrolled):
//
//   own_j  = OR_i (c_i AND base(m_i) == base(r_j))        -- ownership moves to the retained
//   free_i = c_i AND NOT OR_j (base(m_i) == base(r_j))     -- retained buffers stay alive
//                AND NOT OR_{k<i} (c_k AND base(m_k) == base(m_i))   -- free each buffer once
//
// A comparison is left out where the answer is known: two results of different allocation ops
// are different buffers. Without that the checks grow with the square of the list, and a
// function with hundreds of temporaries (an unrolled circuit's derivative) becomes hundreds of
// thousands of ops.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace kvant {
#define GEN_PASS_DEF_LOWERDEALLOCATIONSPASS
#include "kvant/Transforms/Passes.h.inc"
} // namespace kvant

using namespace mlir;

namespace {

struct LowerDeallocations : kvant::impl::LowerDeallocationsPassBase<LowerDeallocations> {
  void runOnOperation() override {
    SmallVector<bufferization::DeallocOp> deallocs;
    getOperation()->walk([&](bufferization::DeallocOp op) { deallocs.push_back(op); });
    for (bufferization::DeallocOp op : deallocs)
      lower(op);
  }

  /// False when `x` and `y` are known to be different buffers: results of two different
  /// allocation ops (each allocates a buffer of its own every time it runs).
  static bool mayAlias(Value x, Value y) {
    auto fresh = [](Value v) {
      return isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(v.getDefiningOp());
    };
    return x == y || !fresh(x) || !fresh(y);
  }

  static void lower(bufferization::DeallocOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto address = [&](Value memref) -> Value {
      return memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    };
    auto same = [&](Value x, Value y) -> Value {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
    };
    auto both = [&](Value x, Value y) -> Value { return arith::AndIOp::create(b, loc, x, y); };
    auto either = [&](Value x, Value y) -> Value { return arith::OrIOp::create(b, loc, x, y); };
    Value no = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
    Value yes = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);

    SmallVector<Value> memrefs(op.getMemrefs()), conditions(op.getConditions());
    SmallVector<Value> memAddr, retAddr;
    for (Value m : memrefs)
      memAddr.push_back(address(m));
    for (Value r : op.getRetained())
      retAddr.push_back(address(r));

    SmallVector<Value> retained(op.getRetained());
    SmallVector<Value> ownership;
    for (auto [j, r] : llvm::enumerate(retAddr)) {
      Value owned = no;
      for (auto [i, m, c] : llvm::enumerate(memAddr, conditions))
        if (mayAlias(memrefs[i], retained[j]))
          owned = either(owned, both(c, same(m, r)));
      ownership.push_back(owned);
    }
    for (size_t i = 0; i < memrefs.size(); ++i) {
      Value keep = no;
      for (auto [j, r] : llvm::enumerate(retAddr))
        if (mayAlias(memrefs[i], retained[j]))
          keep = either(keep, same(memAddr[i], r));
      for (size_t k = 0; k < i; ++k)
        if (mayAlias(memrefs[k], memrefs[i]))
          keep = either(keep, both(conditions[k], same(memAddr[k], memAddr[i])));
      Value release = both(conditions[i], arith::XOrIOp::create(b, loc, keep, yes));
      auto ifOp = scf::IfOp::create(b, loc, release, /*withElseRegion=*/false);
      OpBuilder inner = ifOp.getThenBodyBuilder();
      memref::DeallocOp::create(inner, loc, memrefs[i]);
    }
    op.replaceAllUsesWith(ownership);
    op.erase();
  }
};

} // namespace
