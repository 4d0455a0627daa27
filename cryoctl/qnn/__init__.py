"""qnn layer."""
