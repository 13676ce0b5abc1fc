//===- ConvertHostToRuntime.cpp - host ops -> calls into runtime.h --------------------===//
//
// host.callback becomes
//   void kvant_rt_host_callback(int64_t callback, int64_t num_args, void *const *args,
//                               int64_t num_results, void *const *results,
//                               const int64_t *result_bytes)
// with the addresses of its operands' and results' data. The rewrite happens on tensors, before
// bufferization, as the quantum ops' (ConvertQuantumToRuntime.cpp): operands are read in place
// through `bufferization.to_buffer` with the identity layout (one-shot bufferization copies a
// tensor whose buffer is not contiguous), results are fresh `memref.alloc`s the host writes,
// adopted by `bufferization.to_tensor restrict writable`. The host knows the shapes and dtypes
// of callback number `callback`; the byte sizes of the results let the runtime zero them when
// the host function is not run (an error is pending) or fails, so that no uninitialised value
// drives the rest of the program.
//
// The address arrays are stack buffers of i64 (addresses are 64-bit on every target kvant
// builds for), created at the entry block of the function: a callback inside a loop does not
// grow the stack at every iteration.
//
// A pure callback whose results nothing uses is removed first (with the dead code that used it),
// as canonicalization would: after the rewrite it is a call with unknown effects. The gradient
// passes leave such callbacks in the circuit functions of QNodes, whose gate parameters come
// from the parameter vector instead.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Host/IR/HostOps.h"
#include "kvant/Host/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kvant::host {
#define GEN_PASS_DEF_CONVERTHOSTTORUNTIMEPASS
#include "kvant/Host/Transforms/Passes.h.inc"
} // namespace kvant::host

using namespace mlir;
using namespace kvant::host;

namespace {

constexpr StringLiteral kRuntimeFunction = "kvant_rt_host_callback";

/// The private declaration of kvant_rt_host_callback, created on first use.
func::FuncOp runtimeFunction(ModuleOp module) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(kRuntimeFunction))
    return existing;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  Type i64 = b.getI64Type(), ptr = LLVM::LLVMPointerType::get(ctx);
  auto fn = func::FuncOp::create(b, module.getLoc(), kRuntimeFunction,
                                 b.getFunctionType({i64, i64, ptr, i64, ptr, ptr}, {}));
  fn.setPrivate();
  return fn;
}

/// The address of `memref`'s first element as an i64.
Value addressOf(OpBuilder &b, Location loc, Value memref) {
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
}

/// A stack array holding `values` (i64), allocated at the entry of `fn`, as an !llvm.ptr; a null
/// pointer when there is nothing to hold.
Value stackArray(OpBuilder &b, Location loc, func::FuncOp fn, ValueRange values) {
  Type ptr = LLVM::LLVMPointerType::get(b.getContext());
  if (values.empty())
    return LLVM::ZeroOp::create(b, loc, ptr);
  Value buffer;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    buffer =
        memref::AllocaOp::create(b, loc, MemRefType::get({int64_t(values.size())}, b.getI64Type()));
  }
  for (auto [i, value] : llvm::enumerate(values)) {
    Value index = arith::ConstantIndexOp::create(b, loc, i);
    memref::StoreOp::create(b, loc, value, buffer, ValueRange{index});
  }
  return LLVM::IntToPtrOp::create(b, loc, ptr, addressOf(b, loc, buffer));
}

/// Bytes of one element of `type` (complex numbers are two of their parts; booleans are i8 in
/// kvant's programs, an i1 would take a byte too).
int64_t elementBytes(Type type) {
  if (auto complex = dyn_cast<ComplexType>(type))
    return 2 * elementBytes(complex.getElementType());
  return std::max<int64_t>(1, (type.getIntOrFloatBitWidth() + 7) / 8);
}

LogicalResult lower(CallbackOp op) {
  auto fn = op->getParentOfType<func::FuncOp>();
  if (!fn)
    return op.emitOpError("must be inside a func.func");
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIntOp::create(b, loc, value, 64);
  };

  SmallVector<Value> argAddresses;
  for (Value operand : op.getOperands()) {
    auto type = cast<RankedTensorType>(operand.getType());
    auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
    Value buffer =
        bufferization::ToBufferOp::create(b, loc, bufferType, operand, /*read_only=*/true);
    argAddresses.push_back(addressOf(b, loc, buffer));
  }
  SmallVector<Value> resultBuffers, resultAddresses, resultBytes;
  for (Type result : op.getResultTypes()) {
    auto type = cast<RankedTensorType>(result);
    Value buffer =
        memref::AllocOp::create(b, loc, MemRefType::get(type.getShape(), type.getElementType()));
    resultBuffers.push_back(buffer);
    resultAddresses.push_back(addressOf(b, loc, buffer));
    resultBytes.push_back(constant(type.getNumElements() * elementBytes(type.getElementType())));
  }
  Value args = stackArray(b, loc, fn, argAddresses);
  Value results = stackArray(b, loc, fn, resultAddresses);
  Value bytes = stackArray(b, loc, fn, resultBytes);
  func::CallOp::create(b, loc, runtimeFunction(op->getParentOfType<ModuleOp>()),
                       ValueRange{constant(op.getCallbackAttr().getInt()),
                                  constant(op.getNumOperands()), args, constant(op.getNumResults()),
                                  results, bytes});
  SmallVector<Value> replacements;
  for (auto [result, buffer] : llvm::zip(op.getResults(), resultBuffers))
    replacements.push_back(bufferization::ToTensorOp::create(b, loc, result.getType(), buffer,
                                                             /*restrict=*/true, /*writable=*/true));
  op.replaceAllUsesWith(replacements);
  op.erase();
  return success();
}

struct ConvertHostToRuntimePass
    : public kvant::host::impl::ConvertHostToRuntimePassBase<ConvertHostToRuntimePass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    getOperation().walk([&](func::FuncOp fn) {
      bool hasPure = fn.walk([](CallbackOp op) {
                         return op.getPure() ? WalkResult::interrupt() : WalkResult::advance();
                       }).wasInterrupted();
      if (hasPure)
        (void)runRegionDCE(rewriter, fn.getBody());
    });
    SmallVector<CallbackOp> callbacks;
    getOperation().walk([&](CallbackOp op) { callbacks.push_back(op); });
    for (CallbackOp op : callbacks)
      if (failed(lower(op)))
        return signalPassFailure();
  }
};

} // namespace
