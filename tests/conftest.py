"""Shared test setup: every test run uses its own compiled-program cache directory."""

import os
import tempfile

import pytest

# Set before kvant compiles anything, so tests never read a developer's cache.
os.environ.setdefault("KVANT_CACHE_DIR", tempfile.mkdtemp(prefix="kvant-test-cache-"))

import jax

jax.config.update("jax_enable_x64", True)


@pytest.fixture
def cache_dir():
    return os.environ["KVANT_CACHE_DIR"]
