"""Rotating-frame bookkeeping: angle wrapping, virtual Z with finite phase resolution, angle <-> code.

Virtual Z. RZ(phi) is not played: the controller shifts the phase of the drive frame of every later
pulse on that qubit (by -phi: advancing the drive phase by phi equals RZ(-phi) on the state, McKay et
al. 2017). The phase register has ``phase_bits`` bits, so phi is rounded to the grid
2 pi / 2^phase_bits. On d levels the frame update acts as

    RZ_d(phi) = diag(exp(+i phi (k - 1/2))) = e^{-i phi/2} exp(+i phi n),  k = 0..d-1,

which is exp(-i phi Z / 2) on the qubit block; level k picks up k times the frame phase, as a drive
phase shift does for the k-photon transition.

Angle <-> code. After calibration the controller believes code c produces the angle
c * angle_per_code with angle_per_code = pi / pi_code (pi_code: the calibrated pi-amplitude code), so
a requested angle theta maps to code = round(wrap(theta) / angle_per_code).
"""

from __future__ import annotations

import numpy as np

from cryoctl.errors import CryoctlError


def wrap_angle(theta: np.ndarray) -> np.ndarray:
    """Map angles into [-pi, pi): R(theta + 2 pi) = -R(theta), a global phase on the qubit block."""
    return (np.asarray(theta, dtype=float) + np.pi) % (2 * np.pi) - np.pi


def quantize_phase(phi: np.ndarray, phase_bits: int) -> np.ndarray:
    """Round a frame phase to the 2^phase_bits grid over 2 pi."""
    step = 2 * np.pi / 2**phase_bits
    return np.round(np.asarray(phi, dtype=float) / step) * step


def virtual_z(phi: np.ndarray, levels: int, phase_bits: int | None = None) -> np.ndarray:
    """RZ(phi) on d levels as a frame update: diag(exp(+i phi (k - 1/2))), k = 0..d-1 -> (..., d, d).

    On the qubit block this is exp(-i phi Z / 2) = diag(exp(-i phi/2), exp(+i phi/2)), the same
    convention as the drive rotations (Z = 1 - 2n there, so RZ(phi) = e^{-i phi/2} exp(+i phi n));
    level k picks up k times the frame phase relative to level 0, as a drive-phase shift does for the
    k-photon transition. phi is first rounded to the 2^phase_bits grid when phase_bits is given.
    """
    phi = np.asarray(phi, dtype=float)
    if phase_bits is not None:
        phi = quantize_phase(phi, phase_bits)
    diag = np.exp(1j * phi[..., None] * (np.arange(levels) - 0.5))
    return diag[..., :, None] * np.eye(levels)


def angle_per_code(pi_code: float) -> float:
    """Rotation angle per amplitude code, pi / pi_code."""
    if not pi_code or not np.isfinite(pi_code):
        raise CryoctlError(f"expected a non-zero pi-amplitude code, got {pi_code!r}", field="pi_code")
    return float(np.pi / pi_code)


def angle_to_code(theta: np.ndarray, angle_step: float, code_min: int, code_max: int) -> np.ndarray:
    """Nearest code for a requested angle: round(wrap(theta) / angle_step), clipped to the code range."""
    c = np.round(wrap_angle(theta) / angle_step).astype(np.int64)
    return np.clip(c, code_min, code_max)
