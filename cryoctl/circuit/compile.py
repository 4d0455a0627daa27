"""Compilation what-if: how a requested RX/RY angle reaches the hardware (``native`` or ``zxzxz``).

- ``native``: every RX(theta) / RY(theta) is ONE drive pulse whose amplitude code encodes theta (the
  provider as it is: :class:`~cryoctl.circuit.providers.TableProvider` asks the calibration for the code
  of nearest measured angle). The angle resolution is the amplitude DAC's: step pi / pi_code.
- ``zxzxz``: every RX/RY is TWO fixed, calibrated SX = RX(pi/2) pulses and three virtual-Z frame
  updates (McKay et al., PRA 96, 022330 (2017)). The identities used (matrix products, the rightmost
  operation first; exact in SU(2), no global phase, checked in ``tests/circuit/test_compile.py``):

      RX(theta) = RZ(pi/2) . SX . RZ(theta - pi) . SX . RZ(pi/2)
      RY(theta) = RZ(pi)   . SX . RZ(theta - pi) . SX

  i.e. RP_phi(theta) = RZ(phi + pi/2) SX RZ(theta - pi) SX RZ(pi/2 - phi) with phi = 0 (x) or pi/2 (y).
  theta enters ONLY through the phase word of the middle frame update, so the angle resolution becomes
  the phase register's (2 pi / 2^phase_bits); the amplitude DAC only shapes the fixed SX pulse (the
  code of nearest measured angle to pi/2 on that channel: its quantization, INL, noise and leakage are
  a fixed error of each pulse, played twice).

:class:`ZXZXZProvider` wraps any provider (``ExactProvider``, ``IdealQuantizer``, ``TableProvider``).
RX/RY values are phase words of theta on the base's RZ grid (angles on an exact base); RZ is the
base's own. Operations are composed from the base's own realized SX and RZ (unitaries, or row-major
superoperators on a channel table), so every non-ideality of the base is kept. On an exact base the
two compilations agree to round-off; on the abstract b-bit quantizer the RZ grid equals the amplitude
grid (2 pi / 2^b), so they play the same rotations.

Cost (:func:`circuit_drive_time`): a virtual Z takes no time, so a zxzxz rotation takes two pulse
durations instead of one; :func:`rotation_error` gives the angle error and the average gate infidelity
of the realized rotations against the exact ones over a grid of requested angles.
"""

from __future__ import annotations

import numpy as np

from cryoctl.circuit.description import Circuit, Rot
from cryoctl.circuit.ops import rotation
from cryoctl.circuit.simulate import circuit_blocks
from cryoctl.conventions import ROTATION_AXES, check_axis, kron_conj, wrap_angle
from cryoctl.errors import CryoctlError

COMPILE_MODES = ("native", "zxzxz")
#: frame phases around the middle word: (RZ after the 2nd SX, RZ before the 1st SX) per drive axis
_FRAME = {"x": (np.pi / 2, np.pi / 2), "y": (np.pi, 0.0)}
#: drive pulses per RX/RY rotation
PULSES_PER_ROTATION = {"native": 1, "zxzxz": 2}


def _is_codes(values) -> bool:
    v = np.asarray(values)
    return v.size == 0 or np.issubdtype(v.dtype, np.integer)


class ZXZXZProvider:
    """RX/RY compiled into fixed SX pulses and virtual-Z phase words (module docstring)."""

    compile_mode = "zxzxz"

    def __init__(self, base):
        if isinstance(base, ZXZXZProvider):
            raise CryoctlError("the provider is already compiled to zxzxz", field="compile")
        self.base = base
        self.levels = base.levels
        self.kind = base.kind
        self.quantized = bool(base.quantized)
        self.qubit_independent = bool(getattr(base, "qubit_independent", False))
        self.label = f"{base.label}+zxzxz"
        self._sx: dict[int, np.ndarray] = {}
        self.sx_codes: dict[int, object] = {}
        # adjoint (exact generators) only when the SX pulse is exact: exact base, or a grid with pi/2 on it
        codes_per_sx = np.pi / 2 / base.step("x", 0) if self.quantized else 1.0
        exact_sx = abs(codes_per_sx - round(codes_per_sx)) < 1e-9
        self.supports_adjoint = (bool(getattr(base, "supports_adjoint", False)) and exact_sx
                                 and bool(getattr(base, "qubit_independent", False)))

    def __getattr__(self, name):  # anything else a caller asks of a provider (calibration, table, bits, ...)
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    # ------------------------------------------------------------------ the fixed pulse and frame updates
    def sx(self, qubit: int) -> np.ndarray:
        """The realized SX pulse of ``qubit``: the base's op of the code of nearest angle to pi/2."""
        q = 0 if self.qubit_independent else int(qubit)
        if q not in self._sx:
            code = self.base.encode_params(np.array([np.pi / 2]), np.array(["x"]), np.array([q]))[0] \
                if self.quantized else np.pi / 2
            self.sx_codes[q] = code
            self._sx[q] = self.base.ops("x", q, np.asarray(code))
        return self._sx[q]

    def _rz(self, qubit: int, values, offset: float) -> np.ndarray:
        """The base's RZ of (values + offset radians): on a word grid the offset is a whole number of words
        (pi/2 and pi are, for >= 2 phase bits); on float values it is added as an angle."""
        values = np.asarray(values)
        if self.quantized and _is_codes(values):
            step = self.base.step("z", qubit)
            words = offset / step
            if abs(words - round(words)) > 1e-9:
                raise CryoctlError(f"a frame phase of {offset:.4g} rad is not a whole number of phase words "
                                   f"(step {step:.4g} rad): zxzxz needs >= 2 phase bits", field="phase_bits")
            return self.base.ops("z", qubit, values.astype(np.int64) + int(round(words)))
        return self.base.ops("z", qubit, values.astype(float) + offset)

    def _fixed_rz(self, qubit: int, phase: float) -> np.ndarray:
        zero = np.zeros((), dtype=np.int64) if self.quantized else np.zeros(())
        return self._rz(qubit, zero, phase)

    # ------------------------------------------------------------------ provider interface
    def step(self, axis: str, qubit: int = 0) -> float:
        check_axis(axis, ROTATION_AXES)
        return float(self.base.step("z", qubit))

    def encode(self, axis: str, qubit: int, angles) -> np.ndarray:
        check_axis(axis, ROTATION_AXES)
        return self.base.encode("z", qubit, angles)

    def wrap(self, axis: str, qubit: int, codes) -> np.ndarray:
        return self.base.wrap("z", qubit, codes)

    def angle(self, axis: str, qubit: int, codes) -> np.ndarray:
        return self.base.angle("z", qubit, codes)

    def ops(self, axis: str, qubit: int, values) -> np.ndarray:
        if check_axis(axis, ROTATION_AXES) == 2:
            return self.base.ops("z", qubit, values)
        post, pre = _FRAME[axis]
        sx = self.sx(qubit)
        mid = self._rz(qubit, values, -np.pi)
        out = sx @ mid @ sx
        if pre:
            out = out @ self._fixed_rz(qubit, pre)
        return self._fixed_rz(qubit, post) @ out

    def generator(self, axis: str) -> np.ndarray:
        return self.base.generator(axis)

    def harmonic_degree(self, axis: str) -> int | None:
        """Every angle is a phase word between fixed pulses: the base's RZ degree."""
        check_axis(axis, ROTATION_AXES)
        deg = getattr(self.base, "harmonic_degree", None)
        return deg("z") if deg is not None else None

    # per-parameter forms: every parameter's (axis, qubit) channel is a phase word on the base's RZ grid
    def _z(self, axes) -> np.ndarray:
        return np.full(np.shape(axes), "z")

    def param_steps(self, axes, qubits=None) -> np.ndarray:
        return self.base.param_steps(self._z(axes), qubits)

    def encode_params(self, angles, axes, qubits=None) -> np.ndarray:
        return self.base.encode_params(angles, self._z(axes), qubits)

    def wrap_codes(self, codes, axes, qubits=None) -> np.ndarray:
        return self.base.wrap_codes(codes, self._z(axes), qubits)

    def param_angles(self, codes, axes, qubits=None) -> np.ndarray:
        return self.base.param_angles(codes, self._z(axes), qubits)


def compile_provider(provider, mode: str = "native"):
    """``provider`` as it is (``native``) or wrapped in :class:`ZXZXZProvider` (``zxzxz``)."""
    if mode not in COMPILE_MODES:
        raise CryoctlError(f"unknown compilation {mode!r}; expected one of {', '.join(COMPILE_MODES)}", field="compile")
    return provider if mode == "native" else ZXZXZProvider(provider)


def compile_executor(executor, mode: str = "native"):
    """The same executor (entangler, readout, mode) with its provider compiled by ``mode``."""
    if mode == "native":
        return executor
    from cryoctl.circuit.executor import Executor

    return Executor(compile_provider(executor.provider, mode), entangler=executor.entangler,
                    readout=executor.readout)


def circuit_drive_time(circuit: Circuit, mode: str = "native", pulse_ns: float = 40.0,
                       cz_ns: float = 0.0) -> dict:
    """Duration of ``circuit`` when single-qubit pulses run in parallel across qubits between CZ layers.

    Per rotation block: the most drive pulses any qubit plays (RX/RY: 1 native, 2 zxzxz; RZ: 0, virtual)
    x ``pulse_ns``; every CZ layer adds ``cz_ns``. Returns {"drive_pulses" (critical-path pulse count),
    "pulses_total" (all qubits), "drive_ns", "cz_layers", "duration_ns"}.
    """
    if mode not in COMPILE_MODES:
        raise CryoctlError(f"unknown compilation {mode!r}; expected one of {', '.join(COMPILE_MODES)}", field="compile")
    per = PULSES_PER_ROTATION[mode]
    crit = total = cz_layers = 0
    for kind, items in circuit_blocks(circuit):
        if kind == "cz":
            cz_layers += 1
            continue
        counts: dict[int, int] = {}
        for g in items:
            if isinstance(g, Rot) and g.axis != "z":
                counts[g.qubit] = counts.get(g.qubit, 0) + per
        crit += max(counts.values(), default=0)
        total += sum(counts.values())
    drive_ns = crit * float(pulse_ns)
    return {"drive_pulses": crit, "pulses_total": total, "drive_ns": drive_ns, "cz_layers": cz_layers,
            "duration_ns": drive_ns + cz_layers * float(cz_ns)}


def _qubit_block(ops: np.ndarray, levels: int, kind: str) -> np.ndarray:
    """Unitaries -> their 2x2 computational block; superoperators -> the 4x4 computational block."""
    if kind != "channel":
        return ops[..., :2, :2]
    idx = np.array([i * levels + j for i in range(2) for j in range(2)])
    return ops[..., idx[:, None], idx[None, :]]


def rotation_error(provider, axis: str, qubit: int = 0, angles=None) -> dict:
    """Realized RX/RY(theta) of ``provider`` against the exact rotation over requested ``angles``
    (default 1000 cell midpoints over [-pi, pi): -pi + (k + 1/2) 2 pi / 1000, on no power-of-two grid).

    ``angle_error_rms`` / ``_max``: |wrap(played angle - theta)| with the played angle the provider's
    calibrated angle of the code it chose (measured angle of an amplitude code, or word x phase step);
    ``infidelity_mean`` / ``_max``: 1 - F_avg on the qubit subspace, F_avg = (d F_pro + 1) / (d + 1), d = 2,
    F_pro = |Tr(U^dag V)|^2 / 4 for unitaries and Tr(S_U^dag S) / 4 for channels (leakage lowers it).
    """
    check_axis(axis, ("x", "y"))
    theta = -np.pi + (np.arange(1000) + 0.5) * 2 * np.pi / 1000 if angles is None else np.asarray(angles, dtype=float)
    # the trainable-parameter path (codes on every quantized provider; data angles may be played exactly)
    values = provider.encode_params(theta, np.full(theta.shape, axis), np.full(theta.shape, qubit))
    played = np.asarray(provider.angle(axis, qubit, values), dtype=float) if provider.quantized else theta
    aerr = np.abs(wrap_angle(played - theta))
    ops = np.asarray(provider.ops(axis, qubit, values))
    ideal = rotation(axis, theta, 2)
    block = _qubit_block(ops, provider.levels, provider.kind)
    if provider.kind == "channel":
        f_pro = np.einsum("...ij,...ij->...", np.conj(kron_conj(ideal)), block).real / 4
    else:
        f_pro = np.abs(np.einsum("...ij,...ij->...", np.conj(ideal), block)) ** 2 / 4
    inf = 1 - (2 * f_pro + 1) / 3
    out = {"angle_error_rms": float(np.sqrt(np.mean(aerr**2))), "angle_error_max": float(aerr.max()),
           "infidelity_mean": float(np.mean(inf)), "infidelity_max": float(np.max(inf)), "n_angles": int(theta.size)}
    if isinstance(provider, ZXZXZProvider):  # the fixed pulse's own error: played twice in every rotation
        provider.sx(qubit)
        code = provider.sx_codes[0 if provider.qubit_independent else int(qubit)]
        sx_angle = float(provider.base.angle("x", qubit, np.asarray(code))) if provider.quantized else np.pi / 2
        out["sx_angle_error"] = float(abs(sx_angle - np.pi / 2))
    return out
