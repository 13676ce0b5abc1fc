"""From kvant's MLIR to a loadable shared library: pass pipeline, worker process, disk cache."""
