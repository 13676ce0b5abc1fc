"""Setup shared by every test directory (tests/, runtime/tests/python/)."""

# A hung test fails by name with its stacks instead of running into CI's limit (tests/watchdog.py).
pytest_plugins = ["tests.watchdog"]
