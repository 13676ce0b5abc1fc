"""kvant's differential fuzzer: random valid hybrid programs compiled by kvant and compared with
PennyLane ``default.qubit`` + JAX. See README.md in this directory."""
