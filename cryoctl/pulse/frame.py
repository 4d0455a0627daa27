"""Rotating-frame bookkeeping: virtual Z with finite phase resolution (the phase-word rule for RZ).

Virtual Z. RZ(phi) is not played: the controller shifts the phase of the drive frame of every later
pulse on that qubit (by -phi: advancing the drive phase by phi equals RZ(-phi) on the state, McKay et
al. 2017). The phase register has ``phase_bits`` bits, so phi is rounded to the grid
2 pi / 2^phase_bits. On d levels the frame update acts as

    RZ_d(phi) = diag(exp(+i phi (k - 1/2))) = e^{-i phi/2} exp(+i phi n),  k = 0..d-1,

which is exp(-i phi Z / 2) on the qubit block; level k picks up k times the frame phase, as a drive
phase shift does for the k-photon transition.

Drive angles are not mapped to amplitude codes here: that is the calibration's measured angle per code
(:class:`cryoctl.gates.calibration.Calibration`, the one angle <-> code rule).
"""

from __future__ import annotations

import numpy as np

from cryoctl.conventions import wrap_angle  # noqa: F401  (re-exported)


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

