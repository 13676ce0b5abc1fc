"""What the generated ``_<dialect>_ops_gen.py`` modules import relatively: upstream's helpers."""

from mlir.dialects._ods_common import *  # noqa: F403
from mlir.dialects._ods_common import _cext  # noqa: F401
