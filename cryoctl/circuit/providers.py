"""Gate providers: the one interface through which circuits get their single-qubit operations.

A provider speaks the controller's words. ``provider.encode(axis, qubit, angles)`` turns requested
rotation angles into the values the hardware plays (integer codes on a quantized provider, the angles
themselves on :class:`ExactProvider`), and ``provider.ops(axis, qubit, values)`` gives the realized
operations of those values: ``(..., d, d)`` unitaries, or ``(..., d^2, d^2)`` row-major
superoperators when ``provider.kind == "channel"``. Trainable parameters of a quantized provider are
held as codes and go straight to ``ops``: no angle <-> code round trip.

Three providers:

- :class:`ExactProvider`: float rotations exp(-i theta P / 2) embedded in d levels (identity on
  leakage); its "values" are the angles.
- :class:`IdealQuantizer`: the abstract b-bit angle quantizer of the QNN literature. Code
  c = round(wrap(theta) / step) on the grid step = 2 pi / 2^b, kept in [-2^(b-1), 2^(b-1) - 1]
  modulo 2^b (the +pi end wraps to -pi), realizes the exact rotation of c * step. All three axes
  (RX, RY, RZ) share that grid. The switch ``quantize_inputs`` says what the grid applies to:
  ``False`` (default, the papers' model) quantizes the trainable parameters only, and the
  data-encoding angles are played exactly (``encode`` returns them as float angles, ``ops`` of
  float values is the exact rotation); ``True`` also rounds every data-encoding angle to the grid,
  as real hardware does (:class:`TableProvider` always does). Trainable parameters are codes in
  both modes (``encode_params``), and float parameters are refused by the executor.
- :class:`TableProvider`: hardware-realized gates of a :class:`~cryoctl.gates.table.GateTable`. Drive
  (x/y) codes are DAC amplitude codes of one channel (qubit q, axis a); ``encode`` asks the table's
  one :class:`~cryoctl.gates.calibration.Calibration` for the code whose MEASURED angle is nearest
  (``calibration.code_for``), ``ops`` looks the codes up (``table.lookup``). RZ is a virtual frame
  update (:func:`frame_rz`) whose word is the phase register: step 2 pi / 2^phase_bits, independent of
  the amplitude DAC (DESIGN: virtual Z has ``phase_bits`` of resolution).

Code grids (parameter shift, trainers): ``step(axis, qubit)`` is the nominal angle of one code of a
channel (pi / pi_code of that channel on hardware, from ``calibration.step``; 2 pi / 2^phase_bits for
phase words; 2 pi / 2^b on the ideal quantizer). ``wrap(axis, qubit, codes)`` brings a moved code
back to an equivalent playable word: modulo 2^b for the ideal quantizer and for phase words (exact,
RP(theta + 2 pi) = -RP(theta) is a global phase); a drive code outside the DAC range is mapped through
its nominal angle c * step, wrapped into [-pi, pi), to the nearest calibrated code (exact only when
2 pi is a whole number of codes). In-range drive codes are playable words and stay as they are.
The per-parameter forms ``param_steps``/``encode_params``/``wrap_codes``/``param_angles`` take each
parameter's (axis, qubit) channel and call the per-channel rule once per distinct channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoctl.circuit.ops import generator, rotation
from cryoctl.conventions import DRIVE_AXES, ROTATION_AXES, check_axis, kron_conj, wrap_angle
from cryoctl.errors import CryoctlError
from cryoctl.gates.table import GateTable, virtual_z
from cryoctl.profile.codes import SignedCodes

# RZ is a frame update with the drive-rotation convention exp(-i phi Z/2); one implementation, in pulse.
frame_rz = virtual_z


def _modular(codes: np.ndarray, bits: int) -> np.ndarray:
    """Signed b-bit words modulo 2^b: c -> ((c + 2^(b-1)) mod 2^b) - 2^(b-1)."""
    half = 2 ** (bits - 1)
    return (np.asarray(codes, dtype=np.int64) + half) % (2 * half) - half


def _check_codes(codes) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise CryoctlError(f"expected integer codes, got {codes.dtype} values (encode angles first)", field="codes")
    return codes.astype(np.int64)


class _Channels:
    """Per-parameter forms of the per-channel rules: one call per distinct (axis, qubit) channel."""

    def _per_channel(self, fn, values, axes, qubits, dtype) -> np.ndarray:
        values = np.asarray(values)
        axes = np.asarray(axes)
        qubits = np.zeros(axes.shape, dtype=np.int64) if qubits is None else np.asarray(qubits)
        out = np.empty(np.broadcast_shapes(values.shape, axes.shape), dtype=dtype)
        values = np.broadcast_to(values, out.shape)
        for axis, qubit in {(str(a), int(q)) for a, q in zip(axes, qubits)}:
            sel = (axes == axis) & (qubits == qubit)
            out[..., sel] = fn(axis, qubit, values[..., sel])
        return out

    def param_steps(self, axes, qubits=None) -> np.ndarray:
        """Nominal angle of one code of every parameter's channel: (n_params,)."""
        return self._per_channel(lambda a, q, v: self.step(a, q), np.zeros(len(axes)), axes, qubits, float)

    def encode_params(self, angles, axes, qubits=None) -> np.ndarray:
        """Codes of requested parameter angles (..., n_params), per channel."""
        return self._per_channel(self.encode, angles, axes, qubits, np.int64)

    def wrap_codes(self, codes, axes, qubits=None) -> np.ndarray:
        """Equivalent playable words of moved parameter codes (..., n_params), per channel."""
        return self._per_channel(self.wrap, _check_codes(codes), axes, qubits, np.int64)

    def param_angles(self, codes, axes, qubits=None) -> np.ndarray:
        """Calibrated angles of parameter codes (..., n_params), per channel."""
        return self._per_channel(self.angle, _check_codes(codes), axes, qubits, float)


@dataclass(frozen=True)
class ExactProvider:
    """Exact float rotations on d levels (infinite DAC precision): values are angles."""

    levels: int = 2
    kind: str = "unitary"
    quantized = False
    qubit_independent = True
    supports_adjoint = True
    label = "float"

    def encode(self, axis: str, qubit: int, angles) -> np.ndarray:
        check_axis(axis, ROTATION_AXES)
        return np.asarray(angles, dtype=float)

    def encode_params(self, angles, axes, qubits=None) -> np.ndarray:
        return np.asarray(angles, dtype=float)

    def param_angles(self, values, axes, qubits=None) -> np.ndarray:
        return np.asarray(values, dtype=float)

    def ops(self, axis: str, qubit: int, angles) -> np.ndarray:
        return rotation(axis, angles, self.levels)

    def generator(self, axis: str) -> np.ndarray:
        return generator(axis, self.levels)


@dataclass(frozen=True)
class IdealQuantizer(SignedCodes, _Channels):
    """Abstract b-bit angle quantizer: step 2 pi / 2^b, codes in [-2^(b-1), 2^(b-1) - 1] (mod 2^b).

    ``quantize_inputs``: ``False`` (default; the QNN papers) rounds only the trainable parameters, the
    data-encoding angles are exact rotations; ``True`` rounds the data-encoding angles too (what
    hardware does: one DAC plays every rotation). Values of the data path: ``encode`` gives codes
    (``True``) or the float angles themselves (``False``); ``ops``/``angle`` take integer codes, and
    float angles only when inputs are not quantized.
    """

    bits: int
    levels: int = 2
    kind: str = "unitary"
    quantize_inputs: bool = False
    quantized = True
    qubit_independent = True
    supports_adjoint = True  # exact rotations at the grid angles c * step

    def __post_init__(self):
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= 30:
            raise CryoctlError(f"expected an integer number of bits in 1..30, got {self.bits!r}", field="bits")
        if not isinstance(self.quantize_inputs, (bool, np.bool_)):
            raise CryoctlError(f"expected true or false, got {self.quantize_inputs!r}", field="quantize_inputs")

    @property
    def label(self) -> str:
        return f"ideal{self.bits}" + ("+x" if self.quantize_inputs else "")

    def step(self, axis: str = "x", qubit: int = 0) -> float:
        """One grid for every axis: the abstract quantizer of the QNN papers quantizes RZ like RX/RY."""
        check_axis(axis, ROTATION_AXES)
        return 2 * np.pi / 2**self.bits

    def code_for(self, axis: str, qubit: int, angles) -> np.ndarray:
        """The code of requested angles, c = round(wrap(theta) / step) modulo 2^b (both modes)."""
        # round(pi - eps) may give +2^(b-1): the same rotation as -2^(b-1)
        return _modular(np.round(wrap_angle(angles) / self.step(axis)), self.bits)

    def encode(self, axis: str, qubit: int, angles) -> np.ndarray:
        """Data path: codes when inputs are quantized, else the exact float angles."""
        if self.quantize_inputs:
            return self.code_for(axis, qubit, angles)
        check_axis(axis, ROTATION_AXES)
        return np.asarray(angles, dtype=float)

    def encode_params(self, angles, axes, qubits=None) -> np.ndarray:
        """Trainable parameters are always codes."""
        return self._per_channel(self.code_for, angles, axes, qubits, np.int64)

    def _values(self, values) -> tuple[np.ndarray, bool]:
        """(values, are they codes): floats pass only as exact data angles (inputs not quantized)."""
        values = np.asarray(values)
        if values.size and not np.issubdtype(values.dtype, np.integer) and not self.quantize_inputs:
            return values.astype(float), False
        return _check_codes(values), True

    def wrap(self, axis: str, qubit: int, codes) -> np.ndarray:
        return _modular(_check_codes(codes), self.bits)

    def angle(self, axis: str, qubit: int, codes) -> np.ndarray:
        values, are_codes = self._values(codes)
        return values * self.step(axis) if are_codes else values

    def ops(self, axis: str, qubit: int, codes) -> np.ndarray:
        return rotation(axis, self.angle(axis, qubit, codes), self.levels)

    def harmonic_degree(self, axis: str) -> int | None:
        """Every <Z> is a trigonometric polynomial of this degree in the angle of one such gate: 1 on two
        levels (exp(-i theta P/2), P^2 = 1); None on d > 2 (the embedded rotation leaves level 2 alone,
        which puts theta/2 harmonics into the expectations)."""
        check_axis(axis, ROTATION_AXES)
        return 1 if self.levels == 2 else None

    def generator(self, axis: str) -> np.ndarray:
        return generator(axis, self.levels)


class TableProvider(_Channels):
    """Gates realized by the emulated hardware, read from a GateTable (unitaries or channels)."""

    quantized = True
    supports_adjoint = False
    qubit_independent = False

    def __init__(self, table: GateTable):
        self.table = table
        self.calibration = table.calibration
        self.levels = table.levels
        self.kind = table.kind
        self.bits = table.bits
        self.phase_bits = table.phase_bits
        self.phase_step = 2 * np.pi / 2**table.phase_bits
        self.code_min, self.code_max = table.code_min, table.code_max
        self.label = f"table{table.bits}:{table.profile_hash}"

    def _qubit(self, qubit: int) -> int:
        if not isinstance(qubit, (int, np.integer)) or not 0 <= qubit < self.table.n_qubits:
            raise CryoctlError(f"qubit {qubit} not in the gate table (n_qubits={self.table.n_qubits}); a "
                               "hardware code belongs to one channel", field="qubit")
        return int(qubit)

    def step(self, axis: str, qubit: int) -> float:
        """Drive codes: pi / pi_code of the channel (calibration.step); RZ: one phase word."""
        if check_axis(axis, ROTATION_AXES) == 2:
            return self.phase_step
        return float(self.calibration.step(axis, self._qubit(qubit)))

    def encode(self, axis: str, qubit: int, angles) -> np.ndarray:
        if check_axis(axis, ROTATION_AXES) == 2:
            return _modular(np.round(wrap_angle(angles) / self.phase_step), self.phase_bits)
        return np.asarray(self.calibration.code_for(axis, self._qubit(qubit), angles), dtype=np.int64)

    def wrap(self, axis: str, qubit: int, codes) -> np.ndarray:
        codes = _check_codes(codes)
        if check_axis(axis, ROTATION_AXES) == 2:
            return _modular(codes, self.phase_bits)
        out = (codes < self.code_min) | (codes > self.code_max)
        if not out.any():
            return codes
        moved = self.encode(axis, qubit, codes * self.step(axis, qubit))
        return np.where(out, moved, codes)

    def angle(self, axis: str, qubit: int, codes) -> np.ndarray:
        """Calibrated angle of codes: the measured rotation of a drive code, the word * step for RZ."""
        codes = _check_codes(codes)
        if check_axis(axis, ROTATION_AXES) == 2:
            return codes * self.phase_step
        return np.asarray(self.calibration.angle(axis, self._qubit(qubit), codes), dtype=float)

    def ops(self, axis: str, qubit: int, codes) -> np.ndarray:
        qubit = self._qubit(qubit)
        codes = _check_codes(codes)
        if check_axis(axis, ROTATION_AXES) == 2:  # a frame update: the word is the phase register
            u = frame_rz(codes * self.phase_step, self.levels)
            return kron_conj(u) if self.kind == "channel" else u
        return self.table.lookup(axis, qubit, codes)

    def harmonic_degree(self, axis: str) -> int | None:
        """RZ phase words: d - 1 (the frame update multiplies rho_jk by exp(i phi (j - k)), |j - k| <= d - 1,
        and everything after it is linear in rho); drive codes: None (a realized pulse is no function of
        a closed form in its code)."""
        return self.levels - 1 if check_axis(axis, ROTATION_AXES) == 2 else None


def exact_table(bits: int, levels: int = 2, n_qubits: int = 4, angle_per_code=None, kind: str = "unitary",
                profile_hash: str = "exact", phase_bits: int = 16) -> GateTable:
    """A GateTable of exact rotations: code c of channel (q, a) realizes RP(c * step[q, a]), and its
    calibration is the linear one (measured angle = wrap(c * step)), so encode/lookup are the ideal grid.

    ``angle_per_code``: the step, a scalar or one per channel (n_qubits, 2); default 2 pi / 2^bits
    (pi_code = 2^(bits-1), the ideal quantizer's grid).
    """
    from cryoctl.gates.calibration import Calibration

    step = 2 * np.pi / 2**bits if angle_per_code is None else angle_per_code
    steps = np.broadcast_to(np.asarray(step, dtype=float), (n_qubits, len(DRIVE_AXES)))
    codes = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    ops = {}
    for a, axis in enumerate(DRIVE_AXES):
        u = rotation(axis, codes[None, :] * steps[:, a, None], levels)  # (n_qubits, 2^N, d, d)
        ops[axis] = kron_conj(u) if kind == "channel" else u
    cal = Calibration.linear(n_qubits=n_qubits, bits=bits, step=steps, profile_hash=profile_hash)
    return GateTable(profile_hash=profile_hash, bits=bits, levels=levels, n_qubits=n_qubits,
                     phase_bits=phase_bits, kind=kind, ops=ops, calibration=cal)
