"""pulse layer."""
