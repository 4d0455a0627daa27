"""Gates layer: realized-gate tables per profile, their metrics and on-disk cache."""

from cryoctl.gates.build import build_gate_table
from cryoctl.gates.cache import CODE_VERSION, default_cache_dir, load_or_build, load_table, save_table, table_key
from cryoctl.gates.calibration import Calibration, calibrate, drag_scan, measured_angles, rabi_scan
from cryoctl.gates.metrics import (
    angle_error,
    average_gate_fidelity,
    code_metrics,
    leakage,
    pauli_transfer,
    qubit_superop,
    realized_angle,
    request_grid,
    request_metrics,
    rotation,
    table_metrics,
)
from cryoctl.gates.realize import realize, table_kind
from cryoctl.gates.table import AXES, GateTable, quantize_phase, virtual_z, wrap_angle

__all__ = [
    "AXES", "CODE_VERSION", "Calibration", "GateTable", "angle_error", "average_gate_fidelity",
    "build_gate_table", "calibrate", "code_metrics", "default_cache_dir", "drag_scan",
    "leakage", "load_or_build", "load_table", "measured_angles", "pauli_transfer", "qubit_superop",
    "quantize_phase", "rabi_scan", "realize", "realized_angle", "request_grid", "request_metrics",
    "rotation", "save_table", "table_key", "table_kind", "table_metrics", "virtual_z",
    "wrap_angle",
]
