//===- LLVMIR.cpp - LLVM-dialect module -> LLVM IR / optimised host object file -------===//
//
// Every failure is reported through `error` (MLIR diagnostics are captured with a scoped
// handler) so the Python extension can raise instead of the interpreter dying.
//
//===----------------------------------------------------------------------------------===//

#include "kvant/Target/LLVMIR.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Analysis/CFG.h"
#include "llvm/IR/Attributes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

using namespace mlir;

namespace {

/// Collects MLIR diagnostics emitted while alive into `sink` instead of printing them.
struct DiagnosticCollector {
  DiagnosticCollector(MLIRContext *ctx, std::string &sink)
      : handler(ctx, [&sink](Diagnostic &diag) {
          if (!sink.empty())
            sink += "\n";
          llvm::raw_string_ostream os(sink);
          os << diag.getLocation() << ": " << diag;
          for (const Diagnostic &note : diag.getNotes())
            os << "\n  note: " << note;
          return success();
        }) {}
  ScopedDiagnosticHandler handler;
};

std::unique_ptr<llvm::Module> translate(Operation *op, llvm::LLVMContext &llvmContext,
                                        std::string &error) {
  if (!isa<ModuleOp>(op)) {
    error = "expected a builtin.module";
    return nullptr;
  }
  MLIRContext *ctx = op->getContext();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);

  DiagnosticCollector collector(ctx, error);
  if (failed(verify(op))) {
    if (error.empty())
      error = "module failed to verify";
    return nullptr;
  }
  std::unique_ptr<llvm::Module> module = translateModuleToLLVMIR(op, llvmContext, "kvant");
  if (!module) {
    if (error.empty())
      error = "translation to LLVM IR failed (is the module fully in the LLVM dialect?)";
    return nullptr;
  }
  std::string verifierMessages;
  llvm::raw_string_ostream os(verifierMessages);
  if (llvm::verifyModule(*module, &os)) {
    error = "invalid LLVM IR after translation: " + verifierMessages;
    return nullptr;
  }
  return module;
}

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

/// Effort for code without loops. Each instruction of a loop-free function runs at most once per
/// call, so optimising it saves nanoseconds per call, next to runtime calls that each touch the
/// whole state vector. Compiling it at -O2 is what costs: instruction selection and register
/// allocation grow faster than linearly in the size of one huge basic block (a circuit unrolled
/// by Python). For a 240-gate circuit, code generation took 52 ms at -O2 and 8 ms at -O0.
bool hasLoops(const llvm::Function &function) {
  llvm::SmallVector<std::pair<const llvm::BasicBlock *, const llvm::BasicBlock *>> backedges;
  llvm::FindFunctionBackedges(function, backedges);
  return !backedges.empty();
}

bool moduleHasLoops(const llvm::Module &module) {
  for (const llvm::Function &function : module)
    if (!function.isDeclaration() && hasLoops(function))
      return true;
  return false;
}

/// In a module that does have loops, a large loop-free quantum kernel still gets no
/// optimisation (optnone: the middle end and FastISel skip it), by the argument above; the rest
/// of the module keeps the requested level. "Large": at least this many runtime calls.
constexpr unsigned kLargeKernelMinRuntimeCalls = 32;

bool isLargeLoopFreeKernel(const llvm::Function &function) {
  if (function.isDeclaration())
    return false;
  unsigned runtimeCalls = 0;
  for (const llvm::BasicBlock &block : function)
    for (const llvm::Instruction &inst : block)
      if (const auto *call = llvm::dyn_cast<llvm::CallInst>(&inst))
        if (const llvm::Function *callee = call->getCalledFunction())
          if (callee->getName().starts_with("kvant_rt_"))
            ++runtimeCalls;
  return runtimeCalls >= kLargeKernelMinRuntimeCalls && !hasLoops(function);
}

/// A function with a basic block of at least this many instructions is not optimised either,
/// loops or not: such a block is straight-line code the program generator unrolled (the
/// derivative of an N-gate circuit reads and writes N parameters one by one), which runs once
/// per entry, while -O2's middle end and instruction selection take time growing faster than
/// the block (gradient of a 4,000-gate circuit: 18 s of codegen, 6x the time at 1,000 gates).
constexpr size_t kLargeBlockMinInstructions = 2048;

bool hasLargeBlock(const llvm::Function &function) {
  return llvm::any_of(function, [](const llvm::BasicBlock &block) {
    return block.size() >= kLargeBlockMinInstructions;
  });
}

/// Marks them optnone; returns whether one of them has a large block.
bool markLargeLoopFreeKernelsUnoptimised(llvm::Module &module) {
  bool largeBlock = false;
  for (llvm::Function &function : module) {
    bool large = hasLargeBlock(function);
    if (isLargeLoopFreeKernel(function) || large) {
      function.removeFnAttr(llvm::Attribute::AlwaysInline);
      function.addFnAttr(llvm::Attribute::NoInline); // optnone requires it
      function.addFnAttr(llvm::Attribute::OptimizeNone);
    }
    largeBlock |= large;
  }
  return largeBlock;
}

/// Machine code without optimisation (CodeGenOptLevel::None: FastISel and the fast register
/// allocator) is made for blocks of at most this many instructions: longer blocks are split
/// (an unconditional branch to the rest). The fast allocator's time grows with the square of
/// a block's length: the adjoint circuit function of a 20,000-gate gradient (one block of
/// 43,000 instructions) took 1.1 s in it, 0.09 s split into blocks of 1,000 (0.7 s of the
/// whole codegen of its module, split at 250 or at 4,000 instructions alike). Entry-block
/// allocas stay in the entry block, where they are static.
constexpr size_t kCodegenBlockInstructions = 1024;

void splitLongBlocks(llvm::Function &function) {
  llvm::SmallVector<llvm::BasicBlock *> work;
  for (llvm::BasicBlock &block : function)
    work.push_back(&block);
  while (!work.empty()) {
    llvm::BasicBlock *block = work.pop_back_val();
    if (block->size() <= kCodegenBlockInstructions)
      continue;
    size_t position = 0, lastAlloca = 0;
    for (const llvm::Instruction &inst : *block) {
      ++position;
      if (llvm::isa<llvm::AllocaInst>(inst))
        lastAlloca = position;
    }
    position = 0;
    for (llvm::Instruction &inst : *block) {
      ++position;
      if (position > kCodegenBlockInstructions && position > lastAlloca &&
          !llvm::isa<llvm::PHINode>(inst) && !inst.isEHPad() && !inst.isTerminator()) {
        work.push_back(block->splitBasicBlock(&inst, block->getName() + ".part"));
        break;
      }
    }
  }
}

} // namespace

bool kvant::translateToLLVMIR(Operation *module, std::string &irText, std::string &error) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translate(module, llvmContext, error);
  if (!llvmModule)
    return false;
  llvm::raw_string_ostream os(irText);
  llvmModule->print(os, nullptr);
  return true;
}

bool kvant::emitObjectFile(Operation *module, const std::string &path, int optLevel,
                           const std::string &cpu, std::string &error) {
  if (optLevel < 0 || optLevel > 3) {
    error = "opt_level must be 0, 1, 2 or 3, got " + std::to_string(optLevel);
    return false;
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translate(module, llvmContext, error);
  if (!llvmModule)
    return false;

  // The machine code of a module with a large block is not optimised either: the register
  // allocator is chosen for the whole module, and the greedy one's live-interval analyses of a
  // huge block (whose instructions FastISel selects already, optnone) cost more than the rest
  // of codegen together (1.9 s of machine code for the adjoint circuit of a 20,000-gate
  // gradient, 0.6 s with the fast one and splitLongBlocks). The module's other functions still
  // get the middle end of the requested level (inlining, loop and vector optimisations).
  // Smaller modules, with at most large loop-free kernels, keep optimised machine code.
  bool optimisedMachineCode = optLevel > 0;
  if (optLevel > 0 && !moduleHasLoops(*llvmModule))
    optLevel = 0, optimisedMachineCode = false;
  else if (optLevel > 0 && markLargeLoopFreeKernelsUnoptimised(*llvmModule))
    optimisedMachineCode = false;

  // Code for the host's architecture; for its very CPU when `cpu` is "native" (objects the JIT
  // caches locally), else for the named CPU (ahead-of-time libraries that run elsewhere).
  initializeNativeTarget();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string lookupError;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "no LLVM target for " + triple.str() + ": " + lookupError;
    return false;
  }
  std::string cpuName = cpu, features;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (feature.second ? "+" : "-") + feature.first().str() + ",";
  } else {
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, cpu, ""));
    if (!subtarget || !subtarget->isCPUStringValid(cpu)) {
      error = "unknown CPU '" + cpu + "' for " + triple.getArchName().str() +
              " (use 'native', or an LLVM CPU name such as " +
              (triple.isX86() ? "'x86-64', 'x86-64-v2', 'x86-64-v3' or 'skylake'" : "'generic'") +
              ")";
      return false;
    }
  }
  static const llvm::CodeGenOptLevel codegenLevels[] = {
      llvm::CodeGenOptLevel::None, llvm::CodeGenOptLevel::Less, llvm::CodeGenOptLevel::Default,
      llvm::CodeGenOptLevel::Aggressive};
  // PIC: the object is linked into a shared library together with the runtime.
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt,
      codegenLevels[optimisedMachineCode ? optLevel : 0]));
  if (!machine) {
    error = "cannot create a target machine for " + triple.str();
    return false;
  }
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(triple);

  // Middle end: the new pass manager's default pipeline for the level.
  {
    // The new pass manager honours optnone only through this instrumentation: without it,
    // every pass of the level still runs on the functions marked optnone above.
    llvm::PassInstrumentationCallbacks instrumentation;
    llvm::OptNoneInstrumentation skipOptNone(/*DebugLogging=*/false);
    skipOptNone.registerCallbacks(instrumentation);
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder builder(machine.get(), llvm::PipelineTuningOptions(), std::nullopt,
                              &instrumentation);
    builder.registerModuleAnalyses(mam);
    builder.registerCGSCCAnalyses(cgam);
    builder.registerFunctionAnalyses(fam);
    builder.registerLoopAnalyses(lam);
    builder.crossRegisterProxies(lam, fam, cgam, mam);
    static const llvm::OptimizationLevel levels[] = {
        llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1, llvm::OptimizationLevel::O2,
        llvm::OptimizationLevel::O3};
    llvm::ModulePassManager passes = optLevel == 0
                                         ? builder.buildO0DefaultPipeline(levels[0])
                                         : builder.buildPerModuleDefaultPipeline(levels[optLevel]);
    passes.run(*llvmModule, mam);
  }

  if (!optimisedMachineCode)
    for (llvm::Function &function : *llvmModule)
      splitLongBlocks(function);

  // Back end: code generation still goes through the legacy pass manager.
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot open " + path + ": " + ec.message();
    return false;
  }
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, out, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return false;
  }
  codegen.run(*llvmModule);
  out.close();
  if (out.has_error()) {
    error = "error writing " + path + ": " + out.error().message();
    out.clear_error();
    return false;
  }
  return true;
}
