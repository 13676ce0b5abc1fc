"""Loading compiled programs and calling them with NumPy/JAX arrays."""
