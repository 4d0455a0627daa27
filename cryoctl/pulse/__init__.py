"""Pulse layer: envelopes, I/Q channels through the DAC, virtual Z."""

from cryoctl.pulse.drive import AXES, Drive, check_axis, drive_gain
from cryoctl.pulse.envelope import (
    drag_quadrature,
    lifted_gaussian,
    lifted_gaussian_derivative,
    n_samples,
    sample_times,
)
from cryoctl.pulse.frame import quantize_phase, virtual_z, wrap_angle

__all__ = [
    "AXES", "Drive", "check_axis", "drag_quadrature",
    "drive_gain", "lifted_gaussian", "lifted_gaussian_derivative", "n_samples", "quantize_phase",
    "sample_times", "virtual_z", "wrap_angle",
]
