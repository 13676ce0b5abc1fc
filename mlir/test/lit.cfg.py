# lit configuration of kvant's MLIR tests.
#
# Normally run through the generated build-tree config:
#     lit -v build/<dir>/test                  (or: cmake --build <dir> --target check-kvant-mlir)
# It also runs straight from the source tree if told where the build is:
#     KVANT_MLIR_BUILD_DIR=build/<dir> lit -v mlir/test
import os
import sys

import lit.formats

config.name = "kvant-mlir"
config.test_format = lit.formats.ShTest()
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt", "Inputs"]
config.test_source_root = os.path.dirname(__file__)

if not hasattr(config, "kvant_tools_dir"):
    # Source-tree invocation: derive the paths the site config would have given.
    build = os.environ.get("KVANT_MLIR_BUILD_DIR") or lit_config.params.get("build_dir")
    if not build:
        lit_config.fatal(
            "set KVANT_MLIR_BUILD_DIR (the CMake build folder of mlir/) or run lit on <build>/test"
        )
    build = os.path.abspath(build)
    if os.path.isdir(os.path.join(build, "mlir", "bin")):  # top-level build: mlir/ is a subdir
        build = os.path.join(build, "mlir")
    import importlib.util

    sp = os.path.dirname(
        os.path.dirname(os.path.dirname(importlib.util.find_spec("mlir._mlir_libs").origin))
    )
    config.kvant_tools_dir = os.path.join(build, "bin")
    config.kvant_python_dir = os.path.join(build, "python_packages")
    config.llvm_tools_dir = os.path.join(sp, "llvm", "bin")
    config.mlir_tools_dir = os.path.join(sp, "mlir", "bin")
    config.python_executable = sys.executable
    config.kvant_test_exec_root = os.path.join(build, "test")

config.test_exec_root = config.kvant_test_exec_root

# kvant-opt first, then FileCheck/not (llvm wheel), then mlir-translate (mlir wheel).
path = [config.kvant_tools_dir, config.llvm_tools_dir, config.mlir_tools_dir]
config.environment["PATH"] = os.pathsep.join(path + [config.environment.get("PATH", "")])
# The extension is imported as a top-level `_kvant_mlir` from the build tree. Nothing else goes
# on PYTHONPATH: a folder named `mlir` there would shadow parts of the `mlir` namespace package.
config.environment["PYTHONPATH"] = config.kvant_python_dir
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(
    ("%mlir_translate", os.path.join(config.mlir_tools_dir, "mlir-translate"))
)
# The pipeline the frontend runs, defined once in frontend/kvant/compiler/pipeline.py (a module
# without imports): the end-to-end lowering test runs exactly that.
_pipeline_source = os.path.join(
    config.test_source_root, os.pardir, os.pardir, "frontend", "kvant", "compiler", "pipeline.py"
)
_pipeline_namespace = {}
with open(_pipeline_source) as _f:
    exec(compile(_f.read(), _pipeline_source, "exec"), _pipeline_namespace)
config.substitutions.append(("%kvant_pipeline", _pipeline_namespace["pipeline"]()))
