"""Python op classes of kvant's MLIR dialects (``quantum``, ``gradient``, ``host``).

The classes are generated at build time from the dialects' ODS definitions (the same ``.td``
files as the C++), as upstream MLIR does for its own dialects. ``kvant._mlir`` adds this package
to the bindings' dialect search path, so ops parsed or created in Python come back as these
classes.
"""
