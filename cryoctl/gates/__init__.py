"""Gates layer: realized-gate tables per profile, their metrics and on-disk cache."""

from cryoctl.gates.table import AXES, GateTable, quantize_phase, virtual_z, wrap_angle

__all__ = ["AXES", "GateTable", "quantize_phase", "virtual_z", "wrap_angle"]
