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
- RZ is virtual (a frame update): :func:`virtual_z` with ``phase_bits`` of resolution (implemented in
  :mod:`cryoctl.pulse.frame`, re-exported here).
- Calibration is per DAC channel: ``pi_codes[q, a]`` is the calibrated pi code of qubit q, axis
  AXES[a] (x on the I DAC, y on the Q DAC, each with its own mismatch); ``angle_per_code`` is
  pi / median(pi_codes), the one number a controller with a shared calibration would use, and
  :meth:`GateTable.angle_per_code_of` gives the per-channel value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cryoctl.errors import CryoctlError
from cryoctl.profile.codes import SignedCodes
from cryoctl.pulse.frame import quantize_phase, virtual_z, wrap_angle  # noqa: F401  (re-exported)

AXES = ("x", "y")

__all__ = ["AXES", "GateTable", "quantize_phase", "virtual_z", "wrap_angle"]


@dataclass(frozen=True)
class GateTable(SignedCodes):
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
    # (n_qubits, len(AXES)) calibrated pi-amplitude codes and DRAG coefficients (None: not calibrated)
    pi_codes: np.ndarray | None = None
    drag_beta: np.ndarray | None = None

    @property
    def nominal_angle(self) -> np.ndarray:
        return self.codes * self.angle_per_code

    def angle_per_code_of(self, axis: str, qubit: int) -> float:
        """Per-channel angle step pi / pi_codes[qubit, axis] (the shared one if not calibrated per channel)."""
        if self.pi_codes is None:
            return float(self.angle_per_code)
        if axis not in AXES:
            raise CryoctlError(f"unknown axis {axis!r}; expected one of {list(AXES)}", field="axis")
        return float(np.pi / self.pi_codes[qubit, AXES.index(axis)])

    def nominal_angle_of(self, axis: str, qubit: int) -> np.ndarray:
        """Angles the per-channel calibration assigns to every code."""
        return self.codes * self.angle_per_code_of(axis, qubit)

    def angle_to_code(self, theta: np.ndarray, axis: str | None = None, qubit: int | None = None) -> np.ndarray:
        """Nearest code for a requested angle (wrapped into [-pi, pi), clipped to the code range).

        With ``axis`` and ``qubit`` the per-channel calibration is used, else ``angle_per_code``.
        """
        step = self.angle_per_code if axis is None or qubit is None else self.angle_per_code_of(axis, qubit)
        c = np.round(wrap_angle(theta) / step).astype(np.int64)
        return np.clip(c, self.code_min, self.code_max)

    def rz(self, phi: np.ndarray) -> np.ndarray:
        """Virtual RZ(phi) on this table's levels with its phase resolution, (..., d, d)."""
        return virtual_z(phi, self.levels, self.phase_bits)

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
