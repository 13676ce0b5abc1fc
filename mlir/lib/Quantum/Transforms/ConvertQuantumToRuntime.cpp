//===- ConvertQuantumToRuntime.cpp - quantum ops -> calls into runtime.h --------------===//
//
// A dialect conversion. Types:
//   !quantum.reg -> i64  handle returned by kvant_rt_qalloc
//   !quantum.bit -> i64  wire index in the active register (the runtime has one active
//                        register per thread, so a qubit is just its index)
//   !quantum.obs -> i64  handle returned by kvant_rt_obs_*
// also through func signatures/calls/returns and scf.for/while/if regions (structural
// conversion patterns).
//
// Each op becomes a `func.call` to a private declaration of its C function, with C types mapped
// as int64_t -> i64, double -> f64, int8_t -> i8, pointers -> !llvm.ptr. Arrays are passed as
// pointers into buffers:
//   - small arrays (params, wires, control values, observable handles, coefficients) live in
//     stack buffers. The patterns create them next to the op (memref.alloca tagged with a slot
//     number); afterwards the pass hoists them to the entry block of the enclosing function and
//     merges those with equal (type, slot). So a gate inside an scf.for does not grow the stack
//     at every iteration (memref.alloca_scope does not help: canonicalize inlines a scope that
//     ends a loop body), and a function with many gates needs only a few buffers. Sharing is
//     safe because an op only uses its buffers between filling them and its call, and ops run
//     one after the other (revisit if quantum ops ever run inside parallel regions);
//   - complex matrices (unitary/hermitian) can be large (4^k entries), so they are copied
//     element by element from their tensor into a heap buffer freed right after the call.
//     The copy also makes the data contiguous and row-major whatever layout bufferization
//     later picks for the tensor;
//   - control values are stored as i8: storing i1 into memref crashes finalize-memref-to-llvm
//     in MLIR 22.1.8 (see docs/toolchain.md), and the C API takes int8_t anyway.
// The runtime must copy whatever it keeps (e.g. Hermitian matrices): buffers are reused or
// freed after the call.
//
// probs/state produce tensors: the result lives in a memref.alloc that the runtime fills, then
// `bufferization.to_tensor ... restrict writable` hands it to tensor-land so one-shot-bufferize
// can adopt the buffer without a copy.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Quantum/IR/GateTable.h"
#include "kvant/Quantum/IR/QuantumOps.h"
#include "kvant/Quantum/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kvant::quantum {
#define GEN_PASS_DEF_CONVERTQUANTUMTORUNTIMEPASS
#include "kvant/Quantum/Transforms/Passes.h.inc"
} // namespace kvant::quantum

using namespace mlir;
using namespace kvant::quantum;

namespace {

//===----------------------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------------------===//

Type i64Type(MLIRContext *ctx) { return IntegerType::get(ctx, 64); }
Type i8Type(MLIRContext *ctx) { return IntegerType::get(ctx, 8); }
Type ptrType(MLIRContext *ctx) { return LLVM::LLVMPointerType::get(ctx); }

/// Returns the private declaration of runtime function `name`, creating it on first use.
/// int8_t parameters get `llvm.signext` like a C compiler would emit for them.
func::FuncOp getRuntimeFunc(OpBuilder &builder, Operation *anchor, StringRef name, TypeRange inputs,
                            TypeRange results) {
  auto module = anchor->getParentOfType<ModuleOp>();
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto fn = func::FuncOp::create(builder, module.getLoc(), name,
                                 builder.getFunctionType(inputs, results));
  fn.setPrivate();
  for (auto [i, type] : llvm::enumerate(inputs))
    if (type.isInteger(8))
      fn.setArgAttr(i, "llvm.signext", builder.getUnitAttr());
  return fn;
}

Value constI64(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 64);
}

Value constI8(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 8);
}

/// The aligned base address of `memref` as an !llvm.ptr (what a C `T *` parameter expects).
Value pointerTo(OpBuilder &b, Location loc, Value memref) {
  Value index = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value address = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return LLVM::IntToPtrOp::create(b, loc, ptrType(b.getContext()), address);
}

/// Marks a stack buffer for hoisting and sharing; the value is its slot within the op.
constexpr StringLiteral kStackSlotAttr = "kvant.stack_slot";

/// A stack buffer of `type` for array number `slot` of the op being lowered.
Value stackBuffer(OpBuilder &b, Location loc, MemRefType type, unsigned slot) {
  auto alloca = memref::AllocaOp::create(b, loc, type);
  alloca->setAttr(kStackSlotAttr, b.getI64IntegerAttr(slot));
  return alloca;
}

/// A stack array holding `values` (all of type `elementType`); null when empty, since a
/// zero-length array is never read by the runtime.
Value stackArray(OpBuilder &b, Location loc, Type elementType, ValueRange values, unsigned slot) {
  if (values.empty())
    return LLVM::ZeroOp::create(b, loc, ptrType(b.getContext()));
  Value buffer = stackBuffer(b, loc, MemRefType::get({int64_t(values.size())}, elementType), slot);
  for (auto [i, value] : llvm::enumerate(values)) {
    Value index = arith::ConstantIndexOp::create(b, loc, i);
    memref::StoreOp::create(b, loc, value, buffer, ValueRange{index});
  }
  return pointerTo(b, loc, buffer);
}

/// Moves the tagged stack buffers to the entry block of their function and merges buffers of
/// equal (type, slot) within a function. Legal because they have static sizes and no operands.
void hoistAndShareStackBuffers(Operation *root) {
  SmallVector<memref::AllocaOp> buffers;
  root->walk([&](memref::AllocaOp alloca) {
    if (alloca->hasAttr(kStackSlotAttr))
      buffers.push_back(alloca);
  });
  DenseMap<std::tuple<Operation *, Type, int64_t>, memref::AllocaOp> shared;
  for (memref::AllocaOp alloca : buffers) {
    int64_t slot = cast<IntegerAttr>(alloca->getAttr(kStackSlotAttr)).getInt();
    alloca->removeAttr(kStackSlotAttr);
    // The function, not the nearest AutomaticAllocationScope: scf.for claims that trait, but
    // convert-scf-to-cf leaves an alloca in a loop body as a per-iteration stack allocation.
    auto scope = alloca->getParentOfType<FunctionOpInterface>();
    if (!scope || scope->getRegion(0).empty())
      continue; // leave it where it is
    auto [it, inserted] = shared.try_emplace({scope, alloca.getType(), slot}, alloca);
    if (inserted) {
      alloca->moveBefore(&scope->getRegion(0).front(), scope->getRegion(0).front().begin());
      continue;
    }
    alloca.getResult().replaceAllUsesWith(it->second.getResult());
    alloca->erase();
  }
}

/// Copies the first `shape` elements of tensor `source` into `buffer` (row-major, contiguous).
void copyTensorToBuffer(OpBuilder &b, Location loc, Value source, Value buffer,
                        ArrayRef<int64_t> shape) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t dim : shape) {
    lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, dim));
    steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
  }
  scf::buildLoopNest(b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location l, ValueRange ivs) {
    Value element = tensor::ExtractOp::create(nb, l, source, ivs);
    memref::StoreOp::create(nb, l, element, buffer, ivs);
  });
}

/// The buffer behind a static tensor (a complex matrix, a cotangent), read in place by the
/// runtime.
/// bufferization.to_buffer (read-only, identity layout) lets one-shot-bufferize hand over the
/// tensor's own buffer, copying only when that buffer is not contiguous; no allocation or
/// deallocation is created here, so the deallocation pipeline sees plain bufferized IR.
Value readOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
  return bufferization::ToBufferOp::create(b, loc, bufferType, tensor, /*read_only=*/true);
}

/// In a gate, outputs are the inputs: a qubit is its wire index before and after.
SmallVector<Value> gateResults(ValueRange targets, ValueRange controls) {
  SmallVector<Value> results(targets);
  llvm::append_range(results, controls);
  return results;
}

/// Control values (i1) widened to the i8 the C API takes.
SmallVector<Value> ctrlValuesAsI8(OpBuilder &b, Location loc, ValueRange values) {
  SmallVector<Value> widened;
  for (Value v : values)
    widened.push_back(arith::ExtUIOp::create(b, loc, i8Type(b.getContext()), v));
  return widened;
}

//===----------------------------------------------------------------------------------===//
// Registers and qubits
//===----------------------------------------------------------------------------------===//

struct AllocLowering : OpConversionPattern<AllocOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AllocOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_qalloc", {i64Type(ctx)}, {i64Type(ctx)});
    Value n = constI64(rewriter, op.getLoc(), op.getNqubits());
    auto call = func::CallOp::create(rewriter, op.getLoc(), fn, ValueRange{n});
    if (op.getRecordTape()) {
      // void kvant_rt_tape_begin(void): records the gates applied from here on
      auto begin = getRuntimeFunc(rewriter, op, "kvant_rt_tape_begin", {}, {});
      func::CallOp::create(rewriter, op.getLoc(), begin, ValueRange{});
    }
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
};

struct DeallocLowering : OpConversionPattern<DeallocOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(DeallocOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_qdealloc", {i64Type(getContext())}, {});
    rewriter.replaceOpWithNewOp<func::CallOp>(op, fn, ValueRange{adaptor.getReg()});
    return success();
  }
};

/// The qubit is its index; no runtime call.
struct ExtractLowering : OpConversionPattern<ExtractOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ExtractOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value index = adaptor.getIdx();
    if (!index)
      index = constI64(rewriter, op.getLoc(), *op.getIdxAttr());
    rewriter.replaceOp(op, index);
    return success();
  }
};

/// Putting a qubit back changes nothing in the runtime: the register handle flows on.
struct InsertLowering : OpConversionPattern<InsertOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(InsertOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInReg());
    return success();
  }
};

//===----------------------------------------------------------------------------------===//
// Gates
//===----------------------------------------------------------------------------------===//

/// The arguments both gate entry points end with: (wires, num_wires, ctrl_wires, ctrl_values,
/// num_ctrls, adjoint), from stack slots `firstSlot` .. `firstSlot + 2`.
SmallVector<Value> qubitArguments(OpBuilder &b, Location loc, ValueRange qubits,
                                  ValueRange ctrlQubits, ValueRange ctrlValues, bool adjoint,
                                  unsigned firstSlot) {
  Type i64 = i64Type(b.getContext()), i8 = i8Type(b.getContext());
  return {stackArray(b, loc, i64, qubits, firstSlot),
          constI64(b, loc, qubits.size()),
          stackArray(b, loc, i64, ctrlQubits, firstSlot + 1),
          stackArray(b, loc, i8, ctrlValuesAsI8(b, loc, ctrlValues), firstSlot + 2),
          constI64(b, loc, ctrlQubits.size()),
          constI8(b, loc, adjoint ? 1 : 0)};
}

struct CustomLowering : OpConversionPattern<CustomOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(CustomOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::optional<GateInfo> gate = lookupGate(op.getGateName());
    if (!gate)
      return rewriter.notifyMatchFailure(op, "unknown gate");
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    Type i64 = i64Type(ctx), ptr = ptrType(ctx), i8 = i8Type(ctx), f64 = rewriter.getF64Type();
    ValueRange params = adaptor.getParams(), qubits = adaptor.getInQubits();
    if (adaptor.getInCtrlQubits().empty() && qubits.size() <= 2 && params.size() <= 3) {
      // void kvant_rt_gate_small(int64_t gate, int64_t num_wires, int64_t wire0, int64_t wire1,
      //                          double param0, double param1, double param2, int8_t adjoint)
      // Most gates: all arguments in registers, and a fraction of the IR the general form
      // needs, which every later pass walks (a circuit unrolled by Python has thousands).
      auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_gate_small",
                               {i64, i64, i64, i64, f64, f64, f64, i8}, {});
      Value unusedWire = constI64(rewriter, loc, 0);
      Value unusedParam =
          arith::ConstantFloatOp::create(rewriter, loc, rewriter.getF64Type(), APFloat(0.0));
      SmallVector<Value> args{constI64(rewriter, loc, gate->id),
                              constI64(rewriter, loc, qubits.size())};
      for (unsigned i = 0; i < 2; ++i)
        args.push_back(i < qubits.size() ? qubits[i] : unusedWire);
      for (unsigned i = 0; i < 3; ++i)
        args.push_back(i < params.size() ? params[i] : unusedParam);
      args.push_back(constI8(rewriter, loc, op.getAdjoint() ? 1 : 0));
      func::CallOp::create(rewriter, loc, fn, args);
      rewriter.replaceOp(op, gateResults(qubits, {}));
      return success();
    }
    // void kvant_rt_gate(int64_t gate, const double *params, int64_t num_params,
    //                    const int64_t *wires, int64_t num_wires, const int64_t *ctrl_wires,
    //                    const int8_t *ctrl_values, int64_t num_ctrls, int8_t adjoint)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_gate",
                             {i64, ptr, i64, ptr, i64, ptr, ptr, i64, i8}, {});
    SmallVector<Value> args{
        constI64(rewriter, loc, gate->id),
        stackArray(rewriter, loc, rewriter.getF64Type(), adaptor.getParams(), 0),
        constI64(rewriter, loc, adaptor.getParams().size())};
    llvm::append_range(args, qubitArguments(rewriter, loc, adaptor.getInQubits(),
                                            adaptor.getInCtrlQubits(), adaptor.getInCtrlValues(),
                                            op.getAdjoint(), 1));
    func::CallOp::create(rewriter, loc, fn, args);
    rewriter.replaceOp(op, gateResults(adaptor.getInQubits(), adaptor.getInCtrlQubits()));
    return success();
  }
};

struct UnitaryLowering : OpConversionPattern<UnitaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(UnitaryOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    Type i64 = i64Type(ctx), ptr = ptrType(ctx), i8 = i8Type(ctx);
    // void kvant_rt_unitary(const double *matrix, const int64_t *wires, int64_t num_wires,
    //                       const int64_t *ctrl_wires, const int8_t *ctrl_values,
    //                       int64_t num_ctrls, int8_t adjoint)
    auto fn =
        getRuntimeFunc(rewriter, op, "kvant_rt_unitary", {ptr, ptr, i64, ptr, ptr, i64, i8}, {});
    SmallVector<Value> args{
        pointerTo(rewriter, loc, readOnlyBuffer(rewriter, loc, adaptor.getMatrix()))};
    llvm::append_range(args, qubitArguments(rewriter, loc, adaptor.getInQubits(),
                                            adaptor.getInCtrlQubits(), adaptor.getInCtrlValues(),
                                            op.getAdjoint(), 0));
    func::CallOp::create(rewriter, loc, fn, args);
    rewriter.replaceOp(op, gateResults(adaptor.getInQubits(), adaptor.getInCtrlQubits()));
    return success();
  }
};

//===----------------------------------------------------------------------------------===//
// Observables
//===----------------------------------------------------------------------------------===//

struct NamedObsLowering : OpConversionPattern<NamedObsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NamedObsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    std::optional<ObservableInfo> obs = lookupObservable(op.getType());
    if (!obs)
      return rewriter.notifyMatchFailure(op, "unknown observable");
    Type i64 = i64Type(getContext());
    // int64_t kvant_rt_obs_named(int64_t kind, int64_t wire)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_obs_named", {i64, i64}, {i64});
    Value kind = constI64(rewriter, op.getLoc(), obs->id);
    rewriter.replaceOpWithNewOp<func::CallOp>(op, fn, ValueRange{kind, adaptor.getQubit()});
    return success();
  }
};

struct TensorObsLowering : OpConversionPattern<TensorObsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(TensorObsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // int64_t kvant_rt_obs_tensor(const int64_t *factors, int64_t num_factors)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_obs_tensor", {ptr, i64}, {i64});
    Value factors = stackArray(rewriter, loc, i64, adaptor.getTerms(), 0);
    Value count = constI64(rewriter, loc, adaptor.getTerms().size());
    rewriter.replaceOpWithNewOp<func::CallOp>(op, fn, ValueRange{factors, count});
    return success();
  }
};

struct HermitianLowering : OpConversionPattern<HermitianOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(HermitianOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // int64_t kvant_rt_obs_hermitian(const double *matrix, const int64_t *wires,
    //                                int64_t num_wires)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_obs_hermitian", {ptr, ptr, i64}, {i64});
    Value matrix = readOnlyBuffer(rewriter, loc, adaptor.getMatrix());
    Value wires = stackArray(rewriter, loc, i64, adaptor.getQubits(), 0);
    Value count = constI64(rewriter, loc, adaptor.getQubits().size());
    Value handle = func::CallOp::create(rewriter, loc, fn,
                                        ValueRange{pointerTo(rewriter, loc, matrix), wires, count})
                       .getResult(0);
    rewriter.replaceOp(op, handle);
    return success();
  }
};

struct HamiltonianLowering : OpConversionPattern<HamiltonianOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(HamiltonianOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // int64_t kvant_rt_obs_hamiltonian(const double *coeffs, const int64_t *terms,
    //                                  int64_t num_terms)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_obs_hamiltonian", {ptr, ptr, i64}, {i64});
    int64_t numTerms = adaptor.getTerms().size();
    // The verifier matched static lengths; a dynamic coefficient tensor is read for exactly
    // #terms entries.
    Value coeffs =
        stackBuffer(rewriter, loc, MemRefType::get({numTerms}, rewriter.getF64Type()), 0);
    copyTensorToBuffer(rewriter, loc, adaptor.getCoeffs(), coeffs, {numTerms});
    Value terms = stackArray(rewriter, loc, i64, adaptor.getTerms(), 1);
    Value count = constI64(rewriter, loc, numTerms);
    Value handle = func::CallOp::create(rewriter, loc, fn,
                                        ValueRange{pointerTo(rewriter, loc, coeffs), terms, count})
                       .getResult(0);
    rewriter.replaceOp(op, handle);
    return success();
  }
};

//===----------------------------------------------------------------------------------===//
// Measurements
//===----------------------------------------------------------------------------------===//

template <typename OpTy> struct ScalarMeasurementLowering : OpConversionPattern<OpTy> {
  ScalarMeasurementLowering(const TypeConverter &converter, MLIRContext *ctx, StringRef callee)
      : OpConversionPattern<OpTy>(converter, ctx), callee(callee) {}
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    // double kvant_rt_expval(int64_t obs) / double kvant_rt_var(int64_t obs)
    auto fn =
        getRuntimeFunc(rewriter, op, callee, {i64Type(op.getContext())}, {rewriter.getF64Type()});
    rewriter.replaceOpWithNewOp<func::CallOp>(op, fn, ValueRange{adaptor.getObs()});
    return success();
  }
  StringRef callee;
};

/// A heap buffer for a measurement result, adopted by tensor-land afterwards.
Value resultBuffer(OpBuilder &b, Location loc, Type tensorType) {
  auto type = cast<RankedTensorType>(tensorType);
  return memref::AllocOp::create(b, loc, MemRefType::get(type.getShape(), type.getElementType()));
}

Value adoptBuffer(OpBuilder &b, Location loc, Type tensorType, Value buffer) {
  return bufferization::ToTensorOp::create(b, loc, tensorType, buffer, /*restrict=*/true,
                                           /*writable=*/true);
}

struct ProbsLowering : OpConversionPattern<ProbsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ProbsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_probs(double *out, const int64_t *wires, int64_t num_wires)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_probs", {ptr, ptr, i64}, {});
    Type tensorType = op.getType();
    Value buffer = resultBuffer(rewriter, loc, tensorType);
    Value wires = stackArray(rewriter, loc, i64, adaptor.getQubits(), 0);
    Value count = constI64(rewriter, loc, adaptor.getQubits().size());
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, buffer), wires, count});
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, tensorType, buffer));
    return success();
  }
};

/// The arguments kvant_rt_adjoint_{jacobian,vjp}_mixed take to describe the measurements:
/// (kinds, obs, num_wires, num_meas, wires, num_wires_total). Without `kinds`, every
/// observable is an expectation value.
SmallVector<Value> mixedMeasurementArgs(OpBuilder &b, Location loc, ValueRange obs,
                                        ValueRange qubits, std::optional<ArrayRef<int64_t>> kinds,
                                        std::optional<ArrayRef<int64_t>> probsWiresAttr) {
  Type i64 = i64Type(b.getContext());
  SmallVector<int64_t> allExpval(obs.size(), 0); // KVANT_MEAS_EXPVAL
  ArrayRef<int64_t> kindList = kinds ? *kinds : ArrayRef<int64_t>(allExpval);
  ArrayRef<int64_t> probsWires = probsWiresAttr.value_or(ArrayRef<int64_t>{});
  SmallVector<Value> kindValues, obsIds, wireCounts;
  unsigned nextObs = 0, nextProbs = 0;
  for (int64_t kind : kindList) {
    kindValues.push_back(constI64(b, loc, kind));
    bool probs = kind == 2; // KVANT_MEAS_PROBS; expval 0 and var 1 take an observable
    obsIds.push_back(probs ? constI64(b, loc, 0) : obs[nextObs++]);
    wireCounts.push_back(constI64(b, loc, probs ? probsWires[nextProbs++] : 0));
  }
  return {stackArray(b, loc, i64, kindValues, 1), stackArray(b, loc, i64, obsIds, 2),
          stackArray(b, loc, i64, wireCounts, 3), constI64(b, loc, kindList.size()),
          stackArray(b, loc, i64, qubits, 4),     constI64(b, loc, qubits.size())};
}

/// A result buffer of `tensorType`, whose one dynamic size (if any) is `dynamicSize`, and that
/// size as an i64.
std::pair<Value, Value> gradientBuffer(OpBuilder &b, Location loc, RankedTensorType tensorType,
                                       Value dynamicSize) {
  Type i64 = i64Type(b.getContext());
  if (dynamicSize)
    return {memref::AllocOp::create(
                b, loc, MemRefType::get(tensorType.getShape(), tensorType.getElementType()),
                ValueRange{dynamicSize}),
            arith::IndexCastOp::create(b, loc, i64, dynamicSize)};
  return {resultBuffer(b, loc, tensorType),
          constI64(b, loc, tensorType.getDimSize(tensorType.getRank() - 1))};
}

struct AdjointJacobianLowering : OpConversionPattern<AdjointJacobianOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AdjointJacobianOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_tape_end(void)
    auto end = getRuntimeFunc(rewriter, op, "kvant_rt_tape_end", {}, {});
    auto tensorType = cast<RankedTensorType>(op.getType());
    auto [buffer, numParams] = gradientBuffer(rewriter, loc, tensorType, adaptor.getNumParams());
    func::CallOp::create(rewriter, loc, end, ValueRange{});
    if (op.getKinds()) {
      // void kvant_rt_adjoint_jacobian_mixed(const int64_t *kinds, const int64_t *obs,
      //     const int64_t *num_wires, int64_t num_meas, const int64_t *wires,
      //     int64_t num_wires_total, double *jac_out, int64_t num_rows, int64_t num_params)
      auto mixed = getRuntimeFunc(rewriter, op, "kvant_rt_adjoint_jacobian_mixed",
                                  {ptr, ptr, ptr, i64, ptr, i64, ptr, i64, i64}, {});
      SmallVector<Value> args = mixedMeasurementArgs(
          rewriter, loc, adaptor.getObs(), adaptor.getQubits(), op.getKinds(), op.getProbsWires());
      args.append({pointerTo(rewriter, loc, buffer),
                   constI64(rewriter, loc, tensorType.getDimSize(0)), numParams});
      func::CallOp::create(rewriter, loc, mixed, args);
    } else {
      // void kvant_rt_adjoint_jacobian(const int64_t *obs, int64_t num_obs, double *jac_out,
      //                                int64_t num_params)
      auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_adjoint_jacobian", {ptr, i64, ptr, i64}, {});
      Value obs = stackArray(rewriter, loc, i64, adaptor.getObs(), 0);
      Value numObs = constI64(rewriter, loc, adaptor.getObs().size());
      func::CallOp::create(rewriter, loc, fn,
                           ValueRange{obs, numObs, pointerTo(rewriter, loc, buffer), numParams});
    }
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, tensorType, buffer));
    return success();
  }
};

struct AdjointVJPLowering : OpConversionPattern<AdjointVJPOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AdjointVJPOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_tape_end(void)
    auto end = getRuntimeFunc(rewriter, op, "kvant_rt_tape_end", {}, {});
    // void kvant_rt_adjoint_vjp_mixed(const int64_t *kinds, const int64_t *obs,
    //     const int64_t *num_wires, int64_t num_meas, const int64_t *wires,
    //     int64_t num_wires_total, const double *cotangent, int64_t num_cotangent,
    //     double *grad_out, int64_t num_params)
    auto vjp = getRuntimeFunc(rewriter, op, "kvant_rt_adjoint_vjp_mixed",
                              {ptr, ptr, ptr, i64, ptr, i64, ptr, i64, ptr, i64}, {});
    auto tensorType = cast<RankedTensorType>(op.getType());
    auto [buffer, numParams] = gradientBuffer(rewriter, loc, tensorType, adaptor.getNumParams());
    func::CallOp::create(rewriter, loc, end, ValueRange{});
    SmallVector<Value> args = mixedMeasurementArgs(
        rewriter, loc, adaptor.getObs(), adaptor.getQubits(), op.getKinds(), op.getProbsWires());
    auto cotangentType = cast<RankedTensorType>(op.getCotangent().getType());
    args.append({pointerTo(rewriter, loc, readOnlyBuffer(rewriter, loc, adaptor.getCotangent())),
                 constI64(rewriter, loc, cotangentType.getDimSize(0)),
                 pointerTo(rewriter, loc, buffer), numParams});
    func::CallOp::create(rewriter, loc, vjp, args);
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, tensorType, buffer));
    return success();
  }
};

struct StateLowering : OpConversionPattern<StateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StateOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_state(double *out, int64_t num_amplitudes)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_state", {ptr, i64}, {});
    auto tensorType = cast<RankedTensorType>(op.getType());
    Value buffer = resultBuffer(rewriter, loc, tensorType);
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, buffer),
                                    constI64(rewriter, loc, tensorType.getDimSize(0))});
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, tensorType, buffer));
    return success();
  }
};

//===----------------------------------------------------------------------------------===//
// State preparation, sampling and mid-circuit measurement
//===----------------------------------------------------------------------------------===//

struct SetSeedLowering : OpConversionPattern<SetSeedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SetSeedOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    // void kvant_rt_set_seed(uint64_t seed)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_set_seed", {i64Type(getContext())}, {});
    func::CallOp::create(rewriter, op.getLoc(), fn,
                         ValueRange{constI64(rewriter, op.getLoc(), op.getSeed())});
    rewriter.eraseOp(op);
    return success();
  }
};

/// The parameter-shift batch calls (runtime.h, "shift mode"): the same code whether or not
/// the program is run with its batches dealt out over MPI ranks.
struct ShiftsBeginLowering : OpConversionPattern<ShiftsBeginOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ShiftsBeginOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    // void kvant_rt_shifts_begin(void)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_shifts_begin", {}, {});
    func::CallOp::create(rewriter, op.getLoc(), fn, ValueRange{});
    rewriter.eraseOp(op);
    return success();
  }
};

struct OwnsShiftLowering : OpConversionPattern<OwnsShiftOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(OwnsShiftOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    // int8_t kvant_rt_owns_shift(void)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_owns_shift", {}, {i8Type(getContext())});
    Value owns = func::CallOp::create(rewriter, loc, fn, ValueRange{}).getResult(0);
    rewriter.replaceOpWithNewOp<arith::CmpIOp>(op, arith::CmpIPredicate::ne, owns,
                                               constI8(rewriter, loc, 0));
    return success();
  }
};

/// The partial result is copied into a fresh contiguous buffer, which the runtime sums over
/// the ranks in place and tensor-land adopts as the result (a Jacobian: small).
struct CombineShiftsLowering : OpConversionPattern<CombineShiftsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(CombineShiftsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_combine_shifts(double *data, int64_t n)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_combine_shifts", {ptr, i64}, {});
    auto type = cast<RankedTensorType>(op.getType());
    Value source = adaptor.getPartial();
    SmallVector<Value> dims, dynamicDims, lbs, steps;
    Value count = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (int64_t d = 0; d < type.getRank(); ++d) {
      Value dim = tensor::DimOp::create(rewriter, loc, source, d);
      if (type.isDynamicDim(d))
        dynamicDims.push_back(dim);
      dims.push_back(dim);
      count = arith::MulIOp::create(rewriter, loc, count, dim);
      lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
      steps.push_back(arith::ConstantIndexOp::create(rewriter, loc, 1));
    }
    Value buffer = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()), dynamicDims);
    scf::buildLoopNest(rewriter, loc, lbs, dims, steps,
                       [&](OpBuilder &nb, Location l, ValueRange ivs) {
                         Value element = tensor::ExtractOp::create(nb, l, source, ivs);
                         memref::StoreOp::create(nb, l, element, buffer, ivs);
                       });
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, buffer),
                                    arith::IndexCastOp::create(rewriter, loc, i64, count)});
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, type, buffer));
    return success();
  }
};

struct BasisStateLowering : OpConversionPattern<BasisStateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BasisStateOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_basis_state(const int8_t *bits, const int64_t *wires, int64_t num_wires)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_basis_state", {ptr, ptr, i64}, {});
    Value bits = readOnlyBuffer(rewriter, loc, adaptor.getBits());
    Value wires = stackArray(rewriter, loc, i64, adaptor.getInQubits(), 0);
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, bits), wires,
                                    constI64(rewriter, loc, adaptor.getInQubits().size())});
    rewriter.replaceOp(op, adaptor.getInQubits());
    return success();
  }
};

struct StatePrepLowering : OpConversionPattern<StatePrepOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(StatePrepOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), ptr = ptrType(getContext());
    Location loc = op.getLoc();
    // void kvant_rt_state_prep(const double *amplitudes, int64_t num_amplitudes,
    //                          const int64_t *wires, int64_t num_wires)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_state_prep", {ptr, i64, ptr, i64}, {});
    auto type = cast<RankedTensorType>(adaptor.getAmplitudes().getType());
    Value amplitudes = readOnlyBuffer(rewriter, loc, adaptor.getAmplitudes());
    Value wires = stackArray(rewriter, loc, i64, adaptor.getInQubits(), 0);
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, amplitudes),
                                    constI64(rewriter, loc, type.getDimSize(0)), wires,
                                    constI64(rewriter, loc, adaptor.getInQubits().size())});
    rewriter.replaceOp(op, adaptor.getInQubits());
    return success();
  }
};

struct MeasureLowering : OpConversionPattern<MeasureOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MeasureOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(getContext()), i8 = i8Type(getContext());
    Location loc = op.getLoc();
    // int8_t kvant_rt_measure(int64_t wire, int8_t reset, int8_t postselect)
    auto fn = getRuntimeFunc(rewriter, op, "kvant_rt_measure", {i64, i8, i8}, {i8});
    int64_t postselect = op.getPostselect() ? *op.getPostselect() : -1;
    Value outcome = func::CallOp::create(rewriter, loc, fn,
                                         ValueRange{adaptor.getInQubit(),
                                                    constI8(rewriter, loc, op.getReset() ? 1 : 0),
                                                    constI8(rewriter, loc, postselect)})
                        .getResult(0);
    Value bit = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ne, outcome,
                                      constI8(rewriter, loc, 0));
    rewriter.replaceOp(op, ValueRange{bit, adaptor.getInQubit()});
    return success();
  }
};

/// sample / counts: the runtime fills a fresh buffer for `shots` shots of `qubits`.
template <typename OpTy> struct ShotsMeasurementLowering : OpConversionPattern<OpTy> {
  ShotsMeasurementLowering(const TypeConverter &converter, MLIRContext *ctx, StringRef callee)
      : OpConversionPattern<OpTy>(converter, ctx), callee(callee) {}
  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i64 = i64Type(op.getContext()), ptr = ptrType(op.getContext());
    Location loc = op.getLoc();
    // void kvant_rt_sample(int64_t *out, int64_t shots, const int64_t *wires, int64_t n)
    // void kvant_rt_counts(int64_t *counts_out, int64_t shots, const int64_t *wires, int64_t n)
    auto fn = getRuntimeFunc(rewriter, op, callee, {ptr, i64, ptr, i64}, {});
    Type tensorType = op.getType();
    Value buffer = resultBuffer(rewriter, loc, tensorType);
    Value wires = stackArray(rewriter, loc, i64, adaptor.getQubits(), 0);
    func::CallOp::create(rewriter, loc, fn,
                         ValueRange{pointerTo(rewriter, loc, buffer),
                                    constI64(rewriter, loc, op.getShots()), wires,
                                    constI64(rewriter, loc, adaptor.getQubits().size())});
    rewriter.replaceOp(op, adoptBuffer(rewriter, loc, tensorType, buffer));
    return success();
  }
  StringRef callee;
};

//===----------------------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------------------===//

struct ConvertQuantumToRuntimePass
    : public kvant::quantum::impl::ConvertQuantumToRuntimePassBase<ConvertQuantumToRuntimePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();

    TypeConverter converter;
    converter.addConversion([](Type type) { return type; });
    // Tried before the identity conversion above (last added wins).
    converter.addConversion([](RegisterType type) -> Type { return i64Type(type.getContext()); });
    converter.addConversion([](BitType type) -> Type { return i64Type(type.getContext()); });
    converter.addConversion([](ObservableType type) -> Type { return i64Type(type.getContext()); });

    ConversionTarget target(*ctx);
    target.addIllegalDialect<QuantumDialect>();
    target.addLegalDialect<arith::ArithDialect, bufferization::BufferizationDialect,
                           LLVM::LLVMDialect, memref::MemRefDialect, tensor::TensorDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) && converter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    patterns.add<AllocLowering, DeallocLowering, ExtractLowering, InsertLowering, CustomLowering,
                 UnitaryLowering, NamedObsLowering, TensorObsLowering, HermitianLowering,
                 HamiltonianLowering, ProbsLowering, StateLowering, AdjointJacobianLowering,
                 AdjointVJPLowering, SetSeedLowering, BasisStateLowering, StatePrepLowering,
                 MeasureLowering, ShiftsBeginLowering, OwnsShiftLowering, CombineShiftsLowering>(
        converter, ctx);
    patterns.add<ShotsMeasurementLowering<SampleOp>>(converter, ctx, "kvant_rt_sample");
    patterns.add<ShotsMeasurementLowering<CountsOp>>(converter, ctx, "kvant_rt_counts");
    patterns.add<ScalarMeasurementLowering<ExpvalOp>>(converter, ctx, "kvant_rt_expval");
    patterns.add<ScalarMeasurementLowering<VarOp>>(converter, ctx, "kvant_rt_var");
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns, target);

    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      return signalPassFailure();
    hoistAndShareStackBuffers(getOperation());
  }
};

} // namespace
