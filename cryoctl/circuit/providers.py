"""Gate providers: the one interface through which circuits get their single-qubit operations.

``provider.ops(axis, qubit, angles) -> (..., d, d)`` unitaries (or ``(..., d^2, d^2)`` row-major
superoperators when ``provider.kind == "channel"``) for requested rotation angles of any shape.

Three providers:

- :class:`ExactProvider`: float rotations exp(-i theta P / 2) embedded in d levels (identity on leakage).
- :class:`IdealQuantizer`: the abstract b-bit angle quantizer of the QNN literature. An angle is
  wrapped into [-pi, pi) and rounded to the grid of step 2 pi / 2^b, i.e. code
  c = round(wrap(theta) / step) in [-2^(b-1), 2^(b-1) - 1] (the +pi end wraps to -pi), and the exact
  rotation of c * step is applied. All three axes (RX, RY, RZ) are quantized the same way.
- :class:`TableProvider`: hardware-realized gates from a :class:`~cryoctl.gates.table.GateTable`:
  theta -> code = table.angle_to_code(theta) -> table.lookup(axis, qubit, code). Data-encoding angles
  go through codes too (they are DAC codes on hardware as well). RZ is a virtual frame update
  (:func:`frame_rz`): its angle is rounded to the phase-word grid 2 pi / 2^phase_bits only (DESIGN:
  virtual Z has ``phase_bits`` of resolution, independent of the amplitude DAC).

Code space (used by the quantized trainers): every quantized provider exposes ``angle_per_code``
(the nominal drive step), ``param_steps(axes)`` (the step of each parameter given its axis),
``to_codes(theta, axes)`` and ``wrap_codes(codes, axes)`` (codes -> equivalent in-range codes; for the
ideal quantizer and for phase words this is modular arithmetic, since RP(theta + 2 pi) = -RP(theta) is
a global phase). Without ``axes`` every entry is taken as a drive (x/y) angle. Parameters held as
integer codes c are passed to ``ops`` as angles c * step, which the provider maps back to exactly c.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.ops import generator, rotation, unitary_to_superop
from cryoctl.errors import CryoctlError
from cryoctl.gates.table import GateTable, virtual_z, wrap_angle
from cryoctl.profile.codes import SignedCodes

# RZ is a frame update with the drive-rotation convention exp(-i phi Z/2); one implementation, in pulse.
frame_rz = virtual_z


@dataclass(frozen=True)
class ExactProvider:
    """Exact float rotations on d levels (infinite DAC precision)."""

    levels: int = 2
    kind: str = "unitary"
    quantized = False
    qubit_independent = True
    angle_per_code = None
    label = "float"

    def realized_angles(self, angles: np.ndarray) -> np.ndarray:
        return np.asarray(angles, dtype=float)

    def ops(self, axis: str, qubit: int, angles: np.ndarray) -> np.ndarray:
        return rotation(axis, angles, self.levels)

    def generator(self, axis: str) -> np.ndarray:
        return generator(axis, self.levels)

    @property
    def supports_adjoint(self) -> bool:
        return True


@dataclass(frozen=True)
class IdealQuantizer(SignedCodes):
    """Abstract b-bit angle quantizer: step 2 pi / 2^b, codes in [-2^(b-1), 2^(b-1) - 1]."""

    bits: int
    levels: int = 2
    kind: str = "unitary"
    quantized = True
    qubit_independent = True

    def __post_init__(self):
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= 30:
            raise CryoctlError(f"expected an integer number of bits in 1..30, got {self.bits!r}", field="bits")

    @property
    def label(self) -> str:
        return f"ideal{self.bits}"

    @property
    def angle_per_code(self) -> float:
        return 2 * np.pi / 2**self.bits

    def param_steps(self, axes) -> np.ndarray:
        """One grid for every axis: the abstract quantizer of the QNN papers quantizes RZ like RX/RY."""
        return np.full(len(axes), self.angle_per_code)

    def wrap_codes(self, codes: np.ndarray, axes=None) -> np.ndarray:
        half = 2 ** (self.bits - 1)
        return (np.asarray(codes, dtype=np.int64) + half) % (2 * half) - half

    def to_codes(self, angles: np.ndarray, axes=None) -> np.ndarray:
        c = np.round(wrap_angle(angles) / self.angle_per_code).astype(np.int64)
        return self.wrap_codes(c)  # round(pi - eps) may give +2^(b-1): same rotation as -2^(b-1)

    def realized_angles(self, angles: np.ndarray) -> np.ndarray:
        return self.to_codes(angles) * self.angle_per_code

    def ops(self, axis: str, qubit: int, angles: np.ndarray) -> np.ndarray:
        return rotation(axis, self.realized_angles(angles), self.levels)

    def generator(self, axis: str) -> np.ndarray:
        return generator(axis, self.levels)

    @property
    def supports_adjoint(self) -> bool:
        return True


class TableProvider:
    """Gates realized by the emulated hardware, read from a GateTable (unitaries or channels)."""

    quantized = True
    supports_adjoint = False

    def __init__(self, table: GateTable):
        self.table = table
        self.levels = table.levels
        self.kind = table.kind
        self.bits = table.bits
        self.angle_per_code = float(table.angle_per_code)
        self.phase_step = 2 * np.pi / 2**table.phase_bits
        self.code_min, self.code_max = table.code_min, table.code_max
        self.label = f"table{table.bits}:{table.profile_hash}"

    def param_steps(self, axes) -> np.ndarray:
        """Drive parameters step by pi / pi_code; RZ parameters by the phase word, 2 pi / 2^phase_bits."""
        return np.where(np.asarray(axes) == "z", self.phase_step, self.angle_per_code)

    def _phase_codes(self, angles: np.ndarray) -> np.ndarray:
        half = 2 ** (self.table.phase_bits - 1)
        c = np.round(wrap_angle(angles) / self.phase_step).astype(np.int64)
        return (c + half) % (2 * half) - half

    def to_codes(self, angles: np.ndarray, axes=None) -> np.ndarray:
        drive = self.table.angle_to_code(angles)
        return drive if axes is None else np.where(np.asarray(axes) == "z", self._phase_codes(angles), drive)

    def wrap_codes(self, codes: np.ndarray, axes=None) -> np.ndarray:
        steps = self.angle_per_code if axes is None else self.param_steps(axes)
        return self.to_codes(np.asarray(codes) * steps, axes)

    def realized_angles(self, angles: np.ndarray) -> np.ndarray:
        """The angles the calibrated controller believes it applies (nominal code grid)."""
        return self.to_codes(angles) * self.angle_per_code

    def ops(self, axis: str, qubit: int, angles: np.ndarray) -> np.ndarray:
        if not 0 <= qubit < self.table.n_qubits:
            raise CryoctlError(
                f"qubit {qubit} not in the gate table (n_qubits={self.table.n_qubits})", field="qubit"
            )
        if axis == "z":  # a frame update: only the phase word quantizes it
            u = frame_rz(angles, self.levels, self.table.phase_bits)
            return unitary_to_superop(u) if self.kind == "channel" else u
        return self.table.lookup(axis, qubit, self.to_codes(angles))


def exact_table(bits: int, levels: int = 2, n_qubits: int = 4, angle_per_code: float | None = None,
                kind: str = "unitary", profile_hash: str = "exact", phase_bits: int = 16) -> GateTable:
    """A GateTable of exact rotations (code c realizes RP(c * angle_per_code)): a reference for tests."""
    apc = 2 * np.pi / 2**bits if angle_per_code is None else angle_per_code
    codes = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    ops = {}
    for axis in ("x", "y"):
        u = rotation(axis, codes * apc, levels)
        u = unitary_to_superop(u) if kind == "channel" else u
        ops[axis] = np.broadcast_to(u, (n_qubits,) + u.shape).copy()
    return GateTable(profile_hash=profile_hash, bits=bits, levels=levels, n_qubits=n_qubits,
                     angle_per_code=apc, phase_bits=phase_bits, kind=kind, ops=ops)


def make_provider(quantizer: str = "float", bits: int | None = None, levels: int = 2,
                  table: GateTable | None = None):
    """``float`` -> ExactProvider; ``ideal`` -> IdealQuantizer(bits); ``profile``/``table`` -> TableProvider."""
    if quantizer == "float":
        return ExactProvider(levels)
    if quantizer == "ideal":
        if bits is None:
            raise CryoctlError("the ideal quantizer needs a bit width", field="bits")
        return IdealQuantizer(int(bits), levels)
    if quantizer in ("profile", "table"):
        if table is None:
            raise CryoctlError("quantizer 'profile' needs a gate table (give --profile)", field="profile")
        return TableProvider(table)
    raise CryoctlError(f"unknown quantizer {quantizer!r}; expected float, ideal or profile", field="quantizer")
