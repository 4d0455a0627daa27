"""Realized-gate tables: for every DAC amplitude code, the operation the hardware actually performs.

A table is the contract between the physics below and the circuits above: circuits never see
volts or Hamiltonians, only "code c on axis x of qubit q realizes this operation", and which code to
play for a requested angle (the table's :class:`~cryoctl.gates.calibration.Calibration`).

Conventions
-----------
- ``codes`` run over the whole signed range [-2^(N-1), 2^(N-1)-1]; index = code - code_min.
- ``kind == "unitary"``: ``ops[axis]`` has shape (n_qubits, 2^N, d, d).
  ``kind == "channel"``: shape (n_qubits, 2^N, d^2, d^2), a superoperator in numpy's row-major
  vectorisation: vec(rho) = rho.reshape(-1), S = kron(U, U.conj()) for a unitary U
  (:func:`cryoctl.conventions.kron_conj`), and rho' = (S @ vec(rho)).reshape(d, d).
- ``calibration``: one entry per channel (qubit q, axis DRIVE_AXES[a]; x on the I DAC, y on the Q DAC,
  each with its own mismatch): pi codes, DRAG coefficients, and the measured angle of every code of
  this table, ``angles[q, a, c - code_min]``. The angle <-> code rule is
  ``calibration.code_for(axis, q, theta)`` (nearest measured angle on the circle), for gate metrics
  and circuits alike; there is no other.
- RZ is virtual (a frame update): :func:`virtual_z` with ``phase_bits`` of resolution (implemented in
  :mod:`cryoctl.pulse.frame`, re-exported here).

Serialisation: :meth:`GateTable.to_npz_arrays` / :meth:`GateTable.from_npz_arrays` (a dict of numpy
arrays: a JSON ``header``, ``ops_<axis>`` and the calibration's ``cal_*`` arrays), used by
:mod:`cryoctl.gates.cache`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cryoctl.conventions import DRIVE_AXES, check_axis, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.gates.calibration import Calibration
from cryoctl.profile.codes import SignedCodes
from cryoctl.pulse.frame import quantize_phase, virtual_z

AXES = DRIVE_AXES

__all__ = ["AXES", "GateTable", "quantize_phase", "virtual_z", "wrap_angle"]


@dataclass(frozen=True)
class GateTable(SignedCodes):
    """Realized single-qubit operations for every amplitude code, per qubit and drive axis."""

    profile_hash: str  # cryoctl.gates.cache.table_key of the profile (exact tables: a label)
    bits: int
    levels: int
    n_qubits: int
    phase_bits: int
    kind: Literal["unitary", "channel"]
    ops: dict[str, np.ndarray]
    calibration: Calibration
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        cal = self.calibration
        if not isinstance(cal, Calibration) or cal.angles is None:
            raise CryoctlError("a gate table needs a Calibration with the measured angle of every code",
                               field="calibration")
        if cal.angles.shape != (self.n_qubits, len(DRIVE_AXES), 2**self.bits):
            raise CryoctlError(f"calibration angles shape {cal.angles.shape} does not match the table "
                               f"({self.n_qubits}, {len(DRIVE_AXES)}, {2**self.bits})", field="calibration")

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
        if isinstance(qubit, bool) or not isinstance(qubit, (int, np.integer)) or not 0 <= qubit < self.n_qubits:
            raise CryoctlError(f"qubit {qubit!r} out of range [0, {self.n_qubits - 1}]", field="qubit")
        codes = self.check_codes(codes)
        return self.ops[axis][qubit][codes - self.code_min]

    # --- serialisation ----------------------------------------------------------------------------------

    def to_npz_arrays(self) -> dict[str, np.ndarray]:
        """The whole table, calibration included, as numpy arrays for ``np.savez`` (no pickles)."""
        header = {
            "profile_hash": self.profile_hash, "bits": self.bits, "levels": self.levels,
            "n_qubits": self.n_qubits, "phase_bits": self.phase_bits, "kind": self.kind,
            "meta": self.meta, "axes": list(self.ops),
        }
        return {
            "header": np.array(json.dumps(header)),
            **{f"ops_{axis}": v for axis, v in self.ops.items()},
            **self.calibration.to_arrays(),
        }

    @classmethod
    def from_npz_arrays(cls, arrays: dict) -> "GateTable":
        """Inverse of :meth:`to_npz_arrays`; ValueError when an array is missing or has the wrong shape."""
        try:
            h = json.loads(str(arrays["header"]))
            ops = {axis: np.asarray(arrays[f"ops_{axis}"]) for axis in h["axes"]}
            for axis in ops:
                check_axis(axis)
            cal = Calibration.from_arrays(arrays)
            bits, levels, nq = int(h["bits"]), int(h["levels"]), int(h["n_qubits"])
        except (KeyError, TypeError, json.JSONDecodeError, CryoctlError) as exc:
            raise ValueError(f"incomplete gate table arrays: {exc}") from None
        side = levels if h["kind"] == "unitary" else levels**2
        for axis, v in ops.items():
            if v.shape != (nq, 2**bits, side, side):
                raise ValueError(f"ops_{axis} shape {v.shape} does not match the header")
        try:
            return cls(profile_hash=h["profile_hash"], bits=bits, levels=levels, n_qubits=nq,
                       phase_bits=int(h["phase_bits"]), kind=h["kind"], ops=ops, calibration=cal,
                       meta=dict(h["meta"]))
        except CryoctlError as exc:
            raise ValueError(str(exc)) from None
