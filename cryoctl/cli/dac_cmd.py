"""CLI commands (placeholder module; filled by its layer's work)."""
