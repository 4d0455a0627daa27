"""circuit layer."""
