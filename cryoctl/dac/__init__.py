"""dac layer."""
