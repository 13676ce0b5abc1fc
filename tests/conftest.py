"""Shared test setup: every test run uses its own compiled-program cache directory."""

import os
import tempfile

import pytest

# Set before kvant compiles anything, so tests never read a developer's cache.
_cache = os.environ.setdefault("KVANT_CACHE_DIR", tempfile.mkdtemp(prefix="kvant-test-cache-"))
# Under pytest-xdist (`make test` runs two processes) each process gets its own cache inside
# that one, so a test that expects a fresh compilation never finds another process's program.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["KVANT_CACHE_DIR"] = os.path.join(_cache, os.environ["PYTEST_XDIST_WORKER"])

import jax  # noqa: E402  (after the cache variable, as kvant reads it at import)

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def cache_dir():
    return os.environ["KVANT_CACHE_DIR"]
