"""kvant's user-facing functions."""
