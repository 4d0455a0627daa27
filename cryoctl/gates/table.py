"""Realized-gate tables: for every DAC amplitude code, the operation the hardware actually performs.

A table is the contract between the physics below and the circuits above: circuits never see
volts or Hamiltonians, only "code c on axis x of qubit q realizes this operation".

Conventions
-----------
- ``codes`` run over the whole signed range [-2^(N-1), 2^(N-1)-1]; index = code - code_min.
- ``nominal_angle[i] = codes[i] * angle_per_code`` is the rotation the *calibrated controller believes*
  code i produces, ``angle_per_code = pi / pi_code`` (pi_code from the Rabi calibration, possibly
  fractional for the abstract quantizer: step 2 pi / 2^b <-> pi_code = 2^(b-1)).
- ``kind == "unitary"``: ``ops[axis]`` has shape (n_qubits, 2^N, d, d).
  ``kind == "channel"``: shape (n_qubits, 2^N, d^2, d^2), a superoperator in numpy's row-major
  vectorisation: vec(rho) = rho.reshape(-1), S = kron(U, U.conj()) for a unitary U, and
  rho' = (S @ vec(rho)).reshape(d, d).
- RZ is virtual (a frame update): :func:`virtual_z` with ``phase_bits`` of resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cryoctl.errors import CryoctlError

AXES = ("x", "y")


def wrap_angle(theta: np.ndarray) -> np.ndarray:
    """Map angles into [-pi, pi): R(theta + 2 pi) = -R(theta), a global phase on the qubit block."""
    return (np.asarray(theta, dtype=float) + np.pi) % (2 * np.pi) - np.pi


def quantize_phase(phi: np.ndarray, phase_bits: int) -> np.ndarray:
    """Round a frame phase to the 2^phase_bits grid over 2 pi."""
    step = 2 * np.pi / 2**phase_bits
    return np.round(np.asarray(phi, dtype=float) / step) * step


def virtual_z(phi: np.ndarray, levels: int, phase_bits: int | None = None) -> np.ndarray:
    """RZ(phi) on d levels as a frame update: diag(exp(-i phi (k - 1/2))), k = 0..d-1.

    On the qubit block this is exp(-i phi Z / 2); level k picks up k times the frame phase, as a
    drive-phase shift does for the k-photon transition. Shape (..., d) diagonal is returned as
    full matrices (..., d, d).
    """
    phi = np.asarray(phi, dtype=float)
    if phase_bits is not None:
        phi = quantize_phase(phi, phase_bits)
    k = np.arange(levels) - 0.5
    diag = np.exp(-1j * phi[..., None] * k)
    return diag[..., :, None] * np.eye(levels)


@dataclass(frozen=True)
class GateTable:
    """Realized single-qubit operations for every amplitude code, per qubit and drive axis."""

    profile_hash: str
    bits: int
    levels: int
    n_qubits: int
    angle_per_code: float
    phase_bits: int
    kind: Literal["unitary", "channel"]
    ops: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    @property
    def code_min(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def code_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def codes(self) -> np.ndarray:
        return np.arange(self.code_min, self.code_max + 1)

    @property
    def nominal_angle(self) -> np.ndarray:
        return self.codes * self.angle_per_code

    def angle_to_code(self, theta: np.ndarray) -> np.ndarray:
        """Nearest code for a requested angle (wrapped into [-pi, pi), clipped to the code range)."""
        c = np.round(wrap_angle(theta) / self.angle_per_code).astype(np.int64)
        return np.clip(c, self.code_min, self.code_max)

    def check_codes(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.size and (codes.min() < self.code_min or codes.max() > self.code_max):
            bad = codes[(codes < self.code_min) | (codes > self.code_max)].flat[0]
            raise CryoctlError(
                f"code {int(bad)} out of range [{self.code_min}, {self.code_max}] for a {self.bits}-bit DAC",
                field="code",
            )
        return codes.astype(np.int64)

    def lookup(self, axis: str, qubit: int, codes: np.ndarray) -> np.ndarray:
        """Operations for an array of codes (any shape) -> (..., d, d) or (..., d^2, d^2)."""
        if axis not in self.ops:
            raise CryoctlError(f"unknown axis {axis!r}; expected one of {sorted(self.ops)}", field="axis")
        codes = self.check_codes(codes)
        return self.ops[axis][qubit][codes - self.code_min]
